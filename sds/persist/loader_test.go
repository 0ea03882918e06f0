package persist_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/persisttest"
	"github.com/libsds-go/libsds/sds/wire"
)

// Writer.LoadMessage reads the history as it will be once the pending
// writes are written: a pending append's message, nothing for a pending
// eviction, else the backend's; nothing from a backend without a loader.
func TestWriterLoadMessage(t *testing.T) {
	mem := persist.NewMemory()
	_, w, err := persist.Bootstrap(mem, testChannel, persist.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, pending := persisttest.Msg(testChannel, "stored", 1), persisttest.Msg(testChannel, "pending", 2)
	if err := w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{stored}}); err != nil {
		t.Fatal(err)
	}
	mem.FailNextWrites(1)
	if err := w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{pending}}); err == nil {
		t.Fatal("the injected failure did not fail the commit")
	}
	for id, want := range map[string]bool{"stored": true, "pending": true, "never": false} {
		msg, ok, err := w.LoadMessage(id)
		if err != nil || ok != want || ok && msg.MessageID != id {
			t.Errorf("LoadMessage(%q) = %q, %v, %v; want found %v", id, msg.MessageID, ok, err, want)
		}
	}
	if mem.Calls(persist.OpLoadMessage) != 2 { // stored and never: pending came from the Writer
		t.Errorf("%d backend reads, want 2", mem.Calls(persist.OpLoadMessage))
	}
	mem.FailNextWrites(1)
	_ = w.Commit(nil, &persist.HistoryUpdate{Evict: []string{"stored"}})
	if _, ok, _ := w.LoadMessage("stored"); ok {
		t.Error("a message whose eviction is pending was read back")
	}

	_, plain, err := persist.Bootstrap(unbatched{persist.NewMemory()}, testChannel, persist.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{stored}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := plain.LoadMessage("stored"); ok || err != nil {
		t.Errorf("a backend without MessageLoader read back: %v, %v", ok, err)
	}
}

// Writer.OldestHistoryIDs lists the history as it will be once the pending
// writes are written: stored ids without those pending eviction or
// re-append, then the pending appends in order; a backend without a
// loader cannot list.
func TestWriterOldestHistoryIDs(t *testing.T) {
	mem := persist.NewMemory()
	_, w, err := persist.Bootstrap(mem, testChannel, persist.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id string) wire.Message { return persisttest.Msg(testChannel, id, 1) }
	if err := w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{msg("a"), msg("b"), msg("c"), msg("d")}}); err != nil {
		t.Fatal(err)
	}
	mem.FailNextWrites(1) // pending from here on: evict a, re-append b, append e
	_ = w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{msg("b"), msg("e")}, Evict: []string{"a"}})
	for n, want := range map[int]string{1: "c", 3: "c,d,b", 10: "c,d,b,e"} {
		got, err := w.OldestHistoryIDs(n)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("OldestHistoryIDs(%d) = %v, %v; want %s", n, got, err, want)
		}
	}
	_, plain, err := persist.Bootstrap(unbatched{persist.NewMemory()}, testChannel, persist.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.OldestHistoryIDs(1); !errors.Is(err, persist.ErrNoLoader) {
		t.Errorf("a backend without MessageLoader listed: %v", err)
	}
	mem.SetFailing(persist.OpHistoryIDs, true)
	if _, err := w.OldestHistoryIDs(1); !errors.Is(err, persist.ErrInjected) {
		t.Errorf("a failed listing gave %v", err)
	}
}

// Guard forwards LoadMessage, panic-safe, and only for backends that have
// it.
func TestGuardedLoader(t *testing.T) {
	if persist.MessageLoaderOf(persist.Guard(unbatched{persist.NewMemory()})) != nil {
		t.Fatal("a guarded backend without MessageLoader has one")
	}
	l := persist.MessageLoaderOf(persist.Guard(panickingLoader{persist.NewMemory()}))
	if l == nil {
		t.Fatal("the guarded loader is lost")
	}
	if _, _, err := l.LoadMessage("c", "m"); !errors.Is(err, persist.ErrPanic) {
		t.Fatalf("a panicking LoadMessage gave %v", err)
	}
	if err := l.HistoryIDs("c", func(string) bool { return true }); !errors.Is(err, persist.ErrPanic) {
		t.Fatalf("a panicking HistoryIDs gave %v", err)
	}
}

type panickingLoader struct{ *persist.Memory }

func (panickingLoader) LoadMessage(string, string) (wire.Message, bool, error) { panic("boom") }
func (panickingLoader) HistoryIDs(string, func(string) bool) error             { panic("boom") }
