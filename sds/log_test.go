package sds

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds/wire"
)

// The compact log against a model: random messages whose causal history
// names held, evicted, unknown and their own ids, with senders that differ
// from the named entry's or not, and absent, empty and set hints. After
// every add, each held entry decodes to exactly the message added, held
// ids are found and evicted ones are not (the newest evicted are
// remembered), and the log keeps no sender, ghost or index slot beyond
// what its entries need; once it has evicted everything, none at all.
// Half the seeds keep entries for a retention time beyond the limit
// (Config.LogRetention), messages joining one time unit apart.
func TestLogMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		limit, remember, retention := 1+rng.IntN(12), rng.IntN(6), int64(0)
		if seed%2 == 0 {
			retention = 1 + rng.Int64N(30)
		}
		l := newMessageLog(limit, remember, time.Duration(retention), nil, nil, 0)
		var added []wire.Message // every message, in order
		held := 0                // the model: the newest held were added
		add := func(msg wire.Message) {
			now := int64(len(added) + 1)
			for held >= limit && now-int64(len(added)-held+1) >= retention {
				held--
			}
			added = append(added, deepCopy(msg))
			held++
			l.add(&msg, nil, false, now)
		}
		for i := 0; i < 300; i++ {
			add(randomLogged(rng, i, added))
			checkLog(t, &l, added, held, remember)
		}
		for i := 0; i < limit+int(retention); i++ { // flush: messages naming nothing
			add(wire.Message{MessageID: fmt.Sprint("flush-", i), LamportTimestamp: 1, HasLamport: true, ChannelID: "c", Content: []byte{1}})
		}
		checkLog(t, &l, added, held, remember)
		if l.ghosts.n != 0 || len(l.senders.byName) != 0 {
			t.Fatalf("seed %d: %d ghosts and %d senders left after every named entry went", seed, l.ghosts.n, len(l.senders.byName))
		}
	}
}

// randomLogged is message i, naming earlier messages (held or not), unknown
// ids and itself.
func randomLogged(rng *rand.Rand, i int, added []wire.Message) wire.Message {
	senders := []string{"", "alice", "bob", "carol"}
	msg := wire.Message{
		MessageID: fmt.Sprint("m-", i), LamportTimestamp: rng.Uint64(), HasLamport: true, ChannelID: "c",
		Content: bytes.Repeat([]byte{byte(i)}, 1+rng.IntN(40)), SenderID: senders[rng.IntN(len(senders))],
	}
	for n := rng.IntN(6); n > 0; n-- {
		h := wire.HistoryEntry{SenderID: senders[rng.IntN(len(senders))]}
		switch r := rng.IntN(10); {
		case r < 6 && len(added) > 0:
			named := added[len(added)-1-rng.IntN(min(len(added), 20))]
			h.MessageID = named.MessageID
			if rng.IntN(3) > 0 {
				h.SenderID = named.SenderID
			}
		case r < 8:
			h.MessageID = fmt.Sprint("unknown-", rng.IntN(1000))
		case r < 9:
			h.MessageID = msg.MessageID
		}
		switch rng.IntN(4) {
		case 0:
			h.RetrievalHint = []byte{}
		case 1:
			h.RetrievalHint = []byte(fmt.Sprint("hint-", i))
		}
		msg.CausalHistory = append(msg.CausalHistory, h)
	}
	return msg
}

func deepCopy(m wire.Message) wire.Message {
	m.Content = bytes.Clone(m.Content)
	m.CausalHistory = append([]wire.HistoryEntry(nil), m.CausalHistory...)
	return m
}

// checkLog checks l against the model: the last held of added are held.
func checkLog(t *testing.T, l *messageLog, added []wire.Message, held, remember int) {
	t.Helper()
	if l.len() != held || l.index.n != held {
		t.Fatalf("after %d adds: %d held, %d indexed, want %d", len(added), l.len(), l.index.n, held)
	}
	senders := map[string]bool{}
	for i, want := range added[len(added)-held:] {
		seq, ok := l.find(want.MessageID)
		if !ok || seq != l.head+uint64(i) {
			t.Fatalf("%s not found at %d", want.MessageID, l.head+uint64(i))
		}
		if got := l.message(seq, "c"); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s decodes to\n%+v\nwant\n%+v", want.MessageID, got, want)
		}
		if want.SenderID != "" {
			senders[want.SenderID] = true
		}
	}
	gone := added[:len(added)-held]
	for i, m := range gone {
		if l.contains(m.MessageID) {
			t.Fatalf("evicted %s still found", m.MessageID)
		}
		if want := i >= len(gone)-remember; l.left.contains(m.MessageID) != want {
			t.Fatalf("evicted %s remembered %v, want %v", m.MessageID, !want, want)
		}
	}
	if len(l.senders.byName) != len(senders) {
		t.Fatalf("%d senders kept, %d in use", len(l.senders.byName), len(senders))
	}
	if g := &l.ghosts; g.n > 0 && (g.base+uint64(g.n) != l.head || g.at(g.base).until < l.head) {
		t.Fatalf("ghosts [%d, %d) kept, the oldest until %d, with entries [%d, %d)", g.base, g.base+uint64(g.n), g.at(g.base).until, l.head, l.next)
	}
}
