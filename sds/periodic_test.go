package sds_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// Behaviour of the time-driven work beyond what the Nim suites cover.

func TestPeriodicTasksLeaveNoGoroutine(t *testing.T) {
	deadline(t)
	defer goleak.VerifyNone(t)

	t.Run("StopPeriodicTasks", func(t *testing.T) {
		m, rec, clk := nimManagerWithChannel(t)
		for i := 0; i < 3; i++ { // start, run, stop, start again
			if err := m.StartPeriodicTasks(); err != nil {
				t.Fatal(err)
			}
			if err := m.StartPeriodicTasks(); err != nil { // no-op while running
				t.Fatal(err)
			}
			waitTasks(clk)
			clk.Advance(sds.DefaultRepairSweepInterval)
			waitTasks(clk)
			m.StopPeriodicTasks()
			m.StopPeriodicTasks() // no-op
			if n := clk.Timers(); n != 0 {
				t.Fatalf("%d timers still armed after stop", n)
			}
		}
		if n := rec.count(sds.EventPeriodicSync); n != 3 {
			t.Errorf("periodic_sync = %d, want one per start", n)
		}
		if err := goleak.Find(); err != nil {
			t.Error(err)
		}
	})

	t.Run("Close", func(t *testing.T) {
		m, _, clk := nimManagerWithChannel(t)
		if err := m.StartPeriodicTasks(); err != nil {
			t.Fatal(err)
		}
		waitTasks(clk)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := goleak.Find(); err != nil {
			t.Error(err)
		}
		if err := m.StartPeriodicTasks(); !errors.Is(err, sds.ErrClosed) {
			t.Errorf("StartPeriodicTasks after Close = %v, want ErrClosed", err)
		}
	})

	t.Run("stopped and closed from their own event handler", func(t *testing.T) {
		for _, how := range []string{"stop", "close"} {
			m, _, clk := nimManagerWithChannel(t)
			calls := 0
			stopped := make(chan struct{})
			m.SetEventHandler(func(e sds.Event) {
				if e.Kind != sds.EventPeriodicSync {
					return
				}
				calls++
				if calls == 2 { // runs on the task goroutine: must not deadlock
					if how == "stop" {
						m.StopPeriodicTasks()
					} else {
						_ = m.Close()
					}
					close(stopped)
				}
			})
			if err := m.StartPeriodicTasks(); err != nil {
				t.Fatal(err)
			}
			waitTasks(clk)
			clk.Advance(sds.DefaultSyncMessageInterval)
			<-stopped
			m.StopPeriodicTasks() // waits for the goroutine to end
			if calls != 2 {
				t.Errorf("%s: %d sync events", how, calls)
			}
			if err := goleak.Find(); err != nil {
				t.Errorf("%s: %v", how, err)
			}
		}
	})

	t.Run("system clock", func(t *testing.T) {
		cfg := sds.DefaultConfig()
		cfg.ParticipantID = "alice"
		cfg.BufferSweepInterval = time.Millisecond
		cfg.RepairSweepInterval = time.Millisecond
		m, err := sds.NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		synced := make(chan struct{}, 1)
		m.SetEventHandler(func(e sds.Event) {
			if e.Kind == sds.EventPeriodicSync {
				select {
				case synced <- struct{}{}:
				default:
				}
			}
		})
		if _, err := m.Wrap("c", "m1", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := m.StartPeriodicTasks(); err != nil {
			t.Fatal(err)
		}
		<-synced
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := goleak.Find(); err != nil {
			t.Error(err)
		}
	})
}

func TestManualClockTimers(t *testing.T) {
	deadline(t)
	clk := sds.NewManualClock(nimStart)
	a, b := clk.NewTimer(2*time.Second), clk.NewTimer(time.Second)
	if clk.Timers() != 2 {
		t.Fatalf("armed = %d", clk.Timers())
	}
	clk.Advance(999 * time.Millisecond)
	select {
	case <-b.C():
		t.Fatal("fired early")
	default:
	}
	clk.Advance(time.Millisecond)
	if got := <-b.C(); !got.Equal(nimStart.Add(time.Second)) {
		t.Errorf("fired with %v", got)
	}
	if b.Stop() {
		t.Error("Stop of a fired timer reported it armed")
	}
	if !a.Reset(time.Hour) {
		t.Error("Reset of an armed timer reported it idle")
	}
	clk.Advance(time.Hour)
	<-a.C()
	c := clk.NewTimer(0)
	<-c.C() // fires at once
	if clk.Timers() != 0 {
		t.Errorf("armed = %d", clk.Timers())
	}
	var zero sds.ManualClock // usable without NewManualClock
	z := zero.NewTimer(time.Second)
	zero.Advance(time.Second)
	<-z.C()
}

func TestResendRebroadcastsAndFails(t *testing.T) {
	m, rec, clk := nimManager(t, func(c *sds.Config) {
		c.MaxResendAttempts = 2
		c.BloomAckThreshold = 2
	})
	w1 := nimWrap(t, m, nimTestChannel, "m1", []byte("one"))
	nimWrap(t, m, nimTestChannel, "m2", []byte("two"))
	// A peer's filter shows m2 once: possibly acknowledged, resent later.
	nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "p1", 1, []byte{1}, nil, nimPeerBloom(t, "m2")))
	st := nimState(t, m, nimTestChannel)
	if st.Outgoing[1].BloomSightings != 1 {
		t.Fatalf("m2 sightings = %d", st.Outgoing[1].BloomSightings)
	}

	clk.Advance(sds.DefaultResendInterval - time.Millisecond)
	m.Sweep()
	if n := rec.count(sds.EventMessageResend); n != 0 {
		t.Fatalf("resent %d before ResendInterval", n)
	}
	clk.Advance(time.Millisecond)
	m.Sweep()
	resends := rec.of(sds.EventMessageResend)
	if len(resends) != 1 || resends[0].MessageID != "m1" || resends[0].Attempt != 1 {
		t.Fatalf("first sweep resends = %+v", resends)
	}
	// Same message, same bytes but for the bloom filter, which is the
	// channel's current one (it now holds m1, m2 and p1).
	got, orig := nimDecode(t, resends[0].Payload), nimDecode(t, w1)
	if got.MessageID != orig.MessageID || got.LamportTimestamp != orig.LamportTimestamp ||
		!bytes.Equal(got.Content, orig.Content) || len(got.CausalHistory) != len(orig.CausalHistory) {
		t.Errorf("resent %+v, sent %+v", got, orig)
	}
	f, err := bloom.Decode(got.BloomFilter)
	if err != nil || !f.Contains("m1") || !f.Contains("m2") || !f.Contains("p1") {
		t.Errorf("resent bloom filter: err %v", err)
	}

	clk.Advance(sds.DefaultResendInterval) // m1: attempt 2; m2 (possibly acked) reaches 2×ResendInterval
	m.Sweep()
	var got2 []string
	for _, e := range rec.of(sds.EventMessageResend)[1:] {
		got2 = append(got2, fmt.Sprintf("%s#%d", e.MessageID, e.Attempt))
	}
	nimEqualIDs(t, "second sweep", got2, []string{"m1#2", "m2#1"})

	clk.Advance(sds.DefaultResendInterval)
	m.Sweep() // m1 has had its 2 attempts
	nimEqualIDs(t, "failed", rec.ids(sds.EventMessageFailed), []string{"m1"})
	nimEqualIDs(t, "outgoing", nimOutgoingIDs(nimState(t, m, nimTestChannel)), []string{"m2"})
	if n := rec.count(sds.EventMessageAcknowledged); n != 0 {
		t.Errorf("acknowledged = %d", n)
	}
}

func TestLostDependencies(t *testing.T) {
	// b waits for a (missing); c waits for b (buffered); d waits for x.
	setup := func(t *testing.T, policy sds.LostDependencyPolicy) (*sds.Manager, *nimEvents, *sds.ManualClock) {
		m, rec, clk := nimManager(t, func(c *sds.Config) { c.OnLostDependencies = policy })
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "b", "peer", 2, []byte("b"), []wire.HistoryEntry{entry("a", "peer")}, nil))
		clk.Advance(time.Minute)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "c", "peer", 3, []byte("c"), []wire.HistoryEntry{entry("b", "peer")}, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "d", "peer", 4, []byte("d"), []wire.HistoryEntry{entry("x", "peer")}, nil))
		rec.reset()
		clk.Advance(sds.DefaultMaxDependencyWait - time.Minute)
		return m, rec, clk
	}

	t.Run("deliver", func(t *testing.T) {
		m, rec, clk := setup(t, sds.LostDeliver)
		m.Sweep() // b has waited MaxDependencyWait; c and d not yet
		var got []string
		for _, e := range rec.all() {
			got = append(got, e.Kind.String()+":"+e.MessageID+fmt.Sprint(e.Lost))
		}
		nimEqualIDs(t, "events", got, []string{"dependencies_lost:b[a]", "message_ready:b[]", "message_ready:c[]"})
		st := nimState(t, m, nimTestChannel)
		nimEqualIDs(t, "history", st.MessageHistory, []string{"b", "c"})
		if hasRepair(st.RepairRequests, "a") || !hasRepair(st.RepairRequests, "x") {
			t.Errorf("repair requests = %q, want only x", repairIDs(st.RepairRequests))
		}
		// a is lost for good: a late copy is a duplicate, a new message
		// naming it does not wait for it.
		if res := nimUnwrap(t, m, sdsrMessage(nimTestChannel, "a", "peer", 1, []byte("a"), nil, nil)); !res.Duplicate {
			t.Error("late copy of a lost message delivered")
		}
		if res := nimUnwrap(t, m, sdsrMessage(nimTestChannel, "e", "peer", 5, []byte("e"), nimHistory("a"), nil)); !res.Delivered {
			t.Error("message naming a lost id waits for it")
		}
		clk.Advance(time.Minute)
		m.Sweep()
		if ids := rec.ids(sds.EventDependenciesLost); len(ids) != 2 || ids[1] != "d" {
			t.Errorf("lost events for %q", ids)
		}
	})

	t.Run("drop", func(t *testing.T) {
		m, rec, clk := setup(t, sds.LostDrop)
		m.Sweep()
		nimEqualIDs(t, "lost", rec.ids(sds.EventDependenciesLost), []string{"b"})
		if n := rec.count(sds.EventMessageReady); n != 0 {
			t.Errorf("%d delivered", n)
		}
		st := nimState(t, m, nimTestChannel)
		if len(st.Incoming) != 2 || hasRepair(st.RepairRequests, "a") {
			t.Errorf("incoming %+v, requests %q", st.Incoming, repairIDs(st.RepairRequests))
		}
		clk.Advance(time.Minute)
		m.Sweep() // c now waits for the dropped b, d for x: both give up
		var lost []string
		for _, e := range rec.of(sds.EventDependenciesLost)[1:] {
			lost = append(lost, e.MessageID+fmt.Sprint(e.Lost))
		}
		nimEqualIDs(t, "lost later", lost, []string{"c[b]", "d[x]"})
		if st := nimState(t, m, nimTestChannel); len(st.Incoming) != 0 || len(st.MessageHistory) != 0 {
			t.Errorf("left: incoming %d, history %d", len(st.Incoming), len(st.MessageHistory))
		}
	})
}

func TestIncomingBufferCap(t *testing.T) {
	m, rec, clk := nimManager(t, func(c *sds.Config) { c.MaxIncomingBuffer = 3 })
	for i := 1; i <= 3; i++ {
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, fmt.Sprintf("w%d", i), "peer", uint64(i), []byte{1}, nimHistory(fmt.Sprintf("gap%d", i)), nil))
		clk.Advance(time.Second)
	}
	// A fourth waiting message, which depends on w1: w1, the oldest, is
	// evicted, and reported missing for w4.
	res := nimUnwrap(t, m, sdsrMessage(nimTestChannel, "w4", "peer", 4, []byte{1}, nimHistory("w1"), nil))
	nimEqualIDs(t, "evicted", rec.ids(sds.EventIncomingEvicted), []string{"w1"})
	nimEqualIDs(t, "w4 missing", nimIDs(res.MissingDeps), []string{"w1"})
	var in []string
	for _, p := range nimState(t, m, nimTestChannel).Incoming {
		in = append(in, p.MessageID)
	}
	nimEqualIDs(t, "incoming", in, []string{"w2", "w3", "w4"})
	// w1 can still come back and be delivered with w4.
	nimUnwrap(t, m, sdsrMessage(nimTestChannel, "gap1", "peer", 1, []byte{1}, nil, nil))
	nimUnwrap(t, m, sdsrMessage(nimTestChannel, "w1", "peer", 1, []byte{1}, nimHistory("gap1"), nil))
	nimEqualIDs(t, "delivered", rec.ids(sds.EventMessageReady), []string{"gap1", "w1", "w4"})
}

func TestRepairBuffersBounded(t *testing.T) {
	m, _, _ := nimManager(t, func(c *sds.Config) { c.MaxPendingRepairs = 4 })
	// A hostile peer names endless unknown ids...
	for i := 0; i < 10; i++ {
		var h []wire.HistoryEntry
		for j := 0; j < 3; j++ {
			h = append(h, entry(fmt.Sprintf("bogus-%d-%d", i, j), "evil"))
		}
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, fmt.Sprintf("h%d", i), "evil", uint64(i+1), []byte{1}, h, nil))
	}
	// ...and asks for every message we hold.
	var reqs []wire.HistoryEntry
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("real-%d", i)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, id, "bob", uint64(100+i), []byte{1}, nil, nil))
		reqs = append(reqs, entry(id, "bob"))
	}
	nimUnwrap(t, m, sdsrMessage(nimTestChannel, "asks", "evil", 200, []byte{1}, nil, reqs))
	st := nimState(t, m, nimTestChannel)
	if len(st.RepairRequests) != 4 || len(st.RepairResponses) != 4 {
		t.Errorf("requests %d, responses %d, want 4 and 4", len(st.RepairRequests), len(st.RepairResponses))
	}
}

func TestRepairRules(t *testing.T) {
	t.Run("requests answered only for logged messages", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		// waiting is buffered (its dependency is missing), not logged.
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "waiting", "bob", 2, []byte{1}, nimHistory("gap"), nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "req", "carol", 3, []byte{1}, nil,
			[]wire.HistoryEntry{entry("waiting", "bob"), entry("unknown", "bob")}))
		if n := len(nimState(t, m, nimTestChannel).RepairResponses); n != 0 {
			t.Errorf("%d responses planned", n)
		}
	})

	t.Run("responses leave with the message's log entry", func(t *testing.T) {
		m, rec, clk := nimManager(t, func(c *sds.Config) { c.MaxMessageHistory = 2; c.MaxCausalHistory = 2 })
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "old", "bob", 1, []byte{1}, nil, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "req", "carol", 2, []byte{1}, nil, []wire.HistoryEntry{entry("old", "bob")}))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "new", "bob", 3, []byte{1}, nil, nil)) // evicts old
		clk.Advance(sds.NimRepairTMax)
		m.RepairSweep()
		if n := rec.count(sds.EventRepairReady); n != 0 {
			t.Errorf("%d repairs of an evicted message", n)
		}
		if n := len(nimState(t, m, nimTestChannel).RepairResponses); n != 0 {
			t.Errorf("%d responses left", n)
		}
	})

	t.Run("a second request keeps the first response time", func(t *testing.T) {
		m, _, clk := nimManager(t, func(c *sds.Config) { c.ParticipantID = "carol" })
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "m1", "alice", 1, []byte{1}, nil, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "r1", "bob", 2, []byte{1}, nil, []wire.HistoryEntry{entry("m1", "alice")}))
		due := repairDue(t, nimState(t, m, nimTestChannel).RepairResponses, "m1")
		clk.Advance(time.Second)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "r2", "dave", 3, []byte{1}, nil, []wire.HistoryEntry{entry("m1", "alice")}))
		if got := repairDue(t, nimState(t, m, nimTestChannel).RepairResponses, "m1"); !got.Equal(due) {
			t.Errorf("due moved from %v to %v", due, got)
		}
	})

	t.Run("stale requests are not attached", func(t *testing.T) {
		m, _, clk := nimManager(t, nil)
		now := clk.Now()
		m.InjectRepairRequest(nimTestChannel, entry("stale", "bob"), now.Add(-sds.NimRepairTMax-time.Second))
		m.InjectRepairRequest(nimTestChannel, entry("due", "bob"), now.Add(-time.Second))
		m.InjectRepairRequest(nimTestChannel, entry("later", "bob"), now.Add(time.Second))
		msg := nimDecode(t, nimWrap(t, m, nimTestChannel, "m", []byte{1}))
		nimEqualIDs(t, "attached", nimIDs(msg.RepairRequest), []string{"due"})
		nimEqualIDs(t, "left", repairIDs(nimState(t, m, nimTestChannel).RepairRequests), []string{"later"})
		// Attached requests are not repeated by later messages.
		clk.Advance(2 * time.Second)
		msg = nimDecode(t, nimWrap(t, m, nimTestChannel, "m2", []byte{1}))
		nimEqualIDs(t, "attached next", nimIDs(msg.RepairRequest), []string{"later"})
	})

	t.Run("entries without sender id are not requested", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "m", 2, []byte{1}, nimHistory("gap"), nil))
		if n := len(nimState(t, m, nimTestChannel).RepairRequests); n != 0 {
			t.Errorf("%d requests", n)
		}
	})

	t.Run("the sweep asks again for what is still missing", func(t *testing.T) {
		m, _, clk := nimManager(t, nil)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "m", "bob", 2, []byte{1}, []wire.HistoryEntry{entry("gap", "bob")}, nil))
		clk.Advance(sds.NimRepairTMax)
		nimWrap(t, m, nimTestChannel, "mine", []byte{1}) // carries the request away
		if n := len(nimState(t, m, nimTestChannel).RepairRequests); n != 0 {
			t.Fatalf("%d requests after sending", n)
		}
		m.Sweep()
		st := nimState(t, m, nimTestChannel)
		if !hasRepair(st.RepairRequests, "gap") {
			t.Fatal("no new request for the still missing gap")
		}
		want := clk.Now().Add(sds.ComputeTReq("alice", "gap", sds.NimRepairTMin, sds.NimRepairTMax))
		if got := repairDue(t, st.RepairRequests, "gap"); !got.Equal(want) {
			t.Errorf("due %v, want %v", got, want)
		}
	})
}

func TestSyncMessages(t *testing.T) {
	for _, format := range []wire.Format{wire.FormatNim, wire.FormatRFC} {
		t.Run(format.String(), func(t *testing.T) {
			m, _, clk := nimManager(t, func(c *sds.Config) { c.WireFormat = format })
			nimWrap(t, m, nimTestChannel, "m1", []byte{1})
			before := nimState(t, m, nimTestChannel)
			m.InjectRepairRequest(nimTestChannel, entry("gap", "bob"), clk.Now())
			clk.Advance(time.Millisecond)
			b, err := m.WrapSync(nimTestChannel)
			if err != nil {
				t.Fatal(err)
			}
			msg, got, err := wire.Decode(b, wire.DefaultLimits())
			if err != nil || got != format {
				t.Fatalf("decode: %v, format %v", err, got)
			}
			if len(msg.Content) != 0 || !msg.HasLamport || msg.LamportTimestamp != uint64(clk.Now().UnixMilli()) ||
				len(msg.CausalHistory) != 1 || msg.CausalHistory[0].MessageID != "m1" || len(msg.BloomFilter) == 0 ||
				msg.SenderID != "alice" || len(msg.RepairRequest) != 1 {
				t.Errorf("sync message %+v", msg)
			}
			if format == wire.FormatRFC && msg.Content != nil {
				t.Error("RFC sync message carries a content field")
			}
			after := nimState(t, m, nimTestChannel)
			if len(after.MessageHistory) != len(before.MessageHistory) || len(after.Outgoing) != len(before.Outgoing) {
				t.Error("sync message logged or buffered")
			}
			if after.LamportTimestamp != msg.LamportTimestamp {
				t.Errorf("clock %d, sync sent at %d", after.LamportTimestamp, msg.LamportTimestamp)
			}
			if format == wire.FormatNim && nimChannelBloom(t, m, nimTestChannel, "probe").Contains(msg.MessageID) {
				t.Error("sync id in the bloom filter")
			}
			b2, _ := m.WrapSync(nimTestChannel)
			if msg2, _, _ := wire.Decode(b2, wire.DefaultLimits()); msg2.MessageID == msg.MessageID {
				t.Error("two sync messages with one id")
			}
		})
	}

	t.Run("received: acks, repair requests and missing entries", func(t *testing.T) {
		m, rec, _ := nimManager(t, nil)
		nimWrap(t, m, nimTestChannel, "mine", []byte{1})
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "logged", "bob", 1, []byte{1}, nil, nil))
		sync := sdsrMessage(nimTestChannel, "sync-x", "bob", 5, nil,
			[]wire.HistoryEntry{entry("mine", "alice"), entry("unseen", "bob")}, []wire.HistoryEntry{entry("logged", "bob")})
		res := nimUnwrap(t, m, sync)
		if res.Kind != sds.KindSync || res.Delivered {
			t.Fatalf("result %+v", res)
		}
		nimEqualIDs(t, "missing", nimIDs(res.MissingDeps), []string{"unseen"})
		nimEqualIDs(t, "acknowledged", rec.ids(sds.EventMessageAcknowledged), []string{"mine"})
		if n := rec.count(sds.EventMissingDependencies); n != 0 {
			t.Errorf("missing_dependencies = %d (nothing waits)", n)
		}
		st := nimState(t, m, nimTestChannel)
		if !hasRepair(st.RepairRequests, "unseen") || !hasRepair(st.RepairResponses, "logged") {
			t.Errorf("requests %q, responses %q", repairIDs(st.RepairRequests), repairIDs(st.RepairResponses))
		}
		if len(st.Incoming) != 0 || len(st.MessageHistory) != 2 {
			t.Errorf("sync message buffered or logged: %+v", st)
		}
	})
}

func TestEphemeralMessages(t *testing.T) {
	nimM, _, _ := nimManager(t, nil)
	if _, err := nimM.WrapEphemeral(nimTestChannel, "e1", []byte("hi")); !errors.Is(err, sds.ErrUnsupportedFormat) {
		t.Errorf("Nim format: err = %v, want ErrUnsupportedFormat", err)
	}
	m, _, _ := nimManager(t, func(c *sds.Config) { c.WireFormat = wire.FormatRFC })
	if _, err := m.WrapEphemeral(nimTestChannel, "e0", nil); !errors.Is(err, sds.ErrEmptyContent) {
		t.Errorf("empty: err = %v", err)
	}
	b, err := m.WrapEphemeral(nimTestChannel, "e1", []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	msg, format, err := wire.Decode(b, wire.DefaultLimits())
	if err != nil || format != wire.FormatRFC || msg.HasLamport || len(msg.CausalHistory) != 0 || msg.BloomFilter != nil ||
		msg.MessageID != "e1" || msg.SenderID != "alice" || string(msg.Content) != "hi" {
		t.Fatalf("ephemeral %+v (%v, %v)", msg, format, err)
	}
	if _, ok := m.ChannelState(nimTestChannel); ok {
		t.Error("sending an ephemeral message created channel state")
	}
	// Received by either format: delivered at once, nothing kept.
	for _, r := range []*sds.Manager{nimM, m} {
		res := nimUnwrap(t, r, b)
		if res.Kind != sds.KindEphemeral || !res.Delivered || string(res.Content) != "hi" {
			t.Errorf("received %+v", res)
		}
		if st, ok := r.ChannelState(nimTestChannel); ok && (len(st.MessageHistory) != 0 || len(st.Incoming) != 0) {
			t.Errorf("ephemeral message kept: %+v", st)
		}
	}
	_ = m.Close()
	if _, err := m.WrapEphemeral(nimTestChannel, "e2", []byte("hi")); !errors.Is(err, sds.ErrClosed) {
		t.Errorf("after Close: err = %v", err)
	}
}

func TestConfigValidationOfNewFields(t *testing.T) {
	for name, mutate := range map[string]func(*sds.Config){
		"PossiblyAckedResendInterval": func(c *sds.Config) { c.PossiblyAckedResendInterval = 0 },
		"MaxDependencyWait":           func(c *sds.Config) { c.MaxDependencyWait = 0 },
		"OnLostDependencies":          func(c *sds.Config) { c.OnLostDependencies = 7 },
		"MaxIncomingBuffer":           func(c *sds.Config) { c.MaxIncomingBuffer = 0 },
		"MaxPendingRepairs":           func(c *sds.Config) { c.MaxPendingRepairs = 0 },
	} {
		cfg := sds.DefaultConfig()
		mutate(&cfg)
		if _, err := sds.NewManager(cfg); !errors.Is(err, sds.ErrInvalidConfig) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// Two managers' periodic tasks stop each other from their handlers while
// both are inside one: StopPeriodicTasks called from a handler that
// periodic tasks run does not wait, whichever manager's tasks they are, so
// neither waits for the other's goroutine (which waits for it).
func TestPeriodicTasksStopEachOther(t *testing.T) {
	deadline(t)
	defer goleak.VerifyNone(t)
	a, _, _ := nimManager(t, nil)
	b, _, _ := nimManager(t, nil)
	aIn, bIn := make(chan struct{}), make(chan struct{})
	stopOther := func(in, otherIn chan struct{}, other *sds.Manager) sds.EventHandler {
		first := true
		return func(e sds.Event) {
			if e.Kind != sds.EventPeriodicSync || !first {
				return
			}
			first = false
			close(in)
			<-otherIn // both handlers are running now
			other.StopPeriodicTasks()
		}
	}
	a.SetEventHandler(stopOther(aIn, bIn, b))
	b.SetEventHandler(stopOther(bIn, aIn, a))
	for _, m := range []*sds.Manager{a, b} {
		if err := m.StartPeriodicTasks(); err != nil {
			t.Fatal(err)
		}
	}
	<-aIn
	<-bIn
	a.StopPeriodicTasks() // from here: waits for each goroutine to end
	b.StopPeriodicTasks()
}
