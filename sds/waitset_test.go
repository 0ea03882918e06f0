package sds

import (
	"fmt"
	"testing"

	"github.com/libsds-go/libsds/sds/wire"
)

// waitFirst marks the first entry of each needed id once, in short
// histories (scanned back) and long ones (a set), and keeps the count.
func TestWaitFirst(t *testing.T) {
	for _, n := range []int{0, 1, 5, 16, 17, 40, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			hist := make([]wire.HistoryEntry, n)
			for i := range hist {
				hist[i].MessageID = fmt.Sprint("m", i%max(7, n/2)) // each id twice or more
			}
			needed := func(id string) bool { return id != "m3" }
			w := waitFirst(hist, func(i int) bool { return needed(hist[i].MessageID) })
			want := 0
			for i, h := range hist {
				first := firstIndex(hist, h.MessageID) == i
				if got := w.has(i); got != (first && needed(h.MessageID)) {
					t.Errorf("entry %d (%s): marked %v", i, h.MessageID, got)
				}
				if first && needed(h.MessageID) {
					want++
				}
			}
			if w.len() != want {
				t.Errorf("len %d, want %d", w.len(), want)
			}
			for i := range hist {
				if w.has(i) {
					if !w.clear(i) || w.clear(i) {
						t.Errorf("clear(%d) should succeed once", i)
					}
				}
			}
			if w.len() != 0 {
				t.Errorf("len %d after clearing all", w.len())
			}
		})
	}
}
