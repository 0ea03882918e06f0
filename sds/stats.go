package sds

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/libsds-go/libsds/sds/wire"
)

// Metrics. A channel counts what happens to it in its own counters, under
// its lock, which the operation holds anyway: counting adds no lock and no
// atomic to an operation. Stats reads the channels one at a time. What
// belongs to no channel (ephemeral messages, failed unwraps) is counted in
// atomics. A channel leaving the manager hands its counters over
// (Manager.retired) in the same step that takes it out of the channel
// table, so the manager's counters never go back.

// Counters count what happened since NewManager. In ChannelStats they are
// the channel's (since it was created or loaded in this manager); in Stats
// the manager's: every channel's, removed ones included, and the counts
// marked "manager only", which belong to no channel. They are not
// persisted: a manager over a store starts from zero.
type Counters struct {
	// Messages this participant made: content (Wrap, AppendWrap), sync
	// (WrapSync) and ephemeral (WrapEphemeral; manager only) messages.
	// Request syncs (EventRepairRequest) are RepairRequestSyncs.
	WrappedContent   uint64 `json:"wrappedContent"`
	WrappedSync      uint64 `json:"wrappedSync"`
	WrappedEphemeral uint64 `json:"wrappedEphemeral"`
	// Messages Unwrap accepted, by kind (ephemeral: manager only), and
	// Unwrap calls that failed: undecodable, over a limit, or refused
	// (closed manager, too many channels, a store that failed to load the
	// channel); manager only.
	ReceivedContent   uint64 `json:"receivedContent"`
	ReceivedSync      uint64 `json:"receivedSync"`
	ReceivedEphemeral uint64 `json:"receivedEphemeral"`
	UnwrapErrors      uint64 `json:"unwrapErrors"`
	// Delivered counts deliveries (EventMessageReady); Duplicates the
	// received content messages that were delivered or buffered before.
	Delivered  uint64 `json:"delivered"`
	Duplicates uint64 `json:"duplicates"`
	// Our messages acknowledged (EventMessageAcknowledged) by a received
	// causal history naming them, or by received bloom filters holding
	// them (BloomAckThreshold of them).
	AcknowledgedByHistory uint64 `json:"acknowledgedByHistory"`
	AcknowledgedByBloom   uint64 `json:"acknowledgedByBloom"`
	// Resends counts EventMessageResend, Failed EventMessageFailed.
	Resends uint64 `json:"resends"`
	Failed  uint64 `json:"failed"`
	// MissingDependencyReports counts EventMissingDependencies;
	// DependenciesLostReports EventDependenciesLost, and DependenciesLost
	// the ids those events gave up on; IncomingEvicted counts
	// EventIncomingEvicted.
	MissingDependencyReports uint64 `json:"missingDependencyReports"`
	DependenciesLostReports  uint64 `json:"dependenciesLostReports"`
	DependenciesLost         uint64 `json:"dependenciesLost"`
	IncomingEvicted          uint64 `json:"incomingEvicted"`
	// SDS-R. RepairRequestsSent counts the repair-request entries in the
	// messages this participant made (content, sync and request syncs);
	// RepairRequestRetries those of them that repeated a request already
	// sent; RepairRequestSyncs the request syncs (EventRepairRequest).
	RepairRequestsSent   uint64 `json:"repairRequestsSent"`
	RepairRequestRetries uint64 `json:"repairRequestRetries"`
	RepairRequestSyncs   uint64 `json:"repairRequestSyncs"`
	// RepairRequestsReceived counts the repair-request entries of received
	// messages (new content messages and syncs).
	RepairRequestsReceived uint64 `json:"repairRequestsReceived"`
	// RepairsAnswered counts the repairs handed out (EventRepairReady);
	// RepairsAnsweredAsSender those of our own messages. RepairSyncGaps
	// counts answers planned, unasked, because a peer's sync lacked one
	// of our messages (RepairPrompt).
	RepairsAnswered         uint64 `json:"repairsAnswered"`
	RepairsAnsweredAsSender uint64 `json:"repairsAnsweredAsSender"`
	RepairSyncGaps          uint64 `json:"repairSyncGaps"`
	// RepairsArrived counts messages that arrived while a repair request
	// of ours for them was pending.
	RepairsArrived uint64 `json:"repairsArrived"`
	// Wire bytes of the messages made (what Wrap, WrapSync and
	// WrapEphemeral returned, and the payloads of EventMessageResend,
	// EventRepairReady and EventRepairRequest) and of the messages Unwrap
	// accepted, and of those the bloom_filter fields (tag, length and
	// filter) of the messages carrying a filter.
	BytesSent          uint64 `json:"bytesSent"`
	BloomBytesSent     uint64 `json:"bloomBytesSent"`
	BytesReceived      uint64 `json:"bytesReceived"`
	BloomBytesReceived uint64 `json:"bloomBytesReceived"`
	// PersistenceFailures counts failed writes to the store (each is kept
	// and retried); PersistenceBacklogs the times pending writes went over
	// Config.PersistMaxPending (EventPersistenceBacklog).
	PersistenceFailures uint64 `json:"persistenceFailures"`
	PersistenceBacklogs uint64 `json:"persistenceBacklogs"`
}

// Gauges say how things stand now; in Stats, summed over the channels.
type Gauges struct {
	// Outgoing: our messages waiting for acknowledgement. Incoming:
	// received messages waiting for dependencies, and their cost as
	// counted against Config.MaxIncomingBytes.
	Outgoing      int64 `json:"outgoing"`
	Incoming      int64 `json:"incoming"`
	IncomingBytes int64 `json:"incomingBytes"`
	// The local log's entries and their cost (Config.MaxLogBytes).
	LogEntries int64 `json:"logEntries"`
	LogBytes   int64 `json:"logBytes"`
	// SDS-R requests and responses waiting for their time.
	RepairRequestsPending  int64 `json:"repairRequestsPending"`
	RepairResponsesPending int64 `json:"repairResponsesPending"`
	// Writes waiting for retry after store failures.
	PersistencePending int64 `json:"persistencePending"`
}

// Histogram counts observations in fixed buckets. Counts[i] counts the
// observations at most BucketsSeconds[i] and above the bucket before (not
// cumulative); the last count, one more than the bounds, those above the
// largest bound.
type Histogram struct {
	BucketsSeconds []float64 `json:"bucketsSeconds"`
	Counts         []uint64  `json:"counts"`
	Count          uint64    `json:"count"`
	SumSeconds     float64   `json:"sumSeconds"`
}

// ChannelStats is one channel's metrics. IncomingWait is how long each
// message delivered from the incoming buffer waited there for its
// dependencies (messages delivered on arrival are not in it).
type ChannelStats struct {
	ChannelID    string    `json:"channelId"`
	Counters     Counters  `json:"counters"`
	Gauges       Gauges    `json:"gauges"`
	IncomingWait Histogram `json:"incomingWait"`
}

// Stats is a manager's metrics: Counters and IncomingWait over every
// channel, removed ones included, Gauges summed over the loaded channels,
// and each loaded channel's own, by id.
type Stats struct {
	Channels           int            `json:"channels"`
	PersistenceEnabled bool           `json:"persistenceEnabled"`
	Counters           Counters       `json:"counters"`
	Gauges             Gauges         `json:"gauges"`
	IncomingWait       Histogram      `json:"incomingWait"`
	PerChannel         []ChannelStats `json:"perChannel"`
}

// incomingWaitBounds are the upper bounds of IncomingWait's buckets: from
// a reordering (milliseconds) through SDS-R repairs (seconds) to the
// default MaxDependencyWait (15 minutes).
var incomingWaitBounds = [...]time.Duration{
	10 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
}

// IncomingWaitBuckets returns the upper bounds, in seconds, of the
// IncomingWait histogram's buckets (every interface reports the same).
func IncomingWaitBuckets() []float64 {
	out := make([]float64, len(incomingWaitBounds))
	for i, b := range incomingWaitBounds {
		out[i] = b.Seconds()
	}
	return out
}

// waitCounts is the IncomingWait histogram as counted.
type waitCounts struct {
	n   [len(incomingWaitBounds) + 1]uint64
	sum time.Duration
}

func (w *waitCounts) observe(d time.Duration) {
	d = max(d, 0) // the clock went back
	i := 0
	for i < len(incomingWaitBounds) && d > incomingWaitBounds[i] {
		i++
	}
	w.n[i]++
	w.sum += d
}

func (w *waitCounts) add(o *waitCounts) {
	for i := range w.n {
		w.n[i] += o.n[i]
	}
	w.sum += o.sum
}

func (w *waitCounts) histogram() Histogram {
	h := Histogram{BucketsSeconds: IncomingWaitBuckets(), Counts: append([]uint64(nil), w.n[:]...), SumSeconds: w.sum.Seconds()}
	for _, n := range w.n {
		h.Count += n
	}
	return h
}

// numCounters is the number of fields of Counters, all uint64 (a test
// checks), so that they can be added up as an array.
const numCounters = unsafe.Sizeof(Counters{}) / 8

// Add adds o's counts to c (to sum the counters of several managers).
func (c *Counters) Add(o *Counters) {
	a, b := (*[numCounters]uint64)(unsafe.Pointer(c)), (*[numCounters]uint64)(unsafe.Pointer(o))
	for i := range a {
		a[i] += b[i]
	}
}

const numGauges = unsafe.Sizeof(Gauges{}) / 8

func (g *Gauges) add(o *Gauges) {
	a, b := (*[numGauges]int64)(unsafe.Pointer(g)), (*[numGauges]int64)(unsafe.Pointer(o))
	for i := range a {
		a[i] += b[i]
	}
}

// channelStats is what a channel counts, under its lock.
type channelStats struct {
	Counters
	wait waitCounts
}

func (s *channelStats) add(o *channelStats) {
	s.Counters.Add(&o.Counters)
	s.wait.add(&o.wait)
}

// looseCounters count, in atomics, what belongs to no channel.
type looseCounters struct {
	wrappedEphemeral, receivedEphemeral, unwrapErrors atomic.Uint64
	bytesSent, bytesReceived                          atomic.Uint64
}

func (l *looseCounters) addTo(c *Counters) {
	c.WrappedEphemeral += l.wrappedEphemeral.Load()
	c.ReceivedEphemeral += l.receivedEphemeral.Load()
	c.UnwrapErrors += l.unwrapErrors.Load()
	c.BytesSent += l.bytesSent.Load()
	c.BytesReceived += l.bytesReceived.Load()
}

// logGauges reads the size of a channel's log: its entries and their cost
// (the one place the metrics read the log's internals).
func logGauges(l *messageLog) (entries, bytes int64) { return int64(l.len()), l.bytes }

// gauges reads c's gauges (c locked).
func (c *channel) gauges() Gauges {
	g := Gauges{
		Outgoing: int64(c.outgoing.len()), Incoming: int64(c.incoming.len()), IncomingBytes: c.incoming.bytes,
		RepairRequestsPending: int64(c.outRepair.len()), RepairResponsesPending: int64(c.inRepair.len()),
	}
	g.LogEntries, g.LogBytes = logGauges(&c.log)
	if c.ps != nil {
		g.PersistencePending = int64(c.ps.w.Pending())
	}
	return g
}

// snapshot returns c's metrics (c locked).
func (c *channel) snapshot() ChannelStats {
	return ChannelStats{ChannelID: c.id, Counters: c.stats.Counters, Gauges: c.gauges(), IncomingWait: c.stats.wait.histogram()}
}

// Stats returns the manager's metrics. It locks each channel in turn for
// as long as it takes to copy its counters; it never waits for other
// channels meanwhile. After Close it returns the counters of the closed
// manager.
func (m *Manager) Stats() Stats {
	m.mu.RLock()
	chans := make([]*channel, 0, len(m.channels))
	for _, ch := range m.channels {
		chans = append(chans, ch)
	}
	// A channel leaves the table and hands its counters to retired in one
	// step under m.mu: each channel listed here is counted below, each
	// other one is in this copy, and none in both.
	total := m.retired
	m.mu.RUnlock()
	st := Stats{PersistenceEnabled: m.backend != nil, PerChannel: make([]ChannelStats, 0, len(chans))}
	for _, ch := range chans {
		ch.mu.Lock()
		total.add(&ch.stats) // removed meanwhile: counted here, not in the copy
		if !ch.removed {
			st.PerChannel = append(st.PerChannel, ch.snapshot())
		}
		ch.mu.Unlock()
	}
	for i := range st.PerChannel {
		st.Gauges.add(&st.PerChannel[i].Gauges)
	}
	m.loose.addTo(&total.Counters)
	st.Counters, st.IncomingWait = total.Counters, total.wait.histogram()
	st.Channels = len(st.PerChannel)
	slices.SortFunc(st.PerChannel, func(a, b ChannelStats) int { return strings.Compare(a.ChannelID, b.ChannelID) })
	return st
}

// ChannelStats returns one channel's metrics; ok is false for a channel
// the manager does not hold.
func (m *Manager) ChannelStats(channelID string) (cs ChannelStats, ok bool) {
	ch, err := m.lockChannel(channelID, false)
	if err != nil || ch == nil {
		return ChannelStats{}, false
	}
	defer ch.mu.Unlock()
	return ch.snapshot(), true
}

// countSent counts a message ch made, msg encoded in format f as b: its
// bytes, its bloom filter field and its repair requests (ch locked).
func (c *channel) countSent(b []byte, msg *wire.Message, f wire.Format) {
	c.stats.BytesSent += uint64(len(b))
	c.stats.BloomBytesSent += uint64(wire.BloomFieldLen(f, len(msg.BloomFilter)))
	c.stats.RepairRequestsSent += uint64(len(msg.RepairRequest))
}

// countReceived counts a message Unwrap accepted on c (c locked).
func (c *channel) countReceived(sc *wire.Scanned, kind MessageKind) {
	if kind == KindSync {
		c.stats.ReceivedSync++
	} else {
		c.stats.ReceivedContent++
	}
	c.stats.BytesReceived += uint64(len(sc.Bytes()))
	c.stats.BloomBytesReceived += uint64(wire.BloomFieldLen(sc.Format(), len(sc.BloomFilter())))
}
