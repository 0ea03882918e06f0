package bloom

import (
	"bytes"
	"testing"

	"github.com/libsds-go/libsds/internal/vectors"
)

var fuzzProbes = []string{"", "a", "m10-0", "roll-30", "js-1", "ünïcödé-id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}

func FuzzDecode(f *testing.F) {
	if v, err := vectors.LoadNim(); err == nil {
		for _, c := range v.BloomFilters {
			if len(c.SerializedHex) < 4096 {
				f.Add(vectors.Hex(c.SerializedHex))
			}
		}
		f.Add(vectors.Hex(v.RollingBloom.SerializedHex))
	}
	f.Add(rawFilter(8, 10, 1000, 0, 10))
	f.Add(rawFilter(8, 10, 1000, 3, 0))
	f.Add(rawFilter(8, 10, 1000, 3, 65))
	f.Add(rawFilter(16, 10, 1000, 64, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode(b)
		if err != nil {
			return
		}
		if d.SerializedLen() > len(b)+64 || len(d.bits) > len(b) {
			t.Fatalf("decoded filter larger than input: %d vs %d", d.SerializedLen(), len(b))
		}
		for _, id := range fuzzProbes {
			_ = d.Contains(id)
		}
		_ = d.Contains(string(b))
		enc := d.AppendSerialized(nil)
		if len(enc) != d.SerializedLen() {
			t.Fatalf("SerializedLen %d, appended %d", d.SerializedLen(), len(enc))
		}
		e, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !e.Equal(d) || !bytes.Equal(e.AppendSerialized(nil), enc) {
			t.Fatal("round trip changed the filter")
		}
		d.Add(string(b))
		if !d.Contains(string(b)) {
			t.Fatal("false negative")
		}
	})
}

func FuzzDecodeRFC(f *testing.F) {
	if v, err := vectors.LoadJS(); err == nil {
		f.Add(vectors.Hex(v.Bloom.BytesHex), v.Bloom.Capacity, v.Bloom.ErrorRate)
	}
	f.Add(make([]byte, 8), 1, 0.01)
	f.Add([]byte{}, 0, 0.0)
	f.Add(make([]byte, 16), 10, 0.5)
	f.Fuzz(func(t *testing.T, b []byte, capacity int, errorRate float64) {
		if capacity > 1<<20 {
			// Keep the fuzzer from spending its time allocating big
			// filters that the length check then rejects.
			capacity %= 1 << 20
		}
		d, err := DecodeRFC(b, capacity, errorRate)
		if err != nil {
			return
		}
		if len(d.Bytes()) != len(b) || !bytes.Equal(d.Bytes(), b) {
			t.Fatal("bytes changed")
		}
		for _, id := range fuzzProbes {
			_ = d.Contains(id)
		}
		d.Add(string(b))
		if !d.Contains(string(b)) {
			t.Fatal("false negative")
		}
	})
}
