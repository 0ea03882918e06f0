package bloom

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// rawFilter builds a serialized filter with arbitrary field values; a
// negative value omits the field.
func rawFilter(nbytes int, capacity, errPPM, k, m int64) []byte {
	var b []byte
	if nbytes >= 0 {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, bytes.Repeat([]byte{0xff}, nbytes))
	}
	for i, v := range []int64{capacity, errPPM, k, m} {
		if v >= 0 {
			b = protowire.AppendTag(b, protowire.Number(i+2), protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	good, _ := New(100, 0.01)
	good.Add("x")
	enc := good.AppendSerialized(nil)
	huge := protowire.AppendVarint(protowire.AppendTag(rawFilter(8, 1, 1, -1, 10), 4, protowire.VarintType), math.MaxUint64)
	cases := map[string][]byte{
		"empty":              nil,
		"truncated":          enc[:len(enc)-1],
		"truncated words":    enc[:20],
		"only header":        enc[:3],
		"k=0":                rawFilter(8, 10, 1000, 0, 10),
		"k=65":               rawFilter(8, 10, 1000, 65, 10),
		"k=2^32":             rawFilter(8, 10, 1000, 1<<32, 10),
		"k=maxuint64":        huge,
		"mBits=0":            rawFilter(8, 10, 1000, 3, 0),
		"mBits beyond words": rawFilter(8, 10, 1000, 3, 65),
		"mBits huge":         rawFilter(8, 10, 1000, 3, math.MaxInt64),
		"no words":           rawFilter(0, 10, 1000, 3, 10),
		"words not x8":       rawFilter(12, 10, 1000, 3, 64),
		"too many words":     rawFilter(24, 10, 1000, 3, 64), // Nim: 2 words
		"over MaxFilterBytes": rawFilter(MaxFilterBytes+8, 10, 1000, 3,
			(MaxFilterBytes+8)*8-1),
		"missing field 1":    rawFilter(-1, 10, 1000, 3, 10),
		"missing capacity":   rawFilter(8, -1, 1000, 3, 10),
		"missing error rate": rawFilter(8, 10, -1, 3, 10),
		"missing k":          rawFilter(8, 10, 1000, -1, 10),
		"missing mBits":      rawFilter(8, 10, 1000, 3, -1),
		"capacity > int64":   append(rawFilter(8, -1, 1000, 3, 10), protowire.AppendVarint([]byte{0x10}, math.MaxUint64)...),
		"error rate > 1":     rawFilter(8, 10, 1_000_001, 3, 10),
		"wrong wire type k":  append(rawFilter(8, 10, 1000, -1, 10), 0x22, 0x01, 0x03),
		"wrong wire type 1":  append(rawFilter(-1, 10, 1000, 3, 10), 0x08, 0x01),
		"bad tag":            {0x00},
		"varint overflow":    append(rawFilter(8, 10, 1000, 3, -1), 0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"unknown truncated":  append(rawFilter(8, 10, 1000, 3, 10), 0x32, 0x05, 0x00),
	}
	for name, b := range cases {
		f, err := Decode(b)
		if err == nil {
			t.Errorf("%s: accepted %+v", name, f.Params())
			continue
		}
		if !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("%s: error %v does not wrap ErrInvalidFilter", name, err)
		}
	}
}

func TestDecodeAccepts(t *testing.T) {
	cases := map[string][]byte{
		"exact words for mBits=64 (Nim allocates 2)": rawFilter(16, 10, 1000, 3, 64),
		"minimal words for mBits=64":                 rawFilter(8, 10, 1000, 3, 64),
		"mBits=1":                                    rawFilter(8, 0, 0, 1, 1),
		"k=64":                                       rawFilter(8, 1, 1, 64, 20),
		"unknown fields":                             append(append(rawFilter(8, 10, 1000, 3, 10), 0x32, 0x02, 0xaa, 0xbb), 0x38, 0x05),
		"error rate exactly 1":                       rawFilter(8, 10, 1_000_000, 3, 10),
		"fields reordered/repeated":                  append(rawFilter(8, 10, 1000, 99, 10), rawFilter(-1, -1, -1, 3, -1)...),
	}
	for name, b := range cases {
		f, err := Decode(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, id := range []string{"", "a", "hello", "xyz"} {
			_ = f.Contains(id)
		}
		g, err := Decode(f.AppendSerialized(nil))
		if err != nil || !g.Equal(f) {
			t.Errorf("%s: round trip: %v", name, err)
		}
	}
	if f, _ := Decode(cases["fields reordered/repeated"]); f.Params().K != 3 {
		t.Errorf("last occurrence should win, k=%d", f.Params().K)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, c := range []struct {
		n int
		p float64
	}{{1, 0.01}, {10, 0.5}, {64, 0.5}, {100, 0.1}, {10000, 0.001}, {3, 0.000249}} {
		f, err := New(c.n, c.p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < c.n; i++ {
			f.Add(fmt.Sprint("id-", i))
		}
		enc, _ := f.MarshalBinary()
		g, err := Decode(enc)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if !g.Equal(f) {
			t.Fatalf("%v: not equal", c)
		}
		for i := 0; i < c.n; i++ {
			if !g.Contains(fmt.Sprint("id-", i)) {
				t.Fatalf("%v: lost id-%d", c, i)
			}
		}
		// Decoding does not alias the input.
		clear(enc)
		if !g.Equal(f) {
			t.Fatalf("%v: decoded filter aliases input", c)
		}
	}
}

func TestUnmarshalReuse(t *testing.T) {
	a, _ := New(10000, 0.001)
	a.Add("x")
	b, _ := New(100, 0.01)
	b.Add("y")
	var f Filter
	if f.Contains("x") {
		t.Error("zero filter contains")
	}
	f.Add("x") // no-op, no panic
	if err := f.UnmarshalBinary(a.AppendSerialized(nil)); err != nil || !f.Equal(a) {
		t.Fatal(err)
	}
	p := &f.bits[0]
	if err := f.UnmarshalBinary(b.AppendSerialized(nil)); err != nil || !f.Equal(b) {
		t.Fatal(err)
	}
	if &f.bits[0] != p {
		t.Error("bit array not reused")
	}
	if err := f.UnmarshalBinary([]byte{1, 2, 3}); err == nil || !f.Equal(b) {
		t.Error("failed decode modified the filter")
	}
	if !f.Contains("y") {
		t.Error("contains")
	}
}

func TestDecodeRFC(t *testing.T) {
	f, _ := NewRFC(DefaultCapacity, DefaultErrorRate)
	f.Add("a")
	b := f.Bytes()
	if len(b) != 2344*8 {
		t.Fatalf("len %d", len(b))
	}
	for _, n := range []int{0, 1, len(b) - 8, len(b) - 1, len(b) + 1, len(b) + 8} {
		bad := make([]byte, n)
		if _, err := DecodeRFC(bad, DefaultCapacity, DefaultErrorRate); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("len %d: %v", n, err)
		}
	}
	if _, err := DecodeRFC(b, 0, 0.001); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("bad params: %v", err)
	}
	g, err := DecodeRFC(b, DefaultCapacity, DefaultErrorRate)
	if err != nil || !bytes.Equal(g.Bytes(), b) || !g.Contains("a") {
		t.Fatal(err)
	}
	clear(b)
	if !g.Contains("a") {
		t.Error("aliases input")
	}
	var z RFCFilter
	z.Add("a")
	if z.Contains("a") || len(z.Bytes()) != 0 {
		t.Error("zero RFCFilter")
	}
	g.Reset()
	if g.Contains("a") {
		t.Error("Reset")
	}
}
