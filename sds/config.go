package sds

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/internal/enumname"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Defaults of the Nim libsds (PROTOCOL.md §6).
const (
	DefaultBloomCapacity       = 10000
	DefaultBloomErrorRate      = 0.001
	DefaultMaxMessageHistory   = 1000
	DefaultMaxCausalHistory    = 10
	DefaultResendInterval      = 60 * time.Second
	DefaultMaxResendAttempts   = 5
	DefaultSyncMessageInterval = 30 * time.Second
	DefaultBufferSweepInterval = 60 * time.Second
	DefaultNumResponseGroups   = 1
	DefaultMaxRepairRequests   = 3
	DefaultRepairSweepInterval = 5 * time.Second

	// NimRepairTMin and NimRepairTMax are the Nim library's (and the
	// RFC's) SDS-R window: requests 30-300 s after a gap is seen.
	NimRepairTMin = 30 * time.Second
	NimRepairTMax = 300 * time.Second

	// SDS-R defaults of this library, chosen from sds-sim's frontier
	// (BENCHMARKS.md) for networks with sub-second latency: a request
	// 0.5-2 s after a gap is seen (T_req; the lower bound rides out
	// reordering), retried every 3 s; others than the original sender
	// answer a repeated request 1.5-11.5 s after it (RepairPrompt).
	DefaultRepairTMin           = 500 * time.Millisecond
	DefaultRepairTMax           = 2 * time.Second
	DefaultRepairRetryInterval  = 3 * time.Second
	DefaultRepairResponseWindow = 10 * time.Second
	DefaultRepairResponseGrace  = 1500 * time.Millisecond

	// Defaults of settings the Nim library does not have.

	// DefaultPossiblyAckedResendInterval is twice DefaultResendInterval:
	// a message some peer's bloom filter has shown is resent later.
	DefaultPossiblyAckedResendInterval = 2 * DefaultResendInterval
	// DefaultMaxDependencyWait exceeds the longest SDS-R round with the
	// default window (T_req < tMax, then T_resp < tMax) plus a sync
	// interval and sweeps.
	DefaultMaxDependencyWait = 15 * time.Minute
	DefaultMaxIncomingBuffer = 10000
	// DefaultMaxIncomingBytes bounds what all channels' incoming buffers
	// may hold together: 128 MiB, some 50,000 typical waiting messages.
	DefaultMaxIncomingBytes  = 128 << 20
	DefaultMaxPendingRepairs = 1000
	// DefaultMaxLogBytes bounds what all channels' local logs may hold
	// together: 512 MiB, a full default log (1,000 messages) of ~500 KB
	// messages on a channel, or of ~1 KB messages on 500 channels.
	DefaultMaxLogBytes = 512 << 20
	// DefaultRememberDelivered matches the bloom filter's capacity.
	DefaultRememberDelivered = 10000
	// MaxMessageSize is the largest content Wrap accepts (1 MiB, as Nim).
	MaxMessageSize = 1 << 20
	// DefaultMaxChannels bounds the channels one manager holds (each costs
	// its bloom filter, ~19 KB at the default capacity, plus its buffers).
	DefaultMaxChannels = 1000
)

// Config holds a Manager's parameters. Start from DefaultConfig; a zero
// field is an error, not a default, so mistakes surface at construction.
type Config struct {
	// ParticipantID identifies this participant (sender_id on the wire).
	// Empty disables SDS-R repair, as in the Nim library.
	ParticipantID string

	// InternID, if set, makes the strings of the ids the manager keeps
	// (message, sender and channel ids, received or given). It must
	// return a string equal to id, and must neither keep nor change id.
	// Managers in one process that share an interning table keep each id
	// of their buffers once, and their lookups compare pointers instead of
	// bytes: sds-sim runs 100 managers this way. (The local log keeps its
	// ids in its own compact encoding, issue #19.) It is called with a channel locked and
	// must not call the manager. nil: each message's ids are copied into
	// one allocation (faster for a lone manager).
	InternID func(id []byte) string

	BloomCapacity  int     // ids the bloom filter is sized for
	BloomErrorRate float64 // target false-positive rate, in (0, 1)
	// BloomAckThreshold is how many received bloom filters must contain an
	// outgoing message before it counts as acknowledged; below that it is
	// only "possibly acknowledged". 1 is the Nim behaviour.
	BloomAckThreshold int
	// FullBloomFilter makes every message carry the channel's whole
	// rolling bloom filter, byte for byte as the Nim libsds does (18.8 KB
	// at the default capacity). By default (false) a message in the Nim
	// wire format carries a filter of the acknowledgement window only
	// (AckWindow): a Nim filter sized for BloomErrorRate at the window's
	// count, never larger than the whole one. The RFC format always
	// carries the whole filter (its peers assume its size).
	FullBloomFilter bool
	// AckWindow is how long an id received, sent or marked met stays in
	// the filter messages carry (unless FullBloomFilter): peers waiting
	// longer than this for an acknowledgement get it only from causal
	// histories. 0 (the default) means EffectiveAckWindow's bound,
	// derived from the resend settings (12 minutes at the defaults).
	AckWindow time.Duration

	MaxMessageHistory int // delivered messages kept in the local log
	// MaxLogBytes bounds the memory of the local logs of all the
	// manager's channels together, each message counted by its content
	// and causal history (LogBytes): after a message joins a log, that
	// channel's oldest entries are evicted (as MaxMessageHistory evicts
	// them) while the total is over it, down to the channel's newest.
	// MaxMessageHistory alone would let 1,000 messages of 1 MiB cost
	// 1 GB per channel.
	MaxLogBytes      int
	MaxCausalHistory int // log entries named in each outgoing message

	// ResendInterval is how long an unacknowledged outgoing message waits
	// before the buffer sweep hands it back for rebroadcast
	// (EventMessageResend); after MaxResendAttempts rebroadcasts it fails
	// (EventMessageFailed) and leaves the buffer.
	ResendInterval    time.Duration
	MaxResendAttempts int
	// PossiblyAckedResendInterval replaces ResendInterval for a "possibly
	// acknowledged" message: one seen in fewer than BloomAckThreshold
	// received bloom filters (RFC: resend those later than unacknowledged
	// ones).
	PossiblyAckedResendInterval time.Duration
	// SyncMessageInterval spaces EventPeriodicSync while the periodic
	// tasks run (one is emitted at once on start, as Nim does).
	SyncMessageInterval time.Duration
	// BufferSweepInterval spaces the runs of Sweep while the periodic
	// tasks run.
	BufferSweepInterval time.Duration

	// MaxDependencyWait is how long a received message may wait for
	// missing dependencies. The next sweep after that reports them lost
	// (EventDependenciesLost, the RFC's "irretrievably lost") and applies
	// OnLostDependencies.
	MaxDependencyWait  time.Duration
	OnLostDependencies LostDependencyPolicy
	// MaxIncomingBuffer bounds the messages one channel keeps waiting for
	// dependencies. A message arriving at a full buffer evicts the one
	// received first (EventIncomingEvicted).
	MaxIncomingBuffer int
	// MaxIncomingBytes bounds the memory of the incoming buffers of all
	// the manager's channels together, each waiting message counted by
	// its content and causal history (IncomingBytes). A message that would
	// take the total over it first evicts the messages its own channel
	// received first (EventIncomingEvicted); if the others' buffers hold
	// the budget, it is not buffered itself (EventIncomingEvicted naming
	// it). MaxIncomingBuffer alone would let 10,000 messages of 1,024
	// missing dependencies each cost 2 GB per channel.
	MaxIncomingBytes int

	RepairTMin          time.Duration // SDS-R request backoff window
	RepairTMax          time.Duration
	NumResponseGroups   int
	MaxRepairRequests   int // repair requests attached to one message
	RepairSweepInterval time.Duration
	// RepairPolicy chooses what happens around T_req and T_resp:
	// RepairPrompt (the default) or RepairRFC (the RFC's and the Nim
	// library's rules). The formulas are the same in both.
	RepairPolicy RepairPolicy
	// RepairRequestSync hands a repair request to the application as soon
	// as it is due, in a sync message of its own (EventRepairRequest),
	// instead of leaving it for the next Wrap or WrapSync. A Nim peer
	// delivers such a message as an empty message (docs/COMPATIBILITY.md
	// T11, T15): turn it off in groups with Nim peers.
	RepairRequestSync bool
	// RepairPrompt's timing. RepairRetryInterval is how long a repair
	// request that was sent (or seen from another participant) waits for
	// its answer before it is sent again. RepairResponseWindow is the
	// tMax of T_resp; RepairResponseGrace what a participant other than
	// the message's original sender (whose T_resp is 0) waits beyond its
	// T_resp, about a network round trip, so that the original sender
	// answers first.
	RepairRetryInterval  time.Duration
	RepairResponseWindow time.Duration
	RepairResponseGrace  time.Duration
	// LogRetention keeps log entries younger than this beyond
	// MaxMessageHistory (MaxLogBytes still bounds them), so that a message
	// stays available for repair while peers may still wait for it
	// (MaxDependencyWait, by default). 0, or SDS-R off, bounds the log by
	// count alone (the Nim behaviour). Not persisted: after a restart the
	// log is loaded up to MaxMessageHistory.
	LogRetention time.Duration
	// RememberDelivered is how many ids of delivered messages that left the
	// local log (MaxMessageHistory) are remembered, in memory, so that a
	// late copy of one (a repair or resend) is a duplicate instead of a
	// second delivery; it still releases messages waiting for it. 0
	// remembers none (the Nim behaviour).
	RememberDelivered int

	// MaxPendingRepairs bounds each of a channel's two SDS-R buffers
	// (repair requests we will make, responses we will give). Entries
	// beyond it are not created, so a peer naming endless unknown ids
	// cannot grow them without limit.
	MaxPendingRepairs int

	// MaxContentSize bounds the content Wrap accepts.
	MaxContentSize int

	// MaxChannels bounds the channels the manager holds in memory. Wrap,
	// Unwrap, WrapSync or EnsureChannel naming a new channel beyond it
	// fails with ErrTooManyChannels (nothing is created), so peers naming
	// endless channels cannot grow memory without limit. Stored channels
	// that are not loaded do not count; RemoveChannel frees a place.
	MaxChannels int

	// WireFormat is the format Wrap produces. Unwrap recognises both.
	WireFormat wire.Format
	// Limits bound what one received message may cost to decode.
	Limits wire.Limits

	// Persistence stores every channel's state so that a new Manager over
	// the same backend resumes where this one stopped: a channel is loaded
	// when first used (Wrap, Unwrap, WrapSync, EnsureChannel; as in Nim,
	// MarkDependenciesMet and ChannelState see only loaded channels) and
	// each operation writes what it changed before its events are handed
	// to the application. A failed write never fails the operation: it is
	// logged, counted (PersistenceStats) and retried with the next
	// operation on the channel. nil: state lives in memory only.
	//
	// The core opens no store: the caller passes one in, e.g. the embedded
	// durable store, bolt.Open(path, &bolt.Options{Limits:
	// cfg.PersistLimits()}) (package sds/persist/bolt). The Manager does
	// not close it (close it after Manager.Close); it must not be shared by
	// two Managers at once.
	Persistence persist.Backend
	// PersistMaxPending bounds the writes one channel keeps for retry
	// while its store fails; beyond it the channel reports
	// EventPersistenceBacklog (writes are kept, not dropped). 0 means
	// persist.DefaultMaxPending.
	PersistMaxPending int

	// Clock supplies time; nil means SystemClock.
	Clock Clock
	// Logger receives the core's diagnostics; the zero value discards them.
	Logger zerolog.Logger
}

// DefaultConfig returns the Nim libsds defaults with an empty participant
// id, but for SDS-R's policy and timing and the log's retention, which are
// this library's (docs/COMPATIBILITY.md T15-T21).
func DefaultConfig() Config {
	return Config{
		BloomCapacity:               DefaultBloomCapacity,
		BloomErrorRate:              DefaultBloomErrorRate,
		BloomAckThreshold:           1,
		MaxMessageHistory:           DefaultMaxMessageHistory,
		MaxLogBytes:                 DefaultMaxLogBytes,
		MaxCausalHistory:            DefaultMaxCausalHistory,
		ResendInterval:              DefaultResendInterval,
		MaxResendAttempts:           DefaultMaxResendAttempts,
		PossiblyAckedResendInterval: DefaultPossiblyAckedResendInterval,
		SyncMessageInterval:         DefaultSyncMessageInterval,
		BufferSweepInterval:         DefaultBufferSweepInterval,
		MaxDependencyWait:           DefaultMaxDependencyWait,
		OnLostDependencies:          LostDeliver,
		MaxIncomingBuffer:           DefaultMaxIncomingBuffer,
		MaxIncomingBytes:            DefaultMaxIncomingBytes,
		RepairTMin:                  DefaultRepairTMin,
		RepairTMax:                  DefaultRepairTMax,
		NumResponseGroups:           DefaultNumResponseGroups,
		MaxRepairRequests:           DefaultMaxRepairRequests,
		RepairSweepInterval:         DefaultRepairSweepInterval,
		RepairRequestSync:           true,
		RepairRetryInterval:         DefaultRepairRetryInterval,
		RepairResponseWindow:        DefaultRepairResponseWindow,
		RepairResponseGrace:         DefaultRepairResponseGrace,
		LogRetention:                DefaultMaxDependencyWait,
		MaxPendingRepairs:           DefaultMaxPendingRepairs,
		RememberDelivered:           DefaultRememberDelivered,
		MaxContentSize:              MaxMessageSize,
		MaxChannels:                 DefaultMaxChannels,
		WireFormat:                  wire.FormatNim,
		Limits:                      wire.DefaultLimits(),
		Clock:                       SystemClock{},
		Logger:                      zerolog.Nop(),
	}
}

// Validate reports the first parameter that cannot work.
func (c *Config) Validate() error {
	if err := c.validateCounts(); err != nil {
		return err
	}
	if err := c.validateDurations(); err != nil {
		return err
	}
	switch {
	case !(c.BloomErrorRate > 0 && c.BloomErrorRate < 1):
		return invalidConfig("BloomErrorRate must be in (0, 1), got %v", c.BloomErrorRate)
	case c.MaxCausalHistory < 0 || c.MaxCausalHistory > c.MaxMessageHistory:
		return invalidConfig("MaxCausalHistory must be in [0, MaxMessageHistory], got %d", c.MaxCausalHistory)
	case c.OnLostDependencies != LostDeliver && c.OnLostDependencies != LostDrop:
		return invalidConfig("unknown OnLostDependencies %d", c.OnLostDependencies)
	case c.RepairTMin < 0 || c.RepairTMax < c.RepairTMin:
		return invalidConfig("need 0 <= RepairTMin <= RepairTMax, got %v and %v", c.RepairTMin, c.RepairTMax)
	case c.RepairPolicy != RepairPrompt && c.RepairPolicy != RepairRFC:
		return invalidConfig("unknown RepairPolicy %d", c.RepairPolicy)
	case c.WireFormat != wire.FormatNim && c.WireFormat != wire.FormatRFC:
		return invalidConfig("unknown WireFormat %d", c.WireFormat)
	case len(c.ParticipantID) > c.limits().MaxIDBytes:
		return invalidConfig("ParticipantID longer than %d bytes", c.limits().MaxIDBytes)
	}
	if _, err := bloom.NimParams(c.BloomCapacity, c.BloomErrorRate); err != nil {
		return invalidConfig("BloomCapacity and BloomErrorRate: %v", err)
	}
	return nil
}

func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// validateCounts checks the integer parameters: each at least its min
// (1: positive, 0: not negative).
func (c *Config) validateCounts() error {
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"BloomCapacity", c.BloomCapacity, 1},
		{"BloomAckThreshold", c.BloomAckThreshold, 1},
		{"MaxMessageHistory", c.MaxMessageHistory, 1},
		{"MaxResendAttempts", c.MaxResendAttempts, 0},
		{"MaxIncomingBuffer", c.MaxIncomingBuffer, 1},
		{"MaxLogBytes", c.MaxLogBytes, 1},
		{"MaxIncomingBytes", c.MaxIncomingBytes, 1},
		{"RememberDelivered", c.RememberDelivered, 0},
		{"MaxPendingRepairs", c.MaxPendingRepairs, 1},
		{"NumResponseGroups", c.NumResponseGroups, 1},
		{"MaxRepairRequests", c.MaxRepairRequests, 0},
		{"MaxContentSize", c.MaxContentSize, 1},
		{"MaxChannels", c.MaxChannels, 1},
		{"PersistMaxPending", c.PersistMaxPending, 0},
	} {
		switch {
		case f.v >= f.min:
		case f.min == 1:
			return invalidConfig("%s must be positive, got %d", f.name, f.v)
		default:
			return invalidConfig("%s must not be negative, got %d", f.name, f.v)
		}
	}
	return nil
}

// validateDurations checks the intervals and waits: each positive, or not
// negative where 0 picks a default (zeroOK).
func (c *Config) validateDurations() error {
	for _, f := range []struct {
		name   string
		v      time.Duration
		zeroOK bool
	}{
		{"ResendInterval", c.ResendInterval, false},
		{"PossiblyAckedResendInterval", c.PossiblyAckedResendInterval, false},
		{"MaxDependencyWait", c.MaxDependencyWait, false},
		{"SyncMessageInterval", c.SyncMessageInterval, false},
		{"BufferSweepInterval", c.BufferSweepInterval, false},
		{"RepairSweepInterval", c.RepairSweepInterval, false},
		{"RepairRetryInterval", c.RepairRetryInterval, false},
		{"AckWindow", c.AckWindow, true},
		{"RepairResponseWindow", c.RepairResponseWindow, true},
		{"RepairResponseGrace", c.RepairResponseGrace, true},
		{"LogRetention", c.LogRetention, true},
	} {
		switch {
		case f.v > 0 || f.v == 0 && f.zeroOK:
		case f.zeroOK:
			return invalidConfig("%s must not be negative, got %v", f.name, f.v)
		default:
			return invalidConfig("%s must be positive, got %v", f.name, f.v)
		}
	}
	return nil
}

// LostDependencyPolicy says what becomes of a received message whose
// dependencies stayed missing for MaxDependencyWait.
type LostDependencyPolicy uint8

const (
	// LostDeliver delivers it anyway: the lost ids count as present from
	// then on (as if marked met, but without entering the bloom filter:
	// we do not have them), so it and whatever waits on it are delivered,
	// and a later copy of a lost message is ignored as a duplicate.
	LostDeliver LostDependencyPolicy = iota
	// LostDrop drops it undelivered. Messages waiting on it then wait on
	// its id, and are reported lost in their turn.
	LostDrop
)

var lostPolicyNames = []string{LostDeliver: "deliver", LostDrop: "drop"}

func (p LostDependencyPolicy) String() string {
	return enumname.String(lostPolicyNames, p, "LostDependencyPolicy")
}

// ParseLostDependencyPolicy returns the policy String names: "deliver"
// or "drop".
func ParseLostDependencyPolicy(name string) (LostDependencyPolicy, error) {
	return enumname.Parse[LostDependencyPolicy](lostPolicyNames, name, "lost-dependency policy")
}

// RepairPolicy says what a participant does around the SDS-R times T_req
// and T_resp (the formulas, which peers agree on, are the same in both).
type RepairPolicy uint8

const (
	// RepairPrompt heals in seconds: a due request is handed out at once
	// (with RepairRequestSync) and retried every RepairRetryInterval until
	// the message arrives; another participant's request postpones ours
	// rather than cancelling it; the original sender answers at once and
	// the others only when a request is repeated without an answer seen
	// (RepairResponseGrace, RepairResponseWindow); a peer's sync message
	// makes the original senders answer what its bloom filter lacks.
	RepairPrompt RepairPolicy = iota
	// RepairRFC follows the RFC and the Nim library: a request is sent
	// once, dropped RepairTMax after T_req if never sent, and cancelled by
	// another participant's; every group member answers at T_resp over
	// RepairTMax.
	RepairRFC
)

var repairPolicyNames = []string{RepairPrompt: "prompt", RepairRFC: "rfc"}

// ParseRepairPolicy returns the policy String names: "prompt" or "rfc".
func ParseRepairPolicy(name string) (RepairPolicy, error) {
	return enumname.Parse[RepairPolicy](repairPolicyNames, name, "repair policy")
}

func (p RepairPolicy) String() string { return enumname.String(repairPolicyNames, p, "RepairPolicy") }

// limits returns the decode limits with zero fields replaced by defaults.
func (c *Config) limits() wire.Limits { return c.Limits.WithDefaults() }
