package capitest

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/libsds-go/libsds/ffi"
	"github.com/libsds-go/libsds/ffi/internal/gobindings"
)

func newManager(t testing.TB, config string) *Manager {
	t.Helper()
	m, res := New(config)
	if m == nil || res.Calls != 1 || res.CbRet != RetOK || res.Msg != "" || res.Null {
		t.Fatalf("create: %+v", res)
	}
	return m
}

func cleanup(t testing.TB, m *Manager) {
	t.Helper()
	if res := m.Cleanup(); res.Ret != RetOK || res.Calls != 1 || !res.Null {
		t.Fatalf("cleanup: %+v", res)
	}
}

// unwrapped is sds-go-bindings' UnwrappedMessage.
type unwrapped = gobindings.UnwrappedMessage

func TestVersion(t *testing.T) {
	if got, want := Version(); got != want {
		t.Errorf("SdsVersion() = %q, header %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	a, b := newManager(t, `{"participantId":"alice"}`), newManager(t, "")
	defer cleanup(t, a)
	defer cleanup(t, b)
	a.SetHints()
	w1 := a.Wrap([]byte("one"), "m1", "c")
	w2 := a.Wrap([]byte("two"), "m2", "c")
	if w1.Ret != RetOK || w1.CbRet != RetOK || w2.CbRet != RetOK {
		t.Fatalf("wrap: %+v %+v", w1, w2)
	}
	wire2, err := ParseComma(w2.Msg)
	if err != nil {
		t.Fatal(err)
	}
	res := b.Unwrap(wire2)
	want := `{"message":[116,119,111],"channelId":"c","missingDeps":[{"messageId":"m1","retrievalHint":"aDptMQ==","senderId":"alice"}]}`
	if res.Msg != want {
		t.Errorf("unwrap:\n got %s\nwant %s", res.Msg, want)
	}
	var u unwrapped
	if err := json.Unmarshal([]byte(res.Msg), &u); err != nil || string(*u.Message) != "two" ||
		string((*u.MissingDeps)[0].RetrievalHint) != "h:m1" {
		t.Errorf("sds-go-bindings cannot read it: %v %+v", err, u)
	}
	if n, last := b.Events(); n != 1 || !strings.Contains(last, `"eventType":"missing_dependencies"`) {
		t.Errorf("events: %d %s", n, last)
	}
	if res := b.MarkDependenciesMet([]string{"m1"}, "c"); res.Ret != RetOK || res.CbRet != RetOK {
		t.Errorf("mark: %+v", res)
	}
	if n, last := b.Events(); n != 2 || last != `{"messageId":"m2","channelId":"c","eventType":"message_ready"}` {
		t.Errorf("events: %d %s", n, last)
	}
	if res := b.StartPeriodicTasks(); res.Ret != RetOK || res.CbRet != RetOK || res.Null {
		t.Errorf("periodic: %+v", res)
	}
	if res := b.Reset(); res.Ret != RetOK || res.CbRet != RetOK {
		t.Errorf("reset: %+v", res)
	}

	// Binary path.
	wire3, ret, msg := a.WrapBinary([]byte("three"), "m3", "c")
	if ret != RetOK || msg != "" {
		t.Fatalf("wrap binary: %d %s", ret, msg)
	}
	u3, ret, msg := b.UnwrapBinary(wire3)
	if ret != RetOK || u3.MessageID != "m3" || u3.SenderID != "alice" || string(u3.Content) != "three" ||
		fmt.Sprint(u3.Missing) != "[m1 m2]" {
		t.Errorf("unwrap binary: %d %s %+v", ret, msg, u3)
	}
	if _, ret, msg := b.UnwrapBinary([]byte("junk")); ret != RetErr || !strings.HasPrefix(msg, "error processing UNWRAP_MESSAGE request: ") {
		t.Errorf("unwrap junk: %d %s", ret, msg)
	}
}

// sds-go-bindings keeps the pointer and reads it once the call returned,
// from goroutines the Go scheduler moves between threads. Many goroutines
// share two managers; each yields between the call and the read.
func TestGoBindingsPatternConcurrent(t *testing.T) {
	a, b := newManager(t, ""), newManager(t, "")
	defer cleanup(t, a)
	defer cleanup(t, b)
	const goroutines, iterations = 16, 60
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := a, b
			if g%2 == 1 {
				from, to = b, a
			}
			channel := fmt.Sprint("ch", g)
			for i := range iterations {
				content := fmt.Appendf(nil, "g%d-%d", g, i)
				w := from.Wrap(content, fmt.Sprintf("g%d-m%d", g, i), channel)
				runtime.Gosched()
				wire, err := ParseComma(w.Msg)
				if err != nil || w.CbRet != RetOK {
					errs <- fmt.Errorf("wrap: %v %+v", err, w)
					return
				}
				u := to.Unwrap(wire)
				runtime.Gosched()
				var res unwrapped
				if err := json.Unmarshal([]byte(u.Msg), &res); err != nil || string(*res.Message) != string(content) ||
					*res.ChannelID != channel {
					errs <- fmt.Errorf("unwrap: %v %q", err, u.Msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := a.EventCount() + b.EventCount(); got != goroutines*iterations {
		t.Errorf("%d message_ready events, want %d", got, goroutines*iterations)
	}
}

// Contexts that are not (or no longer) managers are rejected without a
// callback, from Go as from C.
func TestStaleContexts(t *testing.T) {
	m := newManager(t, "")
	ctx := m.Ctx()
	cleanup(t, m)
	for _, bad := range []*Manager{Stale(ctx), Stale(ctx + 8), Stale(0x10000)} {
		if res := bad.Wrap([]byte("x"), "m", "c"); res.Ret != RetErr || res.Calls != 0 {
			t.Errorf("%#x: wrap %+v", bad.Ctx(), res)
		}
		if res := bad.Cleanup(); res.Ret != RetErr || res.Calls != 0 {
			t.Errorf("%#x: cleanup %+v", bad.Ctx(), res)
		}
	}
}

// A panic inside any entry point becomes RET_ERR (NULL for the
// constructors) and a RET_ERR callback, and the library keeps working.
func TestPanicsBecomeErrors(t *testing.T) {
	m := newManager(t, "")
	ffi.SetFaultHook(func() { panic("injected") })
	check := func(what string, res Result) {
		t.Helper()
		if res.Ret != RetErr || res.Calls != 1 || res.CbRet != RetErr ||
			!strings.HasPrefix(res.Msg, "libsds error: internal error in ") || !strings.HasSuffix(res.Msg, ": injected") {
			t.Errorf("%s: %+v", what, res)
		}
	}
	check("wrap", m.Wrap([]byte("x"), "m1", "c"))
	check("unwrap", m.Unwrap([]byte("x")))
	check("mark", m.MarkDependenciesMet([]string{"m1"}, "c"))
	check("reset", m.Reset())
	check("periodic", m.StartPeriodicTasks())
	check("stats", m.Stats())
	check("cleanup", m.Cleanup())
	if nm, res := New(""); nm != nil || res.Calls != 1 || res.CbRet != RetErr ||
		res.Msg != "libsds error: internal error in SdsNewReliabilityManager: injected" {
		t.Errorf("new: %v %+v", nm, res)
	}
	if _, ret, msg := m.WrapBinary([]byte("x"), "m1", "c"); ret != RetErr ||
		msg != "libsds error: internal error in SdsWrapOutgoingMessageBinary: injected" {
		t.Errorf("wrap binary: %d %s", ret, msg)
	}
	if _, ret, msg := m.UnwrapBinary([]byte("x")); ret != RetErr || !strings.HasSuffix(msg, "injected") {
		t.Errorf("unwrap binary: %d %s", ret, msg)
	}
	m.SetHints() // void functions: nothing to report, nothing breaks
	SetLog(false)
	ffi.SetFaultHook(nil)

	// Nothing leaked a reference or a lock: the manager works and cleans up.
	if res := m.Wrap([]byte("x"), "m1", "c"); res.Ret != RetOK || res.CbRet != RetOK {
		t.Errorf("after: %+v", res)
	}
	cleanup(t, m)
}

func TestLogCallback(t *testing.T) {
	SetLog(true)
	defer SetLog(false)
	before := Logs()
	Stale(0x10000).SetHints() // logs "invalid context"
	if Logs() != before+1 {
		t.Errorf("log callback not called")
	}
}

// Cleanup from one goroutine while others use the manager: every call
// either works or reports the manager gone.
func TestCleanupWhileInUse(t *testing.T) {
	for round := range 5 {
		m := newManager(t, "")
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					res := m.Wrap([]byte("x"), fmt.Sprintf("r%d-g%d-%d", round, g, i), "c")
					switch {
					case res.Ret == RetOK && res.CbRet == RetOK:
						if _, err := ParseComma(res.Msg); err != nil {
							t.Error(err)
						}
					case res.Ret == RetErr && res.Calls == 0: // already invalid
						return
					case res.Ret == RetOK && strings.Contains(res.Msg, "closed"): // closed meanwhile
						return
					default:
						t.Errorf("unexpected %+v", res)
						return
					}
				}
			}()
		}
		runtime.Gosched()
		cleanup(t, m)
		wg.Wait()
	}
}
