package sds_test

// Ports of the Nim libsds test suite tests/test_reliability.nim, suites
// "Core Operations", "Reliability Mechanisms", "Special Cases Handling",
// "cleanup" and "Multi-Channel ReliabilityManager Tests". Each test names the
// Nim test it ports. Where our behaviour deliberately differs from the Nim
// library, the test asserts ours and says so (see docs/COMPATIBILITY.md).
//
// The Nim tests reach into the manager (rm.channels[...].bloomFilter). We
// only use the public API: a channel's bloom filter is observed through the
// snapshot a Wrap attaches to the message it produces, and "seeding" the
// filter with unrelated ids is done with MarkDependenciesMet, which adds the
// ids to the channel's filter without delivering anything.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

const nimTestChannel = "testChannel"

// nimStart is the manual clock's start: a realistic wall-clock time, so the
// RFC send rule max(nowMillis, clock+1) yields millisecond timestamps.
var nimStart = time.UnixMilli(1_700_000_000_000)

// nimEvents records the events a manager emits.
type nimEvents struct {
	mu     sync.Mutex
	events []sds.Event
}

func (r *nimEvents) handle(e sds.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *nimEvents) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

func (r *nimEvents) all() []sds.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// of returns the events of one kind, in emission order.
func (r *nimEvents) of(k sds.EventKind) []sds.Event {
	var out []sds.Event
	for _, e := range r.all() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func (r *nimEvents) count(k sds.EventKind) int { return len(r.of(k)) }

// ids returns the message ids of the events of one kind, in emission order.
func (r *nimEvents) ids(k sds.EventKind) []string {
	var out []string
	for _, e := range r.of(k) {
		out = append(out, e.MessageID)
	}
	return out
}

// nimRules sets what the ported Nim tests assume and this library does
// otherwise by default: the Nim library's SDS-R timers and rules
// (RepairRFC, no request syncs) and a log bounded by count alone.
func nimRules(cfg *sds.Config) {
	cfg.RepairPolicy = sds.RepairRFC
	cfg.RepairRequestSync = false
	cfg.RepairTMin, cfg.RepairTMax = sds.NimRepairTMin, sds.NimRepairTMax
	cfg.LogRetention = 0
}

// withNimRules returns a config setter that applies nimRules, then each
// non-nil set in turn.
func withNimRules(set ...func(*sds.Config)) func(*sds.Config) {
	return func(cfg *sds.Config) {
		nimRules(cfg)
		for _, f := range set {
			if f != nil {
				f(cfg)
			}
		}
	}
}

// nimManager builds a manager as the Nim suites' setup does
// (newReliabilityManager(participantId = "alice")), on a manual clock, with
// an event recorder installed. mutate, if non-nil, adjusts the config first.
// The manager is closed when the test ends.
func nimManager(t *testing.T, mutate func(*sds.Config)) (*sds.Manager, *nimEvents, *sds.ManualClock) {
	t.Helper()
	clk := sds.NewManualClock(nimStart)
	m := startManager(t, "alice", clk, withNimRules(mutate))
	rec := &nimEvents{}
	m.SetEventHandler(rec.handle)
	return m, rec, clk
}

// nimManagerWithChannel is nimManager plus ensureChannel(testChannel), the
// setup of most Nim suites.
func nimManagerWithChannel(t *testing.T) (*sds.Manager, *nimEvents, *sds.ManualClock) {
	t.Helper()
	m, rec, clk := nimManager(t, nil)
	if err := m.EnsureChannel(nimTestChannel); err != nil {
		t.Fatalf("EnsureChannel: %v", err)
	}
	return m, rec, clk
}

// nimHistory is Nim's toCausalHistory: entries without hints.
func nimHistory(ids ...string) []wire.HistoryEntry {
	out := make([]wire.HistoryEntry, len(ids))
	for i, id := range ids {
		out[i] = wire.HistoryEntry{MessageID: id}
	}
	return out
}

// nimIDs is Nim's getMessageIds.
func nimIDs(entries []wire.HistoryEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.MessageID
	}
	return out
}

// nimPeerMessage serializes a message as a peer would send it, as the Nim
// tests do with SdsMessage.init + serializeMessage (Nim wire format, no
// sender id).
func nimPeerMessage(channelID, id string, lamport uint64, content []byte, history []wire.HistoryEntry, bloomFilter []byte) []byte {
	msg := peerMsg(channelID, id, lamport, content, history)
	msg.BloomFilter = bloomFilter
	return msg.Marshal(wire.FormatNim)
}

// peerMsg is a peer's message as the Nim tests' SdsMessage.init makes it.
func peerMsg(channelID, id string, lamport uint64, content []byte, history []wire.HistoryEntry) wire.Message {
	return wire.Message{
		MessageID: id, LamportTimestamp: lamport, HasLamport: true,
		CausalHistory: history, ChannelID: channelID, Content: content,
	}
}

// nimPeerBloom serializes a peer's bloom filter (default parameters)
// holding ids.
func nimPeerBloom(t *testing.T, ids ...string) []byte {
	t.Helper()
	f, err := bloom.New(sds.DefaultBloomCapacity, sds.DefaultBloomErrorRate)
	if err != nil {
		t.Fatalf("bloom.New: %v", err)
	}
	for _, id := range ids {
		f.Add(id)
	}
	return f.AppendSerialized(nil)
}

// nimDecode decodes wire bytes produced by Wrap.
func nimDecode(t *testing.T, b []byte) wire.Message {
	t.Helper()
	msg, format, err := wire.Decode(b, wire.DefaultLimits())
	if err != nil {
		t.Fatalf("wire.Decode: %v", err)
	}
	if format != wire.FormatNim {
		t.Fatalf("wrapped message format = %v, want nim", format)
	}
	return msg
}

// nimAttachedBloom decodes the bloom filter a wrapped message carries.
func nimAttachedBloom(t *testing.T, wrapped []byte) *bloom.Filter {
	t.Helper()
	msg := nimDecode(t, wrapped)
	if len(msg.BloomFilter) == 0 {
		t.Fatal("wrapped message carries no bloom filter")
	}
	f, err := bloom.Decode(msg.BloomFilter)
	if err != nil {
		t.Fatalf("bloom.Decode of the attached filter: %v", err)
	}
	return f
}

// nimChannelBloom observes a channel's bloom filter: it wraps a probe
// message (which joins the channel's outgoing buffer, log and filter) and
// decodes the snapshot it carries, taken before the probe was added.
func nimChannelBloom(t *testing.T, m *sds.Manager, channelID, probeID string) *bloom.Filter {
	t.Helper()
	wrapped, err := m.Wrap(channelID, probeID, []byte("probe"))
	if err != nil {
		t.Fatalf("Wrap(%q, %q): %v", channelID, probeID, err)
	}
	return nimAttachedBloom(t, wrapped)
}

// nimSeedBloom is the Nim helper seedBloom: it puts n unrelated ids
// (prefix0 .. prefix<n-1>) into the channel's bloom filter. We have no
// direct access to the filter; MarkDependenciesMet adds ids to it without
// delivering or emitting anything.
func nimSeedBloom(t *testing.T, m *sds.Manager, channelID string, n int, prefix string) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	if err := m.MarkDependenciesMet(channelID, ids); err != nil {
		t.Fatalf("MarkDependenciesMet (seeding bloom): %v", err)
	}
}

func nimState(t *testing.T, m *sds.Manager, channelID string) sds.ChannelState {
	t.Helper()
	st, ok := m.ChannelState(channelID)
	if !ok {
		t.Fatalf("ChannelState(%q): channel unknown", channelID)
	}
	return st
}

func nimOutgoingIDs(st sds.ChannelState) []string {
	out := make([]string, len(st.Outgoing))
	for i, o := range st.Outgoing {
		out[i] = o.MessageID
	}
	return out
}

func nimUnwrap(t *testing.T, m *sds.Manager, b []byte) sds.UnwrapResult {
	t.Helper()
	res, err := m.Unwrap(b)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	return res
}

func nimWrap(t *testing.T, m *sds.Manager, channelID, id string, content []byte) []byte {
	t.Helper()
	b, err := m.Wrap(channelID, id, content)
	if err != nil {
		t.Fatalf("Wrap(%q, %q): %v", channelID, id, err)
	}
	if len(b) == 0 {
		t.Fatalf("Wrap(%q, %q) returned no bytes", channelID, id)
	}
	return b
}

func nimEqualIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// nimSameIDs compares as sets (order-insensitive).
func nimSameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s = %q, want (in any order) %q", what, got, want)
	}
}

// ---------------------------------------------------------------------------
// suite "Core Operations"

func TestNimCoreOperations(t *testing.T) {
	// Nim: "Core Operations" / "can create with default config"
	t.Run("can create with default config", func(t *testing.T) {
		// Nim's DefaultBloomFilterCapacity, DefaultBloomFilterErrorRate and
		// DefaultMaxMessageHistory.
		cfg := sds.DefaultConfig()
		if cfg.BloomCapacity != 10000 {
			t.Errorf("BloomCapacity = %d, want 10000", cfg.BloomCapacity)
		}
		if cfg.BloomErrorRate != 0.001 {
			t.Errorf("BloomErrorRate = %v, want 0.001", cfg.BloomErrorRate)
		}
		if cfg.MaxMessageHistory != 1000 {
			t.Errorf("MaxMessageHistory = %d, want 1000", cfg.MaxMessageHistory)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
		}
		m, err := sds.NewManager(cfg)
		if err != nil {
			t.Fatalf("NewManager(DefaultConfig()): %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	// Nim: "Core Operations" / "basic message wrapping and unwrapping"
	t.Run("basic message wrapping and unwrapping", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		msg := []byte{1, 2, 3}
		wrapped := nimWrap(t, m, nimTestChannel, "test-msg-1", msg)

		res := nimUnwrap(t, m, wrapped)
		if !bytes.Equal(res.Content, msg) {
			t.Errorf("Content = %v, want %v", res.Content, msg)
		}
		if len(res.MissingDeps) != 0 {
			t.Errorf("MissingDeps = %v, want none", res.MissingDeps)
		}
		if res.ChannelID != nimTestChannel {
			t.Errorf("ChannelID = %q, want %q", res.ChannelID, nimTestChannel)
		}
		if res.MessageID != "test-msg-1" || res.SenderID != "alice" {
			t.Errorf("MessageID, SenderID = %q, %q, want test-msg-1, alice", res.MessageID, res.SenderID)
		}
		// Our own message is already in the local log, so (as in Nim) the
		// unwrap is a duplicate: no delivery, no event.
		if !res.Duplicate || res.Delivered {
			t.Errorf("Duplicate, Delivered = %v, %v, want true, false", res.Duplicate, res.Delivered)
		}
		if n := len(rec.all()); n != 0 {
			t.Errorf("%d events emitted, want 0: %+v", n, rec.all())
		}
	})

	// Nim: "Core Operations" / "basic message wrapping and unwrapping (non-empty bloom)"
	t.Run("basic message wrapping and unwrapping (non-empty bloom)", func(t *testing.T) {
		m, _, _ := nimManagerWithChannel(t)
		nimSeedBloom(t, m, nimTestChannel, 50, "noise")

		msg := []byte{1, 2, 3}
		wrapped := nimWrap(t, m, nimTestChannel, "test-msg-1", msg)

		// The outgoing message must carry the populated snapshot. (Nim only
		// checks that the field is non-empty, which a serialized empty
		// filter also is; we check its contents.)
		f := nimAttachedBloom(t, wrapped)
		for _, id := range []string{"noise0", "noise25", "noise49"} {
			if !f.Contains(id) {
				t.Errorf("attached bloom filter lacks seeded id %q", id)
			}
		}
		if f.Contains("test-msg-1") {
			t.Error("attached bloom filter contains the message itself; it must be the snapshot from before the message was added")
		}

		res := nimUnwrap(t, m, wrapped)
		if !bytes.Equal(res.Content, msg) || len(res.MissingDeps) != 0 || res.ChannelID != nimTestChannel {
			t.Errorf("Unwrap = content %v, missing %v, channel %q; want %v, none, %q",
				res.Content, res.MissingDeps, res.ChannelID, msg, nimTestChannel)
		}
	})

	// Nim: "Core Operations" / "message ordering"
	t.Run("message ordering", func(t *testing.T) {
		m, rec, clk := nimManagerWithChannel(t)
		ser1 := nimPeerMessage(nimTestChannel, "msg1", 1, []byte{1}, nil, nil)
		ser2 := nimPeerMessage(nimTestChannel, "msg2", 5, []byte{2}, nil, nil)

		// Process out of order.
		if res := nimUnwrap(t, m, ser2); !res.Delivered {
			t.Errorf("msg2 not delivered")
		}
		ts1 := nimState(t, m, nimTestChannel).LamportTimestamp
		if res := nimUnwrap(t, m, ser1); !res.Delivered {
			t.Errorf("msg1 not delivered")
		}
		ts2 := nimState(t, m, nimTestChannel).LamportTimestamp

		// Deliberate difference (5): Nim sets max(clock, received)+1 on
		// every receipt, so its clock goes 6 then 7 and the test checks
		// ts2 > ts1. We follow the RFC: delivery sets max(clock, received),
		// so the clock follows msg2's 5 and an older timestamp leaves it
		// where it is — it never goes back.
		if ts1 != 5 {
			t.Errorf("clock after receiving ts 5 = %d, want 5", ts1)
		}
		if ts2 != 5 {
			t.Errorf("clock after then receiving ts 1 = %d, want 5 (unchanged)", ts2)
		}
		// Independent messages are delivered in arrival order.
		nimEqualIDs(t, "message_ready order", rec.ids(sds.EventMessageReady), []string{"msg2", "msg1"})
		nimEqualIDs(t, "history", nimState(t, m, nimTestChannel).MessageHistory, []string{"msg2", "msg1"})

		// And the RFC send rule max(nowMillis, clock+1): the wall clock
		// wins, then +1 while the wall clock stands still.
		w1 := nimDecode(t, nimWrap(t, m, nimTestChannel, "own-1", []byte{3}))
		if want := uint64(clk.Now().UnixMilli()); w1.LamportTimestamp != want {
			t.Errorf("wrap lamport = %d, want nowMillis %d", w1.LamportTimestamp, want)
		}
		w2 := nimDecode(t, nimWrap(t, m, nimTestChannel, "own-2", []byte{4}))
		if w2.LamportTimestamp != w1.LamportTimestamp+1 {
			t.Errorf("second wrap lamport = %d, want %d", w2.LamportTimestamp, w1.LamportTimestamp+1)
		}
		if ts := nimState(t, m, nimTestChannel).LamportTimestamp; ts != w2.LamportTimestamp {
			t.Errorf("clock after wraps = %d, want %d", ts, w2.LamportTimestamp)
		}
	})
}

// ---------------------------------------------------------------------------
// suite "Reliability Mechanisms"

func TestNimReliabilityMechanisms(t *testing.T) {
	// Nim: "Reliability Mechanisms" / "dependency detection and resolution"
	t.Run("dependency detection and resolution", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		// Dependency chain: msg3 -> msg2 -> msg1.
		ser2 := nimPeerMessage(nimTestChannel, "msg2", 2, []byte{2}, nimHistory("msg1"), nil)
		ser3 := nimPeerMessage(nimTestChannel, "msg3", 3, []byte{3}, nimHistory("msg1", "msg2"), nil)

		// msg3 first: both msg1 and msg2 are missing.
		res3 := nimUnwrap(t, m, ser3)
		if res3.Delivered {
			t.Error("msg3 delivered with unmet dependencies")
		}
		nimSameIDs(t, "msg3 MissingDeps", nimIDs(res3.MissingDeps), []string{"msg1", "msg2"})
		if got := rec.of(sds.EventMissingDependencies); len(got) != 1 {
			t.Fatalf("missing_dependencies events = %d, want 1", len(got))
		} else {
			if got[0].MessageID != "msg3" || got[0].ChannelID != nimTestChannel {
				t.Errorf("missing_dependencies event for %q on %q, want msg3 on %q", got[0].MessageID, got[0].ChannelID, nimTestChannel)
			}
			nimSameIDs(t, "event MissingDeps", nimIDs(got[0].MissingDeps), []string{"msg1", "msg2"})
		}

		// Then msg2: only msg1 is missing.
		res2 := nimUnwrap(t, m, ser2)
		if res2.Delivered {
			t.Error("msg2 delivered with unmet dependency")
		}
		nimEqualIDs(t, "msg2 MissingDeps", nimIDs(res2.MissingDeps), []string{"msg1"})
		if n := rec.count(sds.EventMissingDependencies); n != 2 {
			t.Errorf("missing_dependencies events = %d, want 2", n)
		}
		if n := rec.count(sds.EventMessageReady); n != 0 {
			t.Errorf("message_ready events = %d, want 0 (nothing is ready yet)", n)
		}
		st := nimState(t, m, nimTestChannel)
		if len(st.Incoming) != 2 || st.Incoming[0].MessageID != "msg2" || st.Incoming[1].MessageID != "msg3" {
			t.Fatalf("incoming buffer = %+v, want msg2 and msg3", st.Incoming)
		}
		nimEqualIDs(t, "msg2 waits for", st.Incoming[0].WaitingFor, []string{"msg1"})
		nimEqualIDs(t, "msg3 waits for", st.Incoming[1].WaitingFor, []string{"msg1", "msg2"})

		// Not in the Nim test, same scenario: msg3 arrives again while msg2
		// waits in the incoming buffer. Deliberate difference (1): msg2 is
		// here already, so only msg1 is reported missing (Nim reports
		// msg2 too). The re-receipt is a duplicate and emits nothing (Nim
		// checks duplicates against its history only and would process
		// msg3 again, firing the missing-dependencies callback once more).
		again := nimUnwrap(t, m, ser3)
		if !again.Duplicate || again.Delivered {
			t.Errorf("msg3 again: Duplicate, Delivered = %v, %v, want true, false", again.Duplicate, again.Delivered)
		}
		nimEqualIDs(t, "msg3 again MissingDeps", nimIDs(again.MissingDeps), []string{"msg1"})
		if n := rec.count(sds.EventMissingDependencies); n != 2 {
			t.Errorf("missing_dependencies events = %d, want still 2", n)
		}

		// Mark msg1 as met: msg2, then msg3, become ready.
		if err := m.MarkDependenciesMet(nimTestChannel, []string{"msg1"}); err != nil {
			t.Fatalf("MarkDependenciesMet: %v", err)
		}
		st = nimState(t, m, nimTestChannel)
		if len(st.Incoming) != 0 {
			t.Errorf("incoming buffer = %+v, want empty", st.Incoming)
		}
		// Nim only checks the count (2); we also check causal order.
		nimEqualIDs(t, "message_ready order", rec.ids(sds.EventMessageReady), []string{"msg2", "msg3"})
		if n := rec.count(sds.EventMissingDependencies); n != 2 {
			t.Errorf("missing_dependencies events = %d, want still 2", n)
		}
		// msg1 was marked met, not delivered: it is not in the log.
		nimEqualIDs(t, "history", st.MessageHistory, []string{"msg2", "msg3"})
	})

	// Nim: "Reliability Mechanisms" / "dependency detection and resolution (non-empty bloom)"
	t.Run("dependency detection and resolution (non-empty bloom)", func(t *testing.T) {
		// A populated bloom filter, even one holding the dependency's id,
		// must not short-circuit the dependency check, which reads the
		// local log. Nim adds msg1 to the filter directly. With only the
		// public API, the one way to have msg1 in the filter yet neither in
		// the log nor in the incoming buffer nor marked met is to deliver
		// it and let it be evicted from a small log (the filter keeps it).
		m, rec, _ := nimManager(t, func(c *sds.Config) {
			c.MaxMessageHistory = 3
			c.MaxCausalHistory = 3
		})
		if err := m.EnsureChannel(nimTestChannel); err != nil {
			t.Fatal(err)
		}
		nimSeedBloom(t, m, nimTestChannel, 30, "noise")
		nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg1", 1, []byte{1}, nil, nil))
		for i := range 3 {
			nimUnwrap(t, m, nimPeerMessage(nimTestChannel, fmt.Sprintf("filler-%d", i), 1, []byte{9}, nil, nil))
		}
		if hist := nimState(t, m, nimTestChannel).MessageHistory; slices.Contains(hist, "msg1") {
			t.Fatalf("msg1 still in log %q; the setup needs it evicted", hist)
		}
		f := nimChannelBloom(t, m, nimTestChannel, "probe")
		if !f.Contains("msg1") || !f.Contains("noise0") || !f.Contains("noise29") {
			t.Fatal("channel bloom filter lacks msg1 or the noise ids; the setup needs them there")
		}
		rec.reset()

		res := nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg2", 2, []byte{2}, nimHistory("msg1"), nil))
		nimEqualIDs(t, "MissingDeps", nimIDs(res.MissingDeps), []string{"msg1"})
		if res.Delivered {
			t.Error("msg2 delivered although msg1 is not in the log")
		}
		if n := rec.count(sds.EventMissingDependencies); n != 1 {
			t.Errorf("missing_dependencies events = %d, want 1", n)
		}
		if n := rec.count(sds.EventMessageReady); n != 0 {
			t.Errorf("message_ready events = %d, want 0", n)
		}
	})

	// Nim: "Reliability Mechanisms" / "acknowledgment via causal history"
	t.Run("acknowledgment via causal history", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		nimWrap(t, m, nimTestChannel, "msg1", []byte{1})

		lamport := nimState(t, m, nimTestChannel).LamportTimestamp + 1
		res := nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg2", lamport, []byte{2}, nimHistory("msg1"), nil))
		if !res.Delivered {
			t.Error("msg2 not delivered")
		}
		nimEqualIDs(t, "message_ready", rec.ids(sds.EventMessageReady), []string{"msg2"})
		nimEqualIDs(t, "message_sent (acknowledged)", rec.ids(sds.EventMessageAcknowledged), []string{"msg1"})
		if n := rec.count(sds.EventMissingDependencies); n != 0 {
			t.Errorf("missing_dependencies events = %d, want 0", n)
		}
		if out := nimState(t, m, nimTestChannel).Outgoing; len(out) != 0 {
			t.Errorf("outgoing buffer = %+v, want empty", out)
		}
	})

	// Nim: "Reliability Mechanisms" / "acknowledgment via causal history (non-empty bloom)"
	t.Run("acknowledgment via causal history (non-empty bloom)", func(t *testing.T) {
		// Unrelated ids in the local filter must not perturb the ack path,
		// and the incoming message's empty filter must ack nothing else.
		m, rec, _ := nimManagerWithChannel(t)
		nimSeedBloom(t, m, nimTestChannel, 50, "noise")
		nimWrap(t, m, nimTestChannel, "msg1", []byte{1})
		nimWrap(t, m, nimTestChannel, "msg-unacked", []byte{3})

		lamport := nimState(t, m, nimTestChannel).LamportTimestamp + 1
		nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg2", lamport, []byte{2}, nimHistory("msg1"), nil))
		nimEqualIDs(t, "message_ready", rec.ids(sds.EventMessageReady), []string{"msg2"})
		nimEqualIDs(t, "message_sent (acknowledged)", rec.ids(sds.EventMessageAcknowledged), []string{"msg1"})
		nimEqualIDs(t, "outgoing", nimOutgoingIDs(nimState(t, m, nimTestChannel)), []string{"msg-unacked"})
	})

	// Nim: "Reliability Mechanisms" / "acknowledgment via bloom filter"
	t.Run("acknowledgment via bloom filter", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		nimWrap(t, m, nimTestChannel, "msg1", []byte{1})

		peerBloom := nimPeerBloom(t, "msg1")
		lamport := nimState(t, m, nimTestChannel).LamportTimestamp + 1
		// Empty causal history: only the bloom filter can acknowledge.
		nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg2", lamport, []byte{2}, nil, peerBloom))
		nimEqualIDs(t, "message_sent (acknowledged)", rec.ids(sds.EventMessageAcknowledged), []string{"msg1"})
		if out := nimState(t, m, nimTestChannel).Outgoing; len(out) != 0 {
			t.Errorf("outgoing buffer = %+v, want empty", out)
		}
	})

	// Nim: "Reliability Mechanisms" / "acknowledgment via bloom filter (non-empty bloom)"
	t.Run("acknowledgment via bloom filter (non-empty bloom)", func(t *testing.T) {
		// The peer's filter holds our id among many unrelated ones: our
		// message is acknowledged exactly once, and nothing else is (we add
		// a second outgoing message the peer has not seen to check that).
		m, rec, _ := nimManagerWithChannel(t)
		nimWrap(t, m, nimTestChannel, "msg1", []byte{1})
		nimWrap(t, m, nimTestChannel, "msg-unseen", []byte{3})

		ids := make([]string, 0, 101)
		for i := range 100 {
			ids = append(ids, fmt.Sprintf("peer-noise-%d", i))
		}
		ids = append(ids, "msg1")
		peerBloom := nimPeerBloom(t, ids...)

		lamport := nimState(t, m, nimTestChannel).LamportTimestamp + 1
		nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg2", lamport, []byte{2}, nil, peerBloom))
		nimEqualIDs(t, "message_sent (acknowledged)", rec.ids(sds.EventMessageAcknowledged), []string{"msg1"})
		nimEqualIDs(t, "outgoing", nimOutgoingIDs(nimState(t, m, nimTestChannel)), []string{"msg-unseen"})
	})

	// Nim: "Reliability Mechanisms" / "outgoing message bloom snapshot reflects channel state"
	t.Run("outgoing message bloom snapshot reflects channel state", func(t *testing.T) {
		m, _, _ := nimManagerWithChannel(t)
		nimSeedBloom(t, m, nimTestChannel, 40, "delivered-")
		// Plus a real delivery, to exercise the bloom-on-delivery path.
		if res := nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "incoming-1", 1, []byte{9}, nil, nil)); !res.Delivered {
			t.Fatal("incoming-1 not delivered")
		}

		f := nimAttachedBloom(t, nimWrap(t, m, nimTestChannel, "outgoing-1", []byte{1}))
		for _, id := range []string{"delivered-0", "delivered-39", "incoming-1"} {
			if !f.Contains(id) {
				t.Errorf("attached bloom snapshot lacks %q", id)
			}
		}
		// PROTOCOL.md §3 (as Nim): the snapshot is taken before the
		// message itself joins the filter.
		if f.Contains("outgoing-1") {
			t.Error("attached bloom snapshot contains the outgoing message itself")
		}
		// By default the filter holds the acknowledgement window (41 ids
		// here), sized for them; Nim's whole filter with FullBloomFilter.
		if p := f.Params(); p.Capacity < 41 || p.Capacity >= sds.DefaultBloomCapacity {
			t.Errorf("attached filter capacity = %d, want the window's (41 ids)", p.Capacity)
		}
		full, _, _ := nimManager(t, func(c *sds.Config) { c.FullBloomFilter = true })
		if err := full.EnsureChannel(nimTestChannel); err != nil {
			t.Fatal(err)
		}
		nimSeedBloom(t, full, nimTestChannel, 40, "delivered-")
		f = nimAttachedBloom(t, nimWrap(t, full, nimTestChannel, "outgoing-1", []byte{1}))
		if p := f.Params(); p.Capacity != sds.DefaultBloomCapacity || !f.Contains("delivered-39") {
			t.Errorf("FullBloomFilter: attached filter capacity = %d, want %d", p.Capacity, sds.DefaultBloomCapacity)
		}
	})

	// Nim: "Reliability Mechanisms" / "retrieval hints"
	t.Run("retrieval hints", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		m.SetRetrievalHintProvider(func(id string) []byte { return []byte("hint:" + id) })

		nimWrap(t, m, nimTestChannel, "msg1", []byte{1})
		wrap2 := nimWrap(t, m, nimTestChannel, "msg2", []byte{2})

		// msg2's causal history names msg1 with the provider's hint (and,
		// PROTOCOL.md §3, the original sender's id).
		msg2 := nimDecode(t, wrap2)
		if len(msg2.CausalHistory) == 0 {
			t.Fatal("msg2 has no causal history")
		}
		e := msg2.CausalHistory[0]
		if e.MessageID != "msg1" {
			t.Errorf("causal history[0] = %q, want msg1", e.MessageID)
		}
		if string(e.RetrievalHint) != "hint:msg1" {
			t.Errorf("causal history[0] hint = %q, want %q", e.RetrievalHint, "hint:msg1")
		}
		if e.SenderID != "alice" {
			t.Errorf("causal history[0] sender = %q, want alice", e.SenderID)
		}

		// A missing dependency without a hint from the remote sender.
		res3 := nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg3", 3, []byte{3}, nimHistory("missing-dep"), nil))
		if len(res3.MissingDeps) != 1 || res3.MissingDeps[0].MessageID != "missing-dep" {
			t.Fatalf("msg3 MissingDeps = %+v, want [missing-dep]", res3.MissingDeps)
		}
		if len(res3.MissingDeps[0].RetrievalHint) != 0 {
			t.Errorf("missing-dep hint = %q, want empty (the remote sent none)", res3.MissingDeps[0].RetrievalHint)
		}

		// A missing dependency with a hint from the remote sender: preserved,
		// in the result and in the event.
		hist4 := []wire.HistoryEntry{{MessageID: "another-missing", RetrievalHint: []byte("remote-hint")}}
		res4 := nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "msg4", 4, []byte{4}, hist4, nil))
		if len(res4.MissingDeps) != 1 || res4.MissingDeps[0].MessageID != "another-missing" {
			t.Fatalf("msg4 MissingDeps = %+v, want [another-missing]", res4.MissingDeps)
		}
		if string(res4.MissingDeps[0].RetrievalHint) != "remote-hint" {
			t.Errorf("another-missing hint = %q, want %q", res4.MissingDeps[0].RetrievalHint, "remote-hint")
		}
		evs := rec.of(sds.EventMissingDependencies)
		if len(evs) != 2 {
			t.Fatalf("missing_dependencies events = %d, want 2", len(evs))
		}
		if ev := evs[1]; ev.MessageID != "msg4" || len(ev.MissingDeps) != 1 || string(ev.MissingDeps[0].RetrievalHint) != "remote-hint" {
			t.Errorf("msg4 missing_dependencies event = %+v, want another-missing with hint remote-hint", ev)
		}
	})
}

// ---------------------------------------------------------------------------
// suite "Special Cases Handling"

func TestNimSpecialCasesHandling(t *testing.T) {
	// Nim: "Special Cases Handling" / "message history limits"
	t.Run("message history limits", func(t *testing.T) {
		m, _, _ := nimManagerWithChannel(t)
		limit := sds.DefaultConfig().MaxMessageHistory
		for i := 0; i <= limit+5; i++ {
			nimWrap(t, m, nimTestChannel, fmt.Sprintf("msg%d", i), []byte{byte(i)})
		}
		hist := nimState(t, m, nimTestChannel).MessageHistory
		// Nim checks len <= limit and the newest id; we check the log keeps
		// exactly the newest `limit` ids, oldest evicted first.
		if len(hist) != limit {
			t.Fatalf("history length = %d, want %d", len(hist), limit)
		}
		if want := fmt.Sprintf("msg%d", limit+5); hist[len(hist)-1] != want {
			t.Errorf("newest history entry = %q, want %q", hist[len(hist)-1], want)
		}
		if hist[0] != "msg6" {
			t.Errorf("oldest history entry = %q, want msg6", hist[0])
		}
	})

	// Nim: "Special Cases Handling" / "invalid bloom filter handling"
	t.Run("invalid bloom filter handling", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		// An outgoing message, so that an invalid filter being taken as
		// valid would be observable as a (spurious) acknowledgement.
		nimWrap(t, m, nimTestChannel, "ours-1", []byte{7})

		ser := nimPeerMessage(nimTestChannel, "invalid-bf", 1, []byte{1}, nimHistory(), []byte{1, 2, 3})
		res, err := m.Unwrap(ser)
		if err != nil {
			t.Fatalf("Unwrap with invalid bloom filter: %v, want success", err)
		}
		if len(res.MissingDeps) != 0 {
			t.Errorf("MissingDeps = %v, want none", res.MissingDeps)
		}
		if !res.Delivered || !bytes.Equal(res.Content, []byte{1}) {
			t.Errorf("Delivered, Content = %v, %v; want true, [1]", res.Delivered, res.Content)
		}
		nimEqualIDs(t, "message_ready", rec.ids(sds.EventMessageReady), []string{"invalid-bf"})
		// PROTOCOL.md §2: an invalid filter is treated as absent.
		if n := rec.count(sds.EventMessageAcknowledged); n != 0 {
			t.Errorf("message_sent events = %d, want 0", n)
		}
		nimEqualIDs(t, "outgoing", nimOutgoingIDs(nimState(t, m, nimTestChannel)), []string{"ours-1"})
	})

	// Nim: "Special Cases Handling" / "duplicate message handling"
	t.Run("duplicate message handling", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		ser := nimPeerMessage(nimTestChannel, "dup-msg", 1, []byte{1}, nimHistory(), nil)

		res1 := nimUnwrap(t, m, ser)
		if !res1.Delivered || res1.Duplicate {
			t.Errorf("first: Delivered, Duplicate = %v, %v, want true, false", res1.Delivered, res1.Duplicate)
		}
		res2 := nimUnwrap(t, m, ser)
		if len(res2.MissingDeps) != 0 {
			t.Errorf("second: MissingDeps = %v, want none", res2.MissingDeps)
		}
		if res2.Delivered || !res2.Duplicate {
			t.Errorf("second: Delivered, Duplicate = %v, %v, want false, true", res2.Delivered, res2.Duplicate)
		}
		if !bytes.Equal(res2.Content, []byte{1}) {
			t.Errorf("second: Content = %v, want [1]", res2.Content)
		}
		nimEqualIDs(t, "message_ready", rec.ids(sds.EventMessageReady), []string{"dup-msg"})
		nimEqualIDs(t, "history", nimState(t, m, nimTestChannel).MessageHistory, []string{"dup-msg"})
	})

	// Nim: "Special Cases Handling" / "error handling"
	t.Run("error handling", func(t *testing.T) {
		m, _, _ := nimManagerWithChannel(t)

		// Empty message. Nim returns reInvalidArgument; our package has a
		// dedicated sentinel for it.
		if _, err := m.Wrap(nimTestChannel, "empty", nil); !errors.Is(err, sds.ErrEmptyContent) {
			t.Errorf("Wrap(empty content) error = %v, want ErrEmptyContent", err)
		}
		if _, err := m.Wrap(nimTestChannel, "empty", []byte{}); !errors.Is(err, sds.ErrEmptyContent) {
			t.Errorf("Wrap([]byte{}) error = %v, want ErrEmptyContent", err)
		}

		// Oversized message (Nim: reMessageTooLarge).
		large := make([]byte, sds.MaxMessageSize+1)
		if _, err := m.Wrap(nimTestChannel, "large", large); !errors.Is(err, sds.ErrContentTooLarge) {
			t.Errorf("Wrap(MaxMessageSize+1 bytes) error = %v, want ErrContentTooLarge", err)
		}
		// The limit itself is accepted (Nim rejects only len > MaxMessageSize).
		if _, err := m.Wrap(nimTestChannel, "max-size", large[:sds.MaxMessageSize]); err != nil {
			t.Errorf("Wrap(MaxMessageSize bytes) error = %v, want success", err)
		}
		// Rejected wraps leave no trace.
		st := nimState(t, m, nimTestChannel)
		nimEqualIDs(t, "outgoing", nimOutgoingIDs(st), []string{"max-size"})
		nimEqualIDs(t, "history", st.MessageHistory, []string{"max-size"})
	})
}

// ---------------------------------------------------------------------------
// suite "cleanup"

// Nim: "cleanup" / "cleanup works correctly"
func TestNimCleanupWorksCorrectly(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = "alice"
	cfg.Clock = clk
	m, err := sds.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureChannel(nimTestChannel); err != nil {
		t.Fatal(err)
	}
	wrapped := nimWrap(t, m, nimTestChannel, "test-msg-1", []byte{1, 2, 3})
	st := nimState(t, m, nimTestChannel)
	if len(st.Outgoing) != 1 || len(st.MessageHistory) != 1 {
		t.Fatalf("before Close: outgoing %d, history %d; want 1, 1", len(st.Outgoing), len(st.MessageHistory))
	}

	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Nim: the outgoing buffer and history read back empty. Our manager
	// holds no channel any more, so there is no state to read.
	if st, ok := m.ChannelState(nimTestChannel); ok {
		t.Errorf("ChannelState after Close = %+v, true; want no channel", st)
	}
	if ch := m.Channels(); len(ch) != 0 {
		t.Errorf("Channels after Close = %q, want none", ch)
	}
	// Our addition: a closed manager refuses further work.
	if _, err := m.Wrap(nimTestChannel, "after-close", []byte{1}); !errors.Is(err, sds.ErrClosed) {
		t.Errorf("Wrap after Close: %v, want ErrClosed", err)
	}
	if _, err := m.Unwrap(wrapped); !errors.Is(err, sds.ErrClosed) {
		t.Errorf("Unwrap after Close: %v, want ErrClosed", err)
	}
	if err := m.EnsureChannel(nimTestChannel); !errors.Is(err, sds.ErrClosed) {
		t.Errorf("EnsureChannel after Close: %v, want ErrClosed", err)
	}
	if err := m.MarkDependenciesMet(nimTestChannel, []string{"x"}); !errors.Is(err, sds.ErrClosed) {
		t.Errorf("MarkDependenciesMet after Close: %v, want ErrClosed", err)
	}
	if err := m.Reset(); !errors.Is(err, sds.ErrClosed) {
		t.Errorf("Reset after Close: %v, want ErrClosed", err)
	}
	if ch := m.Channels(); len(ch) != 0 {
		t.Errorf("channels after Close and Reset: %v", ch)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v, want nil (Close is idempotent)", err)
	}
}

// ---------------------------------------------------------------------------
// suite "Multi-Channel ReliabilityManager Tests" (setup: no channel)

func TestNimMultiChannel(t *testing.T) {
	// Nim: "Multi-Channel ReliabilityManager Tests" / "can create multi-channel manager without channel ID"
	t.Run("can create multi-channel manager without channel ID", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		if ch := m.Channels(); len(ch) != 0 {
			t.Errorf("Channels = %q, want none", ch)
		}
		if _, ok := m.ChannelState(nimTestChannel); ok {
			t.Error("ChannelState reports a channel on a fresh manager")
		}
	})

	// Nim: "Multi-Channel ReliabilityManager Tests" / "channel management"
	t.Run("channel management", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		for _, c := range []string{"channel1", "channel2"} {
			if err := m.EnsureChannel(c); err != nil {
				t.Fatalf("EnsureChannel(%q): %v", c, err)
			}
		}
		nimSameIDs(t, "Channels", m.Channels(), []string{"channel1", "channel2"})
		nimWrap(t, m, "channel1", "c1-msg", []byte{1})

		if err := m.RemoveChannel("channel1"); err != nil {
			t.Fatalf("RemoveChannel: %v", err)
		}
		nimSameIDs(t, "Channels after removal", m.Channels(), []string{"channel2"})
		if _, ok := m.ChannelState("channel1"); ok {
			t.Error("removed channel1 still has state")
		}
		if _, ok := m.ChannelState("channel2"); !ok {
			t.Error("channel2 lost")
		}
		// Removal wiped channel1's state: ensured again, it starts empty.
		if err := m.EnsureChannel("channel1"); err != nil {
			t.Fatal(err)
		}
		if st := nimState(t, m, "channel1"); len(st.MessageHistory) != 0 || len(st.Outgoing) != 0 || st.LamportTimestamp != 0 {
			t.Errorf("re-created channel1 state = %+v, want empty", st)
		}
	})

	// Nim: "Multi-Channel ReliabilityManager Tests" / "stateless message unwrapping with channel extraction"
	t.Run("stateless message unwrapping with channel extraction", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		// Wrap creates the channels on demand (Nim: getOrCreateChannel).
		w1 := nimWrap(t, m, "test-channel-1", "msg1", []byte{1, 2, 3})
		w2 := nimWrap(t, m, "test-channel-2", "msg2", []byte{4, 5, 6})
		nimSameIDs(t, "Channels", m.Channels(), []string{"test-channel-1", "test-channel-2"})

		for _, c := range []struct {
			wrapped []byte
			content []byte
			channel string
		}{{w1, []byte{1, 2, 3}, "test-channel-1"}, {w2, []byte{4, 5, 6}, "test-channel-2"}} {
			res := nimUnwrap(t, m, c.wrapped)
			if !bytes.Equal(res.Content, c.content) || len(res.MissingDeps) != 0 || res.ChannelID != c.channel {
				t.Errorf("Unwrap = content %v, missing %v, channel %q; want %v, none, %q",
					res.Content, res.MissingDeps, res.ChannelID, c.content, c.channel)
			}
		}
	})

	// Nim: "Multi-Channel ReliabilityManager Tests" / "channel isolation"
	t.Run("channel isolation", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		nimWrap(t, m, "isolated-channel-1", "isolated-msg1", []byte{1})
		nimWrap(t, m, "isolated-channel-2", "isolated-msg2", []byte{2})

		nimEqualIDs(t, "history of channel 1", nimState(t, m, "isolated-channel-1").MessageHistory, []string{"isolated-msg1"})
		nimEqualIDs(t, "history of channel 2", nimState(t, m, "isolated-channel-2").MessageHistory, []string{"isolated-msg2"})
		nimEqualIDs(t, "outgoing of channel 1", nimOutgoingIDs(nimState(t, m, "isolated-channel-1")), []string{"isolated-msg1"})
		nimEqualIDs(t, "outgoing of channel 2", nimOutgoingIDs(nimState(t, m, "isolated-channel-2")), []string{"isolated-msg2"})
	})

	// Nim: "Multi-Channel ReliabilityManager Tests" / "channel isolation (non-empty bloom)"
	t.Run("channel isolation (non-empty bloom)", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		const ch1, ch2 = "iso-bloom-1", "iso-bloom-2"
		for _, c := range []string{ch1, ch2} {
			if err := m.EnsureChannel(c); err != nil {
				t.Fatal(err)
			}
		}
		nimSeedBloom(t, m, ch1, 25, "ch1-")
		nimSeedBloom(t, m, ch2, 25, "ch2-")
		nimWrap(t, m, ch1, "iso-msg-1", []byte{1})
		nimWrap(t, m, ch2, "iso-msg-2", []byte{2})

		bf1 := nimChannelBloom(t, m, ch1, "probe-1")
		bf2 := nimChannelBloom(t, m, ch2, "probe-2")
		for _, c := range []struct {
			f    *bloom.Filter
			name string
			id   string
			want bool
		}{
			{bf1, "bf1", "ch1-0", true},
			{bf1, "bf1", "iso-msg-1", true},
			{bf1, "bf1", "ch2-0", false},
			{bf1, "bf1", "iso-msg-2", false},
			{bf2, "bf2", "ch2-0", true},
			{bf2, "bf2", "iso-msg-2", true},
			{bf2, "bf2", "ch1-0", false},
			{bf2, "bf2", "iso-msg-1", false},
		} {
			if got := c.f.Contains(c.id); got != c.want {
				t.Errorf("%s.Contains(%q) = %v, want %v", c.name, c.id, got, c.want)
			}
		}
	})

	// Nim: "Multi-Channel ReliabilityManager Tests" / "multi-channel callbacks"
	t.Run("multi-channel callbacks", func(t *testing.T) {
		m, rec, _ := nimManager(t, nil)
		const ch1, ch2 = "callback-channel-1", "callback-channel-2"
		nimWrap(t, m, ch1, "callback-msg1", []byte{1})
		nimWrap(t, m, ch2, "callback-msg2", []byte{2})

		ack1 := nimPeerMessage(ch1, "ack1", nimState(t, m, ch1).LamportTimestamp+1, []byte{100}, nimHistory("callback-msg1"), nil)
		ack2 := nimPeerMessage(ch2, "ack2", nimState(t, m, ch2).LamportTimestamp+1, []byte{101}, nimHistory("callback-msg2"), nil)
		nimUnwrap(t, m, ack1)
		nimUnwrap(t, m, ack2)

		type got struct {
			kind      sds.EventKind
			channel   string
			messageID string
		}
		var evs []got
		for _, e := range rec.all() {
			evs = append(evs, got{e.Kind, e.ChannelID, e.MessageID})
		}
		// Per channel, the acknowledgement is reviewed before the delivery.
		want := []got{
			{sds.EventMessageAcknowledged, ch1, "callback-msg1"},
			{sds.EventMessageReady, ch1, "ack1"},
			{sds.EventMessageAcknowledged, ch2, "callback-msg2"},
			{sds.EventMessageReady, ch2, "ack2"},
		}
		if !slices.Equal(evs, want) {
			t.Errorf("events = %+v, want %+v", evs, want)
		}
		if n := rec.count(sds.EventMissingDependencies); n != 0 {
			t.Errorf("missing_dependencies events = %d, want 0", n)
		}
	})

	// Nim: "Multi-Channel ReliabilityManager Tests" / "channel-specific dependency management"
	t.Run("channel-specific dependency management", func(t *testing.T) {
		m, rec, _ := nimManager(t, nil)
		const ch1, ch2 = "dep-channel-1", "dep-channel-2"
		for _, c := range []string{ch1, ch2} {
			if err := m.EnsureChannel(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.MarkDependenciesMet(ch1, []string{"dep1", "dep2", "dep3"}); err != nil {
			t.Fatalf("MarkDependenciesMet: %v", err)
		}

		// Only the specified channel's filter is affected.
		if !nimChannelBloom(t, m, ch1, "probe-1").Contains("dep1") {
			t.Error("channel 1 bloom filter lacks dep1")
		}
		if nimChannelBloom(t, m, ch2, "probe-2").Contains("dep1") {
			t.Error("channel 2 bloom filter contains dep1")
		}

		// Deliberate difference (3): ids marked met count as present, so a
		// later message naming dep1 is delivered on channel 1 without being
		// reported missing (Nim only adds them to the bloom filter and would
		// report dep1 missing). On channel 2 dep1 is still missing.
		res1 := nimUnwrap(t, m, nimPeerMessage(ch1, "needs-dep1", 1, []byte{1}, nimHistory("dep1"), nil))
		if len(res1.MissingDeps) != 0 || !res1.Delivered {
			t.Errorf("channel 1: MissingDeps %v, Delivered %v; want none, true", res1.MissingDeps, res1.Delivered)
		}
		res2 := nimUnwrap(t, m, nimPeerMessage(ch2, "needs-dep1", 1, []byte{1}, nimHistory("dep1"), nil))
		if res2.Delivered {
			t.Error("channel 2: delivered although dep1 was only marked met on channel 1")
		}
		nimEqualIDs(t, "channel 2 MissingDeps", nimIDs(res2.MissingDeps), []string{"dep1"})
		if evs := rec.of(sds.EventMissingDependencies); len(evs) != 1 || evs[0].ChannelID != ch2 {
			t.Errorf("missing_dependencies events = %+v, want one, on %q", evs, ch2)
		}

		// Deliberate difference (6): an unknown channel is ErrUnknownChannel
		// (Nim: reInvalidArgument), and does not create the channel.
		if err := m.MarkDependenciesMet("no-such-channel", []string{"dep1"}); !errors.Is(err, sds.ErrUnknownChannel) {
			t.Errorf("MarkDependenciesMet(unknown channel) = %v, want ErrUnknownChannel", err)
		}
		if _, ok := m.ChannelState("no-such-channel"); ok {
			t.Error("MarkDependenciesMet created the unknown channel")
		}
	})
}
