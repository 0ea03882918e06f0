package capitest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/libsds-go/libsds/ffi"
	"github.com/libsds-go/libsds/ffi/cborabi"
)

func cborManager(t testing.TB, participant string) uintptr {
	t.Helper()
	req := cborabi.Marshal(map[string]any{"config": map[string]any{"participantId": participant}})
	ctx, res := CborCreate(req)
	if ctx == 0 || res.CbRet != RetOK || res.Calls != 1 {
		t.Fatalf("sds_create: %#x %+v %s", ctx, res, res.Msg)
	}
	return ctx
}

func wrapReq(content, id, ch string) []byte {
	return cborabi.Marshal(cborabi.WrapEnvelope{Req: cborabi.WrapRequest{Message: []byte(content), MessageID: id, ChannelID: ch}})
}

func unwrapReq(wire []byte) []byte {
	return cborabi.Marshal(cborabi.UnwrapEnvelope{Req: cborabi.UnwrapRequest{Message: wire}})
}

// A panic inside any sds_* entry point becomes RET_ERR (NULL, 0 or 1 for
// the functions without a callback) and a RET_ERR callback, and the
// library keeps working.
func TestCborPanicsBecomeErrors(t *testing.T) {
	ctx := cborManager(t, "alice")
	ffi.SetFaultHook(func() { panic("injected") })
	names := []string{"sds_wrap_outgoing_message", "sds_unwrap_received_message", "sds_mark_dependencies_met",
		"sds_reset", "sds_start_periodic_tasks", "sds_set_retrieval_hint_provider", "sds_wrap_sync_message",
		"sds_wrap_ephemeral_message", "sds_get_stats"}
	for which, name := range names {
		res := CborCall(which, ctx, []byte{0xa0})
		if want := "libsds error: internal error in " + name + ": injected"; res.Ret != RetErr || res.Calls != 1 ||
			res.CbRet != RetErr || string(res.Msg) != want {
			t.Errorf("%s: %+v %q", name, res, res.Msg)
		}
	}
	if c, res := CborCreate([]byte{0xa0}); c != 0 || res.Calls != 1 ||
		string(res.Msg) != "libsds error: internal error in sds_create: injected" {
		t.Errorf("sds_create: %#x %+v %q", c, res, res.Msg)
	}
	counter := NewCounter()
	defer counter.Free()
	if id := CborListen(ctx, "message_ready", counter); id != 0 {
		t.Errorf("sds_add_event_listener: %d", id)
	}
	if r := CborUnlisten(ctx, 1); r != 1 {
		t.Errorf("sds_remove_event_listener: %d", r)
	}
	if r := CborDestroy(ctx); r != RetErr {
		t.Errorf("sds_destroy: %d", r)
	}
	ffi.SetFaultHook(nil)

	// Nothing leaked a reference or a lock.
	if id := CborListen(ctx, "message_ready", counter); id != 1 {
		t.Errorf("listener id after the panics: %d", id)
	}
	if res := CborCall(CborWrap, ctx, wrapReq("x", "m1", "c")); res.Ret != RetOK || res.CbRet != RetOK {
		t.Errorf("after: %+v %s", res, res.Msg)
	}
	if r := CborDestroy(ctx); r != RetOK {
		t.Errorf("destroy: %d", r)
	}
}

// Many goroutines (so many threads) wrap and unwrap through the sds_*
// functions while others add and remove listeners, under the race
// detector; every delivered message reaches the listener that stays.
func TestCborConcurrent(t *testing.T) {
	tx := cborManager(t, "tx")
	rx := cborManager(t, "rx")
	keep := NewCounter()
	defer keep.Free()
	churn := NewCounter()
	defer churn.Free()
	if id := CborListen(rx, "message_ready", keep); id != 1 {
		t.Fatalf("first id %d", id)
	}
	const senders, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan string, senders*each+16)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ch := fmt.Sprintf("ch%d", s) // one channel per sender: every message deliverable
				w := CborCall(CborWrap, tx, wrapReq("x", fmt.Sprintf("m%d-%d", s, i), ch))
				var resp cborabi.WrapResponse
				if w.CbRet != RetOK || cborabi.Decode(w.Msg, &resp) != nil {
					errs <- fmt.Sprintf("wrap: %+v %s", w, w.Msg)
					return
				}
				if u := CborCall(CborUnwrap, rx, unwrapReq(resp.Message)); u.CbRet != RetOK {
					errs <- fmt.Sprintf("unwrap: %+v %s", u, u.Msg)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			id := CborListen(rx, "message_ready", churn)
			if id == 0 || CborUnlisten(rx, id) != 0 {
				errs <- fmt.Sprintf("churn listener %d", id)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := keep.Load(); got != senders*each {
		t.Errorf("listener heard %d message_ready, want %d", got, senders*each)
	}
	if r := CborDestroy(tx) + CborDestroy(rx); r != 0 {
		t.Errorf("destroy: %d", r)
	}
}

// The Go wrapper of that generation encodes requests with fxamacker/cbor's
// defaults (nil []byte as null, the unit request as {"_placeholder": 0})
// and decodes results into its own structs: both work.
func TestCborGoWrapperShapes(t *testing.T) {
	ctx := cborManager(t, "")
	type wrapRequest struct {
		Message   []byte `cbor:"message"`
		MessageID string `cbor:"messageId"`
		ChannelID string `cbor:"channelId"`
	}
	type wrapReq struct {
		Req wrapRequest `cbor:"req"`
	}
	req := cborabi.Marshal(wrapReq{wrapRequest{[]byte("hello"), "m1", "room"}})
	res := CborCall(CborWrap, ctx, req)
	if res.CbRet != RetOK {
		t.Fatalf("wrap: %+v %s", res, res.Msg)
	}
	unit := cborabi.Marshal(struct {
		Placeholder uint8 `cbor:"_placeholder"`
	}{})
	if r := CborCall(CborReset, ctx, unit); r.CbRet != RetOK || string(r.Msg) != "\x60" {
		t.Errorf("reset: %+v %x", r, r.Msg)
	}
	// A message field sent as CBOR null (a nil slice with fxamacker's
	// defaults) is the empty message: the core's error, not a decode error.
	nullMsg := []byte("\xa1\x63req\xa1\x67message\xf6")
	if r := CborCall(CborWrap, ctx, nullMsg); r.CbRet != RetErr || !strings.HasPrefix(string(r.Msg), "error processing wrap request: ") {
		t.Errorf("null message: %+v %s", r, r.Msg)
	}
	CborDestroy(ctx)
}

// pingPong times round trips between a and c: per iteration one hop from
// a to c and one back, each with an id of its own.
func pingPong[M any](b *testing.B, a, c M, hop func(from, to M, id string)) {
	i := 0
	for b.Loop() {
		i++
		hop(a, c, fmt.Sprintf("a%d", i))
		hop(c, a, fmt.Sprintf("c%d", i))
	}
}

// BenchmarkCborPingPong: a round trip through the sds_* functions (wrap,
// unwrap on the peer, wrap there, unwrap back), requests encoded and
// results decoded by the host with fxamacker/cbor, as a Go host would.
func BenchmarkCborPingPong(b *testing.B) {
	a, c := cborManager(b, "a"), cborManager(b, "c")
	defer CborDestroy(a)
	defer CborDestroy(c)
	payload := strings.Repeat("x", 100)
	hop := func(from, to uintptr, id string) {
		w := CborCall(CborWrap, from, wrapReq(payload, id, "room"))
		var resp cborabi.WrapResponse
		if w.CbRet != RetOK || cborabi.Decode(w.Msg, &resp) != nil {
			b.Fatalf("wrap: %+v %s", w, w.Msg)
		}
		u := CborCall(CborUnwrap, to, unwrapReq(resp.Message))
		var ur cborabi.UnwrapResponse
		if u.CbRet != RetOK || cborabi.Decode(u.Msg, &ur) != nil {
			b.Fatalf("unwrap: %+v %s", u, u.Msg)
		}
	}
	pingPong(b, a, c, hop)
}

// BenchmarkBinaryPingPong is BenchmarkCborPingPong through the Sds* binary
// functions, for comparison from the same Go host.
func BenchmarkBinaryPingPong(b *testing.B) {
	a, c := newManager(b, `{"participantId":"a"}`), newManager(b, `{"participantId":"c"}`)
	defer cleanup(b, a)
	defer cleanup(b, c)
	payload := []byte(strings.Repeat("x", 100))
	hop := func(from, to *Manager, id string) {
		w, ret, msg := from.WrapBinary(payload, id, "room")
		if ret != RetOK {
			b.Fatalf("wrap: %s", msg)
		}
		if _, ret, msg := to.UnwrapBinary(w); ret != RetOK {
			b.Fatalf("unwrap: %s", msg)
		}
	}
	pingPong(b, a, c, hop)
}

// FuzzCborCalls feeds arbitrary requests to the request-taking sds_*
// functions (all but sds_set_retrieval_hint_provider, whose request holds
// a function pointer) on one manager: each call returns RET_OK and
// answers exactly once, with a result or an error message carrying one of
// the documented prefixes.
func FuzzCborCalls(f *testing.F) {
	f.Add(wrapReq("hi", "m1", "c1"), uint8(CborWrap))
	f.Add(unwrapReq([]byte{10, 2, 109, 49}), uint8(CborUnwrap))
	f.Add(cborabi.Marshal(cborabi.MarkDependenciesEnvelope{Req: cborabi.MarkDependenciesRequest{MessageIDs: []string{"a"}, ChannelID: "c1"}}), uint8(CborMark))
	f.Add([]byte{0xa0}, uint8(CborReset))
	f.Add(cborabi.Marshal(cborabi.SyncEnvelope{Req: cborabi.SyncRequest{ChannelID: "c1"}}), uint8(CborWrapSync))
	f.Add(wrapReq("eph", "e1", "c1"), uint8(CborWrapEphemeral))
	f.Add([]byte{0xa0}, uint8(CborStats))
	ctx := cborManager(f, "fuzz")
	ops := []int{CborWrap, CborUnwrap, CborMark, CborReset, CborWrapSync, CborWrapEphemeral, CborStats}
	prefixes := map[int]string{CborWrap: "wrap", CborUnwrap: "unwrap", CborMark: "mark-dependencies",
		CborReset: "reset", CborWrapSync: "wrap-sync", CborWrapEphemeral: "wrap-ephemeral", CborStats: "get-stats"}
	types := map[int]string{CborWrap: cborabi.TypeWrap, CborUnwrap: cborabi.TypeUnwrap, CborMark: cborabi.TypeMarkDeps,
		CborReset: cborabi.TypeReset, CborWrapSync: cborabi.TypeWrapSync, CborWrapEphemeral: cborabi.TypeWrapEphemeral,
		CborStats: cborabi.TypeStats}
	calls := 0
	f.Fuzz(func(t *testing.T, req []byte, which uint8) {
		if calls++; calls%1024 == 0 { // keep the manager's state small
			CborCall(CborReset, ctx, []byte{0xa0})
		}
		op := ops[int(which)%len(ops)]
		res := CborCall(op, ctx, req)
		if res.Ret != RetOK || res.Calls != 1 {
			t.Fatalf("%s: %+v", prefixes[op], res)
		}
		if res.CbRet == RetOK {
			return
		}
		msg := string(res.Msg)
		if !strings.HasPrefix(msg, "CBOR decode failed for "+types[op]+": ") &&
			!strings.HasPrefix(msg, "error processing "+prefixes[op]+" request: ") {
			t.Fatalf("%s: unexpected error %q", prefixes[op], msg)
		}
	})
}
