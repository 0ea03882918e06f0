package sds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/libsds-go/libsds/sds"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// newRM creates a manager with NewReliabilityManager (the C binding's
// constructor) and cleans it up when the test ends.
func newRM(t *testing.T) *ReliabilityManager {
	t.Helper()
	rm, err := NewReliabilityManager(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rm == nil {
		t.Fatal("NewReliabilityManager returned nil without an error")
	}
	t.Cleanup(func() {
		if err := rm.Cleanup(); err != nil {
			t.Error(err)
		}
	})
	return rm
}

// newClocked creates a manager on a manual clock, with cfg changed by edit.
func newClocked(t *testing.T, clk *core.ManualClock, edit func(*Config)) *ReliabilityManager {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Clock = clk
	if edit != nil {
		edit(&cfg)
	}
	rm, err := NewReliabilityManagerWithConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Cleanup() })
	return rm
}

func wrap(t *testing.T, rm *ReliabilityManager, channel, id, payload string) []byte {
	t.Helper()
	b, err := rm.WrapOutgoingMessage([]byte(payload), MessageID(id), channel)
	if err != nil {
		t.Fatalf("wrap %s: %v", id, err)
	}
	if len(b) == 0 {
		t.Fatalf("wrap %s: no bytes", id)
	}
	return b
}

func unwrap(t *testing.T, rm *ReliabilityManager, b []byte) *UnwrappedMessage {
	t.Helper()
	u, err := rm.UnwrapReceivedMessage(b)
	if err != nil {
		t.Fatalf("unwrap: %v", err)
	}
	if u == nil || u.Message == nil || u.MissingDeps == nil || u.ChannelId == nil {
		t.Fatalf("unwrap: result with nil fields: %+v", u)
	}
	return u
}

func depIDs(deps []HistoryEntry) []MessageID {
	ids := make([]MessageID, len(deps))
	for i, d := range deps {
		ids[i] = d.MessageID
	}
	slices.Sort(ids)
	return ids
}

// recorder collects events as strings ("ready m1 c"), safe for the
// periodic goroutine.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func (r *recorder) callbacks() EventCallbacks {
	return EventCallbacks{
		OnMessageReady: func(id MessageID, ch string) { r.add("ready %s %s", id, ch) },
		OnMessageSent:  func(id MessageID, ch string) { r.add("sent %s %s", id, ch) },
		OnMissingDependencies: func(id MessageID, deps []HistoryEntry, ch string) {
			r.add("missing %s %v %s", id, depIDs(deps), ch)
		},
		OnPeriodicSync: func() { r.add("sync") },
		OnRepairReady:  func(msg []byte, ch string) { r.add("repair %d %s", len(msg), ch) },
		OnMessageResend: func(id MessageID, msg []byte, attempt int, ch string) {
			r.add("resend %s %d %s", id, attempt, ch)
		},
		OnMessageFailed:    func(id MessageID, ch string) { r.add("failed %s %s", id, ch) },
		OnDependenciesLost: func(id MessageID, lost []MessageID, ch string) { r.add("lost %s %v %s", id, lost, ch) },
		OnIncomingEvicted:  func(id MessageID, ch string) { r.add("evicted %s %s", id, ch) },
		OnRepairRequest: func(msg []byte, requested []MessageID, ch string) {
			r.add("request %d %v %s", len(msg), requested, ch)
		},
	}
}

func expectEvents(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	if got := r.take(); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

// The core's diagnostics reach the *zap.Logger given to
// NewReliabilityManager, at their level, with their fields.
func TestNewReliabilityManagerLogsToZap(t *testing.T) {
	obs, logs := observer.New(zapcore.InfoLevel)
	rm, err := NewReliabilityManager(zap.New(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Cleanup()
	rm.RegisterCallbacks(EventCallbacks{OnMessageReady: func(MessageID, string) { panic("boom") }})
	unwrap(t, rm, wrap(t, newRM(t), "log", "l1", "x")) // the handler's panic is contained and logged
	got := logs.FilterMessageSnippet("panicked").All()
	if len(got) != 1 {
		t.Fatalf("logged %d panic lines, want 1: %+v", len(got), logs.All())
	}
	if got[0].Level != zapcore.ErrorLevel || got[0].ContextMap()["panic"] != "boom" {
		t.Errorf("entry %+v, want error level with panic=boom", got[0])
	}
}

// Creation, reset and cleanup; a reset really forgets the channel.
func TestLifecycle(t *testing.T) {
	rm := newRM(t)
	wrap(t, rm, "life", "m1", "one")
	if _, err := rm.WrapOutgoingMessage([]byte("again"), "m1", "life"); !errors.Is(err, ErrDuplicateMessageID) {
		t.Fatalf("reusing an id before reset: %v, want ErrDuplicateMessageID", err)
	}
	if err := rm.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := rm.MarkDependenciesMet([]MessageID{"x"}, "life"); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("channel survived the reset: %v", err)
	}
	wrap(t, rm, "life", "m1", "one again") // the id is free again
}

// A manager unwraps what it wrapped itself: the payload comes back, with
// nothing missing, and it is not delivered a second time.
func TestWrapUnwrap(t *testing.T) {
	rm := newRM(t)
	var r recorder
	rm.RegisterCallbacks(r.callbacks())
	w := wrap(t, rm, "wrap-unwrap", "own-1", "hello reliability")
	u := unwrap(t, rm, w)
	if string(*u.Message) != "hello reliability" {
		t.Errorf("payload = %q", *u.Message)
	}
	if *u.ChannelId != "wrap-unwrap" {
		t.Errorf("channel = %q", *u.ChannelId)
	}
	if len(*u.MissingDeps) != 0 {
		t.Errorf("missing deps = %v, want none", *u.MissingDeps)
	}
	expectEvents(t, &r) // our own message: neither ready nor sent
}

// A peer that got the second message without the first reports the first
// missing; marking it met delivers the second.
func TestDependencies(t *testing.T) {
	alice, bob := newRM(t), newRM(t)
	const ch = "deps"
	w1 := wrap(t, alice, ch, "dep-1", "message one")
	unwrap(t, alice, w1)
	w2 := wrap(t, alice, ch, "dep-2", "message two")

	var r recorder
	bob.RegisterCallbacks(r.callbacks())
	u := unwrap(t, bob, w2)
	if got := depIDs(*u.MissingDeps); !slices.Equal(got, []MessageID{"dep-1"}) {
		t.Fatalf("missing deps = %v, want [dep-1]", got)
	}
	if string(*u.Message) != "message two" {
		t.Errorf("payload = %q", *u.Message)
	}
	expectEvents(t, &r, "missing dep-2 [dep-1] deps")

	if err := bob.MarkDependenciesMet([]MessageID{"dep-1"}, ch); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, &r, "ready dep-2 deps")
	// dep-1 counts as present now: receiving it late delivers nothing.
	unwrap(t, bob, w1)
	expectEvents(t, &r)
}

// OnMessageReady runs on the receiver, with the channel, before the unwrap
// returns.
func TestCallbackMessageReady(t *testing.T) {
	sender, receiver := newRM(t), newRM(t)
	const ch = "cb-ready"
	var ready []string
	receiver.RegisterCallbacks(EventCallbacks{
		OnMessageReady: func(id MessageID, c string) { ready = append(ready, string(id)+"@"+c) },
	})
	senderReady := 0
	sender.RegisterCallbacks(EventCallbacks{OnMessageReady: func(MessageID, string) { senderReady++ }})
	unwrap(t, receiver, wrap(t, sender, ch, "ready-1", "ready test"))
	if !slices.Equal(ready, []string{"ready-1@cb-ready"}) {
		t.Errorf("OnMessageReady calls = %v", ready)
	}
	if senderReady != 0 {
		t.Errorf("sender got %d OnMessageReady calls", senderReady)
	}
}

// Our message counts as sent once a peer's message names it in its causal
// history.
func TestCallbackMessageSent(t *testing.T) {
	a, b := newRM(t), newRM(t)
	const ch = "cb-sent"
	var r recorder
	a.RegisterCallbacks(r.callbacks())
	w1 := wrap(t, a, ch, "sent-1", "first")
	unwrap(t, b, w1)
	w2 := wrap(t, b, ch, "sent-2", "second, acknowledging the first")
	expectEvents(t, &r)
	unwrap(t, a, w2)
	expectEvents(t, &r, "sent sent-1 cb-sent", "ready sent-2 cb-sent")
}

// A receiver that lacks the first of two messages reports it through
// OnMissingDependencies, naming the message that waits.
func TestCallbackMissingDependencies(t *testing.T) {
	sender, receiver := newRM(t), newRM(t)
	const ch = "cb-missing"
	var r recorder
	receiver.RegisterCallbacks(r.callbacks())
	wrap(t, sender, ch, "miss-1", "never arrives")
	w2 := wrap(t, sender, ch, "miss-2", "arrives")
	unwrap(t, receiver, w2)
	expectEvents(t, &r, "missing miss-2 [miss-1] cb-missing")
}

// StartPeriodicTasks raises OnPeriodicSync at once, on the manager's own
// goroutine, with the default constructor.
func TestCallbackPeriodicSync(t *testing.T) {
	rm := newRM(t)
	synced := make(chan struct{}, 1)
	rm.RegisterCallbacks(EventCallbacks{OnPeriodicSync: func() {
		select {
		case synced <- struct{}{}:
		default:
		}
	}})
	if err := rm.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-synced: // emitted at start: no time has to pass
	case <-time.After(10 * time.Second):
		t.Fatal("no OnPeriodicSync after StartPeriodicTasks")
	}
}

// Driven by a manual clock: a sync at start and one per interval, none
// after Cleanup; starting twice starts nothing more.
func TestPeriodicSyncInterval(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	rm := newClocked(t, clk, nil)
	var syncs atomic.Int32
	rm.RegisterCallbacks(EventCallbacks{OnPeriodicSync: func() { syncs.Add(1) }})
	if err := rm.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	if err := rm.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	interval := rm.Manager().Config().SyncMessageInterval
	clk.WaitForTimers(3) // the start's work is done once its timers are armed
	if n := syncs.Load(); n != 1 {
		t.Fatalf("syncs after start = %d, want 1", n)
	}
	clk.Advance(interval - time.Millisecond)
	clk.WaitForTimers(3)
	if n := syncs.Load(); n != 1 {
		t.Fatalf("syncs before the interval = %d, want 1", n)
	}
	clk.Advance(time.Millisecond)
	clk.WaitForTimers(3)
	if n := syncs.Load(); n != 2 {
		t.Fatalf("syncs after one interval = %d, want 2", n)
	}
	if err := rm.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n := clk.Timers(); n != 0 {
		t.Errorf("%d timers armed after Cleanup", n)
	}
	clk.Advance(10 * interval)
	if n := syncs.Load(); n != 2 {
		t.Errorf("syncs after Cleanup = %d, want 2", n)
	}
}

// The C binding's combined scenario: ready and sent on both sides, and a
// third participant missing two messages.
func TestCallbacksCombined(t *testing.T) {
	sender, receiver, late := newRM(t), newRM(t), newRM(t)
	const ch = "cb-combined"
	var rs, rr, rl recorder
	sender.RegisterCallbacks(rs.callbacks())
	receiver.RegisterCallbacks(rr.callbacks())
	late.RegisterCallbacks(rl.callbacks())

	w1 := wrap(t, sender, ch, "comb-1", "combined 1")
	unwrap(t, receiver, w1)
	w2 := wrap(t, receiver, ch, "comb-2", "combined 2")
	unwrap(t, sender, w2)
	w3 := wrap(t, sender, ch, "comb-3", "combined 3")
	u := unwrap(t, late, w3)

	expectEvents(t, &rr, "ready comb-1 cb-combined")
	expectEvents(t, &rs, "sent comb-1 cb-combined", "ready comb-2 cb-combined")
	expectEvents(t, &rl, "missing comb-3 [comb-1 comb-2] cb-combined")
	if got := depIDs(*u.MissingDeps); !slices.Equal(got, []MessageID{"comb-1", "comb-2"}) {
		t.Errorf("missing deps = %v", got)
	}
	// The late participant catches up in any order; comb-3 waits for both.
	unwrap(t, late, w2)
	expectEvents(t, &rl, "missing comb-2 [comb-1] cb-combined")
	unwrap(t, late, w1)
	expectEvents(t, &rl, "ready comb-1 cb-combined", "ready comb-2 cb-combined", "ready comb-3 cb-combined")
}

// One manager serves several channels: unwrap reports each message's
// channel, and dependencies are marked met per channel.
func TestMultiChannelSingleManager(t *testing.T) {
	rm := newRM(t)
	w1 := wrap(t, rm, "channel-1", "msg1", "message for channel 1")
	w2 := wrap(t, rm, "channel-2", "msg2", "message for channel 2")
	for _, c := range []struct {
		wire          []byte
		channel, text string
	}{{w1, "channel-1", "message for channel 1"}, {w2, "channel-2", "message for channel 2"}} {
		u := unwrap(t, rm, c.wire)
		if string(*u.Message) != c.text || *u.ChannelId != c.channel {
			t.Errorf("unwrapped %q on %q, want %q on %q", *u.Message, *u.ChannelId, c.text, c.channel)
		}
	}
	if err := rm.MarkDependenciesMet([]MessageID{"msg1"}, "channel-1"); err != nil {
		t.Error(err)
	}
	if err := rm.MarkDependenciesMet([]MessageID{"msg2"}, "channel-2"); err != nil {
		t.Error(err)
	}
	// The channels are separate: the same id may be used on both.
	wrap(t, rm, "channel-2", "msg1", "same id, other channel")
}

// Acknowledgements and deliveries on two channels each name their own
// channel.
func TestMultiChannelCallbacks(t *testing.T) {
	rm1, rm2 := newRM(t), newRM(t)
	var r recorder
	rm1.RegisterCallbacks(r.callbacks())
	w1 := wrap(t, rm1, "cb-ch-1", "on-ch1", "payload1")
	w2 := wrap(t, rm1, "cb-ch-2", "on-ch2", "payload2")
	unwrap(t, rm2, w1)
	unwrap(t, rm2, w2)
	a1 := wrap(t, rm2, "cb-ch-1", "ack-ch1", "ack1")
	a2 := wrap(t, rm2, "cb-ch-2", "ack-ch2", "ack2")
	unwrap(t, rm1, a1)
	unwrap(t, rm1, a2)
	expectEvents(t, &r,
		"sent on-ch1 cb-ch-1", "ready ack-ch1 cb-ch-1",
		"sent on-ch2 cb-ch-2", "ready ack-ch2 cb-ch-2")
}

// The RetrievalHintProvider's hints travel in the causal history and come
// out in the receiver's missing dependencies.
func TestRetrievalHints(t *testing.T) {
	rm, rm2 := newRM(t), newRM(t)
	const ch = "hints"
	var asked []MessageID
	rm.RegisterCallbacks(EventCallbacks{RetrievalHintProvider: func(id MessageID) []byte {
		asked = append(asked, id)
		return []byte("hint-for-" + id)
	}})
	unwrap(t, rm, wrap(t, rm, ch, "hint-1", "one"))
	w2 := wrap(t, rm, ch, "hint-2", "two")
	if !slices.Contains(asked, "hint-1") {
		t.Errorf("provider asked for %v, not hint-1", asked)
	}
	var evDeps []HistoryEntry
	rm2.RegisterCallbacks(EventCallbacks{OnMissingDependencies: func(_ MessageID, deps []HistoryEntry, _ string) { evDeps = deps }})
	u := unwrap(t, rm2, w2)
	for _, deps := range [][]HistoryEntry{*u.MissingDeps, evDeps} {
		if len(deps) != 1 || deps[0].MessageID != "hint-1" || string(deps[0].RetrievalHint) != "hint-for-hint-1" {
			t.Errorf("missing deps = %+v, want hint-1 with its hint", deps)
		}
	}

	// Without a provider the hint is empty, and not nil (as the C binding
	// decodes it).
	rm3, rm4 := newRM(t), newRM(t)
	wrap(t, rm3, ch, "plain-1", "one")
	u = unwrap(t, rm4, wrap(t, rm3, ch, "plain-2", "two"))
	if deps := *u.MissingDeps; len(deps) != 1 || deps[0].RetrievalHint == nil || len(deps[0].RetrievalHint) != 0 {
		t.Errorf("missing deps without hints = %#v", deps)
	}
}

// Every error path: nil manager, bad arguments, failed operations, and
// use after Cleanup.
func TestErrors(t *testing.T) {
	var nilRM *ReliabilityManager
	for name, err := range map[string]error{
		"Cleanup": nilRM.Cleanup(),
		"Reset":   nilRM.Reset(),
		"Start":   nilRM.StartPeriodicTasks(),
		"MarkMet": nilRM.MarkDependenciesMet([]MessageID{"a"}, "c"),
		"Wrap":    func() error { _, err := nilRM.WrapOutgoingMessage([]byte("x"), "m", "c"); return err }(),
		"Unwrap":  func() error { _, err := nilRM.UnwrapReceivedMessage([]byte{1}); return err }(),
	} {
		if !errors.Is(err, errEmptyReliabilityManager) {
			t.Errorf("nil manager %s: %v", name, err)
		}
	}
	nilRM.RegisterCallbacks(EventCallbacks{}) // must not panic
	nilRM.OnEvent(`{"eventType":"periodic_sync"}`)
	if nilRM.Manager() != nil {
		t.Error("nil manager has a core manager")
	}

	rm := newRM(t)
	check := func(what string, err error, target error, prefix string) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("%s: %v, want %v", what, err, target)
		} else if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("%s: %q does not start with %q", what, err, prefix)
		}
	}
	_, err := rm.WrapOutgoingMessage(nil, "m", "c")
	check("empty message", err, ErrInvalidArgument, "error WrapOutgoingMessage: ")
	_, err = rm.WrapOutgoingMessage([]byte("x"), "m", "")
	check("empty channel", err, ErrInvalidArgument, "error WrapOutgoingMessage: ")
	_, err = rm.WrapOutgoingMessage([]byte("x"), "", "c")
	check("empty message id", err, ErrInvalidArgument, "error WrapOutgoingMessage: ")
	_, err = rm.WrapOutgoingMessage(make([]byte, core.MaxMessageSize+1), "big", "c")
	check("too large", err, ErrContentTooLarge, "error WrapOutgoingMessage: ")
	wrap(t, rm, "c", "m", "x")
	_, err = rm.WrapOutgoingMessage([]byte("y"), "m", "c")
	check("duplicate id", err, ErrDuplicateMessageID, "error WrapOutgoingMessage: ")
	for _, junk := range [][]byte{nil, {}, []byte("not an SDS message")} {
		u, err := rm.UnwrapReceivedMessage(junk)
		check(fmt.Sprintf("unwrap %q", junk), err, ErrDecode, "error UnwrapReceivedMessage: ")
		if u != nil {
			t.Errorf("unwrap %q: result %+v with the error", junk, u)
		}
	}
	check("mark met, unknown channel", rm.MarkDependenciesMet([]MessageID{"a"}, "nowhere"), ErrUnknownChannel, "error MarkDependenciesMet: ")
	check("mark met, empty channel", rm.MarkDependenciesMet([]MessageID{"a"}, ""), ErrInvalidArgument, "error MarkDependenciesMet: ")
	if err := rm.MarkDependenciesMet(nil, "nowhere"); err != nil {
		t.Errorf("mark met with no ids: %v, want nil (nothing to do)", err)
	}

	if err := rm.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := rm.Cleanup(); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
	_, err = rm.WrapOutgoingMessage([]byte("x"), "m2", "c")
	check("wrap after cleanup", err, ErrClosed, "error WrapOutgoingMessage: ")
	_, err = rm.UnwrapReceivedMessage(wrap(t, newRM(t), "c", "m9", "x"))
	check("unwrap after cleanup", err, ErrClosed, "error UnwrapReceivedMessage: ")
	check("mark met after cleanup", rm.MarkDependenciesMet([]MessageID{"a"}, "c"), ErrClosed, "error MarkDependenciesMet: ")
	check("reset after cleanup", rm.Reset(), ErrClosed, "error ResetReliabilityManager: ")
	check("start after cleanup", rm.StartPeriodicTasks(), ErrClosed, "error StartPeriodicTasks: ")

	cfg := DefaultConfig()
	cfg.BloomCapacity = 0
	if _, err := NewReliabilityManagerWithConfig(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad config: %v, want ErrInvalidConfig", err)
	}
}

// The types decode the C library's JSON results and marshal as the C
// binding's types do.
func TestJSONShapes(t *testing.T) {
	const result = `{"message":[104,105],"channelId":"c1","missingDeps":[{"messageId":"m0","retrievalHint":"aGludA=="},{"messageId":"m1","retrievalHint":""}]}`
	var u UnwrappedMessage
	if err := json.Unmarshal([]byte(result), &u); err != nil {
		t.Fatal(err)
	}
	if string(*u.Message) != "hi" || *u.ChannelId != "c1" || len(*u.MissingDeps) != 2 ||
		(*u.MissingDeps)[0].MessageID != "m0" || string((*u.MissingDeps)[0].RetrievalHint) != "hint" ||
		(*u.MissingDeps)[1].RetrievalHint == nil {
		t.Errorf("decoded %+v", u)
	}
	b, err := json.Marshal(HistoryEntry{MessageID: "m0", RetrievalHint: []byte("hint")})
	if err != nil || string(b) != `{"messageId":"m0","retrievalHint":"aGludA=="}` {
		t.Errorf("HistoryEntry JSON = %s, %v", b, err)
	}
	b, err = json.Marshal(u)
	if err != nil || !strings.HasPrefix(string(b), `{"message":"aGk=","missingDeps":[{"messageId":"m0"`) {
		t.Errorf("UnwrappedMessage JSON = %s, %v", b, err)
	}

	// A real unwrap result survives a JSON round trip.
	rm, rm2 := newRM(t), newRM(t)
	wrap(t, rm, "j", "j1", "first")
	got := unwrap(t, rm2, wrap(t, rm, "j", "j2", "second"))
	b, err = json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back UnwrappedMessage
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(*back.Message, *got.Message) || *back.ChannelId != "j" || !slices.Equal(depIDs(*back.MissingDeps), []MessageID{"j1"}) {
		t.Errorf("round trip: %s", b)
	}
}

// OnEvent dispatches the C library's event JSON to the callbacks.
func TestOnEvent(t *testing.T) {
	rm := newRM(t)
	var r recorder
	rm.RegisterCallbacks(r.callbacks())
	for _, ev := range []string{
		`{"messageId":"m1","channelId":"c1","eventType":"message_ready"}`,
		`{"messageId":"m1","channelId":"c1","eventType":"message_sent"}`,
		`{"eventType":"missing_dependencies","messageId":"m2","channelId":"c1","missingDeps":[{"messageId":"m1","retrievalHint":""}]}`,
		`{"eventType":"periodic_sync"}`,
		`{"eventType":"repair_ready","channelId":"c1","message":"AQID"}`,
		`{"eventType":"message_resend","messageId":"m1","channelId":"c1","attempt":2,"message":"AQID"}`,
		`{"eventType":"message_failed","messageId":"m1","channelId":"c1"}`,
		`{"eventType":"dependencies_lost","messageId":"m2","channelId":"c1","lost":["m1"]}`,
		`{"eventType":"incoming_evicted","messageId":"m2","channelId":"c1"}`,
		`{"eventType":"repair_request","messageId":"sync-1","channelId":"c1","requested":["m1","m3"],"message":"AQID"}`,
		`{"eventType":"something_new","messageId":"m2"}`,
		`not json`,
	} {
		rm.OnEvent(ev)
	}
	expectEvents(t, &r, "ready m1 c1", "sent m1 c1", "missing m2 [m1] c1", "sync", "repair 3 c1",
		"resend m1 2 c1", "failed m1 c1", "lost m2 [m1] c1", "evicted m2 c1", "request 3 [m1 m3] c1")
	rm.OnCallbackError(1, "ignored")
}

// Registering again replaces the callbacks; an empty set silences them.
func TestRegisterCallbacksReplaces(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var first, second recorder
	b.RegisterCallbacks(first.callbacks())
	unwrap(t, b, wrap(t, a, "r", "r1", "one"))
	b.RegisterCallbacks(second.callbacks())
	unwrap(t, b, wrap(t, a, "r", "r2", "two"))
	b.RegisterCallbacks(EventCallbacks{})
	unwrap(t, b, wrap(t, a, "r", "r3", "three"))
	expectEvents(t, &first, "ready r1 r")
	expectEvents(t, &second, "ready r2 r")
}

// A callback may call back into its manager: replying from OnMessageReady
// neither deadlocks nor loses the reply's own events.
func TestCallbackReentry(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var replies [][]byte
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, ch string) {
		w, err := b.WrapOutgoingMessage([]byte("re: "+id), "re-"+id, ch)
		if err != nil {
			t.Error(err)
			return
		}
		replies = append(replies, w)
	}})
	var r recorder
	a.RegisterCallbacks(r.callbacks())
	unwrap(t, b, wrap(t, a, "re", "q1", "question"))
	if len(replies) != 1 {
		t.Fatalf("%d replies", len(replies))
	}
	unwrap(t, a, replies[0])
	expectEvents(t, &r, "sent q1 re", "ready re-q1 re")
}

// Unacknowledged messages are handed back for rebroadcast, then given up;
// dependencies that never come are reported lost. Time comes from a
// manual clock, each sweep run by hand.
func TestResendFailedAndLost(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	edit := func(c *Config) {
		c.ResendInterval = time.Minute
		c.MaxResendAttempts = 1
		c.MaxDependencyWait = 5 * time.Minute
	}
	a, b := newClocked(t, clk, edit), newClocked(t, clk, edit)
	var ra, rb recorder
	a.RegisterCallbacks(ra.callbacks())
	b.RegisterCallbacks(rb.callbacks())
	var resent []byte
	cb := ra.callbacks()
	cb.OnMessageResend = func(id MessageID, msg []byte, attempt int, ch string) {
		resent = msg
		ra.add("resend %s %d %s", id, attempt, ch)
	}
	a.RegisterCallbacks(cb)

	wrap(t, a, "t", "t1", "lost on the way")
	w2 := wrap(t, a, "t", "t2", "arrives")
	a.Manager().Sweep()
	expectEvents(t, &ra) // not due yet
	clk.Advance(time.Minute)
	a.Manager().Sweep()
	expectEvents(t, &ra, "resend t1 1 t", "resend t2 1 t")
	if u := unwrap(t, b, resent); string(*u.Message) != "arrives" {
		t.Errorf("resent bytes carry %q", *u.Message)
	}
	expectEvents(t, &rb, "missing t2 [t1] t")
	clk.Advance(time.Minute)
	a.Manager().Sweep()
	expectEvents(t, &ra, "failed t1 t", "failed t2 t")

	clk.Advance(5 * time.Minute)
	b.Manager().Sweep()
	expectEvents(t, &rb, "lost t2 [t1] t", "ready t2 t")
	// The original t2 arriving now is a duplicate.
	unwrap(t, b, w2)
	expectEvents(t, &rb)
}

// SDS-R through the binding: a participant missing a message asks for it
// in its next message, and the original sender's repair sweep hands out
// the bytes to rebroadcast.
func TestRepairReady(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	participant := func(id string) func(*Config) {
		return func(c *Config) {
			c.ParticipantID = id
			c.RepairTMin = time.Second
			c.RepairTMax = time.Second
		}
	}
	alice, carol := newClocked(t, clk, participant("alice")), newClocked(t, clk, participant("carol"))
	var ra, rc recorder
	var repaired []byte
	cb := ra.callbacks()
	cb.OnRepairReady = func(msg []byte, ch string) {
		repaired = msg
		ra.add("repair %s", ch)
	}
	alice.RegisterCallbacks(cb)
	carol.RegisterCallbacks(rc.callbacks())

	wrap(t, alice, "sdsr", "r1", "carol misses this")
	unwrap(t, carol, wrap(t, alice, "sdsr", "r2", "carol gets this"))
	expectEvents(t, &rc, "missing r2 [r1] sdsr")
	clk.Advance(2 * time.Second) // carol's request is due
	unwrap(t, alice, wrap(t, carol, "sdsr", "c1", "asking for r1"))
	alice.Manager().RepairSweep()
	expectEvents(t, &ra, "sent r2 sdsr", "ready c1 sdsr", "repair sdsr")
	if repaired == nil {
		t.Fatal("no repair bytes")
	}
	if u := unwrap(t, carol, repaired); string(*u.Message) != "carol misses this" {
		t.Errorf("repair carries %q", *u.Message)
	}
	expectEvents(t, &rc, "ready r1 sdsr", "ready r2 sdsr")
}

// SDS-R through the binding with the default rules: a participant missing
// a message is handed a sync message carrying its request when T_req
// comes (OnRepairRequest), and the original sender answers it at once.
func TestRepairRequest(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	participant := func(id string) func(*Config) {
		return func(c *Config) { c.ParticipantID, c.RepairTMin, c.RepairTMax = id, time.Second, time.Second }
	}
	alice, carol := newClocked(t, clk, participant("alice")), newClocked(t, clk, participant("carol"))
	var ra, rc recorder
	var request, repaired []byte
	cb := rc.callbacks()
	cb.OnRepairRequest = func(msg []byte, requested []MessageID, ch string) {
		request = msg
		rc.add("request %v %s", requested, ch)
	}
	carol.RegisterCallbacks(cb)
	cb = ra.callbacks()
	cb.OnRepairReady = func(msg []byte, ch string) { repaired = msg }
	alice.RegisterCallbacks(cb)

	wrap(t, alice, "sdsr", "r1", "carol misses this")
	unwrap(t, carol, wrap(t, alice, "sdsr", "r2", "carol gets this"))
	clk.Advance(time.Second)
	carol.Manager().RepairSweep()
	expectEvents(t, &rc, "missing r2 [r1] sdsr", "request [r1] sdsr")
	if _, err := alice.Manager().Unwrap(request); err != nil {
		t.Fatal(err)
	}
	alice.Manager().RepairSweep()
	if repaired == nil {
		t.Fatal("alice did not answer at once")
	}
	unwrap(t, carol, repaired)
	expectEvents(t, &rc, "ready r1 sdsr", "ready r2 sdsr")
}

// Many managers created, used and cleaned up at once (run with -race),
// and long-lived ones hammered from several goroutines.
func TestConcurrentManagers(t *testing.T) {
	src := newRM(t)
	var chain [][]byte
	for i := range 4 {
		chain = append(chain, wrap(t, src, "stress", fmt.Sprintf("s%d", i), fmt.Sprintf("payload %d", i)))
	}
	last := chain[len(chain)-1]
	var wg sync.WaitGroup
	var missing atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 50 {
				rm, err := NewReliabilityManager(nil)
				if err != nil {
					t.Error(err)
					return
				}
				rm.RegisterCallbacks(EventCallbacks{OnMissingDependencies: func(MessageID, []HistoryEntry, string) { missing.Add(1) }})
				if _, err := rm.UnwrapReceivedMessage(last); err != nil {
					t.Error(err)
				}
				if err := rm.Cleanup(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := missing.Load(); n != 8*50 {
		t.Errorf("missing-dependency events = %d, want %d", n, 8*50)
	}

	shared := newRM(t)
	var ready atomic.Int64
	shared.RegisterCallbacks(EventCallbacks{OnMessageReady: func(MessageID, string) { ready.Add(1) }})
	for g := range 4 {
		sender := newRM(t)
		wg.Go(func() {
			for i := range 100 {
				w, err := sender.WrapOutgoingMessage([]byte("x"), MessageID(fmt.Sprintf("g%d-%d", g, i)), fmt.Sprintf("ch-%d", g))
				if err == nil {
					_, err = shared.UnwrapReceivedMessage(w)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := ready.Load(); n != 400 {
		t.Errorf("ready events = %d, want 400", n)
	}
}

// A missing dependency names its sender the same way in the unwrap result,
// in OnMissingDependencies, and through OnEvent from the C library's JSON.
func TestMissingDependencySender(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	alice := newClocked(t, clk, func(c *Config) { c.ParticipantID = "alice" })
	bob := newRM(t)
	var fromEvent [][]HistoryEntry
	bob.RegisterCallbacks(EventCallbacks{
		OnMissingDependencies: func(_ MessageID, deps []HistoryEntry, _ string) { fromEvent = append(fromEvent, deps) },
	})
	wrap(t, alice, "c", "m1", "one")
	res := unwrap(t, bob, wrap(t, alice, "c", "m2", "two"))
	want := []HistoryEntry{{MessageID: "m1", RetrievalHint: []byte{}, SenderID: "alice"}}
	if !slices.EqualFunc(*res.MissingDeps, want, sameEntry) {
		t.Errorf("unwrap result %+v, want %+v", *res.MissingDeps, want)
	}
	bob.OnEvent(`{"eventType":"missing_dependencies","messageId":"m2","channelId":"c","missingDeps":[{"messageId":"m1","retrievalHint":"","senderId":"alice"}]}`)
	if len(fromEvent) != 2 || !slices.EqualFunc(fromEvent[0], want, sameEntry) || !slices.EqualFunc(fromEvent[1], want, sameEntry) {
		t.Errorf("OnMissingDependencies got %+v, want %+v twice", fromEvent, want)
	}
}

func sameEntry(a, b HistoryEntry) bool {
	return a.MessageID == b.MessageID && bytes.Equal(a.RetrievalHint, b.RetrievalHint) && a.SenderID == b.SenderID
}
