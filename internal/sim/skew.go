package sim

import (
	"math/rand/v2"
	"time"

	"github.com/libsds-go/libsds/sds"
)

// skewedClock is a participant's view of the shared virtual clock, offset
// by a fixed amount: Now is shifted, timers are not (they are durations).
type skewedClock struct {
	*sds.ManualClock
	offset time.Duration
}

func (c skewedClock) Now() time.Time { return c.ManualClock.Now().Add(c.offset) }

// clockOffsets draws each participant's offset, uniform in [-skew, skew].
func clockOffsets(n int, skew time.Duration, seed uint64) []time.Duration {
	out := make([]time.Duration, n)
	if skew <= 0 {
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ce3))
	for p := range out {
		out[p] = time.Duration(rng.Int64N(2*int64(skew)+1)) - skew
	}
	return out
}

// participantClock is the clock participant p's manager reads.
func (r *run) participantClock(p int) sds.Clock {
	if r.offsets[p] == 0 {
		return r.clk
	}
	return skewedClock{ManualClock: r.clk, offset: r.offsets[p]}
}
