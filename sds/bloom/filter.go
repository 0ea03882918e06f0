package bloom

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Key caches the two Nim hashes of an id, H(id) and H(id+" b"), so the id
// can be probed against many filters of any size without rehashing.
type Key struct {
	h1, h2 int64
}

// KeyOf hashes id once for use with AddKey/ContainsKey. It does not allocate
// for ids of up to 254 bytes.
func KeyOf(id string) Key {
	return Key{h1: NimHash(id), h2: nimHashSuffixB(id)}
}

// Filter is a Nim-format bloom filter. The bits are kept as the
// little-endian bytes of Nim's 64-bit words (bit j is byte j>>3, bit j&7),
// which is exactly the serialized field, so encoding is one copy.
//
// The zero Filter is empty and contains nothing. A Filter is not safe for
// concurrent mutation; concurrent Contains calls are fine.
type Filter struct {
	capacity  int
	errorRate float64
	errPPM    uint64 // serialized error rate (field 3), kept so decode/encode round-trips
	k         int
	m         int64 // mBits
	bits      []byte
}

// New builds an empty filter with Nim's parameters for (capacity, errorRate).
func New(capacity int, errorRate float64) (*Filter, error) {
	p, err := NimParams(capacity, errorRate)
	if err != nil {
		return nil, err
	}
	return newFromParams(p), nil
}

func newFromParams(p Params) *Filter {
	f := new(Filter)
	f.reinit(p)
	return f
}

// reinit makes f an empty filter with parameters p, reusing its bit array
// when it fits without holding on to much more memory than p needs.
func (f *Filter) reinit(p Params) {
	f.capacity, f.errorRate = p.Capacity, p.ErrorRate
	// Nim: uint64(errorRate * 1_000_000), a truncating conversion.
	f.errPPM = uint64(p.ErrorRate * 1_000_000)
	f.k, f.m = p.K, int64(p.MBits)
	n := p.Words * 8
	if c := cap(f.bits); c >= n && c <= 2*n+64 {
		f.bits = f.bits[:n]
		clear(f.bits)
		return
	}
	f.bits = make([]byte, n)
}

// Params reports the filter's parameters; for a decoded filter, as received
// (ErrorRate is the serialized value / 1e6, as Nim reads it).
func (f *Filter) Params() Params {
	return Params{Capacity: f.capacity, ErrorRate: f.errorRate, K: f.k, MBits: int(f.m), Words: len(f.bits) / 8}
}

// Add inserts id.
func (f *Filter) Add(id string) {
	if f.m > 0 {
		f.AddKey(KeyOf(id))
	}
}

// AddKey inserts the id k was computed from.
func (f *Filter) AddKey(k Key) {
	m := f.m
	if m <= 0 {
		return
	}
	a, b := base(k.h1, k.h2, m)
	f.setIndexes(a, b)
}

// setIndexes sets the k bits of an id whose first index is a and step b
// (both mod mBits, as base returns them).
func (f *Filter) setIndexes(a, b int64) {
	m, bits := f.m, f.bits
	if a >= 0 && b >= 0 {
		// abs(a+i*b) mod m == (a+i*b) mod m here: step instead of divide,
		// without a branch (x+b < 2m; m-1-x < 0 exactly when x >= m).
		x := a
		for i := 0; i < f.k; i++ {
			bits[x>>3] |= 1 << (x & 7)
			x += b
			x -= m & ((m - 1 - x) >> 63)
		}
		return
	}
	for i := 0; i < f.k; i++ {
		x := slowIndex(a, b, i, m)
		bits[x>>3] |= 1 << (x & 7)
	}
}

// Contains reports whether id may have been added (false positives at about
// the error rate, never false negatives).
func (f *Filter) Contains(id string) bool {
	if f.m <= 0 {
		return false
	}
	return f.ContainsKey(KeyOf(id))
}

// ContainsKey is Contains for a precomputed Key: two divisions and k bit
// tests, so checking many ids against one received filter is cheap.
func (f *Filter) ContainsKey(k Key) bool {
	if f.m <= 0 {
		return false
	}
	a, b := base(k.h1, k.h2, f.m)
	return f.probe(a, b)
}

// Probe is a Key with its first bit index and step cached for one filter
// size, so testing the same id against many received filters of that size
// (every peer's, in practice) costs no division.
type Probe struct {
	key   Key
	tag   int64 // m of the filter size cached; -1 for none
	a, b  int64
	first int   // byte holding bit a
	mask  uint8 // bit a within it
}

// NewProbe returns an empty cache for k. Use it rather than a zero Probe,
// which holds no key.
func NewProbe(k Key) Probe { return Probe{key: k, tag: -1} }

// ContainsProbe is ContainsKey for p's key, reusing and refreshing p's
// cache. Its first test is small enough to inline: most ids a filter does
// not hold fail there.
func (f *Filter) ContainsProbe(p *Probe) bool {
	if p.tag == f.m && f.bits[p.first]&p.mask == 0 {
		return false
	}
	return f.containsProbe(p)
}

func (f *Filter) containsProbe(p *Probe) bool {
	if f.m <= 0 {
		return false
	}
	if p.tag != f.m {
		p.a, p.b = base(p.key.h1, p.key.h2, f.m)
		p.tag, p.first, p.mask = -1, 0, 0
		if p.a >= 0 { // a < 0 only after abs(MinInt64): always take this path
			p.tag, p.first, p.mask = f.m, int(p.a>>3), 1<<(p.a&7)
		}
	}
	return f.probe(p.a, p.b)
}

func (f *Filter) probe(a, b int64) bool {
	m, bits := f.m, f.bits
	if a >= 0 && b >= 0 {
		x := a
		for i := 0; i < f.k; i++ {
			if bits[x>>3]&(1<<(x&7)) == 0 {
				return false
			}
			if x += b; x >= m {
				x -= m
			}
		}
		return true
	}
	for i := 0; i < f.k; i++ {
		x := slowIndex(a, b, i, m)
		if bits[x>>3]&(1<<(x&7)) == 0 {
			return false
		}
	}
	return true
}

// slowIndex is Nim's abs(a + i*b) mod m literally; needed only when a hash
// was math.MinInt64 (abs wraps, so a or b is negative). |a+i*b| < k*m keeps
// it far from overflow, so the result is in [0, m).
func slowIndex(a, b int64, i int, m int64) int64 {
	return nimAbs(a+int64(i)*b) % m
}

// Reset clears all bits, keeping the parameters.
func (f *Filter) Reset() { clear(f.bits) }

// Equal reports whether two filters have the same parameters and bits.
func (f *Filter) Equal(g *Filter) bool {
	return f.capacity == g.capacity && f.errPPM == g.errPPM && f.k == g.k &&
		f.m == g.m && string(f.bits) == string(g.bits)
}

// SerializedLen is len(AppendSerialized(nil)).
func (f *Filter) SerializedLen() int {
	return 1 + protowire.SizeBytes(len(f.bits)) +
		1 + protowire.SizeVarint(uint64(f.capacity)) +
		1 + protowire.SizeVarint(f.errPPM) +
		1 + protowire.SizeVarint(uint64(f.k)) +
		1 + protowire.SizeVarint(uint64(f.m))
}

// AppendSerialized appends Nim's serializeBloomFilter form: 1 = words
// (little-endian bytes), 2 = capacity, 3 = trunc(errorRate*1e6), 4 = k,
// 5 = mBits; all always written, in that order.
func (f *Filter) AppendSerialized(dst []byte) []byte {
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	dst = protowire.AppendBytes(dst, f.bits)
	dst = protowire.AppendTag(dst, 2, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(f.capacity))
	dst = protowire.AppendTag(dst, 3, protowire.VarintType)
	dst = protowire.AppendVarint(dst, f.errPPM)
	dst = protowire.AppendTag(dst, 4, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(f.k))
	dst = protowire.AppendTag(dst, 5, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(f.m))
	return dst
}

// MarshalBinary is AppendSerialized(nil).
func (f *Filter) MarshalBinary() ([]byte, error) {
	return f.AppendSerialized(make([]byte, 0, f.SerializedLen())), nil
}

// Decode parses a serialized Nim filter from an untrusted peer. The result
// does not reference b.
func Decode(b []byte) (*Filter, error) {
	f := new(Filter)
	if err := f.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return f, nil
}

// UnmarshalBinary is Decode into f, reusing f's bit array when it is large
// enough (a manager can keep one Filter for received filters). On error f is
// unchanged.
//
// Accepted: what Nim's deserializeBloomFilter accepts, minus what would
// crash or exhaust it: all five fields present (last occurrence wins,
// unknown fields skipped), a words field of whole 64-bit words, at most
// MaxFilterBytes, holding every index below mBits and no more words than Nim
// allocates (1 + mBits/64), 1 <= k <= MaxHashes, capacity fitting an int and
// error rate at most 1 (neither is used for indexing).
func (f *Filter) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidFilter)
	}
	words, v, err := filterFields(b)
	if err != nil {
		return err
	}
	capacity, errPPM, k, m := v[2], v[3], v[4], v[5]
	if err := checkShape(len(words), k, m); err != nil {
		return err
	}
	if capacity > math.MaxInt {
		return fmt.Errorf("%w: capacity %d", ErrInvalidFilter, capacity)
	}
	if errPPM > 1_000_000 {
		return fmt.Errorf("%w: error rate %d/1e6 above 1", ErrInvalidFilter, errPPM)
	}
	f.capacity = int(capacity)
	f.errPPM = errPPM
	f.errorRate = float64(errPPM) / 1_000_000
	f.k = int(k)
	f.m = int64(m)
	if cap(f.bits) >= len(words) {
		f.bits = f.bits[:len(words)]
		copy(f.bits, words)
	} else {
		f.bits = append([]byte(nil), words...) // copy: b may be freed later
	}
	return nil
}

// filterFields reads the five fields of a serialized filter: the words
// (field 1, aliasing b) and the varints of fields 2 to 5 (capacity, error
// rate in ppm, k, m) in v[2:6].
func filterFields(b []byte) (words []byte, v [6]uint64, err error) {
	var seen uint8
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, v, fmt.Errorf("%w: bad tag: %v", ErrInvalidFilter, protowire.ParseError(n))
		}
		b = b[n:]
		if num >= 1 && num <= 5 {
			want := protowire.VarintType
			if num == 1 {
				want = protowire.BytesType
			}
			if typ != want {
				return nil, v, fmt.Errorf("%w: field %d has wire type %d", ErrInvalidFilter, num, typ)
			}
			seen |= 1 << num
		}
		switch {
		case num == 1:
			w, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, v, fmt.Errorf("%w: words: %v", ErrInvalidFilter, protowire.ParseError(n))
			}
			words, b = w, b[n:]
		case num >= 2 && num <= 5:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, v, fmt.Errorf("%w: field %d: %v", ErrInvalidFilter, num, protowire.ParseError(n))
			}
			v[num], b = x, b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, v, fmt.Errorf("%w: field %d: %v", ErrInvalidFilter, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if seen != 0b111110 {
		return nil, v, fmt.Errorf("%w: missing fields (present mask %06b, need 1-5)", ErrInvalidFilter, seen)
	}
	return words, v, nil
}

// checkShape validates the sizes an index computation relies on.
func checkShape(nbytes int, k, m uint64) error {
	if nbytes%8 != 0 {
		return fmt.Errorf("%w: %d bytes is not a whole number of 64-bit words", ErrInvalidFilter, nbytes)
	}
	if nbytes > MaxFilterBytes {
		return fmt.Errorf("%w: %d bytes exceeds limit %d", ErrInvalidFilter, nbytes, MaxFilterBytes)
	}
	if k < 1 || k > MaxHashes {
		return fmt.Errorf("%w: k=%d not in 1..%d", ErrInvalidFilter, k, MaxHashes)
	}
	if m == 0 {
		return fmt.Errorf("%w: mBits is 0", ErrInvalidFilter)
	}
	words := uint64(nbytes / 8)
	if m > words*64 {
		return fmt.Errorf("%w: mBits=%d needs more than the %d words present", ErrInvalidFilter, m, words)
	}
	if words > 1+m/64 {
		return fmt.Errorf("%w: %d words, more than the %d Nim allocates for mBits=%d", ErrInvalidFilter, words, 1+m/64, m)
	}
	return nil
}
