package bloom

import (
	"fmt"
	"testing"
)

func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i*7919) // 64-char hex ids, as SDS uses
	}
	return ids
}

func defaultFilter(b *testing.B) *Filter {
	f, err := New(DefaultCapacity, DefaultErrorRate)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkKeyOf(b *testing.B) {
	ids := benchIDs(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = KeyOf(ids[i&1023])
	}
}

func BenchmarkAdd(b *testing.B) {
	f := defaultFilter(b)
	ids := benchIDs(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Add(ids[i&1023])
	}
}

func BenchmarkContains(b *testing.B) {
	f := defaultFilter(b)
	ids := benchIDs(2048)
	for _, id := range ids[:1024] {
		f.Add(id)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = f.Contains(ids[i&2047]) // half present, half absent
	}
}

func BenchmarkContainsKey(b *testing.B) {
	f := defaultFilter(b)
	ids := benchIDs(2048)
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = KeyOf(id)
		if i < 1024 {
			f.Add(id)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = f.ContainsKey(keys[i&2047])
	}
}

func BenchmarkAppendSerialized(b *testing.B) {
	f := defaultFilter(b)
	for _, id := range benchIDs(5000) {
		f.Add(id)
	}
	dst := make([]byte, 0, f.SerializedLen())
	b.ReportAllocs()
	b.SetBytes(int64(f.SerializedLen()))
	for b.Loop() {
		dst = f.AppendSerialized(dst[:0])
	}
}

func BenchmarkDecode(b *testing.B) {
	f := defaultFilter(b)
	for _, id := range benchIDs(5000) {
		f.Add(id)
	}
	enc := f.AppendSerialized(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalReuse(b *testing.B) {
	f := defaultFilter(b)
	enc := f.AppendSerialized(nil)
	var g Filter
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := g.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRollingAdd(b *testing.B) {
	r, err := NewRolling(DefaultCapacity, DefaultErrorRate)
	if err != nil {
		b.Fatal(err)
	}
	ids := benchIDs(1 << 15)
	for _, id := range ids {
		r.Add(id) // reach steady state: several roll-overs done
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Add(ids[i&(1<<15-1)])
	}
}

func BenchmarkRFCAdd(b *testing.B) {
	f, _ := NewRFC(DefaultCapacity, DefaultErrorRate)
	ids := benchIDs(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Add(ids[i&1023])
	}
}

func BenchmarkRFCContains(b *testing.B) {
	f, _ := NewRFC(DefaultCapacity, DefaultErrorRate)
	ids := benchIDs(2048)
	for _, id := range ids[:1024] {
		f.Add(id)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = f.Contains(ids[i&2047])
	}
}

func BenchmarkRFCKeyOf(b *testing.B) {
	ids := benchIDs(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = RFCKeyOf(ids[i&1023])
	}
}
