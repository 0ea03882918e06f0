package sim

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// Start is the virtual time at which every run begins.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// checkEvery spaces the end-of-run checks once sending is over.
const checkEvery = 30 * time.Second

// run is the state of one simulation.
type run struct {
	cfg Config
	n   int
	clk *sds.ManualClock
	// offsets of each participant's clock (Network.ClockSkew)
	offsets []time.Duration
	now     int64 // virtual ns since Start
	queue   eventQueue
	parts   []*participant
	chans   []string
	obs     Observer

	sendRng *rand.Rand // send times and channels: the same with and without SDS-R
	netRng  *rand.Rand // loss and latency of each copy

	content []byte
	ids     map[string]string // every id the managers keep, once (Config.InternID)
	msgs    []msgInfo
	index   map[string]int32
	sent    int

	sendDone  int64 // virtual time of the last send, -1 before
	endAt     int64 // the run stops before any event after this
	quiesced  bool
	out       []outPacket // broadcasts the current sds call's events asked for
	limits    wire.Limits
	inflight  int64 // copies in flight
	busy      int64 // of which not sync messages
	quietAt   int64 // since when quiet() has held, -1: it does not
	inflightB int64 // bytes of the packets those copies share

	res   Result
	kinds [numPacketKinds + 1]KindBytes // + syncAfterSending
	made  madeBytes                     // every broadcast once (stats.go)
	bin   int64                         // Series bin width, ns
	err   error

	memBase    uint64
	memSamples int
}

type participant struct {
	m         *sds.Manager
	delivered []int32 // by message index: ms since Start + 1 of delivery (of sending, for the sender); 0: not yet
	lost      map[int32]struct{}
	trace     []copyTrace // by message index (Breakdown)
	repairAt  int64       // virtual ns of the one live evRepairSweep
	sweptAt   int64       // virtual ns of the last RepairSweep
	nextSeq   int
	outages   [][2]int64 // [from, to) in virtual ns
}

type msgInfo struct {
	sentAt int64 // virtual ns
	deps   []int32
	sender int32
	// requests are the times (ms since Start + 1) of the repair requests
	// for it that reached the network, in order.
	requests []int32
}

type outPacket struct {
	from    int
	channel string
	kind    PacketKind
	data    []byte
}

// Run simulates cfg and returns what it measured.
func Run(cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wall := time.Now()
	r := &run{
		cfg:      cfg,
		n:        cfg.Participants,
		clk:      sds.NewManualClock(Start),
		obs:      cfg.Observer,
		sendRng:  rand.New(rand.NewPCG(cfg.Seed, 0x5e4d)),
		netRng:   rand.New(rand.NewPCG(cfg.Seed, 0x4e37)),
		index:    make(map[string]int32, cfg.Messages),
		ids:      make(map[string]string, cfg.Messages+cfg.Participants+cfg.Channels),
		sendDone: -1,
		quietAt:  -1,
		endAt:    math.MaxInt64,
		limits:   cfg.Protocol.Limits.WithDefaults(),
		bin:      int64(cfg.BinWidth),
	}
	if r.bin <= 0 {
		r.bin = int64(10 * time.Second)
	}
	r.res = Result{
		SDSR: cfg.SDSR, Seed: cfg.Seed, Participants: cfg.Participants,
		Channels: cfg.Channels, Loss: cfg.Network.Loss,
	}
	r.res.Series.BinWidth = Seconds(time.Duration(r.bin).Seconds())
	r.content = make([]byte, cfg.ContentSize)
	for i := range r.content {
		r.content[i] = byte('a' + i%26)
	}
	for c := range cfg.Channels {
		r.chans = append(r.chans, channelID(c))
	}
	if cfg.MemSamples >= 0 {
		r.memBase = liveHeap()
	}
	if err := r.setup(); err != nil {
		return nil, err
	}
	r.loop()
	if r.err != nil {
		return nil, r.err
	}
	counters := r.managerCounters()
	if err := crossCheck(&r.res, &counters, r.made); err != nil {
		return nil, err
	}
	r.finish()
	r.res.WallTime = secs(time.Since(wall))
	res := r.res
	return &res, nil
}

// expectedSendPhase is how long sending Messages should take.
func (r *run) expectedSendPhase() time.Duration {
	perSecond := float64(r.n) * r.cfg.SendRate
	return time.Duration(float64(r.cfg.Messages) / perSecond * float64(time.Second))
}

func (r *run) setup() error {
	cfg := r.cfg
	phaseRng := rand.New(rand.NewPCG(cfg.Seed, 0x9a5e))
	churnRng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a2))
	r.offsets = clockOffsets(r.n, cfg.Network.ClockSkew, cfg.Seed)
	for p := range r.n {
		pc := cfg.Protocol
		pc.Clock = r.participantClock(p)
		pc.InternID = r.intern
		pc.ParticipantID = ""
		if cfg.SDSR {
			pc.ParticipantID = participantID(p)
		}
		m, err := sds.NewManager(pc)
		if err != nil {
			return err
		}
		part := &participant{m: m, lost: map[int32]struct{}{}, sweptAt: -1}
		r.parts = append(r.parts, part)
		m.SetEventHandler(func(e sds.Event) { r.handle(p, e) })
		for _, ch := range r.chans {
			if err := m.EnsureChannel(ch); err != nil {
				return err
			}
		}
		// Each participant's periodic work, at its own phase.
		phase := func(d time.Duration) int64 { return phaseRng.Int64N(int64(d)) }
		r.queue.push(event{at: phase(pc.BufferSweepInterval), kind: evSweep, peer: int32(p)})
		part.repairAt = phase(pc.RepairSweepInterval)
		r.queue.push(event{at: part.repairAt, kind: evRepairSweep, peer: int32(p)})
		r.queue.push(event{at: phase(pc.SyncMessageInterval), kind: evSync, peer: int32(p)})
	}
	for _, o := range cfg.Network.Outages {
		r.addOutage(o)
	}
	if f := cfg.Network.Churn.Fraction; f > 0 {
		k := int(math.Round(f * float64(r.n)))
		window := max(int64(r.expectedSendPhase()), 1)
		for _, p := range churnRng.Perm(r.n)[:k] {
			r.addOutage(Outage{Participant: p, At: time.Duration(churnRng.Int64N(window)), Duration: cfg.Network.Churn.Duration})
		}
	}
	if cfg.Messages == 0 {
		r.sendsOver()
		return nil
	}
	for p := range r.n {
		r.scheduleSend(p)
	}
	return nil
}

func (r *run) addOutage(o Outage) {
	part := r.parts[o.Participant]
	part.outages = append(part.outages, [2]int64{int64(o.At), int64(o.At + o.Duration)})
}

func (r *run) offline(p int, at int64) bool {
	for _, o := range r.parts[p].outages {
		if at >= o[0] && at < o[1] {
			return true
		}
	}
	return false
}

func (r *run) partitioned(a, b int, at int64) bool {
	for _, pt := range r.cfg.Network.Partitions {
		if at >= int64(pt.At) && at < int64(pt.At+pt.Duration) && a%pt.Groups != b%pt.Groups {
			return true
		}
	}
	return false
}

func (r *run) scheduleSend(p int) {
	gap := r.sendRng.ExpFloat64() / r.cfg.SendRate * float64(time.Second)
	r.queue.push(event{at: r.now + int64(gap), kind: evSend, peer: int32(p)})
}

func (r *run) sendsOver() {
	r.sendDone = r.now
	r.endAt = r.now + int64(r.cfg.Drain)
	r.queue.push(event{at: r.now + int64(checkEvery), kind: evCheck})
}

func (r *run) loop() {
	total := func() time.Duration {
		if r.sendDone >= 0 {
			return time.Duration(r.endAt)
		}
		return r.expectedSendPhase() + r.cfg.Drain
	}
	steps := 0
	for r.queue.len() > 0 && r.err == nil && !r.quiesced {
		if r.queue.peek().at > r.endAt {
			break
		}
		ev := r.queue.pop()
		if ev.at > r.now {
			r.now = ev.at
			r.clk.Set(Start.Add(time.Duration(r.now)))
		}
		r.step(ev)
		if steps++; steps%16384 == 0 && r.cfg.Progress != nil {
			r.cfg.Progress(time.Duration(r.now), total())
		}
	}
	if r.cfg.Progress != nil {
		r.cfg.Progress(time.Duration(r.now), time.Duration(r.now))
	}
}

func (r *run) step(ev event) {
	p := int(ev.peer)
	switch ev.kind {
	case evArrive:
		r.arrive(p, ev.pkt)
	case evSend:
		r.send(p)
	case evSweep:
		r.parts[p].m.Sweep()
		r.flush()
		r.followRepairDue(p)
		r.queue.push(event{at: r.now + int64(r.cfg.Protocol.BufferSweepInterval), kind: evSweep, peer: ev.peer})
	case evRepairSweep:
		part := r.parts[p]
		if ev.at != part.repairAt {
			return // replaced by an earlier one (followRepairDue)
		}
		part.m.RepairSweep()
		r.flush()
		part.repairAt = r.now + int64(r.cfg.Protocol.RepairSweepInterval)
		r.queue.push(event{at: part.repairAt, kind: evRepairSweep, peer: ev.peer})
		part.sweptAt = r.now
		r.followRepairDue(p)
	case evSync:
		for _, ch := range r.chans {
			b, err := r.parts[p].m.WrapSync(ch)
			if err != nil {
				r.err = fmt.Errorf("participant %d: WrapSync: %w", p, err)
				return
			}
			r.res.Syncs++
			r.broadcast(p, PacketSync, b)
		}
		r.flush()
		r.followRepairDue(p)
		r.queue.push(event{at: r.now + int64(r.cfg.Protocol.SyncMessageInterval), kind: evSync, peer: ev.peer})
	case evCheck:
		// Stop once quiet for two sync intervals: by then every
		// participant's syncs have shown the others what they lack.
		switch {
		case !r.quiet():
			r.quietAt = -1
		case r.quietAt < 0:
			r.quietAt = r.now
		case r.now-r.quietAt >= 2*int64(r.cfg.Protocol.SyncMessageInterval):
			r.quiesced = true
			return
		}
		r.queue.push(event{at: r.now + int64(checkEvery), kind: evCheck})
	}
}

// intern is the managers' Config.InternID: the 100 managers of a run
// share one copy of each id, so their lookups compare pointers to memory
// that is hot rather than bytes in 100 cold copies (a run calls its
// managers from one goroutine).
func (r *run) intern(b []byte) string {
	if s, ok := r.ids[string(b)]; ok {
		return s
	}
	s := string(b)
	r.ids[s] = s
	return s
}

// messageID is a 64-hex-digit id, like the hashes applications use.
func (r *run) messageID(p, seq int) string {
	h := sha256.Sum256([]byte(strconv.FormatUint(r.cfg.Seed, 10) + "/" + strconv.Itoa(p) + "/" + strconv.Itoa(seq)))
	var id [2 * sha256.Size]byte
	hex.Encode(id[:], h[:])
	return r.intern(id[:])
}

func (r *run) send(p int) {
	if r.sent >= r.cfg.Messages {
		return
	}
	part := r.parts[p]
	ch := r.chans[r.sendRng.IntN(len(r.chans))]
	part.nextSeq++
	id := r.messageID(p, part.nextSeq)
	b, err := part.m.Wrap(ch, id, r.content)
	if err != nil {
		r.err = fmt.Errorf("participant %d: Wrap: %w", p, err)
		return
	}
	msg, _, err := wire.Decode(b, r.limits)
	if err != nil {
		r.err = fmt.Errorf("participant %d: own message does not decode: %w", p, err)
		return
	}
	info := msgInfo{sentAt: r.now, sender: int32(p)}
	for _, h := range msg.CausalHistory {
		dep, ok := r.index[h.MessageID]
		if !ok {
			r.err = fmt.Errorf("participant %d: %s names unknown dependency %s", p, id, h.MessageID)
			return
		}
		info.deps = append(info.deps, dep)
	}
	idx := int32(len(r.msgs))
	r.msgs = append(r.msgs, info)
	r.index[id] = idx
	r.mark(p, idx)
	r.sent++
	r.res.Sent++
	r.broadcast(p, PacketContent, b)
	r.flush()
	r.followRepairDue(p)
	if r.sent == r.cfg.Messages {
		r.sendsOver()
	} else {
		r.scheduleSend(p)
	}
	if s := r.cfg.MemSamples; s > 0 && r.sent%max(1, r.cfg.Messages/s) == 0 {
		r.sampleMemory(false)
	}
}

// mark records that p has message idx now.
func (r *run) mark(p int, idx int32) {
	part := r.parts[p]
	if int(idx) >= len(part.delivered) {
		n := max(len(r.msgs), 2*len(part.delivered), 64)
		part.delivered = append(part.delivered, make([]int32, n-len(part.delivered))...)
	}
	part.delivered[idx] = int32(r.now/int64(time.Millisecond)) + 1
}

func (r *run) has(p int, idx int32) bool {
	d := r.parts[p].delivered
	return int(idx) < len(d) && d[idx] != 0
}

func (r *run) binOf() int {
	b := int(r.now / r.bin)
	r.res.Series.grow(b)
	return b
}

// handle receives participant p's events; it runs inside the sds call
// that caused them.
func (r *run) handle(p int, e sds.Event) {
	if r.obs != nil {
		r.obs.Event(time.Duration(r.now), p, e)
	}
	switch e.Kind {
	case sds.EventMessageReady:
		r.deliver(p, e.MessageID)
	case sds.EventMessageResend:
		r.out = append(r.out, outPacket{from: p, channel: e.ChannelID, kind: PacketResend, data: e.Payload})
	case sds.EventRepairReady:
		r.out = append(r.out, outPacket{from: p, channel: e.ChannelID, kind: PacketRepair, data: e.Payload})
	case sds.EventRepairRequest:
		r.out = append(r.out, outPacket{from: p, channel: e.ChannelID, kind: PacketRequest, data: e.Payload})
	case sds.EventMissingDependencies:
		r.res.MissingEvents++
		r.res.Series.MissingEvents[r.binOf()]++
	case sds.EventDependenciesLost:
		r.res.LostEvents++
		r.res.LostIDs += len(e.Lost)
		for _, id := range e.Lost {
			if idx, ok := r.index[id]; ok {
				r.parts[p].lost[idx] = struct{}{}
			}
		}
	case sds.EventMessageAcknowledged:
		r.res.Acknowledged++
	case sds.EventMessageFailed:
		r.res.Failed++
	case sds.EventIncomingEvicted:
		r.res.Evicted++
	}
}

func (r *run) deliver(p int, id string) {
	idx, ok := r.index[id]
	if !ok {
		r.err = fmt.Errorf("participant %d: delivered unknown message %s", p, id)
		return
	}
	if r.has(p, idx) {
		r.res.Duplicates++
		return
	}
	lost := r.parts[p].lost
	for _, dep := range r.msgs[idx].deps {
		if _, gaveUp := lost[dep]; !gaveUp && !r.has(p, dep) {
			r.res.OrderViolations++
		}
	}
	r.mark(p, idx)
	r.res.Delivered++
	r.res.Series.Deliveries[r.binOf()]++
}

// flush broadcasts what the last sds call's events asked for. A sweep
// visits channels in map order: sorting by channel keeps runs
// deterministic (each channel's own events keep their order).
func (r *run) flush() {
	if len(r.out) == 0 {
		return
	}
	slices.SortStableFunc(r.out, func(a, b outPacket) int {
		return cmp.Compare(a.channel, b.channel)
	})
	out := r.out
	r.out = r.out[:0:0]
	for _, o := range out {
		switch o.kind {
		case PacketResend:
			r.res.Resends++
			r.res.Series.Resends[r.binOf()]++
		case PacketRepair:
			r.res.Repairs++
			r.res.Series.Repairs[r.binOf()]++
		case PacketRequest:
			r.res.RequestSyncs++
		}
		r.broadcast(o.from, o.kind, o.data)
	}
}

// broadcast puts one copy of b on the network for each other participant.
func (r *run) broadcast(from int, kind PacketKind, b []byte) {
	pkt := &packet{data: b, kind: kind, from: int32(from), at: r.now, msg: -1}
	if err := pkt.sc.Scan(b, r.limits); err != nil {
		r.err = fmt.Errorf("participant %d: %s message does not decode: %w", from, kind, err)
		return
	}
	pkt.sc.Share(r.intern) // decoded once for every receiver, too
	msg := pkt.sc.Message()
	if kind != PacketSync {
		if idx, ok := r.index[msg.MessageID]; ok {
			pkt.msg = idx
		}
	}
	bloom := 0
	if n := len(msg.BloomFilter); n > 0 {
		bloom = protowire.SizeTag(1) + protowire.SizeBytes(n) // field 6 (Nim) or 12 (RFC): 1-byte tag
	}
	if n := len(msg.RepairRequest); n > 0 {
		r.res.RepairRequests += n
		r.res.Series.RepairRequests[r.binOf()] += n
	}
	r.made.wire += int64(len(b))
	r.made.bloom += int64(bloom)
	k := &r.kinds[kind]
	if kind == PacketSync && r.sendDone >= 0 {
		k = &r.kinds[syncAfterSending]
	}
	k.Broadcasts++
	copies := 0
	if !r.offline(from, r.now) {
		copies = r.n - 1
	}
	if r.obs != nil {
		r.obs.Broadcast(time.Duration(r.now), from, kind, b, copies)
	}
	if copies == 0 {
		return
	}
	r.traceRequests(msg.RepairRequest)
	k.Copies += int64(copies)
	k.Wire += int64(copies) * int64(len(b))
	k.WireBloom += int64(copies) * int64(bloom)
	net := &r.cfg.Network
	pkt.bucket = k
	for to := range r.n {
		if to == from {
			continue
		}
		lossDraw := r.netRng.Float64()
		if lossDraw < net.Loss || r.partitioned(from, to, r.now) {
			k.Lost++
			continue
		}
		delay := int64(net.Delay)
		if net.Jitter > 0 {
			delay += r.netRng.Int64N(int64(net.Jitter))
		}
		if net.Reorder > 0 && r.netRng.Float64() < net.Reorder && net.ReorderDelay > 0 {
			delay += r.netRng.Int64N(int64(net.ReorderDelay))
		}
		pkt.refs++
		r.queue.push(event{at: r.now + delay, kind: evArrive, peer: int32(to), pkt: pkt})
	}
	if pkt.refs > 0 {
		r.inflight += int64(pkt.refs)
		if kind != PacketSync {
			r.busy += int64(pkt.refs)
		}
		r.inflightB += int64(len(b)) + int64(unsafe.Sizeof(*pkt))
	}
}

func (r *run) arrive(to int, pkt *packet) {
	r.inflight--
	if pkt.kind != PacketSync {
		r.busy--
	}
	if pkt.refs--; pkt.refs == 0 {
		r.inflightB -= int64(len(pkt.data)) + int64(unsafe.Sizeof(*pkt))
	}
	if r.offline(to, r.now) {
		pkt.bucket.Lost++
		return
	}
	r.res.Traffic.Received += int64(len(pkt.data))
	if r.obs != nil {
		r.obs.Arrive(time.Duration(r.now), int(pkt.from), to, pkt.kind, pkt.data)
	}
	r.traceArrival(to, pkt)
	// Validated and decoded once at broadcast (UnwrapScanned, Share): the
	// core's work per receiver is all the rest.
	res, err := r.parts[to].m.UnwrapScanned(&pkt.sc)
	if err != nil {
		r.err = fmt.Errorf("participant %d: Unwrap: %w", to, err)
		return
	}
	if len(res.MissingDeps) > 0 {
		r.traceMissing(to, res.MissingDeps)
	}
	r.flush()
	r.followRepairDue(to)
}

// followRepairDue brings p's next repair sweep forward to when its
// manager says an SDS-R entry falls due (sds.Manager.NextRepairDue), as
// the periodic tasks do.
func (r *run) followRepairDue(p int) {
	part := r.parts[p]
	due, ok := part.m.NextRepairDue()
	if !ok {
		return
	}
	// due is on p's clock, which may be skewed from the shared one.
	at := max(due.Sub(Start.Add(r.offsets[p])).Nanoseconds(), r.now)
	if at == part.sweptAt {
		// A sweep just ran and left work due now: sweeping again would
		// loop forever (a due time read on the wrong clock).
		r.err = fmt.Errorf("participant %d: repair work due at %v survived a sweep then", p, due)
		return
	}
	if at < part.repairAt {
		part.repairAt = at
		r.queue.push(event{at: at, kind: evRepairSweep, peer: int32(p)})
	}
}

// quiet reports that nothing is left to do: no copy in flight but sync
// messages and every participant's buffers empty.
func (r *run) quiet() bool {
	if r.busy > 0 {
		return false
	}
	for _, part := range r.parts {
		for _, ch := range r.chans {
			st, _ := part.m.ChannelState(ch)
			if len(st.Incoming)+len(st.Outgoing)+len(st.RepairRequests)+len(st.RepairResponses) > 0 {
				return false
			}
		}
	}
	return true
}

// liveHeap runs a full GC and returns the live heap.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// lastLiveHeap returns the live heap the last GC marked, without running
// one: on the README run each forced GC cost ~0.4 s.
func lastLiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return liveHeap()
	}
	return s[0].Value.Uint64()
}

// ownBytes estimates the simulator's own heap beside the managers: its
// tables (from their capacities) and the packets in flight. The id strings
// the managers share (intern) count as theirs.
func (r *run) ownBytes() int64 {
	n := int64(cap(r.queue.h))*40 + int64(cap(r.msgs))*48 + int64(len(r.index))*48 + int64(len(r.ids))*48 + r.inflightB
	for _, m := range r.msgs {
		n += int64(cap(m.deps)) * 4
	}
	for _, part := range r.parts {
		n += int64(cap(part.delivered))*4 + int64(len(part.lost))*16
	}
	return n + int64(cap(r.res.Series.Deliveries))*8*5
}

// sampleMemory updates the peak from the live heap the last GC found, or
// (gc) from a full GC's.
func (r *run) sampleMemory(gc bool) {
	heap := lastLiveHeap
	if gc {
		heap = liveHeap
	}
	v := int64(heap()) - int64(r.memBase) - r.ownBytes()
	r.memSamples++
	if per := v / int64(r.n); per > r.res.Memory.PeakPerParticipant {
		r.res.Memory.PeakPerParticipant = per
	}
	var held int64
	for _, part := range r.parts {
		held += part.m.LogBytes() + part.m.IncomingBytes()
	}
	if per := held / int64(r.n); per > r.res.Memory.PeakHeldPerParticipant {
		r.res.Memory.PeakHeldPerParticipant = per
	}
}

func (r *run) finish() {
	res := &r.res
	res.VirtualTime = secs(time.Duration(r.now))
	res.Quiesced = r.quiesced
	if r.sendDone >= 0 {
		res.SendPhase = secs(time.Duration(r.sendDone))
	}
	res.Expected = int64(res.Sent) * int64(r.n-1)
	res.Missing = res.Expected - res.Delivered
	if res.Expected > 0 {
		res.DeliveryRatio = float64(res.Delivered) / float64(res.Expected)
	}
	lat := make([]int32, 0, res.Delivered)
	for idx, m := range r.msgs {
		sentMs := int32(m.sentAt / int64(time.Millisecond))
		complete := true
		for p, part := range r.parts {
			if p == int(m.sender) {
				continue
			}
			if idx < len(part.delivered) && part.delivered[idx] != 0 {
				lat = append(lat, part.delivered[idx]-1-sentMs)
			} else {
				complete = false
			}
		}
		if !complete {
			res.MessagesIncomplete++
		}
	}
	res.Latency, res.CDF = summarize(lat)
	if len(lat) > 0 {
		res.Breakdown = r.breakdown(quantile(lat, 0.9)) // lat is sorted now
	}

	t := &res.Traffic
	t.ByKind = map[string]KindBytes{}
	for k := range numPacketKinds {
		kb := r.kinds[k]
		t.ByKind[k.String()] = kb
		t.Wire += kb.Wire
		t.WireBloom += kb.WireBloom
	}
	idle := r.kinds[syncAfterSending]
	t.ByKind["sync-after-sending"] = idle
	if res.Delivered > 0 {
		t.PerDelivered = float64(t.Wire) / float64(res.Delivered)
		t.BloomPerDelivered = float64(t.WireBloom) / float64(res.Delivered)
	}
	t.Wire += idle.Wire
	t.WireBloom += idle.WireBloom

	if r.cfg.MemSamples >= 0 {
		if r.cfg.MemSamples > 0 {
			r.sampleMemory(true)
		}
		before := liveHeap()
		for _, part := range r.parts {
			_ = part.m.Close()
			part.m = nil
		}
		after := liveHeap()
		if before > after {
			res.Memory.RetainedPerParticipant = int64(before-after) / int64(r.n)
		}
		res.Memory.Samples = r.memSamples
		res.Memory.Method = "peak: live heap marked by the last GC at evenly spaced sends, and after a full GC at the end, minus the heap before the managers existed and the simulator's own tables, / participants (the participants share one copy of each id and of each message's decoded causal history, so a participant on its own holds more: see held); retained: live heap freed by dropping all managers at the end, / participants; held: the managers' own count of the message bytes in their logs and incoming buffers (LogBytes + IncomingBytes, sharing not seen), largest sample / participants"
	} else {
		for _, part := range r.parts {
			_ = part.m.Close()
		}
	}
}
