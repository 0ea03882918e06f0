package sim_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// checker rebuilds a run from what the Observer shows, independently of
// the simulator's own metrics: each message's causal history comes from
// decoding its broadcast wire bytes, each delivery from the manager's
// events. It checks the delivery invariants and recounts what Result
// reports.
type checker struct {
	t *testing.T
	n int

	sender  map[string]int
	sentAt  map[string]time.Duration
	deps    map[string][]string
	order   []string
	have    []map[string]time.Duration // per participant: delivered (or sent) at
	lost    []map[string]bool          // per participant: ids given up on
	offline func(p int, at time.Duration) bool

	delivered, dups, violations     int
	resendEvents, repairEvents      int
	lostEvents, lostIDs, missingEvs int
	acked, failed, evicted          int
	broadcasts                      map[sim.PacketKind]int
	repairRequests                  int
	wire, wireBloom, received       int64
	crossings                       int // arrivals that a partition or an outage should have stopped
	cut                             func(from, to int, at time.Duration) bool
	latencies                       []time.Duration
	syncs                           []syncBytes
	// first copy of each message to reach each participant, and whether
	// it was the message's first broadcast
	firstAt       []map[string]time.Duration
	firstOriginal []map[string]bool
	delayed       []time.Duration // latencies of deliveries not made at the first broadcast's arrival
	repaired      int
}

type syncBytes struct {
	afterContent int // content messages broadcast before it
	wire         int64
}

func newChecker(t *testing.T, n int) *checker {
	c := &checker{
		t: t, n: n,
		sender: map[string]int{}, sentAt: map[string]time.Duration{}, deps: map[string][]string{},
		broadcasts: map[sim.PacketKind]int{},
	}
	for range n {
		c.have = append(c.have, map[string]time.Duration{})
		c.lost = append(c.lost, map[string]bool{})
		c.firstAt = append(c.firstAt, map[string]time.Duration{})
		c.firstOriginal = append(c.firstOriginal, map[string]bool{})
	}
	return c
}

func (c *checker) Broadcast(at time.Duration, from int, kind sim.PacketKind, b []byte, copies int) {
	msg, _, err := wire.Decode(b, wire.Limits{})
	if err != nil {
		c.t.Fatalf("broadcast does not decode: %v", err)
	}
	c.broadcasts[kind]++
	c.repairRequests += len(msg.RepairRequest)
	if want := c.n - 1; copies != want && copies != 0 {
		c.t.Errorf("broadcast with %d copies, want %d or 0", copies, want)
	}
	if copies == 0 && !c.offline(from, at) {
		c.t.Errorf("%v: participant %d is online but its broadcast has no copies", at, from)
	}
	c.wire += int64(copies * len(b))
	if kind == sim.PacketSync {
		c.syncs = append(c.syncs, syncBytes{afterContent: len(c.order), wire: int64(copies * len(b))})
	}
	if len(msg.BloomFilter) > 0 {
		// tag (1 byte) + length varint + filter
		l := len(msg.BloomFilter)
		c.wireBloom += int64(copies * (1 + varintLen(l) + l))
	}
	if kind != sim.PacketContent {
		return
	}
	if _, dup := c.sender[msg.MessageID]; dup {
		c.t.Fatalf("message id %s sent twice", msg.MessageID)
	}
	c.sender[msg.MessageID] = from
	c.sentAt[msg.MessageID] = at
	c.order = append(c.order, msg.MessageID)
	for _, h := range msg.CausalHistory {
		c.deps[msg.MessageID] = append(c.deps[msg.MessageID], h.MessageID)
	}
	c.have[from][msg.MessageID] = at
}

func (c *checker) Arrive(at time.Duration, from, to int, kind sim.PacketKind, b []byte) {
	c.received += int64(len(b))
	if c.cut != nil && c.cut(from, to, at) {
		c.crossings++
	}
	if kind == sim.PacketSync {
		return
	}
	msg, _, err := wire.Decode(b, wire.Limits{})
	if err != nil {
		c.t.Fatalf("arrival does not decode: %v", err)
	}
	if _, seen := c.firstAt[to][msg.MessageID]; !seen {
		c.firstAt[to][msg.MessageID] = at
		c.firstOriginal[to][msg.MessageID] = kind == sim.PacketContent
	}
}

func (c *checker) Event(at time.Duration, p int, e sds.Event) {
	switch e.Kind {
	case sds.EventMessageReady:
		if _, ok := c.have[p][e.MessageID]; ok {
			c.dups++
			return
		}
		for _, dep := range c.deps[e.MessageID] {
			if _, ok := c.have[p][dep]; !ok && !c.lost[p][dep] {
				c.violations++
				c.t.Errorf("participant %d delivered %.8s before its dependency %.8s", p, e.MessageID, dep)
			}
		}
		c.have[p][e.MessageID] = at
		c.delivered++
		c.latencies = append(c.latencies, at-c.sentAt[e.MessageID])
		first, original := c.firstAt[p][e.MessageID], c.firstOriginal[p][e.MessageID]
		if !original || at.Milliseconds() != first.Milliseconds() {
			c.delayed = append(c.delayed, at-c.sentAt[e.MessageID])
			if !original {
				c.repaired++
			}
		}
	case sds.EventMessageResend:
		c.resendEvents++
	case sds.EventRepairReady:
		c.repairEvents++
	case sds.EventDependenciesLost:
		c.lostEvents++
		c.lostIDs += len(e.Lost)
		for _, id := range e.Lost {
			c.lost[p][id] = true
		}
	case sds.EventMissingDependencies:
		c.missingEvs++
	case sds.EventMessageAcknowledged:
		c.acked++
	case sds.EventMessageFailed:
		c.failed++
	case sds.EventIncomingEvicted:
		c.evicted++
	}
}

func varintLen(v int) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// agree checks that res reports what the checker saw.
func (c *checker) agree(res *sim.Result) {
	t := c.t
	t.Helper()
	eq := func(what string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: result says %d, events say %d", what, got, want)
		}
	}
	eq("sent", int64(res.Sent), int64(len(c.order)))
	eq("delivered", res.Delivered, int64(c.delivered))
	eq("expected", res.Expected, int64(len(c.order)*(c.n-1)))
	eq("missing", res.Missing, int64(len(c.order)*(c.n-1)-c.delivered))
	eq("duplicates", int64(res.Duplicates), int64(c.dups))
	eq("order violations", int64(res.OrderViolations), int64(c.violations))
	eq("resends", int64(res.Resends), int64(c.resendEvents))
	eq("resend broadcasts", int64(res.Resends), int64(c.broadcasts[sim.PacketResend]))
	eq("repairs", int64(res.Repairs), int64(c.repairEvents))
	eq("repair broadcasts", int64(res.Repairs), int64(c.broadcasts[sim.PacketRepair]))
	eq("syncs", int64(res.Syncs), int64(c.broadcasts[sim.PacketSync]))
	eq("repair requests", int64(res.RepairRequests), int64(c.repairRequests))
	eq("lost events", int64(res.LostEvents), int64(c.lostEvents))
	eq("lost ids", int64(res.LostIDs), int64(c.lostIDs))
	eq("missing-dependency events", int64(res.MissingEvents), int64(c.missingEvs))
	eq("acknowledged", int64(res.Acknowledged), int64(c.acked))
	eq("failed", int64(res.Failed), int64(c.failed))
	eq("evicted", int64(res.Evicted), int64(c.evicted))
	eq("wire bytes", res.Traffic.Wire, c.wire)
	eq("wire bloom bytes", res.Traffic.WireBloom, c.wireBloom)
	eq("received bytes", res.Traffic.Received, c.received)
	var byKind int64
	for _, k := range res.Traffic.ByKind {
		byKind += k.Wire
	}
	eq("wire bytes by kind", byKind, c.wire)
	// Per delivery: without the syncs sent after the last message.
	idle := int64(0)
	for _, sb := range c.syncs {
		if sb.afterContent == len(c.order) {
			idle += sb.wire
		}
	}
	if c.delivered > 0 {
		want := float64(c.wire-idle) / float64(c.delivered)
		if math.Abs(res.Traffic.PerDelivered-want) > 1e-6*want {
			t.Errorf("wire bytes per delivered message: result says %v, events say %v", res.Traffic.PerDelivered, want)
		}
	}

	incomplete := 0
	for _, id := range c.order {
		for p := range c.n {
			if _, ok := c.have[p][id]; !ok {
				incomplete++
				break
			}
		}
	}
	eq("messages incomplete", int64(res.MessagesIncomplete), int64(incomplete))

	// Latencies: the simulator keeps milliseconds; allow 1 ms.
	if len(c.latencies) > 0 {
		slices.Sort(c.latencies)
		near := func(what string, got sim.Seconds, want time.Duration) {
			t.Helper()
			if math.Abs(float64(got)-want.Seconds()) > 0.0011 {
				t.Errorf("latency %s: result says %vs, events say %v", what, got, want)
			}
		}
		q := func(f float64) time.Duration {
			return c.latencies[max(0, int(math.Ceil(f*float64(len(c.latencies))))-1)]
		}
		near("p50", res.Latency.P50, q(0.5))
		near("p99", res.Latency.P99, q(0.99))
		near("max", res.Latency.Max, c.latencies[len(c.latencies)-1])
	}
	c.agreeBreakdown(&res.Breakdown)
	var series int
	for _, d := range res.Series.Deliveries {
		series += d
	}
	eq("deliveries in the time series", int64(series), res.Delivered)
}

// smallConfig is a quick run: 12 participants on 2 channels, 20% loss,
// jitter and reordering, with a log long enough that no message leaves it
// before a late repair can arrive (see TestDuplicatesAfterLogEviction),
// and shorter repair and dependency windows than the defaults.
func smallConfig() sim.Config {
	cfg := sim.DefaultConfig()
	cfg.Participants = 12
	cfg.Channels = 2
	cfg.Messages = 240
	cfg.Protocol.RepairTMax = 2 * time.Minute
	cfg.Protocol.MaxDependencyWait = 6 * time.Minute
	cfg.SendRate = 0.05
	cfg.Network.Loss = 0.2
	cfg.Network.Reorder = 0.1
	cfg.MemSamples = -1
	cfg.Protocol.MaxMessageHistory = 5000
	cfg.Protocol.BloomCapacity = 1000 // a smaller filter keeps the test fast
	return cfg
}

func runChecked(t *testing.T, cfg sim.Config) (*sim.Result, *checker) {
	t.Helper()
	c := newChecker(t, cfg.Participants)
	c.offline = func(p int, at time.Duration) bool {
		for _, o := range cfg.Network.Outages {
			if o.Participant == p && at >= o.At && at < o.At+o.Duration {
				return true
			}
		}
		return false
	}
	cfg.Observer = c
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.agree(res)
	return res, c
}

// TestInvariants: every delivery once, in causal order, and the result's
// counts agree with the events, with and without SDS-R, on a network with
// loss, reordering, a partition and an outage.
func TestInvariants(t *testing.T) {
	for _, sdsr := range []bool{true, false} {
		t.Run(fmt.Sprintf("sdsr=%v", sdsr), func(t *testing.T) {
			cfg := smallConfig()
			cfg.SDSR = sdsr
			cfg.Network.Partitions = []sim.Partition{{At: 2 * time.Minute, Duration: time.Minute, Groups: 2}}
			cfg.Network.Outages = []sim.Outage{{Participant: 3, At: 4 * time.Minute, Duration: 2 * time.Minute}}
			res, c := runChecked(t, cfg)
			if res.Duplicates != 0 || res.OrderViolations != 0 {
				t.Errorf("%d duplicate deliveries, %d causal-order violations", res.Duplicates, res.OrderViolations)
			}
			if res.Delivered == 0 || res.Sent != cfg.Messages {
				t.Fatalf("sent %d, delivered %d", res.Sent, res.Delivered)
			}
			if !sdsr && (res.Repairs != 0 || res.RepairRequests != 0) {
				t.Errorf("SDS-R off, yet %d repairs and %d repair requests", res.Repairs, res.RepairRequests)
			}
			t.Logf("delivery %.4f, missing %d, p50 %.1fs p99 %.1fs, %d resends, %d repairs, %d requests, virtual %.0fs",
				res.DeliveryRatio, res.Missing, res.Latency.P50, res.Latency.P99, res.Resends, res.Repairs,
				res.RepairRequests, res.VirtualTime)
			_ = c
		})
	}
}

// TestSDSRHelps: at 20% loss SDS-R delivers more, and sooner.
func TestSDSRHelps(t *testing.T) {
	with, without := smallConfig(), smallConfig()
	without.SDSR = false
	rw, _ := runChecked(t, with)
	ro, _ := runChecked(t, without)
	if rw.DeliveryRatio <= ro.DeliveryRatio {
		t.Errorf("delivery ratio with SDS-R %.4f, without %.4f", rw.DeliveryRatio, ro.DeliveryRatio)
	}
	if rw.Latency.P90 >= ro.Latency.P90 {
		t.Errorf("p90 latency with SDS-R %vs, without %vs", rw.Latency.P90, ro.Latency.P90)
	}
	if rw.Repairs == 0 {
		t.Error("no repairs at 20% loss")
	}
	if rw.Sent != ro.Sent {
		t.Errorf("sent %d with SDS-R and %d without: the send schedule must not depend on it", rw.Sent, ro.Sent)
	}
}

// TestLossless: everything arrives once, within the network's latency.
func TestLossless(t *testing.T) {
	cfg := smallConfig()
	cfg.Network.Loss, cfg.Network.Reorder = 0, 0
	res, _ := runChecked(t, cfg)
	if res.Missing != 0 || res.DeliveryRatio != 1 || res.MessagesIncomplete != 0 {
		t.Errorf("lossless network: %d missing, ratio %v", res.Missing, res.DeliveryRatio)
	}
	maxLat := (cfg.Network.Delay + cfg.Network.Jitter).Seconds()
	if float64(res.Latency.Max) > maxLat {
		t.Errorf("max latency %vs over the network's %vs", res.Latency.Max, maxLat)
	}
	if res.Repairs != 0 || res.RepairRequests != 0 || res.Traffic.ByKind["content"].Lost != 0 {
		t.Errorf("lossless network: %d repairs, %d requests", res.Repairs, res.RepairRequests)
	}
	if b := res.Breakdown; b.Repaired != 0 || b.Own.All.Offline.Mean != 0 || b.Own.All.Request.Mean != 0 {
		t.Errorf("lossless network: breakdown %+v", b)
	}
	if !res.Quiesced {
		t.Error("a lossless run should end quiet before the drain limit")
	}
}

// TestPartitionAndOutage: nothing crosses a partition or reaches an
// offline participant, and the network heals afterwards.
func TestPartitionAndOutage(t *testing.T) {
	cfg := smallConfig()
	cfg.Network.Loss = 0
	part := sim.Partition{At: time.Minute, Duration: 3 * time.Minute, Groups: 3}
	out := sim.Outage{Participant: 5, At: 2 * time.Minute, Duration: 3 * time.Minute}
	cfg.Network.Partitions = []sim.Partition{part}
	cfg.Network.Outages = []sim.Outage{out}
	c := newChecker(t, cfg.Participants)
	c.offline = func(p int, at time.Duration) bool {
		return p == out.Participant && at >= out.At && at < out.At+out.Duration
	}
	// Copies are cut when sent: a copy sent just before the partition
	// may still arrive during its first maxLatency.
	maxLatency := cfg.Network.Delay + cfg.Network.Jitter + cfg.Network.ReorderDelay
	c.cut = func(from, to int, at time.Duration) bool {
		across := from%part.Groups != to%part.Groups && at >= part.At+maxLatency && at < part.At+part.Duration
		return across || c.offline(to, at)
	}
	cfg.Observer = c
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.agree(res)
	if c.crossings != 0 {
		t.Errorf("%d copies crossed the partition or reached the offline participant", c.crossings)
	}
	if res.Breakdown.Own.All.Offline.Mean <= 0 {
		t.Error("an outage, yet no delayed delivery waited offline")
	}
	if res.Traffic.ByKind["content"].Lost == 0 {
		t.Error("the partition lost nothing")
	}
	if res.Resends == 0 {
		t.Error("no resends after the partition and the outage")
	}
	if res.OrderViolations != 0 || res.Duplicates != 0 {
		t.Errorf("%d order violations, %d duplicates", res.OrderViolations, res.Duplicates)
	}
}

// TestDuplicatesAfterLogEviction: with RememberDelivered 0 (the Nim
// behaviour) a participant recognises a message it delivered only while
// it is in its log (MaxMessageHistory entries), and a repair arriving
// after that is delivered again; the simulator counts these, and the count
// agrees with the events. With the default the late copies are recognised.
func TestDuplicatesAfterLogEviction(t *testing.T) {
	cfg := smallConfig()
	cfg.Protocol.MaxMessageHistory = 30
	cfg.Protocol.LogRetention = 0 // the log evicts by count alone
	cfg.Protocol.RememberDelivered = 0
	cfg.SendRate = 0.2
	res, c := runChecked(t, cfg)
	if res.Duplicates == 0 || c.dups == 0 {
		t.Errorf("expected late repairs to be delivered again with a 30-entry log and nothing remembered; got %d duplicates", res.Duplicates)
	}
	t.Logf("%d duplicate deliveries with a 30-entry log", res.Duplicates)

	cfg.Protocol.RememberDelivered = sds.DefaultRememberDelivered
	if res, c = runChecked(t, cfg); res.Duplicates != 0 || c.dups != 0 {
		t.Errorf("%d duplicate deliveries although evicted ids are remembered", res.Duplicates)
	}
}

// TestDeterministic: the same configuration gives the same result.
func TestDeterministic(t *testing.T) {
	cfg := smallConfig()
	cfg.Network.Churn = sim.Churn{Fraction: 0.25, Duration: 2 * time.Minute}
	a, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.WallTime, b.WallTime = 0, 0
	if fa, fb := fmt.Sprintf("%+v", *a), fmt.Sprintf("%+v", *b); fa != fb {
		t.Errorf("two runs of one seed differ:\n%s\n%s", fa, fb)
	}
	cfg.Seed++
	c, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivered == a.Delivered && c.Latency == a.Latency {
		t.Error("another seed gave the same run")
	}
}

func TestValidate(t *testing.T) {
	for name, mut := range map[string]func(*sim.Config){
		"one participant": func(c *sim.Config) { c.Participants = 1 },
		"loss > 1":        func(c *sim.Config) { c.Network.Loss = 1.5 },
		"no rate":         func(c *sim.Config) { c.SendRate = 0 },
		"bad partition":   func(c *sim.Config) { c.Network.Partitions = []sim.Partition{{Duration: time.Second, Groups: 1}} },
		"bad outage":      func(c *sim.Config) { c.Network.Outages = []sim.Outage{{Participant: 100, Duration: time.Second}} },
		"bad protocol":    func(c *sim.Config) { c.Protocol.BloomCapacity = 0 },
	} {
		cfg := sim.DefaultConfig()
		mut(&cfg)
		if _, err := sim.Run(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The memory figures: sampled as asked, and the held bytes at least the
// content and ids of what each participant delivered (every log keeps all
// of it in this configuration).
func TestMemoryFigures(t *testing.T) {
	cfg := smallConfig()
	cfg.MemSamples = 8
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Memory
	if m.Samples != cfg.MemSamples+1 {
		t.Errorf("%d samples, want %d (and one at the end)", m.Samples, cfg.MemSamples)
	}
	if m.PeakPerParticipant <= 0 || m.RetainedPerParticipant <= 0 {
		t.Errorf("heap figures not measured: %+v", m)
	}
	perParticipant := (res.Delivered + int64(res.Sent)) / int64(cfg.Participants)
	if min := perParticipant * int64(cfg.ContentSize+64); m.PeakHeldPerParticipant < min {
		t.Errorf("held %d bytes per participant, below the %d of its log's contents and ids", m.PeakHeldPerParticipant, min)
	}
}

// agreeBreakdown checks the latency breakdown against the deliveries the
// checker saw: the same delayed and repaired deliveries, and in each view
// phases that add up to their latencies.
func (c *checker) agreeBreakdown(b *sim.Breakdown) {
	t := c.t
	t.Helper()
	if b.Delayed != int64(len(c.delayed)) || b.Repaired != int64(c.repaired) {
		t.Errorf("breakdown: %d delayed (%d repaired) deliveries, events say %d (%d)", b.Delayed, b.Repaired, len(c.delayed), c.repaired)
	}
	var total float64
	for _, l := range c.delayed {
		total += l.Seconds()
	}
	for name, set := range map[string]*sim.PhaseSet{"own": &b.Own.All, "root cause": &b.ByRootCause.All} {
		if set.Count != b.Delayed {
			t.Errorf("%s view covers %d deliveries, want %d", name, set.Count, b.Delayed)
		}
		var sum, shares float64
		for _, ph := range set.Phases() {
			if ph.Phase.Mean < 0 || ph.Phase.P50 < 0 {
				t.Errorf("%s view: negative %s phase %+v", name, ph.Name, *ph.Phase)
			}
			sum += float64(ph.Phase.Mean) * float64(set.Count)
			shares += ph.Phase.Share
		}
		// Moments are kept in milliseconds: allow 1 ms per delivery.
		if math.Abs(sum-total) > 0.001*float64(len(c.delayed))+1e-6 {
			t.Errorf("%s view: phases add up to %.3f s, the delayed deliveries took %.3f s", name, sum, total)
		}
		if len(c.delayed) > 0 && math.Abs(shares-1) > 1e-9 {
			t.Errorf("%s view: shares add up to %v", name, shares)
		}
	}
}

// lamportSpy records the Lamport timestamps of content broadcasts made in
// the first minute, then hands everything to the checker.
type lamportSpy struct {
	*checker
	early []uint64
}

func (s *lamportSpy) Broadcast(at time.Duration, from int, kind sim.PacketKind, b []byte, copies int) {
	if kind == sim.PacketContent && at < time.Minute {
		if msg, _, err := wire.Decode(b, wire.Limits{}); err == nil {
			s.early = append(s.early, msg.LamportTimestamp)
		}
	}
	s.checker.Broadcast(at, from, kind, b, copies)
}

// TestClockSkew: participants whose clocks are hours apart still deliver
// every message once, in causal order, as on agreeing clocks (Lamport
// timestamps start from the wall clock, but only order and timers matter).
func TestClockSkew(t *testing.T) {
	const skew = 2 * time.Hour
	cfg := smallConfig()
	plain, _ := runChecked(t, cfg)

	cfg.Network.ClockSkew = skew
	spy := &lamportSpy{checker: newChecker(t, cfg.Participants)}
	spy.offline = func(int, time.Duration) bool { return false }
	cfg.Observer = spy
	skewed, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spy.agree(skewed)
	// The skew reached the wire: some early message is stamped more than
	// half the skew ahead of the true time.
	ahead := uint64(sim.Start.Add(skew / 2).UnixMilli())
	if len(spy.early) == 0 || slices.Max(spy.early) < ahead {
		t.Fatalf("no early Lamport timestamp past %d: %v", ahead, spy.early)
	}
	if skewed.Duplicates != 0 || skewed.OrderViolations != 0 {
		t.Errorf("%d duplicate deliveries, %d causal-order violations", skewed.Duplicates, skewed.OrderViolations)
	}
	if skewed.Missing > plain.Missing || skewed.Sent != plain.Sent {
		t.Errorf("skewed clocks: sent %d, %d missing; agreeing clocks: sent %d, %d missing",
			skewed.Sent, skewed.Missing, plain.Sent, plain.Missing)
	}
	t.Logf("agreeing: delivery %.4f p99 %.1fs; ±%v: delivery %.4f p99 %.1fs",
		plain.DeliveryRatio, plain.Latency.P99, skew, skewed.DeliveryRatio, skewed.Latency.P99)
}
