package sds_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// With a store that reads messages back, the log leaves content and causal
// history to it (issue #19): a repair answer and LoggedMessage read them
// back, from the store or, while its writes fail, from the writes pending,
// and give exactly what a manager without a store gives: the message as
// received. A backend without persist.MessageLoader (the C host's five
// operations) is never read: the log keeps the messages.
func TestStoredLogReadsBack(t *testing.T) {
	b := peer("b", 20, "bob", entry("a", "bob"), entry("elsewhere", "carol"))
	for _, store := range []string{"none", "memory", "memory, writes failing", "memory without MessageLoader"} {
		t.Run(store, func(t *testing.T) {
			mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
			var backend persist.Backend
			if store != "none" {
				backend = mem
			}
			if store == "memory, writes failing" {
				mem.FailNextWrites(1 << 20)
			}
			if store == "memory without MessageLoader" {
				backend = struct {
					persist.Backend
					persist.Batcher
				}{mem, mem}
			}
			m, ev := persistentManager(t, backend, clk, nil)
			nimUnwrap(t, m, peer("a", 10, "bob"))
			nimUnwrap(t, m, peer("elsewhere", 11, "carol"))
			nimUnwrap(t, m, b)
			nimUnwrap(t, m, sdsrMessage(pChan, "asker", "carol", 30, []byte{1}, nil, []wire.HistoryEntry{entry("b", "bob")}))
			clk.Set(nimState(t, m, pChan).RepairResponses[0].Due)
			m.RepairSweep()
			var answer []byte
			for _, e := range ev.events {
				if e.Kind == sds.EventRepairReady && e.MessageID == "b" {
					answer = e.Payload
				}
			}
			if !bytes.Equal(answer, b) {
				t.Fatalf("repair answer\n%x\nwant the message as received\n%x", answer, b)
			}
			msg, ok := m.LoggedMessage(pChan, "b")
			if want, _, _ := wire.Decode(b, wire.Limits{}); !ok || !bytes.Equal(msg.Marshal(wire.FormatNim), want.Marshal(wire.FormatNim)) {
				t.Fatalf("LoggedMessage(b) = %+v, %v", msg, ok)
			}
			reads := mem.Calls(persist.OpLoadMessage)
			if want := store == "memory"; (reads > 0) != want {
				t.Fatalf("%d reads from the store, want some: %v", reads, want)
			}
		})
	}
}

// A message the store would not give back exactly (an RFC history entry
// with an empty retrieval hint, which the stored Nim encoding drops) stays
// in memory; the others are read back.
func TestStoredLogKeepsInexactInMemory(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, mem, clk, func(c *sds.Config) { c.WireFormat = wire.FormatRFC })
	mustEnsure(t, m, pChan)
	if err := m.MarkDependenciesMet(pChan, []string{"dep"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		hint []byte
	}{{"empty-hint", []byte{}}, {"no-hint", nil}} {
		msg := wire.Message{
			MessageID: c.id, LamportTimestamp: 5, HasLamport: true, ChannelID: pChan, Content: []byte("x"), SenderID: "bob",
			CausalHistory: []wire.HistoryEntry{{MessageID: "dep", SenderID: "bob", RetrievalHint: c.hint}},
		}
		if res := nimUnwrap(t, m, msg.Marshal(wire.FormatRFC)); !res.Delivered {
			t.Fatalf("%s not delivered", c.id)
		}
		before := mem.Calls(persist.OpLoadMessage)
		got, ok := m.LoggedMessage(pChan, c.id)
		if !ok || len(got.CausalHistory) != 1 {
			t.Fatalf("LoggedMessage(%s) = %+v, %v", c.id, got, ok)
		}
		if h := got.CausalHistory[0].RetrievalHint; (h == nil) != (c.hint == nil) {
			t.Errorf("%s: hint %#v read back as %#v", c.id, c.hint, h)
		}
		if read := mem.Calls(persist.OpLoadMessage) > before; read != (c.hint == nil) {
			t.Errorf("%s: read from the store %v, want %v", c.id, read, c.hint == nil)
		}
	}
}

// A failed read of the store loses that answer, nothing else: the repair
// is not sent and LoggedMessage finds nothing.
func TestStoredLogReadFailure(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, ev := persistentManager(t, mem, clk, nil)
	nimUnwrap(t, m, peer("a", 10, "bob"))
	nimUnwrap(t, m, sdsrMessage(pChan, "asker", "carol", 30, []byte{1}, nil, []wire.HistoryEntry{entry("a", "bob")}))
	mem.SetFailing(persist.OpLoadMessage, true)
	if _, ok := m.LoggedMessage(pChan, "a"); ok {
		t.Fatal("LoggedMessage found a message the store failed to read")
	}
	clk.Set(nimState(t, m, pChan).RepairResponses[0].Due)
	m.RepairSweep()
	if got := ev.ids(sds.EventRepairReady); len(got) != 0 {
		t.Fatalf("repair answers %v without the message", got)
	}
	mem.SetFailing(persist.OpLoadMessage, false)
	if msg, ok := m.LoggedMessage(pChan, "a"); !ok || string(msg.Content) != "c-a" {
		t.Fatalf("LoggedMessage(a) once the store reads again = %+v, %v", msg, ok)
	}
}

// A log kept beyond MaxMessageHistory by LogRetention leaves those entries
// to the store as well: the oldest is still read back for a repair answer.
func TestStoredLogRetention(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m, ev := persistentManager(t, mem, clk, func(c *sds.Config) {
		c.MaxMessageHistory, c.MaxCausalHistory, c.LogRetention = 3, 2, time.Minute
	})
	first := peer("m1", 1, "bob")
	nimUnwrap(t, m, first)
	for i, id := range []string{"m2", "m3", "m4", "m5"} {
		nimUnwrap(t, m, peer(id, uint64(i+2), "bob"))
	}
	nimEqualIDs(t, "log", nimState(t, m, pChan).MessageHistory, []string{"m1", "m2", "m3", "m4", "m5"})
	nimUnwrap(t, m, sdsrMessage(pChan, "asker", "carol", 30, []byte{1}, nil, []wire.HistoryEntry{entry("m1", "bob")}))
	clk.Set(nimState(t, m, pChan).RepairResponses[0].Due)
	before := mem.Calls(persist.OpLoadMessage)
	m.RepairSweep()
	var answer []byte
	for _, e := range ev.events {
		if e.Kind == sds.EventRepairReady && e.MessageID == "m1" {
			answer = e.Payload
		}
	}
	if !bytes.Equal(answer, first) || mem.Calls(persist.OpLoadMessage) == before {
		t.Fatalf("repair answer %x (read from the store: %v), want %x", answer, mem.Calls(persist.OpLoadMessage) > before, first)
	}
}

// A stored log keeps the ids of its newest entries only and reads the
// others back from the store to evict them (issue #19): through
// cascades that deliver many messages in one operation, own messages and
// outages, the store's history stays the log's (ChannelState), the
// newest MaxMessageHistory, and a restart loads the same log. While the
// store cannot list ids, evictions it cannot name stay in the store, and
// the next load trims them.
func TestStoredLogEvictsThroughTheStore(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	cfg := func(c *sds.Config) { c.MaxMessageHistory, c.MaxCausalHistory = 8, 3 }
	m, _ := persistentManager(t, mem, clk, cfg)
	var logged []string // the model: every message logged, in order
	stored := func() []string {
		d, err := mem.LoadChannel(pChan)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, msg := range d.History {
			ids = append(ids, msg.MessageID)
		}
		return ids
	}
	check := func(when string) {
		t.Helper()
		want := logged[max(0, len(logged)-8):]
		nimEqualIDs(t, when+": log", nimState(t, m, pChan).MessageHistory, want)
		nimEqualIDs(t, when+": store", stored(), want)
	}
	// Bob's chain b0 <- b1 <- ...: each round sends the first message of a
	// group of five last, so the other four wait and it delivers all five.
	for round := 0; round < 6; round++ {
		var msgs [][]byte
		for i := range 5 {
			n := 5*round + i
			var deps []wire.HistoryEntry
			if n > 0 {
				deps = append(deps, entry(fmt.Sprint("b", n-1), "bob"))
			}
			msgs = append(msgs, peer(fmt.Sprint("b", n), uint64(n+1), "bob", deps...))
		}
		for _, b := range append(msgs[1:], msgs[0]) {
			nimUnwrap(t, m, b)
		}
		for i := range 5 {
			logged = append(logged, fmt.Sprint("b", 5*round+i))
		}
		if round == 3 {
			mem.FailNextWrites(3) // an outage: the Writer keeps what it could not write
		}
		id := fmt.Sprint("own", round)
		nimWrap(t, m, pChan, id, []byte("x"))
		logged = append(logged, id)
		if round != 3 { // the store lags during the outage
			check(fmt.Sprint("round ", round))
		}
	}
	if mem.Calls(persist.OpHistoryIDs) == 0 {
		t.Fatal("the log never read ids back from the store")
	}

	mem.SetFailing(persist.OpHistoryIDs, true)
	for i := range 20 { // more than the ids read ahead
		id := fmt.Sprint("blind", i)
		nimWrap(t, m, pChan, id, []byte("x"))
		logged = append(logged, id)
	}
	// ChannelState lists what the log holds in memory: the newest three.
	nimEqualIDs(t, "log while the store cannot list", nimState(t, m, pChan).MessageHistory, logged[len(logged)-3:])
	if got := stored(); len(got) <= 8 || !slices.Equal(got[len(got)-8:], logged[len(logged)-8:]) {
		t.Fatalf("store after evictions it could not name: %q, want older ones kept before the newest 8", got)
	}
	mem.SetFailing(persist.OpHistoryIDs, false)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, _ = persistentManager(t, mem, clk, cfg)
	mustEnsure(t, m, pChan)
	check("after the restart")
}
