package bloom

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// FarmHash "na" Hash64, which is what Fingerprint64 computes and what Nim 2's
// hashes.hash(string) uses on 64-bit targets. It is written here rather than
// called from github.com/dgryski/go-farm because that package's amd64
// assembly makes every argument escape, so hashing id+" b" from a stack
// buffer would allocate on every call. The tests cross-check it against
// go-farm and the Nim vectors.

const (
	fk0 = 0xc3a5c85c97cb3127
	fk1 = 0xb492b66fbe98f273
	fk2 = 0x9ae16a3b2f90404f
)

func f64(s []byte, i int) uint64 { return binary.LittleEndian.Uint64(s[i:]) }
func f32(s []byte, i int) uint64 { return uint64(binary.LittleEndian.Uint32(s[i:])) }

func ror(v uint64, r int) uint64 { return bits.RotateLeft64(v, -r) }

func shiftMix(v uint64) uint64 { return v ^ (v >> 47) }

func hashLen16(u, v, mul uint64) uint64 {
	a := (u ^ v) * mul
	a ^= a >> 47
	b := (v ^ a) * mul
	b ^= b >> 47
	return b * mul
}

func hashLen0to16(s []byte) uint64 {
	n := len(s)
	switch {
	case n >= 8:
		mul := fk2 + uint64(n)*2
		a := f64(s, 0) + fk2
		b := f64(s, n-8)
		c := ror(b, 37)*mul + a
		d := (ror(a, 25) + b) * mul
		return hashLen16(c, d, mul)
	case n >= 4:
		mul := fk2 + uint64(n)*2
		a := f32(s, 0)
		return hashLen16(uint64(n)+(a<<3), f32(s, n-4), mul)
	case n > 0:
		a, b, c := uint32(s[0]), uint32(s[n>>1]), uint32(s[n-1])
		y := a + b<<8
		z := uint32(n) + c<<2
		return shiftMix(uint64(y)*fk2^uint64(z)*fk0) * fk2
	}
	return fk2
}

// lenWords reads the four words hashLen17to32 and hashLen33to64 start
// from (the first scaled by k) and their multiplier.
func lenWords(s []byte, k uint64) (a, b, c, d, mul uint64) {
	n := len(s)
	mul = fk2 + uint64(n)*2
	return f64(s, 0) * k, f64(s, 8), f64(s, n-8) * mul, f64(s, n-16) * fk2, mul
}

func hashLen17to32(s []byte) uint64 {
	a, b, c, d, mul := lenWords(s, fk1)
	return hashLen16(ror(a+b, 43)+ror(c, 30)+d, a+ror(b+fk2, 18)+c, mul)
}

func weakHashLen32WithSeeds(s []byte, i int, a, b uint64) (uint64, uint64) {
	w, x, y, z := f64(s, i), f64(s, i+8), f64(s, i+16), f64(s, i+24)
	a += w
	b = ror(b+a+z, 21)
	c := a
	a += x
	a += y
	b += ror(a, 44)
	return a + z, b + c
}

func hashLen33to64(s []byte) uint64 {
	n := len(s)
	a, b, c, d, mul := lenWords(s, fk2)
	y := ror(a+b, 43) + ror(c, 30) + d
	z := hashLen16(y, a+ror(b+fk2, 18)+c, mul)
	e := f64(s, 16) * mul
	f := f64(s, 24)
	g := (y + f64(s, n-32)) * mul
	h := (z + f64(s, n-24)) * mul
	return hashLen16(ror(e+f, 43)+ror(g, 30)+h, e+ror(f+a, 18)+g, mul)
}

func farmHash64(s []byte) uint64 {
	n := len(s)
	if n <= 16 {
		return hashLen0to16(s)
	}
	if n <= 32 {
		return hashLen17to32(s)
	}
	if n <= 64 {
		return hashLen33to64(s)
	}
	seed := uint64(81)
	x := seed
	y := seed*fk1 + 113
	z := shiftMix(y*fk2+113) * fk2
	var v1, v2, w1, w2 uint64
	x = x*fk2 + f64(s, 0)
	end := ((n - 1) / 64) * 64
	last64 := end + ((n - 1) & 63) - 63
	for p := 0; p != end; p += 64 {
		x = ror(x+y+v1+f64(s, p+8), 37) * fk1
		y = ror(y+v2+f64(s, p+48), 42) * fk1
		x ^= w2
		y += v1 + f64(s, p+40)
		z = ror(z+w1, 33) * fk1
		v1, v2 = weakHashLen32WithSeeds(s, p, v2*fk1, x+w1)
		w1, w2 = weakHashLen32WithSeeds(s, p+32, z+w2, y+f64(s, p+16))
		z, x = x, z
	}
	mul := fk1 + ((z & 0xff) << 1)
	p := last64
	w1 += uint64((n - 1) & 63)
	v1 += w1
	w1 += v1
	x = ror(x+y+v1+f64(s, p+8), 37) * mul
	y = ror(y+v2+f64(s, p+48), 42) * mul
	x ^= w2 * 9
	y += v1*9 + f64(s, p+40)
	z = ror(z+w1, 33) * mul
	v1, v2 = weakHashLen32WithSeeds(s, p, v2*mul, x+w1)
	w1, w2 = weakHashLen32WithSeeds(s, p+32, z+w2, y+f64(s, p+16))
	z, x = x, z
	return hashLen16(hashLen16(v1, w1, mul)+shiftMix(y)*fk0+z, hashLen16(v2, w2, mul)+x, mul)
}

// NimHash is Nim 2's hashes.hash(string) on 64-bit: FarmHash Fingerprint64
// reinterpreted as int64. SDS-R timing and the Nim bloom filter use it.
func NimHash(s string) int64 {
	return int64(farmHash64(unsafe.Slice(unsafe.StringData(s), len(s))))
}

// suffixBuf is the stack buffer size for id+" b"; longer ids allocate.
const suffixBuf = 256

// nimHashSuffixB is NimHash(s + " b") without allocating for short ids.
func nimHashSuffixB(s string) int64 {
	var buf [suffixBuf]byte
	var b []byte
	if len(s)+2 <= len(buf) {
		b = buf[:0]
	} else {
		b = make([]byte, 0, len(s)+2)
	}
	b = append(b, s...)
	b = append(b, ' ', 'b')
	return int64(farmHash64(b))
}
