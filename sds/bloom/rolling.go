package bloom

import (
	"fmt"
	"math"
)

// capacityFlexPercent is Nim's CapacityFlexPercent.
const capacityFlexPercent = 20

// Rolling is Nim's RollingBloomFilter: a Filter plus every added id in
// insertion order. When an Add takes the list past MaxCapacity, the filter
// is rebuilt with capacity MaxCapacity (same error rate) from the newest
// MinCapacity ids, and the older ids are forgotten. Note the first filter has
// capacity n and every rebuilt one MaxCapacity, so sizes change once.
//
// Each id is kept in a ring as its first bit index and step modulo mRing,
// 8 bytes, so Add is O(1) amortised and a roll-over never rehashes. mRing
// is a multiple of the size of every rebuilt filter, so the filter's bits
// after a roll-over are a function of the ring; when it fits in 31 bits
// (always at capacities divisible by 5, the default included: 6 times the
// first filter's size) it is also a multiple of the first filter's size,
// and the ring determines that one too. Then the bits need not be kept: ReleaseFilter drops them and
// Filter rebuilds them from the ring. A Rolling from NewRolling keeps the
// ids themselves too (IDs); one from NewRollingKeys does not, and keeps
// no reference to the caller's strings. Not safe for concurrent use.
type Rolling struct {
	capacity, minCap, maxCap int
	errorRate                float64
	first, rolled            Params     // of the first filter and of every rebuilt one
	rolledOver               bool       // the filter has the rolled parameters
	filter                   *Filter    // nil while released
	mRing                    int64      // ring bases are mod this
	ringMod                  modulus    // mRing
	firstInRing              bool       // mRing is a multiple of the first filter's size
	reduce                   modulus    // the current filter's size, to reduce ring bases
	ring                     []rollBase // the ids held, by their bases mod mRing
	ids                      []string   // beside ring, unless keysOnly
	keysOnly                 bool
	head, n                  int
}

// rollBase is base(h1, h2, mRing) of an id: in (-mRing, mRing), negative
// only after Nim's abs(MinInt64), and mRing < 2^31.
type rollBase struct{ a, b int32 }

// NewRolling is Nim's RollingBloomFilter.init. Unlike Nim, which silently
// substitutes the defaults (10000, 0.001) for a capacity <= 0 or an error
// rate outside (0,1), it returns an error and lets the caller choose.
func NewRolling(capacity int, errorRate float64) (*Rolling, error) {
	f, err := New(capacity, errorRate)
	if err != nil {
		return nil, err
	}
	// Nim: (n.float * (100 - 20).float / 100.0).int, truncating.
	minCap := int(float64(capacity) * float64(100-capacityFlexPercent) / 100.0)
	maxCap := int(float64(capacity) * float64(100+capacityFlexPercent) / 100.0)
	// Validate the roll-over filter now so Clean cannot fail later.
	p, err := NimParams(maxCap, errorRate)
	if err != nil {
		return nil, fmt.Errorf("rolling filter max capacity %d: %w", maxCap, err)
	}
	r := &Rolling{capacity: capacity, minCap: minCap, maxCap: maxCap, errorRate: errorRate,
		first: f.Params(), rolled: p, filter: f, mRing: int64(p.MBits)}
	if l := lcm(int64(r.first.MBits), r.mRing); l <= math.MaxInt32 {
		r.mRing = l // 900,000 at the defaults: 6 × 150,000 = 5 × 180,000
	}
	r.firstInRing = r.mRing%int64(r.first.MBits) == 0
	r.ringMod = newModulus(uint64(r.mRing))
	r.reduce = newModulus(uint64(r.first.MBits))
	return r, nil
}

func lcm(a, b int64) int64 {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b // below 2^46: both sizes are below 2^23 (MaxFilterBytes)
}

// NewRollingKeys is NewRolling for a filter that keeps no ids, only their
// Keys: the same filter, rolling over at the same points, but IDs returns
// nil.
func NewRollingKeys(capacity int, errorRate float64) (*Rolling, error) {
	r, err := NewRolling(capacity, errorRate)
	if r != nil {
		r.keysOnly = true
	}
	return r, err
}

// Capacity, MinCapacity and MaxCapacity report n, trunc(0.8n), trunc(1.2n).
func (r *Rolling) Capacity() int    { return r.capacity }
func (r *Rolling) MinCapacity() int { return r.minCap }
func (r *Rolling) MaxCapacity() int { return r.maxCap }

// Add inserts id, rolling over if the list grows past MaxCapacity.
func (r *Rolling) Add(id string) { r.AddKey(id, KeyOf(id)) }

// AddKey is Add with id's precomputed Key (which must be KeyOf(id)).
func (r *Rolling) AddKey(id string, k Key) {
	a, b := r.ringMod.base(k)
	switch {
	case r.filter == nil: // released: the ring alone records the id
	case r.rebuildable():
		r.setBits(rollBase{int32(a), int32(b)})
	default:
		r.filter.AddKey(k) // the first filter, whose size does not divide mRing
	}
	if r.n == len(r.ring) {
		r.grow()
	}
	r.ring[r.slot(r.n)] = rollBase{int32(a), int32(b)}
	if !r.keysOnly {
		r.ids[r.slot(r.n)] = id
	}
	r.n++
	if r.n > r.maxCap {
		r.Clean()
	}
}

func (r *Rolling) slot(i int) int {
	i += r.head
	if i >= len(r.ring) {
		i -= len(r.ring)
	}
	return i
}

// grow doubles the ring, up to the most it can ever hold (maxCap+1), so an
// idle channel does not pay for a full-size ring.
func (r *Rolling) grow() {
	size := max(2*len(r.ring), 16)
	size = min(size, r.maxCap+1)
	size = max(size, r.n+1)
	ring := make([]rollBase, size)
	var ids []string
	if !r.keysOnly {
		ids = make([]string, size)
	}
	for i := 0; i < r.n; i++ {
		ring[i] = r.ring[r.slot(i)]
		if ids != nil {
			ids[i] = r.ids[r.slot(i)]
		}
	}
	r.ring, r.ids, r.head = ring, ids, 0
}

// setBits sets an id's bits in the filter, whose size divides mRing.
func (r *Rolling) setBits(rb rollBase) {
	a, b := int64(rb.a), int64(rb.b)
	switch m := r.filter.m; {
	case m == r.mRing:
	case a >= 0 && b >= 0:
		a, b = int64(r.reduce.of(uint64(a))), int64(r.reduce.of(uint64(b)))
	default:
		a, b = a%m, b%m // after abs(MinInt64): Go's truncated mod, as base's
	}
	r.filter.setIndexes(a, b)
}

// Contains reports whether id may be in the filter (rebuilding released
// bits).
func (r *Rolling) Contains(id string) bool { return r.Filter().Contains(id) }

// ContainsKey is Contains with a precomputed Key.
func (r *Rolling) ContainsKey(k Key) bool { return r.Filter().ContainsKey(k) }

// Clean is Nim's clean: a no-op unless more than MaxCapacity ids are held;
// otherwise keep the newest MinCapacity ids and rebuild the filter from them
// with capacity MaxCapacity (only when its bits are kept).
func (r *Rolling) Clean() {
	if r.n <= r.maxCap {
		return
	}
	drop := r.n - min(r.minCap, r.n)
	for i := 0; i < drop && r.ids != nil; i++ {
		r.ids[r.slot(i)] = "" // release the id strings
	}
	r.head = r.slot(drop)
	r.n -= drop
	r.rolledOver, r.reduce = true, newModulus(uint64(r.rolled.MBits))
	if r.filter != nil {
		r.refill()
	}
}

// refill makes the filter an empty one of the current parameters (reusing
// the bits when their size is unchanged) holding the ids of the ring,
// which must determine it (a multiple of its size).
func (r *Rolling) refill() {
	p := r.Params()
	if r.filter != nil && r.filter.capacity == p.Capacity && r.filter.errorRate == p.ErrorRate {
		r.filter.Reset()
	} else {
		r.filter = newFromParams(p)
	}
	for i := 0; i < r.n; i++ {
		r.setBits(r.ring[r.slot(i)])
	}
}

// Params are the current filter's parameters, released or not.
func (r *Rolling) Params() Params {
	if r.rolledOver {
		return r.rolled
	}
	return r.first
}

// rebuildable reports whether the ring determines the current filter.
func (r *Rolling) rebuildable() bool { return r.rolledOver || r.firstInRing }

// ReleaseFilter drops the filter's bits if the ring determines them (see
// Rolling), reporting whether it did: until Filter, Contains or
// ContainsKey rebuilds them, an Add or roll-over only updates the ring.
func (r *Rolling) ReleaseFilter() bool {
	if !r.rebuildable() {
		return false
	}
	r.filter = nil
	return true
}

// Released reports whether the filter's bits are released.
func (r *Rolling) Released() bool { return r.filter == nil }

// Len is the number of ids held.
func (r *Rolling) Len() int { return r.n }

// IDs returns the ids held, oldest first; nil from NewRollingKeys.
func (r *Rolling) IDs() []string {
	if r.keysOnly {
		return nil
	}
	ids := make([]string, r.n)
	for i := range ids {
		ids[i] = r.ids[r.slot(i)]
	}
	return ids
}

// Filter is the current filter, for serialization, rebuilt from the ring
// if released (and then kept). It is modified in place by later Adds and
// roll-overs; do not keep it across them or a ReleaseFilter.
func (r *Rolling) Filter() *Filter {
	if r.filter == nil {
		r.refill()
	}
	return r.filter
}

// Reset forgets every id and returns to the initial filter of capacity n,
// released if it was and the ring determines it.
func (r *Rolling) Reset() {
	clear(r.ids)
	r.head, r.n = 0, 0
	r.rolledOver, r.reduce = false, newModulus(uint64(r.first.MBits))
	if r.filter != nil || !r.rebuildable() {
		r.refill() // empty: the ring holds nothing
	}
}
