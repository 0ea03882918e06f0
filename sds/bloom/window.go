package bloom

import (
	"fmt"
	"math"
	"math/bits"
)

// Window is a Nim-format filter over the ids added within a sliding span
// of time, sized for its error rate at the number of ids it holds
// (WindowParams for a capacity a little above that number). A receiver
// reads k and mBits from each filter it is sent, so any such filter
// answers its lookups (PROTOCOL.md §2.1).
//
// Ids are kept with their Keys and times, oldest first; Expire forgets
// those added before a time. The filter is kept incrementally: an Add
// sets k bits while the filter has room, and it is rebuilt from the kept
// Keys (no rehashing) only when the ids it holds, the expired ones still
// in it included, would exceed its capacity, or when the window shrank
// well below it. Times are any monotonic count (the caller's choice of
// unit); ids must be added in time order.
//
// Not safe for concurrent use.
type Window struct {
	errorRate float64
	bitsPerID int // Nim's, at errorRate: a window filter has at least this many bits per id of its capacity
	maxIDs    int // kept at most; a longer window needs a full filter anyway
	ring      []windowEntry
	head, n   int

	f     *Filter // nil until first built
	mod   modulus // f's mBits
	inF   int     // ids whose bits are in f: the kept ones, plus expired ones not yet rebuilt away
	stale bool    // an Add did not fit f
}

type windowEntry struct {
	key Key
	at  int64
}

// Headroom of a rebuilt filter: capacity n + n/windowHeadroomDiv +
// windowMinCapacity, so it is rebuilt after about n/8 more adds; the
// filter is about 12% larger than one sized exactly.
const (
	windowHeadroomDiv  = 8
	windowMinCapacity  = 16
	windowShrinkFactor = 3 // rebuilt smaller once its capacity exceeds 3/2 of the needed one
)

// NewWindow returns an empty window whose filters have WindowParams at
// errorRate. It keeps at most maxIDs ids, dropping the oldest: callers
// must send another filter before the window holds that many (Filter's
// maxBits).
func NewWindow(errorRate float64, maxIDs int) (*Window, error) {
	if maxIDs <= 0 {
		return nil, fmt.Errorf("%w: window of %d ids", ErrInvalidParams, maxIDs)
	}
	if _, err := WindowParams(windowMinCapacity, errorRate); err != nil {
		return nil, err
	}
	p, _ := NimParams(1, errorRate)
	return &Window{errorRate: errorRate, bitsPerID: p.MBits, maxIDs: maxIDs}, nil
}

// windowCapacity is the capacity a filter holding n ids is rebuilt with.
func windowCapacity(n int) int { return n + n/windowHeadroomDiv + windowMinCapacity }

// Add records the id k was computed from, at time at.
func (w *Window) Add(k Key, at int64) {
	if w.n == w.maxIDs {
		w.head = w.slot(1) // forget the oldest: see NewWindow
		w.n--
	}
	if w.n == len(w.ring) {
		w.resize(max(2*len(w.ring), 16))
	}
	w.ring[w.slot(w.n)] = windowEntry{key: k, at: at}
	w.n++
	if w.f != nil && !w.stale && w.inF < w.f.capacity {
		w.add(k)
		w.inF++
		return
	}
	w.stale = true
}

// Expire forgets the ids added before time before. Their bits stay in the
// filter until it is next rebuilt.
func (w *Window) Expire(before int64) {
	for w.n > 0 && w.ring[w.head].at < before {
		w.head = w.slot(1)
		w.n--
	}
	if len(w.ring) > 64 && w.n < len(w.ring)/4 {
		w.resize(len(w.ring) / 2) // an idle channel gives the memory back
	}
}

func (w *Window) slot(i int) int {
	i += w.head
	if i >= len(w.ring) {
		i -= len(w.ring)
	}
	return i
}

// resize moves the kept ids to a ring of size slots (size > n).
func (w *Window) resize(size int) {
	size = min(size, w.maxIDs)
	ring := make([]windowEntry, size)
	for i := 0; i < w.n; i++ {
		ring[i] = w.ring[w.slot(i)]
	}
	w.ring, w.head = ring, 0
}

// Len is the number of ids in the window.
func (w *Window) Len() int { return w.n }

// MinBits is Nim's mBits for the capacity Filter would rebuild the
// window's filter with now (WindowParams picks at least as many),
// without building it.
func (w *Window) MinBits() int { return windowCapacity(w.n) * w.bitsPerID }

// Filter returns a filter holding every id in the window with an error
// rate at most the window's, or nil when that filter would need more than
// maxBits bits (the caller sends a filter of that size instead). The
// filter is the window's own: it changes with later calls.
func (w *Window) Filter(maxBits int) *Filter {
	need := windowCapacity(w.n)
	if w.f != nil && !w.stale && 2*w.f.capacity <= windowShrinkFactor*need {
		return w.f
	}
	if need > maxBits/w.bitsPerID {
		w.stale = true // as below, without the search for a prime
		return nil
	}
	p, err := WindowParams(need, w.errorRate)
	if err != nil || p.MBits > maxBits {
		w.stale = true // rebuilt when the window fits again
		return nil
	}
	w.rebuild(p)
	return w.f
}

// rebuild makes f an empty filter with parameters p holding exactly the
// kept ids.
func (w *Window) rebuild(p Params) {
	if w.f == nil {
		w.f = new(Filter)
	}
	w.f.reinit(p)
	w.mod = newModulus(uint64(p.MBits))
	for i := 0; i < w.n; i++ {
		w.add(w.ring[w.slot(i)].key)
	}
	w.inF, w.stale = w.n, false
}

// add is f.AddKey(k), dividing by multiplication: a rebuild adds every id
// of the window, and two 64-bit divisions per id were most of its cost.
func (w *Window) add(k Key) { w.f.setIndexes(w.mod.base(k)) }

// modulus computes x mod m for x < 2^63 and 0 < m < 2^32 with a
// multiplication by a precomputed reciprocal (Granlund–Montgomery).
type modulus struct{ m, inv uint64 }

func newModulus(m uint64) modulus { return modulus{m: m, inv: math.MaxUint64 / m} }

// base is base(k.h1, k.h2, m).
func (d modulus) base(k Key) (a, b int64) {
	if k.h1 == math.MinInt64 || k.h2 == math.MinInt64 {
		return base(k.h1, k.h2, int64(d.m)) // abs wraps: Nim's literal formula
	}
	return int64(d.of(uint64(nimAbs(k.h1)))), int64(d.of(uint64(nimAbs(k.h2))))
}

// of: inv >= 2^64/m - 1 makes q at most one below x/m (x < 2^63), and
// never above, so one subtraction corrects it.
func (d modulus) of(x uint64) uint64 {
	q, _ := bits.Mul64(x, d.inv)
	r := x - q*d.m
	if r >= d.m {
		r -= d.m
	}
	return r
}

// Reset forgets every id and the filter.
func (w *Window) Reset() {
	w.ring, w.head, w.n = nil, 0, 0
	w.f, w.inF, w.stale = nil, 0, false
}

// WindowParams are the parameters of a window filter for capacity ids at
// errorRate: Nim's k, and for mBits the smallest prime at least Nim's
// mBits (capacity × bits per id) whose false-positive rate, full, is at
// most errorRate. Nim's indexes are a + i·b mod mBits with a, b the two
// hashes mod mBits; for composite mBits a b sharing a large factor with it
// repeats a few indexes, and b = 0 (probability 1/mBits) repeats one:
// negligible at Nim's 150,000 bits, not in a filter of a few hundred.
// A prime leaves b = 0 and steps shared with a held id (terms in 1/mBits,
// windowFalsePositives), which set the least mBits of small filters: 541
// for 16 ids at 0.1%, a 72-byte filter, where Nim's 240 bits answer yes
// for 0.85% of absent ids (TestWindowParamsFalsePositiveRate).
func WindowParams(capacity int, errorRate float64) (Params, error) {
	p, err := NimParams(capacity, errorRate)
	if err != nil {
		return p, err
	}
	m := p.MBits
	for windowFalsePositives(capacity, m, p.K) > errorRate {
		m += m/16 + 1 // both terms fall as m grows
		if m > MaxFilterBytes*8-64 {
			return p, fmt.Errorf("%w: capacity %d at error rate %v needs more than %d filter bytes", ErrInvalidParams, capacity, errorRate, MaxFilterBytes)
		}
	}
	m = nextPrime(m)
	p.MBits, p.Words = m, 1+m/64
	if p.Words*8 > MaxFilterBytes {
		return p, fmt.Errorf("%w: capacity %d at error rate %v needs more than %d filter bytes", ErrInvalidParams, capacity, errorRate, MaxFilterBytes)
	}
	return p, nil
}

// windowFalsePositives bounds the false-positive rate of n ids in a
// filter of prime m bits with k Nim indexes. A probe's indexes are k
// distinct bits, each set with the filter's fill, except (terms in 1/m,
// weighted 1.5 for the rarer cases left out, such as steps that are small
// multiples of each other) when its step b is 0 (one bit) or when one of
// the n ids has the same step ±b and a start within k steps of the
// probe's, so that their indexes overlap.
func windowFalsePositives(n, m, k int) float64 {
	fm := float64(m)
	fill := -math.Expm1(float64(k) * float64(n) * math.Log1p(-1/fm))
	sameStep := 2 * float64(n) / fm * (1 + fill) / (1 - fill)
	return math.Pow(fill, float64(k)) + 1.5*(fill+sameStep)/fm
}

// nextPrime is the smallest prime >= n (n < 2^31 here: trial division is
// a few microseconds, once per rebuild).
func nextPrime(n int) int {
	if n <= 2 {
		return 2
	}
	if n%2 == 0 {
		n++
	}
	for ; ; n += 2 {
		prime := true
		for d := 3; d*d <= n; d += 2 {
			if n%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			return n
		}
	}
}
