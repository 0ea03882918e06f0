package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/libsds-go/libsds/sds"
)

// Config describes one simulated run.
type Config struct {
	// Participants share every channel; each runs its own sds.Manager.
	Participants int
	// Channels each participant serves; every message goes to one of them,
	// chosen at random.
	Channels int
	// Messages is how many content messages the whole group sends.
	Messages int
	// SendRate is each participant's mean rate of new messages, per
	// virtual second (gaps are exponential). Sending stops once Messages
	// have been sent.
	SendRate float64
	// ContentSize is the application payload of each message, in bytes.
	ContentSize int
	// SDSR turns SDS-R repair on: participants get a ParticipantID.
	// Without it ParticipantID is empty, which disables SDS-R in the core.
	SDSR bool
	// Seed makes the run reproducible: the same Config gives the same
	// Result (but for wall time and memory).
	Seed uint64

	Network Network

	// Drain bounds the virtual time the run goes on after the last send
	// (resends, repairs, giving up on lost dependencies). The run stops
	// earlier once the network and every participant's buffers are empty.
	Drain time.Duration

	// Protocol is the template of each participant's sds.Config; the
	// simulator sets Clock and ParticipantID. Start from
	// sds.DefaultConfig().
	Protocol sds.Config

	// MemSamples is how many times during the run the heap is measured
	// for the peak-memory estimate (each reads the live heap the last GC
	// marked; a full GC measures it once more at the end); 0 measures only
	// the retained memory at the end, -1 nothing.
	MemSamples int
	// BinWidth is the width of the time-series bins (Result.Series); zero
	// means 10 s.
	BinWidth time.Duration

	// Observer, if set, sees everything that happens (tests use it to
	// check the run independently of the metrics).
	Observer Observer
	// Progress, if set, is called now and then with the virtual time done
	// and the virtual time the run is expected to take.
	Progress func(done, total time.Duration)
}

// Network is the simulated broadcast network. Each broadcast is copied to
// every other participant; each copy is lost or delayed on its own.
type Network struct {
	// Loss is the probability that one copy is lost.
	Loss float64
	// Delay is the base latency of a copy; Jitter adds a uniform random
	// latency in [0, Jitter), which already reorders messages.
	Delay  time.Duration
	Jitter time.Duration
	// Reorder is the probability that a copy is held back by a further
	// uniform random latency in [0, ReorderDelay), overtaken by later ones.
	Reorder      float64
	ReorderDelay time.Duration
	// Partitions split the participants for a while; each heals at its end.
	Partitions []Partition
	// Outages take single participants off the network for a while.
	Outages []Outage
	// Churn adds random outages: Churn.Fraction of the participants each
	// go offline once, for Churn.Duration, at a random time while
	// messages are being sent.
	Churn Churn
	// ClockSkew sets each participant's wall clock off the true time by a
	// fixed amount drawn uniformly from [-ClockSkew, ClockSkew]: Lamport
	// timestamps start from these clocks; timers are unaffected.
	ClockSkew time.Duration
}

// Partition splits the participants into Groups groups (participant p is
// in group p mod Groups) from At to At+Duration (virtual time since the
// start): copies between groups are lost.
type Partition struct {
	At       time.Duration `json:"at_ns"`
	Duration time.Duration `json:"duration_ns"`
	Groups   int           `json:"groups"`
}

// Outage takes Participant off the network from At to At+Duration: what
// it broadcasts reaches nobody, and copies for it are lost. Its
// application and its SDS core keep running (it keeps sending, and its
// unacknowledged messages are resent), like a phone out of coverage.
type Outage struct {
	Participant int           `json:"participant"`
	At          time.Duration `json:"at_ns"`
	Duration    time.Duration `json:"duration_ns"`
}

// Churn describes random outages.
type Churn struct {
	Fraction float64       `json:"fraction"`
	Duration time.Duration `json:"duration_ns"`
}

// DefaultConfig is a group of 100 sending 10,000 messages in all at one
// message per 10 s each (10 a second for the group) over one channel, on
// a network with 100-500 ms of latency and no loss (churn, when its
// fraction is set, takes participants offline for 3 minutes), with SDS-R,
// the Nim library's protocol defaults and a 30-minute drain.
func DefaultConfig() Config {
	return Config{
		Participants: 100,
		Channels:     1,
		Messages:     10000,
		SendRate:     0.1,
		ContentSize:  100,
		SDSR:         true,
		Seed:         1,
		Network: Network{
			Delay:        100 * time.Millisecond,
			Jitter:       400 * time.Millisecond,
			ReorderDelay: 2 * time.Second,
			Churn:        Churn{Duration: 3 * time.Minute},
		},
		Drain:      30 * time.Minute,
		Protocol:   sds.DefaultConfig(),
		MemSamples: 64,
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("sim: "+format, args...) }
	n := c.Network
	switch {
	case c.Participants < 2:
		return bad("need at least 2 participants, got %d", c.Participants)
	case c.Channels < 1:
		return bad("need at least 1 channel, got %d", c.Channels)
	case c.Messages < 0:
		return bad("messages must not be negative, got %d", c.Messages)
	case !(c.SendRate > 0):
		return bad("send rate must be positive, got %v", c.SendRate)
	case c.ContentSize < 1:
		return bad("content size must be at least 1 byte, got %d", c.ContentSize)
	case !(n.Loss >= 0 && n.Loss <= 1):
		return bad("loss must be in [0, 1], got %v", n.Loss)
	case !(n.Reorder >= 0 && n.Reorder <= 1):
		return bad("reorder must be in [0, 1], got %v", n.Reorder)
	case n.Delay < 0 || n.Jitter < 0 || n.ReorderDelay < 0 || n.ClockSkew < 0:
		return bad("delay, jitter, reorder delay and clock skew must not be negative")
	case !(n.Churn.Fraction >= 0 && n.Churn.Fraction <= 1):
		return bad("churn fraction must be in [0, 1], got %v", n.Churn.Fraction)
	case n.Churn.Fraction > 0 && n.Churn.Duration <= 0:
		return bad("churn needs a positive duration")
	case c.Drain < 0:
		return bad("drain must not be negative")
	}
	for _, p := range n.Partitions {
		if p.Groups < 2 || p.Duration <= 0 || p.At < 0 {
			return bad("partition %+v: need at >= 0, a positive duration and at least 2 groups", p)
		}
	}
	for _, o := range n.Outages {
		if o.Participant < 0 || o.Participant >= c.Participants || o.Duration <= 0 || o.At < 0 {
			return bad("outage %+v: need a participant in [0, %d), at >= 0 and a positive duration", o, c.Participants)
		}
	}
	cfg := c.Protocol
	cfg.Clock = sds.NewManualClock(time.Time{})
	if c.SDSR {
		cfg.ParticipantID = participantID(c.Participants - 1)
	}
	if err := cfg.Validate(); err != nil {
		return errors.Join(errors.New("sim: protocol"), err)
	}
	return nil
}

func participantID(p int) string { return fmt.Sprintf("participant-%d", p) }

func channelID(c int) string { return fmt.Sprintf("channel-%d", c) }
