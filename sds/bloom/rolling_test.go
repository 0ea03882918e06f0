package bloom

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// nimRolling is a literal transcription of Nim's RollingBloomFilter
// (seq of ids, fresh filter on every clean), used as the model.
type nimRolling struct {
	filter         *Filter
	minCap, maxCap int
	errorRate      float64
	msgs           []string
}

func (r *nimRolling) add(id string) {
	r.filter.Add(id)
	r.msgs = append(r.msgs, id)
	if len(r.msgs) > r.maxCap {
		f, err := New(r.maxCap, r.errorRate)
		if err != nil {
			panic(err)
		}
		start := max(0, len(r.msgs)-r.minCap)
		var kept []string
		for _, id := range r.msgs[start:] {
			kept = append(kept, id)
			f.Add(id)
		}
		r.msgs, r.filter = kept, f
	}
}

func TestRollingMatchesModel(t *testing.T) {
	for _, c := range []struct {
		n int
		p float64
	}{{1, 0.01}, {2, 0.1}, {3, 0.1}, {5, 0.5}, {10, 0.01}, {17, 0.001}, {100, 0.01}, {1000, 0.001}} {
		r, err := NewRolling(c.n, c.p)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := New(c.n, c.p)
		m := &nimRolling{filter: f, minCap: r.MinCapacity(), maxCap: r.MaxCapacity(), errorRate: c.p}
		for i := 0; i < 5*c.n+50; i++ {
			id := fmt.Sprintf("c%d-%d", c.n, i)
			r.Add(id)
			m.add(id)
			if r.Len() != len(m.msgs) {
				t.Fatalf("%v step %d: len %d, want %d", c, i, r.Len(), len(m.msgs))
			}
			if i%7 == 0 || i < 30 {
				if !equalStrings(r.IDs(), m.msgs) {
					t.Fatalf("%v step %d: ids %q, want %q", c, i, r.IDs(), m.msgs)
				}
				if !bytes.Equal(r.Filter().AppendSerialized(nil), m.filter.AppendSerialized(nil)) {
					t.Fatalf("%v step %d: filter differs", c, i)
				}
			}
		}
		r.Clean() // no-op: never more than maxCap after Add
		if !equalStrings(r.IDs(), m.msgs) {
			t.Fatalf("%v: Clean changed ids", c)
		}
		r.Reset()
		fresh, _ := New(c.n, c.p)
		if r.Len() != 0 || len(r.IDs()) != 0 || !r.Filter().Equal(fresh) {
			t.Fatalf("%v: Reset", c)
		}
		r.Add("again")
		if !r.Contains("again") || !r.ContainsKey(KeyOf("again")) {
			t.Fatalf("%v: add after reset", c)
		}
	}
}

func TestRollingParams(t *testing.T) {
	for _, c := range []struct{ n, min, max int }{{10, 8, 12}, {10000, 8000, 12000}, {1, 0, 1}, {3, 2, 3}, {7, 5, 8}} {
		r, err := NewRolling(c.n, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		if r.MinCapacity() != c.min || r.MaxCapacity() != c.max || r.Capacity() != c.n {
			t.Errorf("n=%d: %d/%d", c.n, r.MinCapacity(), r.MaxCapacity())
		}
	}
	for _, c := range []struct {
		n int
		p float64
	}{{0, 0.01}, {-5, 0.01}, {10, 0}, {10, 1}, {500000, 0.001}} {
		if _, err := NewRolling(c.n, c.p); err == nil {
			t.Errorf("NewRolling(%d, %v) accepted", c.n, c.p)
		}
	}
}

func TestRollingSteadyStateNoAlloc(t *testing.T) {
	r, _ := NewRolling(DefaultCapacity, DefaultErrorRate)
	ids := make([]string, 30000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i)
	}
	for _, id := range ids {
		r.Add(id)
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		r.Add(ids[i%len(ids)])
		i++
	})
	if allocs != 0 {
		t.Errorf("Rolling.Add allocates %v per op", allocs)
	}
}

func TestNoAllocs(t *testing.T) {
	f, _ := New(DefaultCapacity, DefaultErrorRate)
	rf, _ := NewRFC(DefaultCapacity, DefaultErrorRate)
	id := fmt.Sprintf("%064x", 12345)
	k := KeyOf(id)
	dst := make([]byte, 0, f.SerializedLen())
	for name, fn := range map[string]func(){
		"KeyOf":            func() { _ = KeyOf(id) },
		"Add":              func() { f.Add(id) },
		"Contains":         func() { _ = f.Contains(id) },
		"ContainsKey":      func() { _ = f.ContainsKey(k) },
		"AppendSerialized": func() { dst = f.AppendSerialized(dst[:0]) },
		"RFC.Add":          func() { rf.Add(id) },
		"RFC.Contains":     func() { _ = rf.Contains(id) },
		"NimHash":          func() { _ = NimHash(id) },
		"HashN":            func() { _ = HashN(id, 3, 150000) },
	} {
		if a := testing.AllocsPerRun(100, fn); a != 0 {
			t.Errorf("%s allocates %v", name, a)
		}
	}
}

// keysModel is the Nim model on keys: a filter of the first capacity,
// rebuilt at MaxCapacity from the newest MinCapacity keys each time more
// than MaxCapacity are held.
type keysModel struct {
	filter         *Filter
	kept           []Key
	minCap, maxCap int
	errorRate      float64
}

func newKeysModel(r *Rolling, errorRate float64) *keysModel {
	f, _ := New(r.Capacity(), errorRate)
	return &keysModel{filter: f, minCap: r.MinCapacity(), maxCap: r.MaxCapacity(), errorRate: errorRate}
}

// add adds k, reporting whether the model rolled over.
func (m *keysModel) add(k Key) bool {
	m.filter.AddKey(k)
	if m.kept = append(m.kept, k); len(m.kept) <= m.maxCap {
		return false
	}
	m.kept = m.kept[len(m.kept)-m.minCap:]
	m.filter, _ = New(m.maxCap, m.errorRate)
	for _, k := range m.kept {
		m.filter.AddKey(k)
	}
	return true
}

// testKey is the i-th key of a sequence in which every 13th h1 and h2
// (not the same keys) are math.MinInt64: Nim's abs wraps, negative bases.
func testKey(prefix string, n, i int) Key {
	k := KeyOf(fmt.Sprintf("%s%d-%d", prefix, n, i))
	switch i % 13 {
	case 3:
		k.h1 = math.MinInt64
	case 7:
		k.h2 = math.MinInt64
	}
	return k
}

// A Rolling without ids (NewRollingKeys) is the same filter, rolling over
// at the same points, from the 8-byte bases it keeps per id: checked
// against the Nim model on keys, including keys whose hashes are
// math.MinInt64 (Nim's abs wraps: negative bases).
func TestRollingKeysMatchesModel(t *testing.T) {
	for _, c := range []struct {
		n int
		p float64
	}{{1, 0.01}, {3, 0.1}, {10, 0.01}, {17, 0.001}, {1000, 0.001}} {
		r, err := NewRollingKeys(c.n, c.p)
		if err != nil {
			t.Fatal(err)
		}
		model := newKeysModel(r, c.p)
		for i := 0; i < 5*c.n+50; i++ {
			k := testKey("k", c.n, i)
			r.AddKey("ignored", k)
			model.add(k)
			if r.Len() != len(model.kept) || !r.Filter().Equal(model.filter) {
				t.Fatalf("%v step %d: len %d (want %d) or filter differs", c, i, r.Len(), len(model.kept))
			}
		}
		if r.IDs() != nil {
			t.Fatalf("%v: a Rolling without ids lists %d", c, len(r.IDs()))
		}
	}
}

// A Rolling's bits are a function of the ids its ring holds: released at
// random points (ReleaseFilter), then rebuilt on demand, kept and updated
// until the next release, it is the Nim model's filter before and after
// roll-overs and Resets, negative bases included. Before the first
// roll-over this holds only when the ring's modulus is a multiple of the
// first filter's size too (firstFromRing): otherwise ReleaseFilter
// refuses until then.
func TestRollingReleasedMatchesModel(t *testing.T) {
	for _, c := range []struct {
		n             int
		p             float64
		firstFromRing bool
		checkEvery    int
	}{
		{1, 0.01, true, 1}, {3, 0.1, true, 1}, {10, 0.01, true, 1}, {17, 0.001, true, 1},
		{1000, 0.001, true, 3}, {DefaultCapacity, DefaultErrorRate, true, 97},
		{11001, 0.001, false, 97}, // lcm(165015, 198015) = 2,178,363,015 > 2^31
	} {
		r, err := NewRollingKeys(c.n, c.p)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(c.n), 1))
		model := newKeysModel(r, c.p)
		rolled, releases, rebuilds := false, 0, 0
		for i := 0; i < 3*c.n+50; i++ {
			if i == 2*c.n+10 { // back to the first filter
				r.Reset()
				model, rolled = newKeysModel(r, c.p), false
			}
			k := testKey("r", c.n, i)
			r.AddKey("ignored", k)
			if model.add(k) {
				rolled = true
			}
			if r.Params() != model.filter.Params() {
				t.Fatalf("%v step %d: params %+v, want %+v", c, i, r.Params(), model.filter.Params())
			}
			if rng.IntN(3) == 0 {
				if got := r.ReleaseFilter(); got != (rolled || c.firstFromRing) {
					t.Fatalf("%v step %d (rolled over %v): ReleaseFilter = %v", c, i, rolled, got)
				}
				if r.Released() {
					releases++
				}
			}
			if rng.IntN(c.checkEvery) == 0 {
				if r.Released() {
					rebuilds++
				}
				if r.Len() != len(model.kept) || !r.Filter().Equal(model.filter) || r.Released() {
					t.Fatalf("%v step %d: len %d (want %d) or filter differs", c, i, r.Len(), len(model.kept))
				}
			}
		}
		if releases == 0 || rebuilds == 0 {
			t.Fatalf("%v: %d releases, %d rebuilds: the test exercised nothing", c, releases, rebuilds)
		}
	}
}
