package sds

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/libsds-go/libsds/sds/wire"
)

// fakeHistory is a store's history as the log's Writer gives it back: the
// ids committed so far, oldest first.
type fakeHistory struct {
	ids   []string
	fail  bool
	reads int
}

func (h *fakeHistory) OldestHistoryIDs(n int) ([]string, error) {
	h.reads++
	if h.fail {
		return nil, errors.New("injected")
	}
	return slices.Clone(h.ids[:min(n, len(h.ids))]), nil
}

// commit hands the operation's changes to the fake store, as
// Manager.commit hands them to the Writer, and lets the log forget ids.
func (h *fakeHistory) commit(l *messageLog) {
	for _, m := range l.track.appends {
		h.ids = append(h.ids, m.MessageID)
	}
	for _, id := range l.track.evicts {
		h.ids = slices.DeleteFunc(h.ids, func(s string) bool { return s == id })
	}
	l.track.appends, l.track.evicts = nil, nil
	l.forgetIDs()
}

// A stored log against a model: operations of one to twenty adds (a
// cascade evicting entries whose ids only the store has, within one
// operation), some messages the store would not give back exactly (kept
// with a body). After each operation the evictions it handed the store are
// exactly the model's, ChannelState's ids (ids) are the held ones in
// order, held ids are found and evicted ones are not, only the newest
// keepIDs ids stay in memory, and the store was read about once per
// oldIDBatch evictions.
func TestStoredLogMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		limit, keep := 1+rng.IntN(40), rng.IntN(12)
		l := newMessageLog(limit, 5, 0, nil, nil, 0)
		l.stored, l.keepIDs = true, keep
		store := &fakeHistory{}
		l.history, l.track = store, &changes{}
		var held []string
		evictions := 0
		for op, n := 0, 0; op < 200; op++ {
			var wantEvicts []string
			for k := 1 + rng.IntN(20); k > 0; k-- {
				msg := wire.Message{MessageID: fmt.Sprint("m-", n), LamportTimestamp: uint64(n), HasLamport: true, ChannelID: "c", Content: []byte{byte(n)}}
				if rng.IntN(8) == 0 { // not stored exactly: kept with a body
					msg.CausalHistory = []wire.HistoryEntry{{MessageID: "x", RetrievalHint: []byte{}}}
				}
				n++
				if len(held) == limit {
					wantEvicts, held = append(wantEvicts, held[0]), held[1:]
				}
				held = append(held, msg.MessageID)
				l.add(&msg, nil, false, 0)
			}
			if !slices.Equal(l.track.evicts, wantEvicts) {
				t.Fatalf("seed %d op %d: evicted %v, want %v", seed, op, l.track.evicts, wantEvicts)
			}
			evictions += len(wantEvicts)
			store.commit(&l)
			if got := l.ids(); !slices.Equal(got, held) {
				t.Fatalf("seed %d op %d: ids %v, want %v", seed, op, got, held)
			}
			for _, id := range held {
				if !l.contains(id) {
					t.Fatalf("seed %d op %d: %s not found", seed, op, id)
				}
			}
			if n > limit && l.contains(fmt.Sprint("m-", n-limit-1)) {
				t.Fatalf("seed %d op %d: evicted m-%d found", seed, op, n-limit-1)
			}
			if len(l.recent) != min(keep, l.len()) {
				t.Fatalf("seed %d op %d: %d ids in memory, want the newest %d", seed, op, len(l.recent), min(keep, l.len()))
			}
		}
		if max := 2 * (200 + evictions/oldIDBatch); store.reads > max { // ids() reads once per operation
			t.Fatalf("seed %d: %d reads of the store for %d evictions", seed, store.reads, evictions)
		}
		if l.missedIDs != 0 {
			t.Fatalf("seed %d: %d ids missed", seed, l.missedIDs)
		}
	}
}

// When the store cannot give the ids back, the log still evicts (it is
// bounded), counts each id it could not name and keeps the error for the
// commit's warning; once the store reads again, evictions are named again.
func TestStoredLogReadFailureEvicts(t *testing.T) {
	l := newMessageLog(3, 5, 0, nil, nil, 0)
	l.stored, l.keepIDs = true, 1
	store := &fakeHistory{}
	l.history, l.track = store, &changes{}
	add := func(id string) {
		l.add(&wire.Message{MessageID: id, HasLamport: true, ChannelID: "c"}, nil, false, 0)
		store.commit(&l)
	}
	for _, id := range []string{"a", "b", "c"} {
		add(id)
	}
	store.fail = true
	add("d")
	if l.len() != 3 || l.contains("a") || l.missedIDs != 1 || l.readErr == nil {
		t.Fatalf("after a failed read: %d held, a held %v, %d missed, error %v", l.len(), l.contains("a"), l.missedIDs, l.readErr)
	}
	store.fail = false
	l.add(&wire.Message{MessageID: "e", HasLamport: true, ChannelID: "c"}, nil, false, 0)
	if !slices.Equal(l.track.evicts, []string{"b"}) {
		t.Fatalf("evicted %v once the store reads again, want [b]", l.track.evicts)
	}
}
