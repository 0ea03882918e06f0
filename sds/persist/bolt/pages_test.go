package bolt

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// historyMessage is message i of the shape issue #19 measures: an id of
// idLen characters, 100 bytes of content, ten causal-history entries.
func historyMessage(i, idLen int) wire.Message {
	id := func(n int) string { s := fmt.Sprint("m-", n, "-"); return s + strings.Repeat("x", idLen-len(s)) }
	m := wire.Message{MessageID: id(i), LamportTimestamp: uint64(i + 1), HasLamport: true,
		ChannelID: "channel-0", SenderID: "alice", Content: make([]byte, 100)}
	for j := 1; j <= 10; j++ {
		m.CausalHistory = append(m.CausalHistory, wire.HistoryEntry{MessageID: id(i - j), SenderID: "alice"})
	}
	return m
}

// historyFill appends n messages one per transaction, as a receiver does,
// and returns the share of the history's leaf pages in use.
func historyFill(t *testing.T, n, idLen int) float64 {
	s, err := Open(filepath.Join(t.TempDir(), "h.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		if err := s.UpdateHistory("c", &persist.HistoryUpdate{Append: []wire.Message{historyMessage(i, idLen)}}); err != nil {
			t.Fatal(err)
		}
	}
	var st bbolt.BucketStats
	if err := s.db.View(func(tx *bbolt.Tx) error {
		c, err := channel(tx, "c", false)
		if err == nil {
			st = c.Bucket(bucketHistory).Stats()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if st.KeyN != n {
		t.Fatalf("%d history entries, want %d", st.KeyN, n)
	}
	return float64(st.LeafInuse) / float64(st.LeafAlloc)
}

// An append-only history fills its pages: with bbolt's default split
// (half full) the issue's ~790-byte messages used 39% of each page.
func TestHistoryPagesFilled(t *testing.T) {
	if used := historyFill(t, 600, 48); used < 0.55 {
		t.Fatalf("history leaf pages %.0f%% in use, want at least 55%%", used*100)
	}
}
