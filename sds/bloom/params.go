// Package bloom implements the bloom filters of SDS: the Nim libsds filter
// (FarmHash-based, protobuf-serialized, bit-exact with nim-sds), the
// TypeScript/RFC filter (MurmurHash3-based, raw big-endian words, bit-exact
// with js-waku @waku/sds), and the Nim rolling filter built on the former.
//
// Received filters are untrusted: Decode and DecodeRFC validate everything an
// index computation relies on, so a decoded filter can never panic, and their
// cost is bounded by the input size and the limits below.
package bloom

import (
	"errors"
	"fmt"
	"math"
)

// Limits applied to every filter, built or decoded. Nim has none; a hostile
// k or size would make it allocate or loop without bound.
const (
	// MaxHashes bounds k. Optimal k reaches 64 only for error rates near
	// 1e-19, so no sane configuration is refused.
	MaxHashes = 64
	// MaxFilterBytes bounds the bit array (the words, 8 bytes each). At the
	// default error rate 0.001 it fits a capacity of about 559,000 ids;
	// the default filter (10000, 0.001) is 18,752 bytes.
	MaxFilterBytes = 1 << 20
)

// Defaults of the Nim library (PROTOCOL §6).
const (
	DefaultCapacity  = 10000
	DefaultErrorRate = 0.001
)

var (
	// ErrInvalidParams is wrapped by errors from NimParams and constructors.
	ErrInvalidParams = errors.New("bloom: invalid parameters")
	// ErrInvalidFilter is wrapped by every Decode/DecodeRFC error.
	ErrInvalidFilter = errors.New("bloom: invalid filter")
)

// Params of a Nim bloom filter (PROTOCOL §2 formulas). The TypeScript filter
// uses the same formulas.
type Params struct {
	Capacity  int
	ErrorRate float64
	K         int
	MBits     int
	Words     int
}

// NimParams computes the parameters Nim's initializeBloomFilter picks for
// (capacity, errorRate) with k chosen optimally.
func NimParams(capacity int, errorRate float64) (Params, error) {
	if capacity <= 0 {
		return Params{}, fmt.Errorf("%w: capacity %d must be positive", ErrInvalidParams, capacity)
	}
	if !(errorRate > 0 && errorRate < 1) {
		return Params{}, fmt.Errorf("%w: error rate %v not in (0,1)", ErrInvalidParams, errorRate)
	}
	// Same operations, same order as Nim: ceil(-1.0*(ln(p)/pow(ln(2),2))).
	// pow(x, 2) is exactly x*x in glibc.
	ln2 := math.Ln2
	bitsPerElem := math.Ceil(-1.0 * (math.Log(errorRate) / (ln2 * ln2)))
	k := math.Round(ln2 * bitsPerElem)
	if k > MaxHashes {
		return Params{}, fmt.Errorf("%w: error rate %v needs k=%v hashes, limit %d", ErrInvalidParams, errorRate, k, MaxHashes)
	}
	bpe := int(bitsPerElem) // at most ~92 here since k <= 64
	if capacity > (MaxFilterBytes*8)/bpe {
		return Params{}, fmt.Errorf("%w: capacity %d at error rate %v exceeds %d filter bytes", ErrInvalidParams, capacity, errorRate, MaxFilterBytes)
	}
	m := capacity * bpe
	words := 1 + m/64 // Nim: one word more than needed when m%64 == 0
	if words*8 > MaxFilterBytes {
		return Params{}, fmt.Errorf("%w: capacity %d at error rate %v exceeds %d filter bytes", ErrInvalidParams, capacity, errorRate, MaxFilterBytes)
	}
	return Params{Capacity: capacity, ErrorRate: errorRate, K: int(k), MBits: m, Words: words}, nil
}

// Prober is satisfied by every filter here: Filter, RFCFilter and Rolling.
type Prober interface {
	Contains(id string) bool
}

var (
	_ Prober = (*Filter)(nil)
	_ Prober = (*RFCFilter)(nil)
	_ Prober = (*Rolling)(nil)
)

// nimAbs is Nim's abs with overflow checks off: abs(minInt) wraps to minInt,
// exactly like Go's negation.
func nimAbs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// base returns hashA and hashB of Nim's hashN for modulus m (m > 0):
// abs(h) mod m, with Nim's truncated mod.
func base(h1, h2, m int64) (a, b int64) {
	return nimAbs(h1) % m, nimAbs(h2) % m
}
