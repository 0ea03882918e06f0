package sim

import (
	"math"
	"slices"
	"time"

	"github.com/libsds-go/libsds/sds"
)

// PacketKind says why a broadcast was made.
type PacketKind uint8

const (
	// PacketContent is a new message's first broadcast (Wrap).
	PacketContent PacketKind = iota
	// PacketResend is a rebroadcast of an unacknowledged message
	// (EventMessageResend).
	PacketResend
	// PacketRepair is an SDS-R repair (EventRepairReady).
	PacketRepair
	// PacketSync is a periodic sync message (WrapSync).
	PacketSync
	// PacketRequest is a sync message carrying due SDS-R repair requests
	// (EventRepairRequest).
	PacketRequest
	numPacketKinds
)

// syncAfterSending is where the traffic of sync messages sent after the
// last content message is counted (Bytes.ByKind "sync-after-sending").
const syncAfterSending = numPacketKinds

func (k PacketKind) String() string {
	switch k {
	case PacketContent:
		return "content"
	case PacketResend:
		return "resend"
	case PacketRepair:
		return "repair"
	case PacketSync:
		return "sync"
	case PacketRequest:
		return "request"
	}
	return "unknown"
}

// Result is what one run measured. Counts are exact; see the field
// comments for what each one counts.
type Result struct {
	SDSR         bool    `json:"sdsr"`
	Seed         uint64  `json:"seed"`
	Participants int     `json:"participants"`
	Channels     int     `json:"channels"`
	Loss         float64 `json:"loss"`

	// Sent is the number of content messages sent (Wrap).
	Sent int `json:"sent"`
	// Expected is Sent × (Participants-1): every message should reach
	// every other participant.
	Expected int64 `json:"expected_deliveries"`
	// Delivered counts EventMessageReady for content messages, each
	// (participant, message) once.
	Delivered int64 `json:"delivered"`
	// DeliveryRatio is Delivered / Expected.
	DeliveryRatio float64 `json:"delivery_ratio"`
	// Missing is Expected - Delivered: deliveries still missing when the
	// run ended.
	Missing int64 `json:"missing"`
	// MessagesIncomplete counts messages that at least one participant
	// never got.
	MessagesIncomplete int `json:"messages_incomplete"`

	// Latency is from a message's first broadcast to its delivery, over
	// all deliveries.
	Latency Latency `json:"latency"`
	// Breakdown splits the latency of the delayed deliveries into phases
	// (detection, request, answer, transit, causal wait).
	Breakdown Breakdown `json:"latency_breakdown"`

	// Broadcasts by kind, and their bytes (see Traffic).
	Resends        int   `json:"resends"`         // EventMessageResend broadcasts
	Repairs        int   `json:"repairs"`         // EventRepairReady broadcasts
	RepairRequests int   `json:"repair_requests"` // repair-request entries carried by broadcasts
	RequestSyncs   int   `json:"request_syncs"`   // EventRepairRequest broadcasts (sync messages carrying requests)
	Syncs          int   `json:"syncs"`           // sync messages broadcast
	Acknowledged   int   `json:"acknowledged"`    // EventMessageAcknowledged
	Failed         int   `json:"failed"`          // EventMessageFailed
	MissingEvents  int   `json:"missing_dependency_events"`
	LostEvents     int   `json:"dependencies_lost_events"` // EventDependenciesLost
	LostIDs        int   `json:"dependencies_lost_ids"`    // ids those events gave up on
	Evicted        int   `json:"incoming_evicted"`         // EventIncomingEvicted
	Traffic        Bytes `json:"traffic"`
	// Managers is the participants' counters (sds.Manager.Stats) summed
	// at the end of the run: the counts above come from them, checked
	// against what the simulator saw (a difference fails the run).
	Managers sds.Counters `json:"manager_counters"`

	// Invariant violations; both must be 0.
	Duplicates      int `json:"duplicate_deliveries"`
	OrderViolations int `json:"causal_order_violations"`

	// VirtualTime is the simulated time the run covered, SendPhase the
	// part of it during which messages were sent.
	VirtualTime Seconds `json:"virtual_time_s"`
	SendPhase   Seconds `json:"send_phase_s"`
	// Quiesced reports that the run ended because nothing was left to do
	// (no copy in flight, every buffer empty) rather than at the drain
	// limit.
	Quiesced bool `json:"quiesced"`

	Memory Memory `json:"memory"`
	// WallTime is how long the run took on this machine.
	WallTime Seconds `json:"wall_time_s"`

	Series Series `json:"series"`
	// CDF is the latency distribution at 1/CDFPoints steps: CDF[i] is the
	// latency (seconds) below which a fraction i/(len-1) of the deliveries
	// fall.
	CDF []float64 `json:"latency_cdf_s"`
}

// Seconds is a duration in seconds (for JSON).
type Seconds float64

func secs(d time.Duration) Seconds { return Seconds(d.Seconds()) }

// Latency summarises send-to-delivery times, in seconds.
type Latency struct {
	P50  Seconds `json:"p50_s"`
	P90  Seconds `json:"p90_s"`
	P99  Seconds `json:"p99_s"`
	Max  Seconds `json:"max_s"`
	Mean Seconds `json:"mean_s"`
}

// Bytes accounts for what went on the wire. A broadcast puts one copy on
// the wire for each other participant (lost or not; none while its sender
// is offline).
type Bytes struct {
	// Wire is every copy's bytes; WireBloom the bloom_filter fields in
	// them (tag and length included).
	Wire      int64 `json:"wire_bytes"`
	WireBloom int64 `json:"wire_bloom_bytes"`
	// Received is the copies that arrived (all unwrapped: the managers'
	// BytesReceived). Sent and SentBloom are the broadcasts' bytes, each
	// message once however many copies the network made (the managers'
	// BytesSent and BloomBytesSent).
	Received  int64 `json:"received_bytes"`
	Sent      int64 `json:"sent_bytes"`
	SentBloom int64 `json:"sent_bloom_bytes"`
	// PerDelivered is the network cost of one delivery: Wire, less the
	// sync messages sent after the last content message, divided by
	// Delivered. All other overhead (syncs while messages are sent,
	// resends, repairs, lost copies) is included. The syncs left out are
	// the background cost of an idle group, which grows with how long the
	// run drains, not with what it delivers. BloomPerDelivered is its
	// bloom filter part.
	PerDelivered      float64 `json:"wire_bytes_per_delivered"`
	BloomPerDelivered float64 `json:"bloom_bytes_per_delivered"`
	// ByKind splits the traffic by PacketKind name, with the syncs sent
	// after the last content message apart as "sync-after-sending".
	ByKind map[string]KindBytes `json:"by_kind"`
}

// KindBytes is the traffic of one PacketKind.
type KindBytes struct {
	Broadcasts int   `json:"broadcasts"`
	Copies     int64 `json:"copies"`
	Lost       int64 `json:"copies_lost"` // lost, partitioned or offline
	Wire       int64 `json:"wire_bytes"`
	WireBloom  int64 `json:"wire_bloom_bytes"`
}

// Memory is the heap the participants' SDS state takes, per participant.
type Memory struct {
	// PeakPerParticipant is the largest sample of (live heap after a full
	// GC) - (heap before the managers were made) - (the simulator's own
	// bookkeeping, counted from its slice capacities and in-flight
	// copies), divided by Participants. 0 when not sampled.
	PeakPerParticipant int64 `json:"peak_per_participant_bytes"`
	// RetainedPerParticipant is the live heap freed by dropping every
	// manager at the end of the run (GC before and after), divided by
	// Participants: an exact measure of the state the managers hold then.
	RetainedPerParticipant int64 `json:"retained_per_participant_bytes"`
	// PeakHeldPerParticipant is the largest sample of what the managers
	// count against MaxLogBytes and MaxIncomingBytes (their logs' and
	// incoming buffers' messages: content, ids, causal histories), divided
	// by Participants. Unlike the heap figures it does not see that the
	// participants of a run share ids and decoded histories, so it is what
	// a participant on its own holds in messages.
	PeakHeldPerParticipant int64  `json:"peak_held_per_participant_bytes"`
	Samples                int    `json:"samples"`
	Method                 string `json:"method"`
}

// Series counts what happened in each BinWidth of virtual time.
type Series struct {
	BinWidth       Seconds `json:"bin_width_s"`
	Deliveries     []int   `json:"deliveries"`
	Resends        []int   `json:"resends"`
	Repairs        []int   `json:"repairs"`
	RepairRequests []int   `json:"repair_requests"`
	MissingEvents  []int   `json:"missing_dependency_events"`
}

func (s *Series) grow(bin int) {
	for len(s.Deliveries) <= bin {
		s.Deliveries = append(s.Deliveries, 0)
		s.Resends = append(s.Resends, 0)
		s.Repairs = append(s.Repairs, 0)
		s.RepairRequests = append(s.RepairRequests, 0)
		s.MissingEvents = append(s.MissingEvents, 0)
	}
}

// CDFPoints is the resolution of Result.CDF.
const CDFPoints = 200

// summarize fills the latency summary and CDF from latencies in
// milliseconds (sorted in place).
func summarize(ms []int32) (Latency, []float64) {
	if len(ms) == 0 {
		return Latency{}, nil
	}
	slices.Sort(ms)
	q := func(f float64) Seconds { return Seconds(float64(quantile(ms, f)) / 1000) }
	var sum float64
	for _, v := range ms {
		sum += float64(v)
	}
	l := Latency{P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: q(1), Mean: Seconds(sum / float64(len(ms)) / 1000)}
	cdf := make([]float64, CDFPoints+1)
	for i := range cdf {
		cdf[i] = float64(quantile(ms, float64(i)/CDFPoints)) / 1000
	}
	return l, cdf
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []int32, f float64) int32 {
	i := int(math.Ceil(f*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
