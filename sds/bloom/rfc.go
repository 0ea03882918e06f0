package bloom

import (
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// jsMurmur is the string hash of js-waku's hashN: Nim's JavaScript-backend
// hash (MurmurHash3 x86 32-bit, seed 0, result read as int32), fed not the
// UTF-8 bytes but one unit per code point: the code point's first UTF-16
// code unit (JS: Array.from(s).map(c => c.charCodeAt(0))). For ASCII that is
// the bytes; for other text it is what that library actually hashes. Units
// wider than a byte are OR-ed into the 32-bit block unmasked, as the JS does.
// Invalid UTF-8 counts as U+FFFD per bad byte.
func jsMurmur(s string, suffixB bool) int32 {
	st := murmurUnits(s)
	if suffixB {
		st.unit(' ')
		st.unit('b')
	}
	return st.sum()
}

// jsMurmurPair is (jsMurmur(s, false), jsMurmur(s, true)) in one pass: the
// streaming state after s is shared.
func jsMurmurPair(s string) (int32, int32) {
	st := murmurUnits(s)
	h1 := st.sum()
	st.unit(' ')
	st.unit('b')
	return h1, st.sum()
}

func murmurUnits(s string) murmurState {
	var st murmurState
	i := 0
	for ; i+4 <= len(s); i += 4 {
		// ASCII fast path: a whole block of one-byte units.
		w := uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
		if w&0x80808080 != 0 {
			break
		}
		st.block(w)
		st.n += 4
	}
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			st.unit(uint32(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r = 0xd800 + (r-0x10000)>>10 // high surrogate
		}
		st.unit(uint32(r))
	}
	return st
}

// murmurState is MurmurHash3 x86_32 fed one unit at a time.
type murmurState struct {
	h, blk, n, fill uint32
}

func (st *murmurState) block(k uint32) {
	k = bits.RotateLeft32(k*0xcc9e2d51, 15) * 0x1b873593
	st.h = bits.RotateLeft32(st.h^k, 13)*5 + 0xe6546b64
}

func (st *murmurState) unit(u uint32) {
	st.blk |= u << (8 * st.fill)
	st.n++
	if st.fill++; st.fill == 4 {
		st.block(st.blk)
		st.blk, st.fill = 0, 0
	}
}

func (st murmurState) sum() int32 {
	h := st.h
	if st.fill > 0 {
		h ^= bits.RotateLeft32(st.blk*0xcc9e2d51, 15) * 0x1b873593
	}
	return int32(fmix32(h ^ st.n))
}

// fmix32 is MurmurHash3's finalizer.
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	return h ^ h>>16
}

// RFCKey caches the two hashes of an id for RFCFilter, like Key does for
// Filter.
type RFCKey struct {
	h1, h2 int32
}

// RFCKeyOf hashes id once for RFCFilter.AddKey/ContainsKey. It does not
// allocate.
func RFCKeyOf(id string) RFCKey {
	h1, h2 := jsMurmurPair(id)
	return RFCKey{h1: h1, h2: h2}
}

// RFCFilter is the TypeScript (js-waku) filter that travels in the RFC wire
// format: raw 64-bit words, big-endian, no parameters (both sides must agree
// on capacity and error rate; js-waku uses 10000 and 0.001). The bits are
// stored as those bytes: bit j is byte (j>>3)^7, bit j&7.
type RFCFilter struct {
	p    Params
	bits []byte
}

// NewRFC builds an empty TypeScript-format filter; parameters are computed
// as NimParams does (the TypeScript constructor uses the same formulas).
func NewRFC(capacity int, errorRate float64) (*RFCFilter, error) {
	p, err := NimParams(capacity, errorRate)
	if err != nil {
		return nil, err
	}
	return &RFCFilter{p: p, bits: make([]byte, p.Words*8)}, nil
}

// Params reports the filter's parameters.
func (f *RFCFilter) Params() Params { return f.p }

// Add inserts id.
func (f *RFCFilter) Add(id string) {
	if f.p.MBits > 0 {
		f.AddKey(RFCKeyOf(id))
	}
}

// AddKey inserts the id k was computed from.
func (f *RFCFilter) AddKey(k RFCKey) {
	m := int64(f.p.MBits)
	if m <= 0 {
		return
	}
	a, b := base(int64(k.h1), int64(k.h2), m) // int32 inputs: a, b >= 0
	x := a
	for i := 0; i < f.p.K; i++ {
		f.bits[(x>>3)^7] |= 1 << (x & 7)
		if x += b; x >= m {
			x -= m
		}
	}
}

// Contains reports whether id may have been added.
func (f *RFCFilter) Contains(id string) bool {
	if f.p.MBits <= 0 {
		return false
	}
	return f.ContainsKey(RFCKeyOf(id))
}

// ContainsKey is Contains for a precomputed RFCKey.
func (f *RFCFilter) ContainsKey(k RFCKey) bool {
	m := int64(f.p.MBits)
	if m <= 0 {
		return false
	}
	a, b := base(int64(k.h1), int64(k.h2), m)
	x := a
	for i := 0; i < f.p.K; i++ {
		if f.bits[(x>>3)^7]&(1<<(x&7)) == 0 {
			return false
		}
		if x += b; x >= m {
			x -= m
		}
	}
	return true
}

// Reset clears all bits.
func (f *RFCFilter) Reset() { clear(f.bits) }

// Bytes returns a copy of the wire form: the words, big-endian.
func (f *RFCFilter) Bytes() []byte { return f.AppendBytes(make([]byte, 0, len(f.bits))) }

// AppendBytes appends the wire form.
func (f *RFCFilter) AppendBytes(dst []byte) []byte { return append(dst, f.bits...) }

// DecodeRFC reads a TypeScript-format filter received from an untrusted
// peer; its length must be exactly the words of (capacity, errorRate). (The
// TypeScript reader throws on fewer bytes and ignores extra ones.) Bad
// parameters give ErrInvalidParams, a bad length ErrInvalidFilter. The
// result does not reference b.
func DecodeRFC(b []byte, capacity int, errorRate float64) (*RFCFilter, error) {
	f, err := NewRFC(capacity, errorRate)
	if err != nil {
		return nil, err
	}
	if err := f.SetBytes(b); err != nil {
		return nil, err
	}
	return f, nil
}

// SetBytes replaces the filter's bits with a received wire form of the same
// parameters, reusing the bit array. On error f is unchanged.
func (f *RFCFilter) SetBytes(b []byte) error {
	if len(b) != len(f.bits) {
		return fmt.Errorf("%w: %d bytes, want %d for capacity %d, error rate %v",
			ErrInvalidFilter, len(b), len(f.bits), f.p.Capacity, f.p.ErrorRate)
	}
	copy(f.bits, b)
	return nil
}
