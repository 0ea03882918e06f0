package sds_test

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// The simulated network: participants on one channel over a broadcast that
// loses each copy of a message with probability simLoss and delivers the
// others after a random latency (so in any order). It runs as a discrete
// event simulation under one ManualClock; each participant calls Sweep,
// RepairSweep and WrapSync on the schedule its periodic tasks would keep
// (at its own phase), and broadcasts whatever its events hand back
// (resends, repairs). No participant ever fetches a message out of band or
// marks one met: everything arrives by the broadcast, resends and SDS-R
// repair. Half the participants speak the Nim wire format and half the RFC
// one; the RFC ones also send ephemeral messages, which need not arrive.
// Besides the random loss, one participant is cut off for simOutage: what
// it sends meanwhile reaches nobody and has to be resent.

const (
	simParticipants = 10
	simLoss         = 0.2
	simChannel      = "sim"
	simDuration     = time.Hour
	simSendUntil    = 40 * time.Minute // then only the periodic work runs
	simMeanGap      = 90 * time.Second // between one participant's messages
	simMaxLatency   = 5 * time.Second
	simEphemeral    = 0.1 // share of an RFC participant's sends
	simOutage       = 3 * time.Minute
	// How long a message waits for a missing dependency. The test checks
	// that repair delivers everything; with the default 15 minutes a run of
	// lost repairs sometimes outlasts the wait (over seeds 1-40: 9 runs
	// with every participant in the Nim format, 10 with half of them in
	// the RFC format and @waku/sds's SDS-R formulas), with 30 minutes 1
	// and 0.
	simDependencyWait = 30 * time.Minute
)

type simEventKind uint8

const (
	simDeliver simEventKind = iota
	simSend
	simSweep
	simRepairSweep
	simSync
)

type simEvent struct {
	at   time.Time
	seq  uint64
	kind simEventKind
	peer int
	data []byte
}

type simQueue []*simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(*simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type simStats struct {
	sent, ephemeral, syncs          int
	resends, repairs, requests      int
	packets, lostPackets            int
	missingReports                  int
	lost, failed, evicted, dupDeliv int
}

type sim struct {
	t     *testing.T
	rng   *rand.Rand
	clk   *sds.ManualClock
	start time.Time
	peers []*sds.Manager
	cfg   []sds.Config
	queue simQueue
	seq   uint64

	history              map[string][]string // content message id -> causal history ids
	delivered            []map[string]bool   // per participant: ids delivered (or sent)
	order                [][]string          // per participant: delivery order
	sentBy               map[string]int      // content message id -> sender
	nextID               []int
	offline              int // participant cut off during [outageFrom, outageTo)
	outageFrom, outageTo time.Time
	stats                simStats
	failures             []string
}

func (s *sim) push(at time.Time, kind simEventKind, peer int, data []byte) {
	s.seq++
	heap.Push(&s.queue, &simEvent{at: at, seq: s.seq, kind: kind, peer: peer, data: data})
}

// broadcast hands b to every other participant, each copy lost with
// probability simLoss or delivered after a random latency.
func (s *sim) broadcast(from int, b []byte) {
	now := s.clk.Now()
	if msg, _, err := wire.Decode(b, wire.DefaultLimits()); err == nil {
		s.stats.requests += len(msg.RepairRequest)
	}
	for to := range s.peers {
		if to == from {
			continue
		}
		s.stats.packets++
		cut := (from == s.offline || to == s.offline) && !now.Before(s.outageFrom) && now.Before(s.outageTo)
		if s.rng.Float64() < simLoss || cut {
			s.stats.lostPackets++
			continue
		}
		latency := time.Duration(1+s.rng.Int64N(int64(simMaxLatency/time.Millisecond))) * time.Millisecond
		s.push(now.Add(latency), simDeliver, to, b)
	}
}

func (s *sim) fail(format string, args ...any) {
	if len(s.failures) < 20 {
		s.failures = append(s.failures, fmt.Sprintf("%v: ", s.clk.Now().Sub(s.start))+fmt.Sprintf(format, args...))
	}
}

func (s *sim) handler(p int) sds.EventHandler {
	return func(e sds.Event) {
		switch e.Kind {
		case sds.EventMessageReady:
			if s.delivered[p][e.MessageID] {
				s.stats.dupDeliv++
				s.fail("p%d: %s delivered twice", p, e.MessageID)
				return
			}
			for _, dep := range s.history[e.MessageID] {
				if !s.delivered[p][dep] {
					s.fail("p%d: %s delivered before its dependency %s", p, e.MessageID, dep)
				}
			}
			s.delivered[p][e.MessageID] = true
			s.order[p] = append(s.order[p], e.MessageID)
		case sds.EventMessageResend:
			s.stats.resends++
			s.broadcast(p, e.Payload)
		case sds.EventRepairReady:
			s.stats.repairs++
			s.broadcast(p, e.Payload)
		case sds.EventMissingDependencies:
			s.stats.missingReports++
		case sds.EventDependenciesLost:
			s.stats.lost++
			s.fail("p%d: %s gave up on %q", p, e.MessageID, e.Lost)
		case sds.EventMessageFailed:
			s.stats.failed++
			s.fail("p%d: %s failed", p, e.MessageID)
		case sds.EventIncomingEvicted:
			s.stats.evicted++
			s.fail("p%d: %s evicted", p, e.MessageID)
		}
	}
}

func (s *sim) nextSend(p int) {
	gap := time.Duration(s.rng.ExpFloat64() * float64(simMeanGap))
	if at := s.clk.Now().Add(gap); at.Sub(s.start) < simSendUntil {
		s.push(at, simSend, p, nil)
	}
}

func (s *sim) send(p int) {
	m, cfg := s.peers[p], s.cfg[p]
	s.nextID[p]++
	id := fmt.Sprintf("p%d-%d", p, s.nextID[p])
	content := []byte(fmt.Sprintf("message %d of participant %d", s.nextID[p], p))
	if cfg.WireFormat == wire.FormatRFC && s.rng.Float64() < simEphemeral {
		b, err := m.WrapEphemeral(simChannel, id, content)
		if err != nil {
			s.t.Fatalf("p%d: WrapEphemeral: %v", p, err)
		}
		s.stats.ephemeral++
		s.broadcast(p, b)
		return
	}
	b, err := m.Wrap(simChannel, id, content)
	if err != nil {
		s.t.Fatalf("p%d: Wrap: %v", p, err)
	}
	msg, _, err := wire.Decode(b, wire.DefaultLimits())
	if err != nil {
		s.t.Fatalf("p%d: own message does not decode: %v", p, err)
	}
	for _, h := range msg.CausalHistory {
		s.history[id] = append(s.history[id], h.MessageID)
	}
	s.sentBy[id] = p
	s.delivered[p][id] = true
	s.stats.sent++
	s.broadcast(p, b)
}

func runSim(t *testing.T, seed uint64) simStats { return runSimWith(t, seed, nil).stats }

// runSimWith runs the simulation with intern as every participant's
// Config.InternID.
func runSimWith(t *testing.T, seed uint64, intern func([]byte) string) *sim {
	s := &sim{
		t:         t,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		start:     nimStart,
		clk:       sds.NewManualClock(nimStart),
		history:   map[string][]string{},
		sentBy:    map[string]int{},
		delivered: make([]map[string]bool, simParticipants),
		order:     make([][]string, simParticipants),
		nextID:    make([]int, simParticipants),
	}
	s.offline = s.rng.IntN(simParticipants)
	s.outageFrom = s.start.Add(5*time.Minute + time.Duration(s.rng.Int64N(int64(25*time.Minute))))
	s.outageTo = s.outageFrom.Add(simOutage)
	for p := 0; p < simParticipants; p++ {
		cfg := sds.DefaultConfig()
		cfg.ParticipantID = fmt.Sprintf("participant-%d", p)
		cfg.Clock = s.clk
		cfg.InternID = intern
		cfg.MaxDependencyWait = simDependencyWait
		if p%2 == 1 {
			cfg.WireFormat = wire.FormatRFC
		}
		m, err := sds.NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		m.SetEventHandler(s.handler(p))
		if err := m.EnsureChannel(simChannel); err != nil {
			t.Fatal(err)
		}
		s.peers = append(s.peers, m)
		s.cfg = append(s.cfg, cfg)
		s.delivered[p] = map[string]bool{}
		// The periodic tasks of each participant, at its own phase.
		phase := func(d time.Duration) time.Time { return s.start.Add(time.Duration(s.rng.Int64N(int64(d)))) }
		s.push(phase(cfg.BufferSweepInterval), simSweep, p, nil)
		s.push(phase(cfg.RepairSweepInterval), simRepairSweep, p, nil)
		s.push(s.start, simSync, p, nil) // Nim signals sync at once on start
		s.nextSend(p)
	}

	end := s.start.Add(simDuration)
	for s.queue.Len() > 0 {
		ev := heap.Pop(&s.queue).(*simEvent)
		if ev.at.After(end) {
			break
		}
		if ev.at.After(s.clk.Now()) {
			s.clk.Set(ev.at)
		}
		m, cfg := s.peers[ev.peer], s.cfg[ev.peer]
		switch ev.kind {
		case simDeliver:
			if _, err := m.Unwrap(ev.data); err != nil {
				t.Fatalf("p%d: Unwrap: %v", ev.peer, err)
			}
			if err := m.CheckBuffers(); err != nil {
				t.Fatalf("p%d: %v", ev.peer, err)
			}
		case simSend:
			s.send(ev.peer)
			s.nextSend(ev.peer)
		case simSweep:
			m.Sweep()
			if err := m.CheckBuffers(); err != nil {
				t.Fatalf("p%d after sweep: %v", ev.peer, err)
			}
			s.push(ev.at.Add(cfg.BufferSweepInterval), simSweep, ev.peer, nil)
		case simRepairSweep:
			m.RepairSweep()
			s.push(ev.at.Add(cfg.RepairSweepInterval), simRepairSweep, ev.peer, nil)
		case simSync:
			b, err := m.WrapSync(simChannel)
			if err != nil {
				t.Fatalf("p%d: WrapSync: %v", ev.peer, err)
			}
			s.stats.syncs++
			s.broadcast(ev.peer, b)
			s.push(ev.at.Add(cfg.SyncMessageInterval), simSync, ev.peer, nil)
		}
	}

	for _, f := range s.failures {
		t.Error(f)
	}
	ids := make([]string, 0, len(s.sentBy))
	for id := range s.sentBy {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	missing := 0
	for p := range s.peers {
		for _, id := range ids {
			if !s.delivered[p][id] {
				missing++
				if missing <= 20 {
					st, _ := s.peers[p].ChannelState(simChannel)
					t.Errorf("p%d never received %s (incoming %d, requests %d)", p, id, len(st.Incoming), len(st.RepairRequests))
				}
			}
		}
		if got := len(s.order[p]) + s.countSentBy(p); got != len(ids) {
			t.Errorf("p%d: %d delivered + sent, want %d", p, got, len(ids))
		}
	}
	if missing > 0 {
		t.Errorf("%d deliveries missing", missing)
	}
	return s
}

func (s *sim) countSentBy(p int) int {
	n := 0
	for _, q := range s.sentBy {
		if q == p {
			n++
		}
	}
	return n
}

// TestSimulatedLossyNetwork: 10 participants, 20% loss, reordering, a
// virtual hour, 5 seeds. Every non-ephemeral message must reach every
// participant exactly once and in causal order, through resend and repair
// alone.
func TestSimulatedLossyNetwork(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			st := runSim(t, seed)
			t.Logf("seed %d: %d messages (+%d ephemeral, %d sync) -> %d resends, %d repairs (%d repair requests sent, %d missing-dependency reports); %d of %d copies lost",
				seed, st.sent, st.ephemeral, st.syncs, st.resends, st.repairs, st.requests, st.missingReports, st.lostPackets, st.packets)
		})
	}
}

// Participants sharing an interning table (Config.InternID) behave exactly
// as those that copy ids, and hand out the table's strings, not copies.
func TestSimulatedLossyNetworkInterned(t *testing.T) {
	table := map[string]string{}
	calls := 0
	intern := func(b []byte) string {
		calls++
		if s, ok := table[string(b)]; ok {
			return s
		}
		s := string(b)
		table[s] = s
		return s
	}
	plain := runSimWith(t, 1, nil)
	shared := runSimWith(t, 1, intern)
	if plain.stats != shared.stats {
		t.Errorf("stats differ: copied ids %+v, interned %+v", plain.stats, shared.stats)
	}
	if !slices.EqualFunc(plain.order, shared.order, slices.Equal[[]string]) {
		t.Error("delivery orders differ between copied and interned ids")
	}
	if calls == 0 {
		t.Fatal("InternID was never called")
	}
	// The ids the manager hands out are the table's strings (its log keeps
	// them in its own compact form, issue #19).
	for p, delivered := range shared.order {
		if len(delivered) == 0 {
			t.Fatalf("p%d delivered nothing", p)
		}
		for _, id := range delivered {
			if unsafe.StringData(id) != unsafe.StringData(table[id]) {
				t.Fatalf("p%d delivered its own copy of %s", p, id)
			}
		}
	}
}
