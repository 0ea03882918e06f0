package sds_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
)

func newTestManager(t testing.TB, participant string) *sds.Manager {
	t.Helper()
	return startManager(t, participant, sds.NewManualClock(time.Unix(1_800_000_000, 0)), nil)
}

// senderAndReceiver: alice and bob, for a test under its own deadline.
func senderAndReceiver(t *testing.T) (sender, receiver *sds.Manager) {
	t.Helper()
	deadline(t)
	return newTestManager(t, "alice"), newTestManager(t, "bob")
}

// A handler may call back into the manager, on the same channel, without
// deadlocking; the nested call's events follow the current one's.
func TestHandlerCallsBackIntoManager(t *testing.T) {
	sender, m := senderAndReceiver(t)
	var order []string
	m.SetEventHandler(func(e sds.Event) {
		order = append(order, e.Kind.String()+":"+e.MessageID)
		if e.Kind == sds.EventMessageReady && e.MessageID == "a1" {
			// Reply from inside the handler, then look at the state.
			if _, err := m.Wrap("c", "reply-to-a1", []byte("re")); err != nil {
				t.Errorf("wrap inside handler: %v", err)
			}
			if _, ok := m.ChannelState("c"); !ok {
				t.Error("channel state inside handler")
			}
		}
	})
	a1, _ := sender.Wrap("c", "a1", []byte("hi"))
	a2, _ := sender.Wrap("c", "a2", []byte("again"))
	// a2 first: it waits for a1; a1 then delivers both.
	if _, err := m.Unwrap(a2); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Unwrap(a1); err != nil {
		t.Fatal(err)
	}
	want := []string{"missing_dependencies:a2", "message_ready:a1", "message_ready:a2"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", order, want)
	}
	st, _ := m.ChannelState("c")
	if len(st.Outgoing) != 1 || st.Outgoing[0].MessageID != "reply-to-a1" {
		t.Fatalf("outgoing %+v", st.Outgoing)
	}
}

// A panicking handler does not take the manager down, and later events
// still arrive.
func TestPanickingHandlerIsContained(t *testing.T) {
	sender, m := senderAndReceiver(t)
	var seen []string
	m.SetEventHandler(func(e sds.Event) {
		seen = append(seen, e.MessageID)
		panic("handler bug")
	})
	for _, id := range []string{"p1", "p2"} {
		w, _ := sender.Wrap("c", id, []byte("x"))
		if res, err := m.Unwrap(w); err != nil || !res.Delivered {
			t.Fatalf("%s: %+v %v", id, res, err)
		}
	}
	if fmt.Sprint(seen) != "[p1 p2]" {
		t.Fatalf("handler saw %v", seen)
	}
}

// A retrieval-hint provider may call into the manager (it runs unlocked),
// and its hints travel in causal history; a panicking provider only costs
// the hint.
func TestRetrievalHintProviderUnlocked(t *testing.T) {
	deadline(t)
	m := newTestManager(t, "alice")
	calls := 0
	m.SetRetrievalHintProvider(func(id string) []byte {
		calls++
		m.ChannelState("c") // would deadlock if called under the channel lock
		if id == "boom" {
			panic("provider bug")
		}
		return []byte("hint:" + id)
	})
	for _, id := range []string{"boom", "m1", "m2"} {
		if _, err := m.Wrap("c", id, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	w, err := m.Wrap("c", "m3", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	receiver := newTestManager(t, "bob")
	res, err := receiver.Unwrap(w)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[string]string{}
	for _, d := range res.MissingDeps {
		hints[d.MessageID] = string(d.RetrievalHint)
	}
	if hints["m1"] != "hint:m1" || hints["m2"] != "hint:m2" || hints["boom"] != "" {
		t.Fatalf("hints %v", hints)
	}
	// Non-empty hints are cached: m1 was asked once (wrapping m2), not again.
	before := calls
	if _, err := m.Wrap("c", "m4", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := calls - before; got != 2 { // "boom" (no hint yet) and the new m3
		t.Fatalf("provider called %d times for m4, want 2", got)
	}
}

// Many goroutines on many channels, with handlers that call back in:
// run under -race, every message is delivered once.
func TestConcurrentChannels(t *testing.T) {
	deadline(t)
	const channels, perChannel = 8, 60
	senders := make([]*sds.Manager, channels)
	for i := range senders {
		senders[i] = newTestManager(t, fmt.Sprint("s", i))
	}
	receiver := newTestManager(t, "r")
	var ready atomic.Int64
	receiver.SetEventHandler(func(e sds.Event) {
		if e.Kind == sds.EventMessageReady {
			ready.Add(1)
			receiver.ChannelState(e.ChannelID)
		}
	})
	var wg sync.WaitGroup
	for c := 0; c < channels; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			ch := fmt.Sprint("ch", c)
			msgs := make([][]byte, perChannel)
			for i := range msgs {
				w, err := senders[c].Wrap(ch, fmt.Sprint(ch, "-", i), []byte("x"))
				if err != nil {
					t.Error(err)
					return
				}
				msgs[i] = w
			}
			for i := len(msgs) - 1; i >= 0; i-- { // reverse: all but the last wait
				if _, err := receiver.Unwrap(msgs[i]); err != nil {
					t.Error(err)
				}
				if i%7 == 0 {
					receiver.Wrap(ch, fmt.Sprint("r-", ch, "-", i), []byte("ack"))
				}
			}
		}(c)
	}
	wg.Wait()
	if got := ready.Load(); got != channels*perChannel {
		t.Fatalf("%d messages delivered, want %d", got, channels*perChannel)
	}
}

// Removing or resetting channels while other goroutines use them neither
// crashes nor deadlocks, and Close stops everything.
func TestRemoveResetCloseWhileBusy(t *testing.T) {
	deadline(t)
	m := newTestManager(t, "alice")
	peer := newTestManager(t, "bob")
	w, _ := peer.Wrap("c0", "p", []byte("x"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ch := fmt.Sprint("c", i%3)
				m.Wrap(ch, fmt.Sprint(g, "-", i), []byte("x"))
				m.Unwrap(w)
				m.MarkDependenciesMet(ch, []string{"x"})
			}
		}(g)
	}
	for i := 0; i < 50; i++ {
		m.RemoveChannel(fmt.Sprint("c", i%3))
		if i%10 == 0 {
			m.Reset()
		}
	}
	close(stop)
	wg.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Wrap("c0", "late", []byte("x")); err != sds.ErrClosed {
		t.Fatalf("wrap after close: %v", err)
	}
	if _, err := m.Unwrap(w); err != sds.ErrClosed {
		t.Fatalf("unwrap after close: %v", err)
	}
}
