package sds

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
)

// keptCompact is compactFilter with the rolling filter's bits always
// kept (as before they were released between bursts): the reference.
type keptCompact struct{ *compactFilter }

func (f keptCompact) appendWire(dst []byte) []byte {
	f.expire()
	full := f.rolling.Filter()
	if w := f.window.Filter(full.Params().MBits); w != nil {
		return w.AppendSerialized(dst)
	}
	return full.AppendSerialized(dst)
}

func (f keptCompact) clean() { f.rolling.Clean(); f.expire() }
func (f keptCompact) reset() { f.rolling.Reset(); f.window.Reset() }

func newTestCompact(t *testing.T, capacity int, clk Clock) *compactFilter {
	cfg := DefaultConfig()
	cfg.Clock, cfg.BloomCapacity, cfg.AckWindow = clk, capacity, 10*time.Second
	r, err := bloom.NewRollingKeys(cfg.BloomCapacity, cfg.BloomErrorRate)
	if err != nil {
		t.Fatal(err)
	}
	f, err := newCompactFilter(r, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The compact filter builds the rolling filter's bits only for a burst
// and releases them after: what it sends is byte for byte what it sent
// with the bits always kept, through bursts (the whole rolling filter
// sent), calm spells (the window's), roll-overs, sweeps and a Reset.
func TestCompactFilterLazyBitsSendSameBytes(t *testing.T) {
	for _, capacity := range []int{100, DefaultBloomCapacity} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			clk := NewManualClock(time.Unix(1_700_000_000, 0))
			lazy := newTestCompact(t, capacity, clk)
			kept := keptCompact{newTestCompact(t, capacity, clk)}
			kept.rolling.Filter() // built once, never released
			if !lazy.rolling.Released() {
				t.Fatal("a new compact filter holds the rolling filter's bits")
			}
			rng := rand.New(rand.NewPCG(uint64(capacity), 2))
			steps := 12 * capacity
			checkEvery := max(1, capacity/200)
			var sent, full int
			rebuilt := map[bool]int{} // by whether the rolling filter rolled over
			burst, phaseEnd := false, 0
			for i := range steps {
				if i == phaseEnd { // bursts (ids far faster than the window lets go) and calm spells
					burst, phaseEnd = !burst, i+capacity+rng.IntN(capacity)
				}
				if burst {
					clk.Advance(time.Duration(rng.IntN(100)) * time.Microsecond)
				} else { // the window holds about capacity/8 ids
					clk.Advance(time.Duration(rng.IntN(160)) * time.Second / time.Duration(capacity))
				}
				id := fmt.Sprintf("%d-%d", capacity, i)
				lazy.add(id, bloom.KeyOf(id))
				kept.add(id, bloom.KeyOf(id))
				switch {
				case i == steps/2:
					lazy.reset()
					kept.reset()
				case rng.IntN(50) == 0:
					lazy.clean()
					kept.clean()
				}
				if rng.IntN(checkEvery) != 0 {
					continue
				}
				wasReleased := lazy.rolling.Released()
				got, want := lazy.appendWire(nil), kept.appendWire(nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("step %d: sent %d bytes, with the bits kept %d (or differing)", i, len(got), len(want))
				}
				sent++
				if len(want) > kept.rolling.Params().Words*8 {
					full++
					if wasReleased {
						rebuilt[kept.rolling.Params().Capacity != capacity]++
					}
				}
			}
			if full == 0 || full == sent || rebuilt[false] == 0 || rebuilt[true] == 0 {
				t.Fatalf("%d filters sent, %d whole (rebuilt from the ring: %d before a roll-over, %d after): the test exercised too little",
					sent, full, rebuilt[false], rebuilt[true])
			}
			burstThenIdle(t, lazy, kept, clk, capacity)
		})
	}
}

// burstThenIdle makes the rolling filter's bits needed, then lets the
// window empty: the next sweep releases them, and the bytes sent agree.
func burstThenIdle(t *testing.T, lazy *compactFilter, kept keptCompact, clk *ManualClock, capacity int) {
	t.Helper()
	for i := 0; i < 2*capacity && lazy.rolling.Released(); i++ { // a last burst
		id := fmt.Sprint("last-", i)
		lazy.add(id, bloom.KeyOf(id))
		kept.add(id, bloom.KeyOf(id))
		lazy.appendWire(nil)
		kept.appendWire(nil)
	}
	if lazy.rolling.Released() {
		t.Fatal("a burst sent without the rolling filter's bits")
	}
	clk.Advance(lazy.span + 1) // then an idle spell
	lazy.clean()
	kept.clean()
	if !lazy.rolling.Released() {
		t.Error("after a burst, a sweep of a channel whose window emptied keeps the rolling filter's bits")
	}
	if !bytes.Equal(lazy.appendWire(nil), kept.appendWire(nil)) {
		t.Error("after a burst and an idle spell, the filters sent differ")
	}
}
