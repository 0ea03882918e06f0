package sds_test

// Persistence through the manager. The first tests port, with the same
// intent, the manager-level tests of the Nim libsds tests/test_persistence.nim
// (suites "write → restart → read-back" and "failure policy"); each names
// the Nim test it ports. The Nim tests inspect the in-memory store's tables;
// these load the channel from the backend instead. Restart is a new Manager
// over the same backend (the Nim tests' cleanup + newReliabilityManager).

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/bolt"
	"github.com/libsds-go/libsds/sds/wire"
)

const pChan = nimTestChannel

// persistentManager is nimManager over backend b and clock clk (shared by
// the managers of one test, so time carries across restarts).
func persistentManager(t *testing.T, b persist.Backend, clk *sds.ManualClock, mutate func(*sds.Config)) (*sds.Manager, *nimEvents) {
	t.Helper()
	m := startManager(t, "alice", clk, withNimRules(func(c *sds.Config) { c.Persistence = b }, mutate))
	rec := &nimEvents{}
	m.SetEventHandler(rec.handle)
	return m, rec
}

func mustEnsure(t *testing.T, m *sds.Manager, channelID string) {
	t.Helper()
	if err := m.EnsureChannel(channelID); err != nil {
		t.Fatalf("EnsureChannel(%q): %v", channelID, err)
	}
}

func mustClose(t *testing.T, m *sds.Manager) {
	t.Helper()
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// stored is a channel as the backend holds it.
type stored struct {
	meta    *persist.ChannelMeta
	met     []persist.MetRecord
	history []string
	hints   map[string][]byte
	raw     *persist.ChannelData
}

func loadStored(t *testing.T, b persist.Backend, channelID string) stored {
	t.Helper()
	d, err := b.LoadChannel(channelID)
	if err != nil {
		t.Fatalf("LoadChannel: %v", err)
	}
	if err := persist.Validate(channelID, d, persist.Limits{}); err != nil {
		t.Fatalf("stored state invalid: %v", err)
	}
	meta, err := persist.DecodeRecords(d.Records, persist.Limits{})
	if err != nil {
		t.Fatalf("DecodeRecords: %v", err)
	}
	met, err := persist.DecodeMetRecords(d.Records, persist.Limits{})
	if err != nil {
		t.Fatalf("DecodeMetRecords: %v", err)
	}
	s := stored{meta: meta, met: met, hints: d.Hints, raw: d}
	for _, m := range d.History {
		s.history = append(s.history, m.MessageID)
	}
	return s
}

func (s stored) outgoing() []string {
	var out []string
	for _, u := range s.meta.Outgoing {
		out = append(out, u.Message.MessageID)
	}
	return out
}

func (s stored) incoming() map[string][]string {
	out := map[string][]string{}
	for _, m := range s.meta.Incoming {
		out[m.Message.MessageID] = m.MissingDeps
	}
	return out
}

// unbatched hides Memory's Apply: the meta delta and the history update
// are then written by separate calls, as with the Nim backends.
type unbatched struct{ persist.Backend }

// comparable returns st without what a restart does not restore: the
// incoming messages' arrival times (the Nim record has none; the wait
// restarts) and the bloom sightings of outgoing messages (likewise).
func comparable(st sds.ChannelState) sds.ChannelState {
	st.Outgoing = slices.Clone(st.Outgoing)
	for i := range st.Outgoing {
		st.Outgoing[i].BloomSightings = 0
	}
	st.Incoming = slices.Clone(st.Incoming)
	for i := range st.Incoming {
		st.Incoming[i].ReceivedAt = time.Time{}
	}
	return st
}

func sameState(t *testing.T, what string, got, want sds.ChannelState) {
	t.Helper()
	g, w := fmt.Sprintf("%+v", comparable(got)), fmt.Sprintf("%+v", comparable(want))
	if g != w {
		t.Fatalf("%s: state differs\n got: %s\nwant: %s", what, g, w)
	}
}

// sameFilter checks that two managers' filters for channelID are the same
// (with fewer ids than the capacity, the bits do not depend on the order
// the ids were added in): each wraps the same probe, whose message
// carries the filter as it stands.
func sameFilter(t *testing.T, a, b *sds.Manager, channelID string) {
	t.Helper()
	fa := nimDecode(t, nimWrap(t, a, channelID, "filter-probe", []byte{1})).BloomFilter
	fb := nimDecode(t, nimWrap(t, b, channelID, "filter-probe", []byte{1})).BloomFilter
	if !bytes.Equal(fa, fb) || len(fa) == 0 {
		t.Fatalf("bloom filters differ (%d and %d bytes)", len(fa), len(fb))
	}
}

// peer returns a regular peer message in the Nim format.
func peer(id string, lamport uint64, sender string, deps ...wire.HistoryEntry) []byte {
	msg := wire.Message{
		MessageID: id, LamportTimestamp: lamport, HasLamport: true, CausalHistory: deps,
		ChannelID: pChan, Content: []byte("c-" + id), SenderID: sender,
	}
	return msg.Marshal(wire.FormatNim)
}

// --- Nim: "Persistence: write → restart → read-back" ---

// Nim: "outgoing buffer survives restart".
func TestPersistOutgoingSurvivesRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m1, pChan)
	nimWrap(t, m1, pChan, "msg-1", []byte{1, 2, 3})
	nimEqualIDs(t, "stored outgoing", loadStored(t, mem, pChan).outgoing(), []string{"msg-1"})
	mustClose(t, m1)

	m2, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	nimEqualIDs(t, "outgoing after restart", nimOutgoingIDs(nimState(t, m2, pChan)), []string{"msg-1"})
}

// Nim: "lamport clock survives restart".
func TestPersistLamportSurvivesRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m1, pChan, "tick", []byte{1})
	saved := loadStored(t, mem, pChan).meta.Lamport
	if saved != nimState(t, m1, pChan).LamportTimestamp || saved < uint64(nimStart.UnixMilli()) {
		t.Fatalf("stored lamport %d, manager %d", saved, nimState(t, m1, pChan).LamportTimestamp)
	}
	mustClose(t, m1)
	clk.Advance(-time.Hour) // even with the wall clock behind, the clock never goes back
	m2, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	if got := nimState(t, m2, pChan).LamportTimestamp; got != saved {
		t.Fatalf("lamport after restart = %d, want %d", got, saved)
	}
	w := nimDecode(t, nimWrap(t, m2, pChan, "tock", []byte{2}))
	if w.LamportTimestamp <= saved {
		t.Fatalf("lamport went back: %d after %d", w.LamportTimestamp, saved)
	}
}

// Nim: "delivered messages survive restart and rebuild bloom". The bloom
// filter is rebuilt from the log, so a peer's message delivered before the
// restart is acknowledged by the filter we send after it (with no causal
// history at all, the filter is the only way).
func TestPersistDeliveredSurviveAndRebuildBloom(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	bob, bobEv, _ := nimManager(t, func(c *sds.Config) { c.ParticipantID = "bob"; c.Clock = clk })
	noHistory := func(c *sds.Config) { c.MaxCausalHistory = 0 }
	m1, _ := persistentManager(t, mem, clk, noHistory)
	if res := nimUnwrap(t, m1, nimWrap(t, bob, pChan, "delivered-1", []byte{9, 9})); !res.Delivered {
		t.Fatal("not delivered")
	}
	nimEqualIDs(t, "stored history", loadStored(t, mem, pChan).history, []string{"delivered-1"})
	mustClose(t, m1)

	m2, _ := persistentManager(t, mem, clk, noHistory)
	mustEnsure(t, m2, pChan)
	nimEqualIDs(t, "history after restart", nimState(t, m2, pChan).MessageHistory, []string{"delivered-1"})
	w := nimWrap(t, m2, pChan, "after", []byte{1})
	if !nimAttachedBloom(t, w).Contains("delivered-1") {
		t.Fatal("bloom filter not rebuilt from the log")
	}
	nimUnwrap(t, bob, w)
	if !slices.Contains(bobEv.ids(sds.EventMessageAcknowledged), "delivered-1") {
		t.Fatal("the rebuilt filter did not acknowledge bob's message")
	}
}

// Our outgoing messages are acknowledged after a restart too: the outgoing
// buffer's bloom probes are rebuilt.
func TestPersistOutgoingAckedAfterRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m1, pChan, "a1", []byte{1})
	mustClose(t, m1)
	m2, ev := persistentManager(t, mem, clk, nil)
	nimUnwrap(t, m2, nimPeerMessage(pChan, "b1", 1, []byte{1}, nil, nimPeerBloom(t, "a1")))
	nimEqualIDs(t, "acknowledged", ev.ids(sds.EventMessageAcknowledged), []string{"a1"})
	if out := loadStored(t, mem, pChan).outgoing(); len(out) != 0 {
		t.Fatalf("stored outgoing = %q after the ack", out)
	}
}

// Nim: "ack removes outgoing entry from persistence".
func TestPersistAckRemovesOutgoing(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m, pChan)
	nimWrap(t, m, pChan, "msg-x", []byte{1})
	nimEqualIDs(t, "stored outgoing", loadStored(t, mem, pChan).outgoing(), []string{"msg-x"})
	nimUnwrap(t, m, peer("ack-bearer", 5, "bob", wire.HistoryEntry{MessageID: "msg-x"}))
	if out := loadStored(t, mem, pChan).outgoing(); len(out) != 0 {
		t.Fatalf("stored outgoing = %q, want empty", out)
	}
}

// Nim: "removeChannel issues exactly one dropChannel call and wipes all
// state".
func TestPersistRemoveChannelDropsOnce(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m, pChan)
	nimWrap(t, m, pChan, "msg-r", []byte{1})
	nimUnwrap(t, m, peer("waits", 5, "bob", entry("gone", "bob")))
	m.MarkDependenciesMet(pChan, []string{"met-1"})
	s := loadStored(t, mem, pChan)
	if len(s.outgoing()) != 1 || s.meta.Lamport == 0 || len(s.incoming()) != 1 || len(s.meta.OutgoingRepair) != 1 || len(s.met) != 1 {
		t.Fatalf("stored before removal: %+v", s.meta)
	}
	if err := m.RemoveChannel(pChan); err != nil {
		t.Fatal(err)
	}
	if n := mem.Calls(persist.OpDropChannel); n != 1 {
		t.Fatalf("DropChannel called %d times", n)
	}
	if chans := mem.Channels(); len(chans) != 0 {
		t.Fatalf("store still holds %q", chans)
	}
	if _, ok := m.ChannelState(pChan); ok {
		t.Fatal("channel still loaded")
	}
}

// Nim: "continue operating after restart: lamport stays monotonic" and
// "multiple restart cycles preserve state".
func TestPersistRestartCycles(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	var last uint64
	for i := 1; i <= 3; i++ {
		m, _ := persistentManager(t, mem, clk, nil)
		mustEnsure(t, m, pChan)
		if got := nimState(t, m, pChan).LamportTimestamp; got != last {
			t.Fatalf("cycle %d: lamport %d after restart, stored %d", i, got, last)
		}
		nimWrap(t, m, pChan, fmt.Sprint("m", i), []byte{byte(i)})
		now := loadStored(t, mem, pChan).meta.Lamport
		if now <= last {
			t.Fatalf("cycle %d: lamport %d not above %d", i, now, last)
		}
		last = now
		mustClose(t, m)
	}
	m, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m, pChan)
	nimEqualIDs(t, "outgoing", nimOutgoingIDs(nimState(t, m, pChan)), []string{"m1", "m2", "m3"})
}

// Nim: "incoming dep-waiting buffer survives restart with missingDeps
// intact".
func TestPersistIncomingSurvivesRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m1, pChan)
	nimUnwrap(t, m1, peer("msg-with-deps", 10, "carol", wire.HistoryEntry{MessageID: "missing-dep"}))
	if got := loadStored(t, mem, pChan).incoming(); !slices.Equal(got["msg-with-deps"], []string{"missing-dep"}) {
		t.Fatalf("stored incoming = %q", got)
	}
	mustClose(t, m1)
	m2, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	in := nimState(t, m2, pChan).Incoming
	if len(in) != 1 || in[0].MessageID != "msg-with-deps" || !slices.Equal(in[0].WaitingFor, []string{"missing-dep"}) {
		t.Fatalf("incoming after restart = %+v", in)
	}
}

// Nim: "removeChannel + recreate does not inherit stale lamport".
func TestPersistRemoveThenRecreateStartsFresh(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m1, pChan)
	nimWrap(t, m1, pChan, "m-old", []byte{1})
	if err := m1.RemoveChannel(pChan); err != nil {
		t.Fatal(err)
	}
	if len(loadStored(t, mem, pChan).raw.Records) != 0 {
		t.Fatal("lamport still stored")
	}
	mustClose(t, m1)
	m2, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	st := nimState(t, m2, pChan)
	if st.LamportTimestamp != 0 || len(st.Outgoing) != 0 || len(st.MessageHistory) != 0 {
		t.Fatalf("recreated channel inherited %+v", st)
	}
}

// Nim: "SDS-R outgoing repair buffer survives restart with absolute
// t_req_at". (Our request needs the entry's sender id: T8.)
func TestPersistRepairBuffersSurviveRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m1, pChan)
	nimUnwrap(t, m1, peer("msg-needs-repair", 5, "bob", entry("missing-dep", "bob")))
	nimUnwrap(t, m1, peer("logged", 6, "bob"))
	// A peer asks for "logged": a response is scheduled.
	nimUnwrap(t, m1, sdsrMessage(pChan, "asker", "carol", 7, []byte{1}, nil, []wire.HistoryEntry{entry("logged", "bob")}))
	before := nimState(t, m1, pChan)
	if len(before.RepairRequests) != 1 || len(before.RepairResponses) != 1 {
		t.Fatalf("repair buffers: %+v", before)
	}
	s := loadStored(t, mem, pChan)
	if len(s.meta.OutgoingRepair) != 1 || s.meta.OutgoingRepair[0].Entry.MinTimeRepairReqMs != before.RepairRequests[0].Due.UnixMilli() {
		t.Fatalf("stored outgoing repair = %+v", s.meta.OutgoingRepair)
	}
	if len(s.meta.IncomingRepair) != 1 || len(s.meta.IncomingRepair[0].Entry.CachedMessage) == 0 {
		t.Fatalf("stored incoming repair = %+v", s.meta.IncomingRepair)
	}
	mustClose(t, m1)
	m2, ev := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	after := nimState(t, m2, pChan)
	sameState(t, "after restart", after, before)
	// The restored response fires at its original T_resp.
	clk.Set(after.RepairResponses[0].Due)
	m2.RepairSweep()
	if got := ev.ids(sds.EventRepairReady); !slices.Equal(got, []string{"logged"}) {
		t.Fatalf("repair_ready = %q", got)
	}
	if len(loadStored(t, mem, pChan).meta.IncomingRepair) != 0 {
		t.Fatal("answered response still stored")
	}
}

// Nim: "FIFO eviction state survives restart".
func TestPersistLogEvictionSurvivesRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	small := func(c *sds.Config) { c.MaxMessageHistory, c.MaxCausalHistory, c.BloomCapacity = 3, 3, 3 }
	m1, _ := persistentManager(t, mem, clk, small)
	for i := 1; i <= 5; i++ {
		nimUnwrap(t, m1, peer(fmt.Sprint("m", i), uint64(i), "bob"))
	}
	nimEqualIDs(t, "stored history", loadStored(t, mem, pChan).history, []string{"m3", "m4", "m5"})
	mustClose(t, m1)
	m2, _ := persistentManager(t, mem, clk, small)
	mustEnsure(t, m2, pChan)
	nimEqualIDs(t, "history after restart", nimState(t, m2, pChan).MessageHistory, []string{"m3", "m4", "m5"})
	nimUnwrap(t, m2, peer("m6", 6, "bob"))
	nimEqualIDs(t, "stored history", loadStored(t, mem, pChan).history, []string{"m4", "m5", "m6"})
	// A smaller log bound after a restart trims the oldest, in the store too.
	mustClose(t, m2)
	m3, _ := persistentManager(t, mem, clk, func(c *sds.Config) { small(c); c.MaxMessageHistory, c.MaxCausalHistory = 2, 2 })
	mustEnsure(t, m3, pChan)
	nimEqualIDs(t, "history, bound 2", nimState(t, m3, pChan).MessageHistory, []string{"m5", "m6"})
	nimEqualIDs(t, "stored history, bound 2", loadStored(t, mem, pChan).history, []string{"m5", "m6"})
}

// Nim: "dep-clear cascade resumes correctly across a restart".
func TestPersistCascadeAcrossRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	nimUnwrap(t, m1, peer("c", 30, "carol", wire.HistoryEntry{MessageID: "b"}))
	nimUnwrap(t, m1, peer("b", 20, "bob", wire.HistoryEntry{MessageID: "a"}))
	if got := loadStored(t, mem, pChan).incoming(); len(got) != 2 {
		t.Fatalf("stored incoming = %q", got)
	}
	mustClose(t, m1)
	m2, ev := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	if in := nimState(t, m2, pChan).Incoming; len(in) != 2 {
		t.Fatalf("incoming after restart = %+v", in)
	}
	nimUnwrap(t, m2, peer("a", 10, "alice"))
	nimEqualIDs(t, "delivered", ev.ids(sds.EventMessageReady), []string{"a", "b", "c"})
	st := nimState(t, m2, pChan)
	if len(st.Incoming) != 0 {
		t.Fatalf("incoming = %+v", st.Incoming)
	}
	s := loadStored(t, mem, pChan)
	nimEqualIDs(t, "stored history", s.history, []string{"a", "b", "c"})
	if len(s.incoming()) != 0 {
		t.Fatalf("stored incoming = %q", s.incoming())
	}
}

// --- Nim: "Persistence: failure policy" ---

// Nim: "loadChannel failure surfaces as rePersistenceError on bootstrap".
// Every operation that would create the channel returns the load error.
func TestPersistLoadFailureSurfaces(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	mem.SetFailing(persist.OpLoadChannel, true)
	m, _ := persistentManager(t, mem, clk, nil)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, sds.ErrPersistence) || !errors.Is(err, persist.ErrInjected) {
			t.Errorf("%s: %v, want ErrPersistence wrapping the backend's error", what, err)
		}
	}
	check("EnsureChannel", m.EnsureChannel(pChan))
	_, err := m.Wrap(pChan, "m1", []byte{1})
	check("Wrap", err)
	_, err = m.Unwrap(peer("p1", 1, "bob"))
	check("Unwrap", err)
	_, err = m.WrapSync(pChan)
	check("WrapSync", err)
	if chans := m.Channels(); len(chans) != 0 {
		t.Fatalf("channels after failed loads: %q", chans)
	}
	mem.SetFailing(persist.OpLoadChannel, false)
	mustEnsure(t, m, pChan)
}

// Nim: "saveChannelMeta failure during send does NOT surface — non-fatal
// policy", with a backend that writes meta and history separately and with
// one that applies both in one transaction.
func TestPersistSaveFailureDoesNotFailOps(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(fmt.Sprint("batched=", batched), func(t *testing.T) {
			mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
			var b persist.Backend = mem
			failing := persist.OpApply
			if !batched {
				b, failing = unbatched{mem}, persist.OpSaveChannelMeta
			}
			m, _ := persistentManager(t, b, clk, nil)
			mustEnsure(t, m, pChan)
			mem.SetFailing(failing, true)
			nimWrap(t, m, pChan, "m1", []byte{1})
			nimEqualIDs(t, "outgoing", nimOutgoingIDs(nimState(t, m, pChan)), []string{"m1"})
			st := m.PersistenceStats()
			if !st.Enabled || st.WriteFailures != 1 || st.Pending == 0 {
				t.Fatalf("stats = %+v", st)
			}
			if s := loadStored(t, mem, pChan); len(s.outgoing()) != 0 || len(s.history) != 0 {
				t.Fatalf("stored despite the failure: %q %q", s.outgoing(), s.history)
			}
			mem.SetFailing(failing, false)
			nimWrap(t, m, pChan, "m2", []byte{2})
			s := loadStored(t, mem, pChan)
			nimEqualIDs(t, "stored outgoing", s.outgoing(), []string{"m1", "m2"})
			nimEqualIDs(t, "stored history", s.history, []string{"m1", "m2"})
			if st := m.PersistenceStats(); st.Pending != 0 || st.WriteFailures != 1 {
				t.Fatalf("stats after recovery = %+v", st)
			}
		})
	}
}

// Nim: "updateHistory failure during send does NOT surface — non-fatal
// policy" and "updateHistory failure is retried via R2 pending-write
// queue".
func TestPersistHistoryFailureIsRetried(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, unbatched{mem}, clk, nil)
	mustEnsure(t, m, pChan)
	mem.SetFailing(persist.OpUpdateHistory, true)
	nimWrap(t, m, pChan, "m1", []byte{1})
	nimEqualIDs(t, "history", nimState(t, m, pChan).MessageHistory, []string{"m1"})
	nimWrap(t, m, pChan, "m2", []byte{2})
	if h := loadStored(t, mem, pChan).history; len(h) != 0 {
		t.Fatalf("stored history = %q during the failure", h)
	}
	if p := m.PersistenceStats().Pending; p != 2 {
		t.Fatalf("pending = %d, want the two appends", p)
	}
	mem.SetFailing(persist.OpUpdateHistory, false)
	nimWrap(t, m, pChan, "m3", []byte{3})
	nimEqualIDs(t, "stored history", loadStored(t, mem, pChan).history, []string{"m1", "m2", "m3"})
	if p := m.PersistenceStats().Pending; p != 0 {
		t.Fatalf("pending = %d after recovery", p)
	}
}

// Nim: "evict-then-re-add merge rule preserves the re-added message on
// disk": during an outage m1 is delivered, evicted from the log, then
// delivered again (a rebroadcast); the store must end with it.
func TestPersistEvictThenReAdd(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(fmt.Sprint("batched=", batched), func(t *testing.T) {
			mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
			var b persist.Backend = mem
			if !batched {
				b = unbatched{mem}
			}
			// RememberDelivered 0: the Nim behaviour, where an evicted
			// message arriving again is delivered again.
			small := func(c *sds.Config) {
				c.MaxMessageHistory, c.MaxCausalHistory, c.BloomCapacity, c.RememberDelivered = 2, 2, 2, 0
			}
			m, _ := persistentManager(t, b, clk, small)
			mustEnsure(t, m, pChan)
			mem.FailNextWrites(1 << 30)
			nimUnwrap(t, m, peer("m1", 1, "bob"))
			nimUnwrap(t, m, peer("m2", 2, "bob"))
			nimUnwrap(t, m, peer("m3", 3, "bob"))
			if res := nimUnwrap(t, m, peer("m1", 4, "bob")); !res.Delivered {
				t.Fatal("re-delivery of the evicted m1 not delivered")
			}
			nimEqualIDs(t, "history", nimState(t, m, pChan).MessageHistory, []string{"m3", "m1"})
			mem.FailNextWrites(0)
			mustEnsure(t, m, pChan) // an operation that changes nothing flushes the queue
			nimEqualIDs(t, "stored history", loadStored(t, mem, pChan).history, []string{"m3", "m1"})
			m2, _ := persistentManager(t, mem, clk, small)
			mustEnsure(t, m2, pChan)
			sameState(t, "restart", nimState(t, m2, pChan), nimState(t, m, pChan))
		})
	}
}

// Nim: "pending queue survives idle ops (flush on next op without history
// changes)".
func TestPersistIdleOpFlushes(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, unbatched{mem}, clk, nil)
	mustEnsure(t, m, pChan)
	mem.SetFailing(persist.OpUpdateHistory, true)
	nimWrap(t, m, pChan, "m1", []byte{1})
	if p := m.PersistenceStats().Pending; p != 1 {
		t.Fatalf("pending = %d", p)
	}
	mem.SetFailing(persist.OpUpdateHistory, false)
	if err := m.MarkDependenciesMet(pChan, []string{"nonexistent"}); err != nil {
		t.Fatal(err)
	}
	if p := m.PersistenceStats().Pending; p != 0 {
		t.Fatalf("pending = %d after the idle op", p)
	}
	nimEqualIDs(t, "stored history", loadStored(t, mem, pChan).history, []string{"m1"})
}

// Nim: "dropChannel failure during removeChannel surfaces as
// rePersistenceError". The channel then stays, in memory and in the store;
// Reset likewise.
func TestPersistDropFailureSurfaces(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m, pChan, "m1", []byte{1})
	mem.SetFailing(persist.OpDropChannel, true)
	if err := m.RemoveChannel(pChan); !errors.Is(err, sds.ErrPersistence) || !errors.Is(err, persist.ErrInjected) {
		t.Fatalf("RemoveChannel: %v", err)
	}
	if err := m.Reset(); !errors.Is(err, sds.ErrPersistence) {
		t.Fatalf("Reset: %v", err)
	}
	nimEqualIDs(t, "outgoing kept", nimOutgoingIDs(nimState(t, m, pChan)), []string{"m1"})
	nimEqualIDs(t, "stored outgoing kept", loadStored(t, mem, pChan).outgoing(), []string{"m1"})
	nimWrap(t, m, pChan, "m2", []byte{2}) // the channel still works and is still written
	nimEqualIDs(t, "stored outgoing", loadStored(t, mem, pChan).outgoing(), []string{"m1", "m2"})
	mem.SetFailing(persist.OpDropChannel, false)
	if err := m.RemoveChannel(pChan); err != nil {
		t.Fatal(err)
	}
	if len(mem.Channels()) != 0 {
		t.Fatal("not dropped")
	}
}

// Cleanup (Close) does not wipe the store: the Nim cleanup's contract.
func TestPersistCloseDoesNotWipe(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m1, pChan, "m1", []byte{1})
	before := nimState(t, m1, pChan)
	mustClose(t, m1)
	if mem.Calls(persist.OpDropChannel) != 0 || len(mem.Channels()) != 1 {
		t.Fatal("Close touched the store")
	}
	if err := m1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	m2, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m2, pChan)
	sameState(t, "after Close and reopen", nimState(t, m2, pChan), before)
}

// --- Beyond the Nim suite ---

// Reset drops every channel: the loaded ones and those only stored.
func TestPersistResetDropsStoredChannels(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m1, "c1", "m1", []byte{1})
	nimWrap(t, m1, "c2", "m2", []byte{1})
	mustClose(t, m1)
	m2, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m2, "c3", "m3", []byte{1})
	if err := m2.Reset(); err != nil {
		t.Fatal(err)
	}
	if chans := mem.Channels(); len(chans) != 0 {
		t.Fatalf("stored after Reset: %q", chans)
	}
	if chans := m2.Channels(); len(chans) != 0 {
		t.Fatalf("loaded after Reset: %q", chans)
	}
	// RemoveChannel of a channel that is stored but not loaded drops it.
	nimWrap(t, m2, "c4", "m4", []byte{1})
	mustClose(t, m2)
	m3, _ := persistentManager(t, mem, clk, nil)
	if err := m3.RemoveChannel("c4"); err != nil {
		t.Fatal(err)
	}
	if chans := mem.Channels(); len(chans) != 0 {
		t.Fatalf("stored after RemoveChannel: %q", chans)
	}
}

// Ids marked met survive a restart (our extension of the Nim meta): they
// stay present, so a message naming them is delivered at once and a late
// copy of one is a duplicate. Ids given up as lost (LostDeliver) too.
func TestPersistMetSurvivesRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m1, pChan)
	if err := m1.MarkDependenciesMet(pChan, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	nimUnwrap(t, m1, peer("w", 2, "bob", entry("lost", "bob")))
	clk.Advance(sds.DefaultMaxDependencyWait)
	m1.Sweep() // "lost" given up: w delivered
	s := loadStored(t, mem, pChan)
	if len(s.met) != 2 || s.met[0].ID != "x" || !s.met[0].InFilter || s.met[1].ID != "lost" || s.met[1].InFilter {
		t.Fatalf("stored met = %+v", s.met)
	}
	mustClose(t, m1)

	m2, ev := persistentManager(t, mem, clk, nil)
	res := nimUnwrap(t, m2, peer("y", 3, "bob", entry("x", "bob"), entry("lost", "bob")))
	if !res.Delivered || len(res.MissingDeps) != 0 {
		t.Fatalf("message naming met ids: %+v", res)
	}
	for _, id := range []string{"x", "lost"} {
		if res := nimUnwrap(t, m2, peer(id, 1, "bob")); !res.Duplicate {
			t.Fatalf("late copy of met %q not a duplicate", id)
		}
	}
	if ev.count(sds.EventMissingDependencies) != 0 {
		t.Fatal("met ids reported missing after restart")
	}
	// The filter kept "x" (marked by the application) but not "lost".
	f := nimAttachedBloom(t, nimWrap(t, m2, pChan, "probe", []byte{1}))
	if !f.Contains("x") || f.Contains("lost") {
		t.Fatalf("filter: x %v, lost %v", f.Contains("x"), f.Contains("lost"))
	}
}

// The met set is bounded like the log; what leaves it leaves the store.
func TestPersistMetBounded(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	small := func(c *sds.Config) { c.MaxMessageHistory, c.MaxCausalHistory, c.BloomCapacity = 2, 2, 2 }
	m, _ := persistentManager(t, mem, clk, small)
	mustEnsure(t, m, pChan)
	m.MarkDependenciesMet(pChan, []string{"a", "b", "c"})
	var ids []string
	for _, r := range loadStored(t, mem, pChan).met {
		ids = append(ids, r.ID)
	}
	nimEqualIDs(t, "stored met", ids, []string{"b", "c"})
}

// Stored state that breaks the backend contract fails the load with an
// error naming the broken rule.
func TestPersistContractViolation(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	msg, _, _ := wire.Decode(peer("x", 1, "bob"), wire.Limits{})
	msg.BloomFilter = nil
	var d persist.MetaDelta
	d.PutLamport(5)
	d.PutIncoming(&persist.IncomingMessage{Message: msg})
	if err := mem.Apply(pChan, &d, &persist.HistoryUpdate{Append: []wire.Message{msg}}); err != nil {
		t.Fatal(err)
	}
	m, _ := persistentManager(t, mem, clk, nil)
	err := m.EnsureChannel(pChan)
	if !errors.Is(err, sds.ErrPersistence) || !persist.IsContract(err) ||
		!strings.Contains(err.Error(), "contract") || !strings.Contains(err.Error(), "both waiting in the incoming buffer and delivered") {
		t.Fatalf("EnsureChannel: %v", err)
	}
}

// Loading recomputes what each buffered message waits for from its causal
// history, not from the stored missing set: a message whose dependencies
// are all present is delivered during the load (its event dispatched by
// the operation that loaded the channel), and a stale missing set is
// rewritten.
func TestPersistIncomingRecomputedOnLoad(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	dec := func(b []byte) wire.Message {
		m, _, err := wire.Decode(b, wire.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		m.BloomFilter = nil
		return m
	}
	a := dec(peer("a", 1, "bob"))
	x := dec(peer("x", 3, "bob", entry("a", "bob"), entry("b", "bob")))
	y := dec(peer("y", 2, "bob", entry("a", "bob")))
	z := dec(peer("z", 4, "bob", entry("y", "bob")))
	var d persist.MetaDelta
	d.PutLamport(4)
	d.PutIncoming(&persist.IncomingMessage{Message: x, MissingDeps: []string{"a", "b", "zzz"}})
	d.PutIncoming(&persist.IncomingMessage{Message: y, MissingDeps: []string{"a"}})
	d.PutIncoming(&persist.IncomingMessage{Message: z, MissingDeps: []string{"y"}})
	d.PutOutgoingRepair(&persist.OutgoingRepairKV{MessageID: "a", Entry: persist.OutgoingRepairEntry{HistEntry: entry("a", "bob")}})
	if err := mem.Apply(pChan, &d, &persist.HistoryUpdate{Append: []wire.Message{a}}); err != nil {
		t.Fatal(err)
	}
	m, ev := persistentManager(t, mem, clk, nil)
	mustEnsure(t, m, pChan)
	nimEqualIDs(t, "delivered on load", ev.ids(sds.EventMessageReady), []string{"y", "z"})
	st := nimState(t, m, pChan)
	if len(st.Incoming) != 1 || st.Incoming[0].MessageID != "x" || !slices.Equal(st.Incoming[0].WaitingFor, []string{"b"}) {
		t.Fatalf("incoming = %+v", st.Incoming)
	}
	if len(st.RepairRequests) != 0 {
		t.Fatalf("request for a present id kept: %+v", st.RepairRequests)
	}
	s := loadStored(t, mem, pChan)
	if got := s.incoming(); len(got) != 1 || !slices.Equal(got["x"], []string{"b"}) {
		t.Fatalf("stored incoming = %q", got)
	}
	nimEqualIDs(t, "stored history", s.history, []string{"a", "y", "z"})
	if len(s.meta.OutgoingRepair) != 0 {
		t.Fatal("stored request for a present id kept")
	}
}

// Each operation's events reach the application only after its writes
// were handed to the store: from inside the handler, the store already
// holds what the event reports.
func TestPersistEventsFollowWrites(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, nil)
	var checked int
	m.SetEventHandler(func(e sds.Event) {
		s := loadStored(t, mem, e.ChannelID)
		switch e.Kind {
		case sds.EventMessageReady:
			if !slices.Contains(s.history, e.MessageID) {
				t.Errorf("message_ready %q before it was stored", e.MessageID)
			}
		case sds.EventMessageAcknowledged, sds.EventMessageFailed:
			if slices.Contains(s.outgoing(), e.MessageID) {
				t.Errorf("%v %q while still stored as outgoing", e.Kind, e.MessageID)
			}
		case sds.EventMissingDependencies:
			if _, ok := s.incoming()[e.MessageID]; !ok {
				t.Errorf("missing_dependencies %q before it was stored as incoming", e.MessageID)
			}
		case sds.EventMessageResend:
			for _, u := range s.meta.Outgoing {
				if u.Message.MessageID == e.MessageID && int(u.ResendAttempts) != e.Attempt {
					t.Errorf("resend %d of %q stored as attempt %d", e.Attempt, e.MessageID, u.ResendAttempts)
				}
			}
		}
		checked++
	})
	nimWrap(t, m, pChan, "a1", []byte{1})
	nimWrap(t, m, pChan, "a2", []byte{1})
	nimUnwrap(t, m, peer("b2", 20, "bob", entry("b1", "bob"), entry("a1", "alice")))
	nimUnwrap(t, m, peer("b1", 10, "bob"))
	clk.Advance(sds.DefaultResendInterval)
	m.Sweep()
	for range sds.DefaultMaxResendAttempts {
		clk.Advance(sds.DefaultResendInterval)
		m.Sweep()
	}
	if checked < 5+sds.DefaultMaxResendAttempts {
		t.Fatalf("only %d events checked", checked)
	}
	if out := loadStored(t, mem, pChan).outgoing(); len(out) != 0 {
		t.Fatalf("stored outgoing after failure: %q", out)
	}
}

// Retrieval hints are stored when cached, and come back with the log: after
// a restart the provider is not asked again for them.
func TestPersistHints(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	asked := map[string]int{}
	provider := func(id string) []byte { asked[id]++; return []byte("hint-" + id) }
	m1, _ := persistentManager(t, mem, clk, nil)
	m1.SetRetrievalHintProvider(provider)
	nimWrap(t, m1, pChan, "a1", []byte{1})
	nimWrap(t, m1, pChan, "a2", []byte{1})
	if h := loadStored(t, mem, pChan).hints; string(h["a1"]) != "hint-a1" {
		t.Fatalf("stored hints = %q", h)
	}
	mustClose(t, m1)
	m2, _ := persistentManager(t, mem, clk, nil)
	m2.SetRetrievalHintProvider(provider)
	w := nimDecode(t, nimWrap(t, m2, pChan, "a3", []byte{1}))
	if asked["a1"] != 1 {
		t.Fatalf("provider asked %d times for a1", asked["a1"])
	}
	for _, e := range w.CausalHistory {
		if string(e.RetrievalHint) != "hint-"+e.MessageID {
			t.Fatalf("entry %q carries hint %q", e.MessageID, e.RetrievalHint)
		}
	}
}

// A store failing for long raises EventPersistenceBacklog once each time
// its pending writes go over the bound; operations keep working.
func TestPersistBacklogEvent(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, ev := persistentManager(t, mem, clk, func(c *sds.Config) { c.PersistMaxPending = 4 })
	mustEnsure(t, m, pChan)
	mem.SetFailing(persist.OpApply, true)
	for i := range 5 {
		nimWrap(t, m, pChan, fmt.Sprint("m", i), []byte{1})
	}
	if n := ev.count(sds.EventPersistenceBacklog); n != 1 {
		t.Fatalf("%d backlog events", n)
	}
	if st := m.PersistenceStats(); st.Backlogs != 1 || st.WriteFailures != 5 {
		t.Fatalf("stats = %+v", st)
	}
	mem.SetFailing(persist.OpApply, false)
	mustEnsure(t, m, pChan)
	mem.SetFailing(persist.OpApply, true)
	for i := range 5 {
		nimWrap(t, m, pChan, fmt.Sprint("n", i), []byte{1})
	}
	if n := ev.count(sds.EventPersistenceBacklog); n != 2 {
		t.Fatalf("%d backlog events after the second outage", n)
	}
	if sds.EventPersistenceBacklog.String() != "persistence_backlog" {
		t.Fatal(sds.EventPersistenceBacklog.String())
	}
}

func TestPersistConfig(t *testing.T) {
	cfg := sds.DefaultConfig()
	cfg.PersistMaxPending = -1
	if _, err := sds.NewManager(cfg); !errors.Is(err, sds.ErrInvalidConfig) {
		t.Fatalf("negative PersistMaxPending: %v", err)
	}
	m, _ := sds.NewManager(sds.DefaultConfig())
	if st := m.PersistenceStats(); st.Enabled {
		t.Fatal("enabled without persistence")
	}
}

// boltManager is persistentManager over the embedded store at path,
// opened as Config.Persistence documents (with the configuration's
// PersistLimits). closeAll closes the manager, then the store.
func boltManager(t *testing.T, path string, clk *sds.ManualClock, mutate func(*sds.Config)) (m *sds.Manager, closeAll func()) {
	t.Helper()
	cfg := sds.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	store, err := bolt.Open(path, &bolt.Options{Limits: cfg.PersistLimits()})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() }) // after the manager's own cleanup
	m, _ = persistentManager(t, store, clk, mutate)
	return m, func() {
		t.Helper()
		mustClose(t, m)
		if err := store.Close(); err != nil {
			t.Fatalf("store Close: %v", err)
		}
	}
}

// The embedded store, opened by the caller and passed in: a new manager
// on the file resumes.
func TestPersistBoltStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sds.db")
	clk := sds.NewManualClock(nimStart)
	m1, close1 := boltManager(t, path, clk, nil)
	nimWrap(t, m1, pChan, "a1", []byte{1})
	nimUnwrap(t, m1, peer("b2", 20, "bob", entry("b1", "bob")))
	nimUnwrap(t, m1, peer("b0", 5, "bob"))
	m1.MarkDependenciesMet(pChan, []string{"m"})
	reopensTheSame(t, m1, close1, path, clk, nil)
}

// reopensTheSame closes m and its bolt store (closeAll), opens a manager on
// the file again and checks that it holds m's state.
func reopensTheSame(t *testing.T, m *sds.Manager, closeAll func(), path string, clk *sds.ManualClock, mutate func(*sds.Config)) {
	t.Helper()
	before := nimState(t, m, pChan)
	closeAll()
	m2, close2 := boltManager(t, path, clk, mutate)
	mustEnsure(t, m2, pChan)
	sameState(t, "reopened", nimState(t, m2, pChan), before)
	close2()
}

// Under random write failures the manager keeps working, and once writes
// succeed again the store converges: a manager restarted from it has the
// same state as the one that lived through the failures.
func TestPersistConvergesUnderWriteFaults(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			var b persist.Backend
			mem := persist.NewMemory()
			b = mem
			if seed%2 == 0 {
				b = unbatched{mem}
			}
			clk := sds.NewManualClock(nimStart)
			cfgs := func(c *sds.Config) {
				c.MaxMessageHistory, c.MaxCausalHistory = 40, 5
				c.MaxPendingRepairs, c.MaxIncomingBuffer = 20, 15
				c.RepairTMin, c.RepairTMax = time.Second, 10*time.Second
				c.MaxDependencyWait = 2 * time.Minute
				c.OnLostDependencies = sds.LostDependencyPolicy(seed / 2 % 2)
			}
			alice, _ := persistentManager(t, b, clk, cfgs)
			alice.SetRetrievalHintProvider(func(id string) []byte { return []byte("h" + id) })
			bob, _, _ := nimManager(t, func(c *sds.Config) { cfgs(c); c.ParticipantID = "bob"; c.Clock = clk })
			r := rand.New(rand.NewPCG(seed, 7))
			mem.FailWriteFraction(0.3, seed)
			var toAlice, toBob [][]byte
			n := 0
			for step := range 400 {
				switch k := r.IntN(10); {
				case k < 3:
					n++
					w, err := alice.Wrap(pChan, fmt.Sprint("a", n), []byte{1})
					if err != nil {
						t.Fatal(err)
					}
					if r.IntN(4) > 0 {
						toBob = append(toBob, w)
					}
				case k < 6:
					n++
					w, err := bob.Wrap(pChan, fmt.Sprint("b", n), []byte{1})
					if err != nil {
						t.Fatal(err)
					}
					if r.IntN(5) > 0 { // lost otherwise: alice waits, repairs
						toAlice = append(toAlice, w)
					}
				case k < 8 && len(toAlice) > 0:
					i := r.IntN(len(toAlice))
					if _, err := alice.Unwrap(toAlice[i]); err != nil {
						t.Fatal(err)
					}
					toAlice = slices.Delete(toAlice, i, i+1)
				case k < 9 && len(toBob) > 0:
					i := r.IntN(len(toBob))
					if _, err := bob.Unwrap(toBob[i]); err != nil {
						t.Fatal(err)
					}
					toBob = slices.Delete(toBob, i, i+1)
				default:
					clk.Advance(time.Duration(r.IntN(20_000)) * time.Millisecond)
					alice.Sweep()
					alice.RepairSweep()
					if step%7 == 0 {
						alice.MarkDependenciesMet(pChan, []string{fmt.Sprint("b", r.IntN(n+1))})
					}
					if w, err := alice.WrapSync(pChan); err == nil && r.IntN(2) == 0 {
						toBob = append(toBob, w)
					}
				}
			}
			if mem.Failed(persist.OpApply)+mem.Failed(persist.OpSaveChannelMeta)+mem.Failed(persist.OpUpdateHistory) == 0 {
				t.Fatal("no write failed")
			}
			mem.FailWriteFraction(0, 0)
			mustEnsure(t, alice, pChan)
			if p := alice.PersistenceStats().Pending; p != 0 {
				t.Fatalf("%d writes pending after recovery", p)
			}
			live := nimState(t, alice, pChan)
			t.Logf("failed writes %d; history %d, outgoing %d, incoming %d, requests %d, responses %d",
				mem.Failed(persist.OpApply)+mem.Failed(persist.OpSaveChannelMeta)+mem.Failed(persist.OpUpdateHistory)+mem.Failed(persist.OpSaveRetrievalHint),
				len(live.MessageHistory), len(live.Outgoing), len(live.Incoming), len(live.RepairRequests), len(live.RepairResponses))
			restarted, _ := persistentManager(t, mem, clk, cfgs)
			mustEnsure(t, restarted, pChan)
			sameState(t, "restarted from the store", nimState(t, restarted, pChan), live)
			if len(live.Outgoing)+len(live.Incoming)+len(live.RepairRequests) == 0 || len(live.MessageHistory) < 20 {
				t.Fatalf("workload too thin: %+v", live)
			}
		})
	}
}

// Operations, removals, resets and sweeps racing on a few channels keep the
// store loadable (every write is one operation's, whole), and Close leaves
// it for the next manager. Run with -race.
func TestPersistConcurrent(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	mem.FailWriteFraction(0.1, 3)
	m, _ := persistentManager(t, mem, clk, nil)
	channels := []string{"c0", "c1", "c2"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 200 {
				ch := channels[r.IntN(len(channels))]
				switch r.IntN(6) {
				case 0, 1:
					m.Wrap(ch, fmt.Sprintf("g%d-%d", g, i), []byte{1})
				case 2:
					msg := wire.Message{MessageID: fmt.Sprintf("p%d-%d", g, i), LamportTimestamp: uint64(i), HasLamport: true,
						ChannelID: ch, Content: []byte{1}, SenderID: "bob",
						CausalHistory: []wire.HistoryEntry{entry(fmt.Sprintf("p%d-%d", g, r.IntN(i+1)), "bob")}}
					m.Unwrap(msg.Marshal(wire.FormatNim))
				case 3:
					m.MarkDependenciesMet(ch, []string{fmt.Sprintf("p%d-%d", g, r.IntN(i+1))})
				case 4:
					m.Sweep()
					m.RepairSweep()
				case 5:
					if r.IntN(10) == 0 {
						if r.IntN(3) == 0 {
							m.Reset()
						} else {
							m.RemoveChannel(ch)
						}
					}
					m.EnsureChannel(ch)
					m.PersistenceStats()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			clk.Advance(10 * time.Second)
		}
	}()
	wg.Wait()
	mem.FailWriteFraction(0, 0)
	for _, ch := range channels {
		mustEnsure(t, m, ch) // flushes what failed
	}
	live := map[string]sds.ChannelState{}
	for _, ch := range channels {
		live[ch] = nimState(t, m, ch)
	}
	mustClose(t, m)
	m2, _ := persistentManager(t, mem, clk, nil)
	for _, ch := range channels {
		mustEnsure(t, m2, ch)
		sameState(t, ch, nimState(t, m2, ch), live[ch])
	}
}

func TestPersistAfterClose(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, nil)
	nimWrap(t, m, pChan, "m1", []byte{1})
	mustClose(t, m)
	if err := m.RemoveChannel(pChan); !errors.Is(err, sds.ErrClosed) {
		t.Fatalf("RemoveChannel after Close: %v", err)
	}
	if err := m.Reset(); !errors.Is(err, sds.ErrClosed) {
		t.Fatalf("Reset after Close: %v", err)
	}
	if _, err := m.Wrap(pChan, "m2", []byte{1}); !errors.Is(err, sds.ErrClosed) {
		t.Fatalf("Wrap after Close: %v", err)
	}
	if len(mem.Channels()) != 1 || mem.Calls(persist.OpDropChannel) != 0 {
		t.Fatal("the store changed after Close")
	}
}

// Close tries the writes still pending once more; if they fail it says
// they are lost.
func TestPersistCloseReportsLostWrites(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, nil)
	mem.SetFailing(persist.OpApply, true)
	nimWrap(t, m, pChan, "m1", []byte{1})
	if err := m.Close(); !errors.Is(err, sds.ErrPersistence) || !errors.Is(err, persist.ErrInjected) {
		t.Fatalf("Close with failing store: %v", err)
	}
	m2, _ := persistentManager(t, mem, clk, nil)
	mem.SetFailing(persist.OpApply, false)
	nimWrap(t, m2, pChan, "n1", []byte{1})
	mustClose(t, m2)
	m3, _ := persistentManager(t, mem, clk, nil)
	mem.SetFailing(persist.OpApply, true)
	nimWrap(t, m3, pChan, "n2", []byte{1})
	mem.SetFailing(persist.OpApply, false)
	mustClose(t, m3) // the last try succeeds: nothing lost
	nimEqualIDs(t, "stored outgoing", loadStored(t, mem, pChan).outgoing(), []string{"n1", "n2"})
}

// What the manager stored always loads, even when the configuration lets
// our own messages exceed what is accepted from peers.
func TestPersistLargeOwnMessagesLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sds.db")
	clk := sds.NewManualClock(nimStart)
	big := func(c *sds.Config) {
		c.MaxContentSize = 2 << 20
		c.MaxCausalHistory = 1100
		c.MaxMessageHistory = 1100
	}
	m1, close1 := boltManager(t, path, clk, big)
	for i := range 1100 {
		nimWrap(t, m1, pChan, fmt.Sprint("s", i), []byte{1})
	}
	nimWrap(t, m1, pChan, "big", make([]byte, 3<<19))
	reopensTheSame(t, m1, close1, path, clk, big)
}

// A manager sending the RFC format stores the same way (messages in the
// Nim encoding) and restarts to the same state, its RFC filter rebuilt.
func TestPersistRFCFormat(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	rfc := func(c *sds.Config) { c.WireFormat = wire.FormatRFC }
	bob, bobEv, _ := nimManager(t, func(c *sds.Config) { c.ParticipantID = "bob"; c.Clock = clk; rfc(c) })
	m1, _ := persistentManager(t, mem, clk, rfc)
	nimUnwrap(t, m1, nimWrap(t, bob, pChan, "b1", []byte{1}))
	nimUnwrap(t, bob, nimWrap(t, m1, pChan, "a1", []byte{1}))
	b2 := nimWrap(t, bob, pChan, "b2", []byte{1})
	nimUnwrap(t, m1, nimWrap(t, bob, pChan, "b3", []byte{1})) // waits for b2
	before := nimState(t, m1, pChan)
	mustClose(t, m1)
	m2, _ := persistentManager(t, mem, clk, func(c *sds.Config) { rfc(c); c.MaxCausalHistory = 0 })
	mustEnsure(t, m2, pChan)
	sameState(t, "reopened", nimState(t, m2, pChan), before)
	nimUnwrap(t, m2, b2)
	nimUnwrap(t, bob, nimWrap(t, m2, pChan, "a2", []byte{1}))
	for _, id := range []string{"b1", "b2", "b3"} {
		if !slices.Contains(bobEv.ids(sds.EventMessageAcknowledged), id) {
			t.Errorf("%s not acknowledged by the rebuilt RFC filter", id)
		}
	}
}

// The bloom filter is rebuilt from what the channel holds: the log, the
// met ids, our outgoing messages and the buffered ones. While nothing has
// left those (the log's bound, the incoming buffer's), it equals the
// filter of a manager that never restarted. (Ids that left the log stay
// in a live filter until it rolls over; a restart forgets them, as in Nim.)
func TestPersistFilterRebuilt(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	alice, _ := persistentManager(t, mem, clk, nil)
	bob, _, _ := nimManager(t, func(c *sds.Config) { c.ParticipantID = "bob"; c.Clock = clk })
	var held [][]byte
	for i := range 30 {
		if w := nimWrap(t, alice, pChan, fmt.Sprint("a", i), []byte{1}); i%3 > 0 {
			nimUnwrap(t, bob, w) // the others stay unacknowledged
		}
		w := nimWrap(t, bob, pChan, fmt.Sprint("b", i), []byte{1})
		switch {
		case i%5 == 1:
			held = append(held, w) // never arrives
		case i%10 == 2:
			alice.MarkDependenciesMet(pChan, []string{fmt.Sprint("b", i-1)})
			fallthrough
		default:
			nimUnwrap(t, alice, w) // waits once b6 is missing
		}
	}
	st := nimState(t, alice, pChan)
	if len(st.Incoming) == 0 || len(st.Outgoing) == 0 {
		t.Fatalf("nothing buffered: %+v", st)
	}
	restarted, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, restarted, pChan)
	sameFilter(t, restarted, alice, pChan)
}
