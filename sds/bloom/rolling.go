package bloom

import "fmt"

// capacityFlexPercent is Nim's CapacityFlexPercent.
const capacityFlexPercent = 20

// Rolling is Nim's RollingBloomFilter: a Filter plus every added id in
// insertion order. When an Add takes the list past MaxCapacity, the filter
// is rebuilt with capacity MaxCapacity (same error rate) from the newest
// MinCapacity ids, and the older ids are forgotten. Note the first filter has
// capacity n and every rebuilt one MaxCapacity, so sizes change once.
//
// Each id is kept in a ring as its first bit index and step in the filter
// every roll-over builds (capacity MaxCapacity), 8 bytes, so Add is O(1)
// amortised and a roll-over never rehashes. A Rolling from NewRolling
// keeps the ids themselves too (IDs); one from NewRollingKeys does not,
// and keeps no reference to the caller's strings. Not safe for concurrent
// use.
type Rolling struct {
	capacity, minCap, maxCap int
	errorRate                float64
	filter                   *Filter
	mMax                     int64      // mBits at capacity maxCap
	ring                     []rollBase // the ids held, by their bases in mMax
	ids                      []string   // beside ring, unless keysOnly
	keysOnly                 bool
	head, n                  int
}

// rollBase is base(h1, h2, mMax) of an id: in (-mMax, mMax), negative only
// after Nim's abs(MinInt64), and mMax < 2^31 (MaxFilterBytes).
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
	return &Rolling{capacity: capacity, minCap: minCap, maxCap: maxCap, errorRate: errorRate, filter: f, mMax: int64(p.MBits)}, nil
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
	a, b := base(k.h1, k.h2, r.mMax)
	if r.filter.m == r.mMax {
		r.filter.setIndexes(a, b)
	} else {
		r.filter.AddKey(k) // the first filter, capacity n
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

// Contains reports whether id may be in the filter.
func (r *Rolling) Contains(id string) bool { return r.filter.Contains(id) }

// ContainsKey is Contains with a precomputed Key.
func (r *Rolling) ContainsKey(k Key) bool { return r.filter.ContainsKey(k) }

// Clean is Nim's clean: a no-op unless more than MaxCapacity ids are held;
// otherwise keep the newest MinCapacity ids and rebuild the filter from them
// with capacity MaxCapacity.
func (r *Rolling) Clean() {
	if r.n <= r.maxCap {
		return
	}
	if r.filter.capacity == r.maxCap && r.filter.errorRate == r.errorRate {
		r.filter.Reset()
	} else {
		p, _ := NimParams(r.maxCap, r.errorRate) // validated in NewRolling
		r.filter = newFromParams(p)
	}
	drop := r.n - min(r.minCap, r.n)
	for i := 0; i < drop && r.ids != nil; i++ {
		r.ids[r.slot(i)] = "" // release the id strings
	}
	r.head = r.slot(drop)
	r.n -= drop
	for i := 0; i < r.n; i++ {
		rb := r.ring[r.slot(i)]
		r.filter.setIndexes(int64(rb.a), int64(rb.b))
	}
}

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

// Filter is the current filter, for serialization. It is modified in place
// by later Adds and roll-overs; do not keep it across them.
func (r *Rolling) Filter() *Filter { return r.filter }

// Reset forgets every id and returns to the initial filter of capacity n.
func (r *Rolling) Reset() {
	clear(r.ids)
	r.head, r.n = 0, 0
	if r.filter.capacity == r.capacity {
		r.filter.Reset()
	} else {
		p, _ := NimParams(r.capacity, r.errorRate) // validated in NewRolling
		r.filter = newFromParams(p)
	}
}
