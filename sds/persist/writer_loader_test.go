package persist_test

import (
	"testing"

	"github.com/libsds-go/libsds/sds/persist"
)

// With a backend that reads messages back, the Writer keeps no set of the
// history ids it holds: an eviction whose append is still pending asks the
// backend. One never stored cancels its append and writes nothing; one
// the backend holds (stored, evicted and re-appended during the outage)
// is evicted when the outage ends.
func TestWriterLoaderEvictsWhatTheBackendHolds(t *testing.T) {
	mem := persist.NewMemory()
	w := bootstrap(t, mem, persist.WriterOptions{})
	if err := w.Commit(send("kept", 1)); err != nil {
		t.Fatal(err)
	}
	setFailing(mem, true)
	evict := func(id string) { w.Commit(nil, &persist.HistoryUpdate{Evict: []string{id}}) }
	w.Commit(send("never-stored", 2))
	evict("never-stored")
	evict("kept")
	w.Commit(send("kept", 3))
	evict("kept")
	if p := w.Pending(); p != 4 { // lamport, two outgoing records, kept's eviction (never-stored: none)
		t.Fatalf("pending %d during the outage", p)
	}
	setFailing(mem, false)
	if err := w.Commit(nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := loadCh(t, mem); len(d.History) != 0 {
		t.Fatalf("history after the outage: %q", historyIDs(d))
	}
}
