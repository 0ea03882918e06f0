package sds_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
)

// README and COMPATIBILITY S1: each operation writes only what it
// changed. A wrap writes the clock, its own outgoing record and one history
// append, and nothing else: the same keys and bytes with 0 and with 1,000
// messages waiting for acknowledgement.
func TestWrapWritesOnlyWhatItChanged(t *testing.T) {
	counter := &countingBackend{Backend: persist.NewMemory(), note: true}
	clk := sds.NewManualClock(nimStart)
	// No eviction from the log: ids, senders and history entries all have
	// one length, so the bytes of two wraps compare exactly.
	roomy := func(c *sds.Config) { c.MaxMessageHistory = 2000 }
	alice, _ := persistentManager(t, counter, clk, roomy)
	bob, _, _ := nimManager(t, func(c *sds.Config) { roomy(c); c.ParticipantID = "bobby"; c.Clock = clk })
	id := func(i int) string { return fmt.Sprintf("a%05d", i) }

	// Ten of ours, all acknowledged by bob's reply: nothing waits.
	for i := range 10 {
		nimUnwrap(t, bob, nimWrap(t, alice, pChan, id(i), []byte{1}))
	}
	nimUnwrap(t, alice, nimWrap(t, bob, pChan, "b00000", []byte{1}))
	if n := len(nimState(t, alice, pChan).Outgoing); n != 0 {
		t.Fatalf("%d unacknowledged after bob's reply", n)
	}
	wrapAt := func(i, waiting int) int64 {
		t.Helper()
		nimWrap(t, alice, pChan, id(i), []byte{1})
		w := counter.last
		want := writeNote{puts: []string{persist.LamportKey, persist.OutgoingKey(id(i))}, appends: []string{id(i)}}
		if !slices.Equal(w.puts, want.puts) || len(w.deletes) != 0 || !slices.Equal(w.appends, want.appends) || len(w.evicts) != 0 {
			t.Fatalf("wrap with %d waiting wrote %+v, want %+v", waiting, w, want)
		}
		return w.bytes
	}
	at0 := wrapAt(10, 0)
	for i := 11; i < 1011; i++ {
		nimWrap(t, alice, pChan, id(i), []byte{1})
	}
	if n := len(nimState(t, alice, pChan).Outgoing); n != 1001 {
		t.Fatalf("%d unacknowledged, want 1001", n)
	}
	if at1000 := wrapAt(1011, 1001); at1000 != at0 {
		t.Fatalf("a wrap wrote %d bytes with 1,001 waiting, %d with none", at1000, at0)
	}
}
