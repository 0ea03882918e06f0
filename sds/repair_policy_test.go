package sds_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// The rules of RepairPrompt, the default SDS-R policy (repair_policy.go),
// under the manual clock.

const pc = nimTestChannel

// promptPeer is a manager with the default configuration for participant
// name, on clk, recording its events.
func promptPeer(t *testing.T, clk *sds.ManualClock, name string, mutate func(*sds.Config)) (*sds.Manager, *nimEvents) {
	t.Helper()
	m := startManager(t, name, clk, mutate)
	rec := &nimEvents{}
	m.SetEventHandler(rec.handle)
	if err := m.EnsureChannel(pc); err != nil {
		t.Fatal(err)
	}
	return m, rec
}

// gap is carol's m2, which names alice's m1.
func gap() []byte {
	return sdsrMessage(pc, "m2", "carol", 2, []byte{2}, []wire.HistoryEntry{entry("m1", "alice")}, nil)
}

// tReq is when name asks for id, after a gap seen now.
func tReq(clk *sds.ManualClock, name, id string) time.Time {
	return clk.Now().Add(sds.ComputeTReq(name, id, sds.DefaultRepairTMin, sds.DefaultRepairTMax))
}

// sweepAt moves the clock to at and runs m's repair sweep.
func sweepAt(clk *sds.ManualClock, at time.Time, ms ...*sds.Manager) {
	clk.Set(at)
	for _, m := range ms {
		m.RepairSweep()
	}
}

// lastPayload returns the payload of the last event of kind k.
func lastPayload(t *testing.T, rec *nimEvents, k sds.EventKind) []byte {
	t.Helper()
	evs := rec.of(k)
	if len(evs) == 0 {
		t.Fatalf("no %v event", k)
	}
	return evs[len(evs)-1].Payload
}

// waitDeadline waits, up to 10 s of real time, until clk's earliest timer
// is at (the periodic goroutine re-armed for it).
func waitDeadline(t *testing.T, clk *sds.ManualClock, at time.Time) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		if next, ok := clk.NextDeadline(); ok && next.Equal(at) {
			return
		}
		if time.Since(start) > 10*time.Second {
			next, _ := clk.NextDeadline()
			t.Fatalf("earliest timer at %v, want %v", next, at)
		}
	}
}

// A due request leaves at T_req in a sync message of its own, from the
// periodic tasks, while the participant sends nothing; the repair sweep
// interval (5 s) is longer than T_req, so only waking for the due time
// explains it.
func TestDueRequestLeavesWithoutSending(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	bob, rec := promptPeer(t, clk, "bob", nil)
	if err := bob.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	defer bob.StopPeriodicTasks()
	waitTasks(clk)
	nimUnwrap(t, bob, gap())
	due := tReq(clk, "bob", "m1")
	if d := due.Sub(clk.Now()); d >= sds.DefaultRepairSweepInterval || d < sds.DefaultRepairTMin {
		t.Fatalf("T_req %v outside the test's assumption", d)
	}
	waitDeadline(t, clk, due)
	clk.Advance(due.Sub(clk.Now()) - time.Millisecond)
	waitTasks(clk)
	if n := rec.count(sds.EventRepairRequest); n != 0 {
		t.Fatalf("%d request syncs before T_req", n)
	}
	clk.Advance(time.Millisecond)
	waitTasks(clk)
	evs := rec.of(sds.EventRepairRequest)
	if len(evs) != 1 {
		t.Fatalf("%d request syncs at T_req, want 1", len(evs))
	}
	nimEqualIDs(t, "event lists", nimIDs(evs[0].MissingDeps), []string{"m1"})
	msg := nimDecode(t, evs[0].Payload)
	nimEqualIDs(t, "requested", nimIDs(msg.RepairRequest), []string{"m1"})
	if len(msg.Content) != 0 || msg.SenderID != "bob" || msg.MessageID != evs[0].MessageID ||
		len(msg.BloomFilter) != 0 || len(msg.CausalHistory) != 0 || msg.RepairRequest[0].SenderID != "alice" {
		t.Errorf("request sync %+v", msg)
	}
	if st := nimState(t, bob, pc); len(st.Outgoing) != 0 || len(st.MessageHistory) != 0 {
		t.Errorf("the request sync was logged or buffered: %+v", st)
	}
}

// A sent request is due again after RepairRetryInterval (doubled from the
// second retry on) until the message arrives; NextRepairDue says when.
func TestRequestRetriedUntilAnswered(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	bob, rec := promptPeer(t, clk, "bob", nil)
	if _, ok := bob.NextRepairDue(); ok {
		t.Fatal("something due with nothing pending")
	}
	nimUnwrap(t, bob, gap())
	due := tReq(clk, "bob", "m1")
	retry := sds.DefaultRepairRetryInterval
	for i, wait := range []time.Duration{0, retry, retry, 2 * retry, 4 * retry} {
		due = due.Add(wait)
		if next, ok := bob.NextRepairDue(); !ok || !next.Equal(due) {
			t.Fatalf("attempt %d: next due %v (%v), want %v", i+1, next, ok, due)
		}
		sweepAt(clk, due.Add(-time.Millisecond), bob)
		if n := rec.count(sds.EventRepairRequest); n != i {
			t.Fatalf("attempt %d early: %d request syncs", i+1, n)
		}
		sweepAt(clk, due, bob)
		if n := rec.count(sds.EventRepairRequest); n != i+1 {
			t.Fatalf("attempt %d: %d request syncs", i+1, n)
		}
	}
	nimUnwrap(t, bob, sdsrMessage(pc, "m1", "alice", 1, []byte{1}, nil, nil))
	sweepAt(clk, clk.Now().Add(time.Hour), bob)
	if n := rec.count(sds.EventRepairRequest); n != 5 {
		t.Errorf("%d request syncs after the message arrived, want 5", n)
	}
	if next, ok := bob.NextRepairDue(); ok {
		t.Errorf("still due at %v", next)
	}
	nimEqualIDs(t, "delivered", rec.ids(sds.EventMessageReady), []string{"m1", "m2"})
}

// A request is not dropped before it could be sent: without request syncs
// it waits, however overdue, for the next message (RepairRFC drops it
// RepairTMax after T_req, as Nim does).
func TestRequestNotDroppedBeforeSent(t *testing.T) {
	for _, policy := range []sds.RepairPolicy{sds.RepairPrompt, sds.RepairRFC} {
		t.Run(policy.String(), func(t *testing.T) {
			clk := sds.NewManualClock(nimStart)
			bob, _ := promptPeer(t, clk, "bob", func(c *sds.Config) {
				c.RepairRequestSync, c.RepairPolicy = false, policy
			})
			nimUnwrap(t, bob, gap())
			sweepAt(clk, tReq(clk, "bob", "m1").Add(10*time.Minute), bob)
			bob.Sweep()
			msg := nimDecode(t, nimWrap(t, bob, pc, "b1", []byte{1}))
			want := []string{"m1"}
			if policy == sds.RepairRFC {
				want = nil
			}
			nimEqualIDs(t, "attached", nimIDs(msg.RepairRequest), want)
		})
	}
}

// promptBus is alice, bob, carol and dave with the default configuration
// on one clock; the test carries every broadcast by hand.
type promptBus struct {
	clk  *sds.ManualClock
	m    map[string]*sds.Manager
	rec  map[string]*nimEvents
	t    *testing.T
	name []string
}

func newPromptBus(t *testing.T) *promptBus {
	b := &promptBus{clk: sds.NewManualClock(nimStart), m: map[string]*sds.Manager{}, rec: map[string]*nimEvents{}, t: t}
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		b.m[n], b.rec[n] = promptPeer(t, b.clk, n, nil)
		b.name = append(b.name, n)
	}
	return b
}

// to delivers payload to the named participants.
func (b *promptBus) to(payload []byte, names ...string) {
	b.t.Helper()
	for _, n := range names {
		nimUnwrap(b.t, b.m[n], payload)
	}
}

// sweepAll runs every repair sweep at the current time.
func (b *promptBus) sweepAll() {
	for _, n := range b.name {
		b.m[n].RepairSweep()
	}
}

func (b *promptBus) repairs(name string) int { return b.rec[name].count(sds.EventRepairReady) }

// The original sender answers a request at once; the others answer only a
// request repeated with no copy of the message seen since the first one.
func TestOriginalSenderAnswersFirst(t *testing.T) {
	b := newPromptBus(t)
	b.to(nimWrap(t, b.m["alice"], pc, "m1", []byte{1}), "carol", "dave") // bob misses m1
	b.to(nimWrap(t, b.m["carol"], pc, "m2", []byte{2}), "alice", "bob", "dave")
	sweepAt(b.clk, nimState(t, b.m["bob"], pc).RepairRequests[0].Due, b.m["bob"])
	b.to(lastPayload(t, b.rec["bob"], sds.EventRepairRequest), "alice", "carol", "dave")
	b.sweepAll()
	if b.repairs("alice") != 1 || b.repairs("carol")+b.repairs("dave") != 0 {
		t.Fatalf("repairs: alice %d, carol %d, dave %d; want alice alone", b.repairs("alice"), b.repairs("carol"), b.repairs("dave"))
	}
	for _, n := range []string{"carol", "dave"} {
		if st := nimState(t, b.m[n], pc); len(st.RepairResponses) != 0 {
			t.Errorf("%s plans to answer the first request: %+v", n, st.RepairResponses)
		}
	}
	// bob loses the repair and asks again: alice answers again, and the
	// others, who saw her copy go out, still leave it to her.
	b.to(lastPayload(t, b.rec["alice"], sds.EventRepairReady), "carol", "dave")
	sweepAt(b.clk, repairDue(t, nimState(t, b.m["bob"], pc).RepairRequests, "m1"), b.m["bob"])
	b.to(lastPayload(t, b.rec["bob"], sds.EventRepairRequest), "alice", "carol", "dave")
	sweepAt(b.clk, b.clk.Now().Add(time.Minute), b.m["alice"], b.m["carol"], b.m["dave"])
	if b.repairs("alice") != 2 || b.repairs("carol")+b.repairs("dave") != 0 {
		t.Fatalf("after the retry: alice %d, carol %d, dave %d", b.repairs("alice"), b.repairs("carol"), b.repairs("dave"))
	}
	b.to(lastPayload(t, b.rec["alice"], sds.EventRepairReady), "bob")
	nimEqualIDs(t, "bob delivered", b.rec["bob"].ids(sds.EventMessageReady), []string{"m1", "m2"})

	// alice is away: nobody answers the first request of m3; the repeat
	// makes carol and dave step in, one of them, the other seeing its copy.
	b.to(nimWrap(t, b.m["alice"], pc, "m3", []byte{3}), "carol", "dave")
	b.to(nimWrap(t, b.m["dave"], pc, "m4", []byte{4}), "bob", "carol")
	for i := 0; i < 2; i++ {
		sweepAt(b.clk, repairDue(t, nimState(t, b.m["bob"], pc).RepairRequests, "m3"), b.m["bob"])
		b.to(lastPayload(t, b.rec["bob"], sds.EventRepairRequest), "carol", "dave")
	}
	first, second := "carol", "dave"
	if repairDue(t, nimState(t, b.m["dave"], pc).RepairResponses, "m3").Before(
		repairDue(t, nimState(t, b.m["carol"], pc).RepairResponses, "m3")) {
		first, second = second, first
	}
	sweepAt(b.clk, repairDue(t, nimState(t, b.m[first], pc).RepairResponses, "m3"), b.m[first], b.m[second])
	b.to(lastPayload(t, b.rec[first], sds.EventRepairReady), "bob", second)
	sweepAt(b.clk, b.clk.Now().Add(time.Minute), b.m[second])
	if b.repairs(first) != 1 || b.repairs(second) != 0 {
		t.Errorf("repairs of m3: %s %d, %s %d; want one", first, b.repairs(first), second, b.repairs(second))
	}
	nimEqualIDs(t, "bob delivered", b.rec["bob"].ids(sds.EventMessageReady), []string{"m1", "m2", "m3", "m4"})
}

// Another participant's request for the same message postpones ours by
// RepairRetryInterval plus our T_req, rather than cancelling it (Nim).
func TestOthersRequestPostponesOurs(t *testing.T) {
	b := newPromptBus(t)
	b.to(nimWrap(t, b.m["alice"], pc, "m1", []byte{1}), "dave") // bob and carol miss m1
	b.to(nimWrap(t, b.m["dave"], pc, "m2", []byte{2}), "alice", "bob", "carol")
	asker, other := "bob", "carol"
	if tb, tc := tReq(b.clk, "bob", "m1"), tReq(b.clk, "carol", "m1"); tc.Before(tb) {
		asker, other = other, asker
	}
	sweepAt(b.clk, nimState(t, b.m[asker], pc).RepairRequests[0].Due, b.m[asker])
	b.to(lastPayload(t, b.rec[asker], sds.EventRepairRequest), other)
	want := b.clk.Now().Add(sds.DefaultRepairRetryInterval + sds.ComputeTReq(other, "m1", sds.DefaultRepairTMin, sds.DefaultRepairTMax))
	if got := repairDue(t, nimState(t, b.m[other], pc).RepairRequests, "m1"); !got.Equal(want) {
		t.Errorf("%s's request due %v, want %v", other, got, want)
	}
}

// A request that arrives within RepairResponseGrace of a copy going out
// crossed that copy and is not answered; a later one is.
func TestRequestCrossingACopyIsNotAnswered(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	alice, rec := promptPeer(t, clk, "alice", nil)
	nimWrap(t, alice, pc, "m1", []byte{1})
	ask := func(from string, ts uint64) {
		nimUnwrap(t, alice, sdsrMessage(pc, "r-"+from, from, ts, nil, nil, []wire.HistoryEntry{entry("m1", "alice")}))
		alice.RepairSweep()
	}
	ask("bob", 10)
	if n := rec.count(sds.EventRepairReady); n != 1 {
		t.Fatalf("%d repairs, want 1 at once", n)
	}
	clk.Advance(sds.DefaultRepairResponseGrace - time.Millisecond)
	ask("dave", 11)
	if n := rec.count(sds.EventRepairReady); n != 1 {
		t.Fatalf("a request crossing the repair was answered (%d repairs)", n)
	}
	clk.Advance(time.Millisecond)
	ask("bob", 12)
	if n := rec.count(sds.EventRepairReady); n != 2 {
		t.Fatalf("%d repairs, want 2: a request after the grace is answered", n)
	}
}

// syncFrom is a sync message of from whose bloom filter holds have.
func syncFrom(t *testing.T, from string, ts uint64, have ...string) []byte {
	msg := wire.Message{MessageID: "sync-" + from, LamportTimestamp: ts, HasLamport: true, ChannelID: pc,
		SenderID: from, BloomFilter: nimPeerBloom(t, have...)}
	return msg.Marshal(wire.FormatNim)
}

// A peer's sync whose bloom filter lacks our messages makes us answer the
// ones sent long enough ago to have been repaired already, unasked; also
// when only the store has their ids (the log keeps the newest one's).
func TestSyncGapsAnswered(t *testing.T) {
	gapAge := sds.DefaultRepairTMax + sds.DefaultRepairRetryInterval
	for _, stored := range []bool{false, true} {
		for _, policy := range []sds.RepairPolicy{sds.RepairPrompt, sds.RepairRFC} {
			t.Run(fmt.Sprintf("%s/stored=%v", policy, stored), func(t *testing.T) {
				syncGapsAnswered(t, policy, stored, gapAge)
			})
		}
	}
}

func syncGapsAnswered(t *testing.T, policy sds.RepairPolicy, stored bool, gapAge time.Duration) {
	clk := sds.NewManualClock(nimStart)
	alice, rec := promptPeer(t, clk, "alice", func(c *sds.Config) {
		c.RepairPolicy = policy
		if stored {
			c.Persistence, c.MaxCausalHistory = persist.NewMemory(), 1
		}
	})
	nimWrap(t, alice, pc, "old", []byte{1})
	nimWrap(t, alice, pc, "held", []byte{2})
	clk.Advance(gapAge)
	nimWrap(t, alice, pc, "young", []byte{3})
	nimUnwrap(t, alice, syncFrom(t, "bob", 10, "held"))
	alice.RepairSweep()
	var want []string
	if policy == sds.RepairPrompt {
		want = []string{"old"}
	}
	nimEqualIDs(t, "repaired", rec.ids(sds.EventRepairReady), want)
}

// Since #14 a Nim-format peer's filter holds only the ids it received
// within its acknowledgement window. Our messages older than that, still
// in our log, are absent from every peer's filter: a periodic sync must
// not make us rebroadcast them. A recent one the peer really lacks is
// still answered.
func TestSyncGapsIgnoreMessagesPastTheAckWindow(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	alice, rec := promptPeer(t, clk, "alice", nil)
	bob, _ := promptPeer(t, clk, "bob", nil)
	for _, id := range []string{"a1", "a2", "a3"} {
		nimUnwrap(t, bob, nimWrap(t, alice, pc, id, []byte{1}))
	}
	clk.Advance(sds.DefaultConfig().EffectiveAckWindow() + time.Minute)
	nimUnwrap(t, bob, nimWrap(t, alice, pc, "a4", []byte{4}))
	nimWrap(t, alice, pc, "a5", []byte{5}) // bob misses it
	clk.Advance(sds.DefaultRepairTMax + sds.DefaultRepairRetryInterval)
	sync, err := bob.WrapSync(pc)
	if err != nil {
		t.Fatal(err)
	}
	nimUnwrap(t, alice, sync)
	alice.RepairSweep()
	nimEqualIDs(t, "repaired", rec.ids(sds.EventRepairReady), []string{"a5"})
}

// A message showing a whole causal history missing puts us behind: the
// next request sync is a full one (causal history and bloom filter), so
// that peers answer all we lack; the ones after it are small again.
func TestBehindSendsFullSync(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	bob, rec := promptPeer(t, clk, "bob", nil)
	nimWrap(t, bob, pc, "b1", []byte{1})
	var hist []wire.HistoryEntry
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"} {
		hist = append(hist, entry(id, "alice"))
	}
	nimUnwrap(t, bob, sdsrMessage(pc, "a11", "alice", 11, []byte{1}, hist, nil))
	sweepAt(clk, clk.Now().Add(sds.DefaultRepairTMax), bob)
	evs := rec.of(sds.EventRepairRequest)
	if len(evs) < 2 {
		t.Fatalf("%d request syncs for 10 due requests, want several", len(evs))
	}
	for i, e := range evs {
		msg := nimDecode(t, e.Payload)
		full := len(msg.BloomFilter) > 0 && len(msg.CausalHistory) == 1
		if full != (i == 0) {
			t.Errorf("request sync %d: bloom %d bytes, history %d entries", i, len(msg.BloomFilter), len(msg.CausalHistory))
		}
	}
}

// Requests that went out only in request syncs ride on the next message
// too, so a host that ignores EventRepairRequest still sends them.
func TestSyncedRequestsRideOnNextMessage(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	bob, rec := promptPeer(t, clk, "bob", nil)
	nimUnwrap(t, bob, gap())
	sweepAt(clk, tReq(clk, "bob", "m1"), bob)
	if rec.count(sds.EventRepairRequest) != 1 {
		t.Fatal("no request sync")
	}
	nimEqualIDs(t, "first message", nimIDs(nimDecode(t, nimWrap(t, bob, pc, "b1", []byte{1})).RepairRequest), []string{"m1"})
	nimEqualIDs(t, "second message", nimIDs(nimDecode(t, nimWrap(t, bob, pc, "b2", []byte{1})).RepairRequest), nil)
}

// The log keeps entries younger than LogRetention beyond
// MaxMessageHistory, with SDS-R on; with 0, or SDS-R off, count alone.
func TestLogRetention(t *testing.T) {
	for _, c := range []struct {
		name      string
		pid       string
		retention time.Duration
		want      []string // after five messages at once
	}{
		{"retention", "bob", time.Minute, []string{"m1", "m2", "m3", "m4", "m5"}},
		{"count alone", "bob", 0, []string{"m3", "m4", "m5"}},
		{"SDS-R off", "", time.Minute, []string{"m3", "m4", "m5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := sds.NewManualClock(nimStart)
			m, _ := promptPeer(t, clk, c.pid, func(cfg *sds.Config) {
				cfg.MaxMessageHistory, cfg.MaxCausalHistory, cfg.LogRetention = 3, 2, c.retention
			})
			for i, id := range []string{"m1", "m2", "m3", "m4", "m5"} {
				nimUnwrap(t, m, sdsrMessage(pc, id, "alice", uint64(i+1), []byte{1}, nil, nil))
			}
			nimEqualIDs(t, "log", nimState(t, m, pc).MessageHistory, c.want)
			clk.Advance(time.Minute)
			nimUnwrap(t, m, sdsrMessage(pc, "m6", "alice", 6, []byte{1}, nil, nil))
			nimEqualIDs(t, "log a minute later", nimState(t, m, pc).MessageHistory, []string{"m4", "m5", "m6"})
		})
	}
}

func TestRepairPolicyConfig(t *testing.T) {
	for name, mut := range map[string]func(*sds.Config){
		"policy":          func(c *sds.Config) { c.RepairPolicy = 7 },
		"retry":           func(c *sds.Config) { c.RepairRetryInterval = 0 },
		"response window": func(c *sds.Config) { c.RepairResponseWindow = -1 },
		"grace":           func(c *sds.Config) { c.RepairResponseGrace = -1 },
		"log retention":   func(c *sds.Config) { c.LogRetention = -1 },
	} {
		cfg := sds.DefaultConfig()
		mut(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if d := sds.DefaultConfig(); d.RepairPolicy != sds.RepairPrompt || !d.RepairRequestSync {
		t.Errorf("defaults %v, request syncs %v", d.RepairPolicy, d.RepairRequestSync)
	}
	for _, p := range []sds.RepairPolicy{sds.RepairPrompt, sds.RepairRFC} {
		if got, err := sds.ParseRepairPolicy(p.String()); got != p || err != nil {
			t.Errorf("ParseRepairPolicy(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := sds.ParseRepairPolicy("fast"); err == nil {
		t.Error(`ParseRepairPolicy("fast"): no error`)
	}
}
