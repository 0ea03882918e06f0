package bloom

import (
	"fmt"
	"testing"
)

// ContainsProbe must answer exactly as ContainsKey, also when one cache is
// reused across filters of different sizes.
func TestContainsProbeMatchesContainsKey(t *testing.T) {
	var filters []*Filter
	for _, c := range []struct {
		n int
		p float64
	}{{100, 0.01}, {10000, 0.001}, {12000, 0.001}, {10, 0.5}} {
		f, err := New(c.n, c.p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < c.n/2; i++ {
			f.Add(fmt.Sprint("in-", i))
		}
		filters = append(filters, f)
	}
	for i := 0; i < 2000; i++ {
		id := fmt.Sprint("in-", i)
		if i%2 == 1 {
			id = fmt.Sprint("out-", i)
		}
		k := KeyOf(id)
		p := NewProbe(k)
		for round := 0; round < 2; round++ {
			for _, f := range filters {
				if got, want := f.ContainsProbe(&p), f.ContainsKey(k); got != want {
					t.Fatalf("%q in filter m=%d: cached %v, direct %v", id, f.m, got, want)
				}
			}
		}
	}
	var empty Filter
	p := NewProbe(KeyOf("x"))
	if empty.ContainsProbe(&p) || empty.ContainsProbe(&p) {
		t.Fatal("zero filter contains an id")
	}
}
