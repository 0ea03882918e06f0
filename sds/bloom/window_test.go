package bloom

import (
	"fmt"
	"math"
	"testing"
)

// The window's filter holds exactly the ids added since the cutoff
// (checked against every one of them), at Nim's parameters for its
// capacity, with room for what it holds.
func TestWindowHoldsItsIDs(t *testing.T) {
	w, err := NewWindow(0.001, 12000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var at []int64
	const span = 500
	for i := 0; i < 6000; i++ {
		now := int64(i)
		id := fmt.Sprint("w-", i)
		w.Add(KeyOf(id), now)
		ids, at = append(ids, id), append(at, now)
		if i%7 != 0 {
			continue
		}
		w.Expire(now - span)
		f := w.Filter(150000)
		if f == nil {
			t.Fatalf("step %d: no filter for %d ids", i, w.Len())
		}
		p := f.Params()
		want, _ := WindowParams(p.Capacity, 0.001)
		if p != want {
			t.Fatalf("step %d: params %+v, want WindowParams(%d): %+v", i, p, p.Capacity, want)
		}
		if p.Capacity < w.Len() || p.Capacity > 2*windowCapacity(w.Len()) {
			t.Fatalf("step %d: capacity %d for %d ids", i, p.Capacity, w.Len())
		}
		held := 0
		for j := range ids {
			if at[j] >= now-span {
				held++
				if !f.Contains(ids[j]) {
					t.Fatalf("step %d: %s (at %d) missing", i, ids[j], at[j])
				}
			}
		}
		if held != w.Len() {
			t.Fatalf("step %d: Len %d, want %d", i, w.Len(), held)
		}
	}
}

// probeKeys are ids never added anywhere, for measuring false positives.
func probeKeys(n int) []Key {
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = KeyOf(fmt.Sprint("never-added-", i))
	}
	return keys
}

// falsePositives counts the probes f claims to hold.
func falsePositives(f *Filter, probes []Key) int {
	hits := 0
	for _, k := range probes {
		if f.ContainsKey(k) {
			hits++
		}
	}
	return hits
}

// atMost reports whether hits out of n probes is consistent with a rate
// of at most p: within four standard deviations (the ids are fixed, so
// the count is too: this cannot flake).
func atMost(hits, n int, p float64) bool {
	mean := p * float64(n)
	return float64(hits) <= mean+4*math.Sqrt(mean)+1
}

// A filter of WindowParams, filled to its capacity (the most a window
// filter holds), answers false positives at most at its error rate, at
// every size, also the smallest ones, where Nim's own mBits would not
// (b = 0 and short cycles: see WindowParams).
func TestWindowParamsFalsePositiveRate(t *testing.T) {
	probes := probeKeys(400_000)
	for _, p := range []float64{0.001, 0.01, 0.1} {
		for _, capacity := range []int{1, 16, 40, 127, 400, 2000, 10000} {
			params, err := WindowParams(capacity, p)
			if err != nil {
				t.Fatal(err)
			}
			f := newFromParams(params)
			for i := 0; i < capacity; i++ {
				f.Add(fmt.Sprintf("held-%v-%d", p, i))
			}
			hits := falsePositives(f, probes)
			rate := float64(hits) / float64(len(probes))
			t.Logf("error rate %v, %d ids: mBits %d (Nim's %d), measured %.5f", p, capacity, params.MBits, nimBits(capacity, p), rate)
			if !atMost(hits, len(probes), p) {
				t.Errorf("error rate %v, %d ids, mBits %d: %d of %d probes (%.5f) found", p, capacity, params.MBits, hits, len(probes), rate)
			}
		}
	}
}

func nimBits(capacity int, p float64) int {
	q, _ := NimParams(capacity, p)
	return q.MBits
}

// As a window fills (ids added, none expiring), the filter it sends keeps
// the error rate: it grows instead.
func TestWindowFalsePositiveRateAsItFills(t *testing.T) {
	const p = 0.001
	probes := probeKeys(200_000)
	w, err := NewWindow(p, 12000)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, n := range []int{1, 10, 50, 100, 200, 500, 1000, 2000, 5000, 10000} {
		for ; added < n; added++ {
			w.Add(KeyOf(fmt.Sprint("fill-", added)), int64(added))
		}
		f := w.Filter(180000)
		hits := falsePositives(f, probes)
		t.Logf("%d ids: capacity %d, %d bytes, measured %.5f", n, f.Params().Capacity, f.SerializedLen(), float64(hits)/float64(len(probes)))
		if !atMost(hits, len(probes), p) {
			t.Errorf("%d ids (capacity %d): %d of %d probes found", n, f.Params().Capacity, hits, len(probes))
		}
	}
}
