package persist

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// knownIDs against a map: random notes of 300 ids, held and gone, through
// growth and shrinking; a nil set holds everything.
func TestKnownIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	k, model := new(knownIDs), map[string]bool{}
	for step := 0; step < 20000; step++ {
		id := fmt.Sprint("id-", rng.IntN(300))
		if step > 10000 && rng.IntN(3) > 0 { // the second half mostly removes: shrink
			model[id] = false
		} else {
			model[id] = rng.IntN(2) == 0
		}
		k.note(id, model[id])
		held := 0
		for id, want := range model {
			if k.has(id) != want {
				t.Fatalf("step %d: has(%s) = %v, want %v", step, id, !want, want)
			}
			if want {
				held++
			}
		}
		if k.n != held || 2*k.n > len(k.slots) {
			t.Fatalf("step %d: %d counted in %d slots, %d held", step, k.n, len(k.slots), held)
		}
	}
	if len(k.slots) > 64 && 8*k.n < len(k.slots) {
		t.Fatalf("%d slots kept for %d ids", len(k.slots), k.n)
	}
	if (*knownIDs)(nil).has("anything") != true {
		t.Fatal("an unknown set does not hold everything")
	}
}
