package sds_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Every counter of Stats moved by a known amount. Each test drives
// managers on a manual clock through the public API and keeps, beside
// each manager, the counters it should report: bytes and repair-request
// entries measured from the wire bytes it made and received (decoded
// here, not by the library's own accounting), and every other count
// stated by the test. A counter that moves where it should not fails the
// comparison too.

const statsChan = "room"

// statsPeer is a manager and the counters it should report.
type statsPeer struct {
	t      *testing.T
	m      *sds.Manager
	want   sds.Counters
	events []sds.Event
}

func newStatsPeer(t *testing.T, id string, clk sds.Clock, set func(*sds.Config)) *statsPeer {
	p := &statsPeer{t: t, m: startManager(t, id, clk, set)}
	p.m.SetEventHandler(func(e sds.Event) { p.events = append(p.events, e) })
	return p
}

// bloomFieldBytes measures the bloom_filter field of wire message b (tag,
// length and filter; 0 when it is absent or empty) by walking its
// protobuf fields.
func bloomFieldBytes(t *testing.T, b []byte) int {
	t.Helper()
	_, f, err := wire.Decode(b, wire.Limits{})
	if err != nil {
		t.Fatalf("own message does not decode: %v", err)
	}
	field := protowire.Number(6)
	if f == wire.FormatRFC {
		field = 12
	}
	n := 0
	for rest := b; len(rest) > 0; {
		num, typ, tagLen := protowire.ConsumeTag(rest)
		valLen := protowire.ConsumeFieldValue(num, typ, rest[tagLen:])
		if tagLen < 0 || valLen < 0 {
			t.Fatal("bad protobuf")
		}
		if num == field {
			data, _ := protowire.ConsumeBytes(rest[tagLen:])
			n = 0
			if len(data) > 0 {
				n = tagLen + valLen
			}
		}
		rest = rest[tagLen+valLen:]
	}
	return n
}

// sent adds a message p made to what it should count.
func (p *statsPeer) sent(b []byte) {
	p.t.Helper()
	msg, _, err := wire.Decode(b, wire.Limits{})
	if err != nil {
		p.t.Fatal(err)
	}
	p.want.BytesSent += uint64(len(b))
	p.want.BloomBytesSent += uint64(bloomFieldBytes(p.t, b))
	p.want.RepairRequestsSent += uint64(len(msg.RepairRequest))
}

func (p *statsPeer) wrap(id string) []byte {
	p.t.Helper()
	b, err := p.m.Wrap(statsChan, id, []byte("content of "+id))
	if err != nil {
		p.t.Fatal(err)
	}
	p.want.WrappedContent++
	p.sent(b)
	return b
}

func (p *statsPeer) wrapSync() []byte {
	p.t.Helper()
	b, err := p.m.WrapSync(statsChan)
	if err != nil {
		p.t.Fatal(err)
	}
	p.want.WrappedSync++
	p.sent(b)
	return b
}

// recv unwraps b, counting it as received by kind with its bytes and the
// repair requests a content message new here, or a sync, carries.
func (p *statsPeer) recv(b []byte) sds.UnwrapResult {
	p.t.Helper()
	res, err := p.m.Unwrap(b)
	if err != nil {
		p.t.Fatal(err)
	}
	msg, _, _ := wire.Decode(b, wire.Limits{})
	switch res.Kind {
	case sds.KindSync:
		p.want.ReceivedSync++
	case sds.KindEphemeral:
		p.want.ReceivedEphemeral++
	default:
		p.want.ReceivedContent++
	}
	if !res.Duplicate {
		p.want.RepairRequestsReceived += uint64(len(msg.RepairRequest))
	}
	p.want.BytesReceived += uint64(len(b))
	if res.Kind != sds.KindEphemeral {
		p.want.BloomBytesReceived += uint64(bloomFieldBytes(p.t, b))
	}
	return res
}

// take returns the payloads of the events of kind raised since the last
// take, counting them as sent.
func (p *statsPeer) take(kind sds.EventKind) [][]byte {
	var out [][]byte
	keep := p.events[:0]
	for _, e := range p.events {
		if e.Kind != kind {
			keep = append(keep, e)
			continue
		}
		if e.Payload != nil {
			p.sent(e.Payload)
		}
		out = append(out, e.Payload)
	}
	p.events = keep
	return out
}

// check compares the manager's counters with those expected, naming each
// that differs.
func (p *statsPeer) check(when string) {
	p.t.Helper()
	checkCounters(p.t, when, p.m.Stats().Counters, p.want)
}

func checkCounters(t *testing.T, when string, got, want sds.Counters) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if a, b := g.Field(i).Uint(), w.Field(i).Uint(); a != b {
			t.Errorf("%s: %s = %d, want %d", when, g.Type().Field(i).Name, a, b)
		}
	}
}

func TestStatsFieldTypes(t *testing.T) {
	// Stats adds counters and gauges up as arrays of their fields' type.
	for v, kind := range map[any]reflect.Kind{sds.Counters{}: reflect.Uint64, sds.Gauges{}: reflect.Int64} {
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			if f := ty.Field(i); f.Type.Kind() != kind {
				t.Errorf("%s.%s is %s, want %s", ty.Name(), f.Name, f.Type, kind)
			}
		}
	}
}

// Content and sync messages, duplicates, acknowledgement by causal history
// and by bloom filter, and the bytes of each.
func TestStatsMessagesAndAcks(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	a := newStatsPeer(t, "alice", clk, nil)
	b := newStatsPeer(t, "bob", clk, func(c *sds.Config) { c.MaxCausalHistory = 1 })
	w1, w2 := a.wrap("a1"), a.wrap("a2")
	b.recv(w1)
	b.recv(w2)
	b.recv(w1) // a duplicate
	b.want.Delivered += 2
	b.want.Duplicates++
	b.check("bob received")
	a.check("alice sent")

	// bob's message names a2 (his causal history is one entry) and carries
	// a1 in its bloom filter.
	a.recv(b.wrap("b1"))
	a.want.Delivered++
	a.want.AcknowledgedByHistory++
	a.want.AcknowledgedByBloom++
	a.check("alice acknowledged")
	// alice's sync names b1.
	b.recv(a.wrapSync())
	b.want.AcknowledgedByHistory++
	b.check("bob acknowledged")
	if a.want.BloomBytesSent == 0 || a.want.BloomBytesSent >= a.want.BytesSent {
		t.Errorf("bloom %d of %d bytes sent", a.want.BloomBytesSent, a.want.BytesSent)
	}
	g := a.m.Stats().Gauges
	if g.Outgoing != 0 || g.LogEntries != 3 || g.LogBytes <= 0 || g.LogBytes != a.m.LogBytes() {
		t.Errorf("alice's gauges %+v", g)
	}
}

// SDS-R: a request sync, its retry, the original sender's answer, the
// repair arriving, and the message that waited for it leaving the
// incoming buffer after a known time.
func TestStatsRepair(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	a := newStatsPeer(t, "alice", clk, nil)
	b := newStatsPeer(t, "bob", clk, nil)
	a.wrap("a1") // lost for bob
	res := b.recv(a.wrap("a2"))
	if len(res.MissingDeps) != 1 {
		t.Fatalf("missing %v", res.MissingDeps)
	}
	b.want.MissingDependencyReports++
	if g := b.m.Stats().Gauges; g.Incoming != 1 || g.IncomingBytes <= 0 || g.RepairRequestsPending != 1 {
		t.Errorf("bob waits: gauges %+v", g)
	}

	clk.Advance(sds.DefaultRepairTMax)
	b.m.RepairSweep()
	if n := len(b.take(sds.EventRepairRequest)); n != 1 {
		t.Fatalf("%d request syncs", n)
	}
	b.want.RepairRequestSyncs++
	b.check("bob asked")
	clk.Advance(sds.DefaultRepairRetryInterval)
	b.m.RepairSweep()
	reqs := b.take(sds.EventRepairRequest)
	if len(reqs) != 1 {
		t.Fatalf("%d request syncs on retry", len(reqs))
	}
	b.want.RepairRequestSyncs++
	b.want.RepairRequestRetries++
	b.check("bob asked again")

	a.recv(reqs[0])
	if g := a.m.Stats().Gauges; g.RepairResponsesPending != 1 {
		t.Errorf("alice should plan one answer: %+v", g)
	}
	a.m.RepairSweep()
	repairs := a.take(sds.EventRepairReady)
	a.want.RepairsAnswered++
	a.want.RepairsAnsweredAsSender++
	a.check("alice answered")

	clk.Advance(time.Second)
	b.recv(repairs[0])
	b.want.RepairsArrived++
	b.want.Delivered += 2
	b.check("bob repaired")
	// a2 waited from its arrival: T_max, the retry interval and a second.
	waited := sds.DefaultRepairTMax + sds.DefaultRepairRetryInterval + time.Second
	h := b.m.Stats().IncomingWait
	bucket := 0
	for bucket < len(h.BucketsSeconds) && waited.Seconds() > h.BucketsSeconds[bucket] {
		bucket++
	}
	if h.Count != 1 || h.Counts[bucket] != 1 || h.SumSeconds != waited.Seconds() {
		t.Errorf("incoming wait %+v, want one of %v", h, waited)
	}
	if g := b.m.Stats().Gauges; g.Incoming != 0 || g.IncomingBytes != 0 || g.RepairRequestsPending != 0 {
		t.Errorf("bob done: gauges %+v", g)
	}
}

// A peer's sync that lacks one of our messages is answered unasked.
func TestStatsSyncGap(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	a := newStatsPeer(t, "alice", clk, nil)
	b := newStatsPeer(t, "bob", clk, nil)
	a.wrap("a1") // lost for bob, who never learns of it
	clk.Advance(sds.DefaultRepairTMax + sds.DefaultRepairRetryInterval)
	a.recv(b.wrapSync())
	a.want.RepairSyncGaps++
	a.m.RepairSweep()
	b.recv(a.take(sds.EventRepairReady)[0])
	a.want.RepairsAnswered++
	a.want.RepairsAnsweredAsSender++
	b.want.Delivered++
	a.check("alice")
	b.check("bob")
}

// Resends until the message fails.
func TestStatsResendAndFailure(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	a := newStatsPeer(t, "alice", clk, func(c *sds.Config) { c.MaxResendAttempts = 2 })
	a.wrap("a1")
	for range 3 {
		clk.Advance(sds.DefaultResendInterval)
		a.m.Sweep()
	}
	if n := len(a.take(sds.EventMessageResend)); n != 2 {
		t.Fatalf("%d resends", n)
	}
	a.want.Resends += 2
	a.want.Failed++
	a.check("alice")
}

// A buffer of one message: the second waiting message evicts the first;
// after MaxDependencyWait it gives up on its two dependencies and is
// delivered.
func TestStatsEvictionAndLoss(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	a := newStatsPeer(t, "", clk, nil)
	b := newStatsPeer(t, "", clk, func(c *sds.Config) { c.MaxIncomingBuffer = 1 })
	a.wrap("a1")
	a.wrap("a2")
	b.recv(a.wrap("a3")) // waits for a1, a2
	b.recv(a.wrap("a4")) // waits for a3 too; evicts it
	b.want.MissingDependencyReports += 2
	b.want.IncomingEvicted++
	b.check("evicted")
	clk.Advance(sds.DefaultMaxDependencyWait)
	b.m.Sweep()
	b.want.DependenciesLostReports++
	b.want.DependenciesLost += 3
	b.want.Delivered++
	b.check("lost")
	if h := b.m.Stats().IncomingWait; h.Count != 1 || h.SumSeconds != sds.DefaultMaxDependencyWait.Seconds() {
		t.Errorf("incoming wait %+v", h)
	}
}

// Ephemeral messages and failed unwraps belong to no channel.
func TestStatsEphemeralAndErrors(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	rfc := func(c *sds.Config) { c.WireFormat = wire.FormatRFC }
	a := newStatsPeer(t, "alice", clk, rfc)
	b := newStatsPeer(t, "bob", clk, rfc)
	e, err := a.m.WrapEphemeral(statsChan, "e1", []byte("now or never"))
	if err != nil {
		t.Fatal(err)
	}
	a.want.WrappedEphemeral++
	a.want.BytesSent += uint64(len(e))
	b.recv(e)
	if _, err := b.m.Unwrap([]byte("not a message")); err == nil {
		t.Fatal("garbage unwrapped")
	}
	b.want.UnwrapErrors++
	a.check("alice")
	b.check("bob")
	if st := b.m.Stats(); st.Channels != 0 || len(st.PerChannel) != 0 {
		t.Errorf("an ephemeral message made a channel: %+v", st)
	}
	// The RFC format's bloom filter is counted in its own field.
	b.recv(a.wrap("a1"))
	b.want.Delivered++
	b.check("bob, RFC content")
}

// Store failures, the backlog they build, and the pending writes.
func TestStatsPersistence(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	a := newStatsPeer(t, "alice", clk, func(c *sds.Config) { c.Persistence, c.PersistMaxPending = mem, 2 })
	a.wrap("a1")
	mem.SetFailing(persist.OpApply, true)
	a.wrap("a2")
	a.wrap("a3")
	a.want.PersistenceFailures += 2
	a.want.PersistenceBacklogs++
	a.check("failing")
	st := a.m.Stats()
	if !st.PersistenceEnabled || st.Gauges.PersistencePending <= 2 {
		t.Errorf("stats %+v", st)
	}
	ps := a.m.PersistenceStats()
	if ps.WriteFailures != 2 || ps.Backlogs != 1 || int64(ps.Pending) != st.Gauges.PersistencePending {
		t.Errorf("PersistenceStats %+v disagrees with Stats %+v", ps, st)
	}
	mem.SetFailing(persist.OpApply, false)
	a.wrap("a4")
	a.check("recovered")
	if p := a.m.Stats().Gauges.PersistencePending; p != 0 {
		t.Errorf("%d writes pending after recovery", p)
	}
}

// Each channel counts its own; the manager's counters keep what removed
// channels counted, and survive Close.
func TestStatsChannelsAndRemoval(t *testing.T) {
	clk := sds.NewManualClock(nimStart)
	m := startManager(t, "alice", clk, nil)
	for i, ch := range []string{"one", "two", "two"} {
		if _, err := m.Wrap(ch, fmt.Sprint("m", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	st := m.Stats()
	if st.Channels != 2 || st.PerChannel[0].ChannelID != "one" || st.PerChannel[1].ChannelID != "two" ||
		st.PerChannel[0].Counters.WrappedContent != 1 || st.PerChannel[1].Counters.WrappedContent != 2 ||
		st.Counters.WrappedContent != 3 || st.Gauges.Outgoing != 3 || st.PerChannel[1].Gauges.Outgoing != 2 {
		t.Fatalf("stats %+v", st)
	}
	if cs, ok := m.ChannelStats("two"); !ok || !reflect.DeepEqual(cs, st.PerChannel[1]) {
		t.Errorf("ChannelStats(two) = %+v, %v", cs, ok)
	}
	if err := m.RemoveChannel("two"); err != nil {
		t.Fatal(err)
	}
	after := m.Stats()
	if after.Channels != 1 || after.Counters != st.Counters || after.Gauges.Outgoing != 1 {
		t.Errorf("after removal %+v", after)
	}
	if _, ok := m.ChannelStats("two"); ok {
		t.Error("stats of a removed channel")
	}
	if err := m.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if closed := m.Stats(); closed.Channels != 0 || closed.Counters != st.Counters {
		t.Errorf("after Close %+v", closed)
	}
}

// Counters never go back, whatever runs at the same time: operations,
// channels removed, Stats.
func TestStatsMonotonicUnderConcurrency(t *testing.T) {
	deadline(t)
	m := startManager(t, "alice", sds.SystemClock{}, nil)
	peer := startManager(t, "bob", sds.SystemClock{}, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); wg.Wait() }() // before the managers close, also on failure
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := fmt.Sprint("c", g)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b, err := peer.Wrap(ch, fmt.Sprint(g, "-", i), []byte("x"))
				if err == nil {
					_, err = m.Unwrap(b)
				}
				if err != nil && !errors.Is(err, sds.ErrDuplicateMessageID) {
					t.Error(err)
					return
				}
				if i%50 == 0 { // both forget the channel: the next message depends on nothing
					_ = m.RemoveChannel(ch)
					_ = peer.RemoveChannel(ch)
				}
			}
		}()
	}
	var last sds.Counters
	for last.ReceivedContent < 3000 {
		c := m.Stats().Counters
		if c.ReceivedContent < last.ReceivedContent || c.Delivered < last.Delivered || c.BytesReceived < last.BytesReceived {
			t.Fatalf("counters went back: %+v after %+v", c, last)
		}
		last = c
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close
	if c := m.Stats().Counters; c.Delivered != c.ReceivedContent || c.Delivered == 0 {
		t.Errorf("delivered %d of %d received", c.Delivered, c.ReceivedContent)
	}
}

// A wait of exactly a bucket's bound is counted in that bucket, one a
// nanosecond longer in the next; messages delivered on arrival are not
// counted.
func TestStatsIncomingWaitBuckets(t *testing.T) {
	bounds := sds.IncomingWaitBuckets()
	if len(bounds) == 0 || bounds[0] != 0.01 || bounds[len(bounds)-1] != 1800 {
		t.Fatalf("buckets %v", bounds)
	}
	for _, tc := range []struct {
		wait   time.Duration
		bucket int
	}{{0, 0}, {10 * time.Millisecond, 0}, {10*time.Millisecond + 1, 1}, {time.Hour, len(bounds)}} {
		clk := sds.NewManualClock(nimStart)
		a := newStatsPeer(t, "", clk, nil)
		b := newStatsPeer(t, "", clk, nil)
		w1 := a.wrap("a1")
		b.recv(a.wrap("a2"))
		clk.Advance(tc.wait)
		b.recv(w1)
		h := b.m.Stats().IncomingWait
		if h.Count != 1 || h.Counts[tc.bucket] != 1 || len(h.Counts) != len(bounds)+1 || h.SumSeconds != tc.wait.Seconds() {
			t.Errorf("waited %v: %+v, want it in bucket %d", tc.wait, h, tc.bucket)
		}
	}
}
