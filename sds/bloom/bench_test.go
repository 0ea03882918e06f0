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

// BenchmarkWindow is a channel's acknowledgement window in steady state,
// per message: one id added, the window expired, its filter serialized
// (as every wrap does when a message arrives between wraps). The window
// holds about n ids (a span of n adds).
func BenchmarkWindow(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			w, err := NewWindow(DefaultErrorRate, 12000)
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]Key, 1<<14)
			for i, id := range benchIDs(len(keys)) {
				keys[i] = KeyOf(id)
			}
			at := int64(0)
			step := func(dst []byte) []byte {
				at++
				w.Add(keys[at&(1<<14-1)], at)
				w.Expire(at - int64(n))
				return w.Filter(180000).AppendSerialized(dst[:0])
			}
			var dst []byte
			for range 2 * n {
				dst = step(dst) // reach steady state
			}
			b.ReportAllocs()
			for b.Loop() {
				dst = step(dst)
			}
			b.SetBytes(int64(len(dst)))
		})
	}
}

// BenchmarkWindowGrowing adds ids that never expire (a burst) and
// serializes the filter after each: every rebuild as it grows, amortized.
func BenchmarkWindowGrowing(b *testing.B) {
	keys := make([]Key, 10000)
	for i, id := range benchIDs(len(keys)) {
		keys[i] = KeyOf(id)
	}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		w, _ := NewWindow(DefaultErrorRate, 12000)
		for i, k := range keys {
			w.Add(k, int64(i))
			dst = w.Filter(180000).AppendSerialized(dst[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/id")
}

// BenchmarkRollingRebuild is what the first message of a burst costs a
// compact filter: the rolling filter's released bits rebuilt from its
// ring. At the defaults it holds up to 12,000 ids before its first
// roll-over (the first filter) and 8,000 to 12,000 after (the rebuilt
// one's size).
func BenchmarkRollingRebuild(b *testing.B) {
	for _, adds := range []int{1000, 12000, 12001, 16000} {
		r, err := NewRollingKeys(DefaultCapacity, DefaultErrorRate)
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range benchIDs(adds) {
			r.Add(id)
		}
		b.Run(fmt.Sprintf("ids=%d/capacity=%d", r.Len(), r.Params().Capacity), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.ReleaseFilter()
				_ = r.Filter()
			}
		})
	}
}
