package bloom

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/libsds-go/libsds/internal/vectors"
)

func loadNim(t testing.TB) *vectors.Nim { return vectors.Must(t, vectors.LoadNim) }
func loadJS(t testing.TB) *vectors.JS   { return vectors.Must(t, vectors.LoadJS) }

func TestVectorsNimStringHash(t *testing.T) {
	v := loadNim(t)
	if len(v.NimStringHash) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.NimStringHash {
		in := vectors.Hex(c.InputHex)
		if got := NimHashBytes(in); got != c.Hash {
			t.Errorf("NimHashBytes(%x) = %d, want %d", in, got, c.Hash)
		}
		if got := NimHash(string(in)); got != c.Hash {
			t.Errorf("NimHash(%x) = %d, want %d", in, got, c.Hash)
		}
	}
}

func TestVectorsBloomParams(t *testing.T) {
	v := loadNim(t)
	for _, c := range v.BloomParams {
		p, err := NimParams(c.Capacity, c.ErrorRate)
		if err != nil {
			t.Errorf("NimParams(%d, %v): %v", c.Capacity, c.ErrorRate, err)
			continue
		}
		want := Params{Capacity: c.Capacity, ErrorRate: c.ErrorRate, K: c.KHashes, MBits: c.MBits, Words: c.Words}
		if p != want {
			t.Errorf("NimParams(%d, %v) = %+v, want %+v", c.Capacity, c.ErrorRate, p, want)
		}
		f, _ := New(c.Capacity, c.ErrorRate)
		if f.Params() != want {
			t.Errorf("New(%d, %v).Params() = %+v", c.Capacity, c.ErrorRate, f.Params())
		}
	}
}

func TestVectorsBloomFilters(t *testing.T) {
	v := loadNim(t)
	if len(v.BloomFilters) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.BloomFilters {
		f, err := New(c.Capacity, c.ErrorRate)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range c.Inserted {
			f.Add(id)
		}
		want := vectors.Hex(c.SerializedHex)
		got := f.AppendSerialized(nil)
		if !bytes.Equal(got, want) {
			t.Errorf("filter(%d, %v): serialized differs\n got %s\nwant %s", c.Capacity, c.ErrorRate, short(got), short(want))
		}
		if f.SerializedLen() != len(want) {
			t.Errorf("SerializedLen = %d, want %d", f.SerializedLen(), len(want))
		}
		d, err := Decode(want)
		if err != nil {
			t.Fatalf("Decode(vector %d, %v): %v", c.Capacity, c.ErrorRate, err)
		}
		if !d.Equal(f) {
			t.Errorf("decoded filter differs from built: %+v vs %+v", d.Params(), f.Params())
		}
		if re := d.AppendSerialized(nil); !bytes.Equal(re, want) {
			t.Errorf("re-serialized decoded filter differs")
		}
		fps := 0
		for _, p := range c.Probes {
			if got := f.Contains(p.ID); got != p.Contains {
				t.Errorf("built(%d).Contains(%q) = %v, want %v", c.Capacity, p.ID, got, p.Contains)
			}
			if got := d.Contains(p.ID); got != p.Contains {
				t.Errorf("decoded(%d).Contains(%q) = %v, want %v", c.Capacity, p.ID, got, p.Contains)
			}
			if got := d.ContainsKey(KeyOf(p.ID)); got != p.Contains {
				t.Errorf("decoded(%d).ContainsKey(%q) = %v, want %v", c.Capacity, p.ID, got, p.Contains)
			}
			if p.Contains && !contains(c.Inserted, p.ID) {
				fps++
			}
		}
		t.Logf("filter(%d, %v): %d probes, %d false positives", c.Capacity, c.ErrorRate, len(c.Probes), fps)
	}
}

func TestVectorsRolling(t *testing.T) {
	v := loadNim(t)
	c := v.RollingBloom
	r, err := NewRolling(c.Capacity, c.ErrorRate)
	if err != nil {
		t.Fatal(err)
	}
	if r.MinCapacity() != c.MinCapacity || r.MaxCapacity() != c.MaxCapacity {
		t.Errorf("min/max = %d/%d, want %d/%d", r.MinCapacity(), r.MaxCapacity(), c.MinCapacity, c.MaxCapacity)
	}
	for _, id := range c.Added {
		r.Add(id)
	}
	if got := r.IDs(); !equalStrings(got, c.Kept) {
		t.Errorf("kept %q, want %q", got, c.Kept)
	}
	if r.Len() != len(c.Kept) {
		t.Errorf("Len = %d", r.Len())
	}
	want := vectors.Hex(c.SerializedHex)
	if got := r.Filter().AppendSerialized(nil); !bytes.Equal(got, want) {
		t.Errorf("serialized %x, want %x", got, want)
	}
	for _, id := range c.Kept {
		if !r.Contains(id) {
			t.Errorf("kept id %q not contained", id)
		}
	}
}

func TestVectorsJSBloom(t *testing.T) {
	v := loadJS(t)
	c := v.Bloom
	f, err := NewRFC(c.Capacity, c.ErrorRate)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.Params(); p.K != c.KHashes || p.MBits != c.TotalBits {
		t.Errorf("params %+v, want k=%d bits=%d", p, c.KHashes, c.TotalBits)
	}
	for _, id := range c.Inserted {
		f.Add(id)
	}
	want := vectors.Hex(c.BytesHex)
	if got := f.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("bytes differ\n got %s\nwant %s", short(got), short(want))
	}
	d, err := DecodeRFC(want, c.Capacity, c.ErrorRate)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.AppendBytes(nil), want) {
		t.Error("decoded bytes differ")
	}
	for _, p := range c.Probes {
		if got := f.Contains(p.ID); got != p.Contains {
			t.Errorf("built.Contains(%q) = %v, want %v", p.ID, got, p.Contains)
		}
		if got := d.Contains(p.ID); got != p.Contains {
			t.Errorf("decoded.Contains(%q) = %v, want %v", p.ID, got, p.Contains)
		}
		if got := d.ContainsKey(RFCKeyOf(p.ID)); got != p.Contains {
			t.Errorf("decoded.ContainsKey(%q) = %v, want %v", p.ID, got, p.Contains)
		}
	}
}

func TestVectorsHashN(t *testing.T) {
	v := loadJS(t)
	if len(v.HashN) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.HashN {
		if got := HashN(c.Item, c.N, c.MaxValue); int64(got) != c.HashN {
			t.Errorf("HashN(%q, %d, %d) = %d, want %d", c.Item, c.N, c.MaxValue, got, c.HashN)
		}
	}
}

func short(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 200 {
		return s[:100] + "..." + s[len(s)-100:]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
