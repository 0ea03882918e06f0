package sds_test

import (
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// A message evicted from the local log and received again later (a late
// repair or resend) is a duplicate, not a second delivery; its late copy
// still releases a message that named it after it left the log. With
// RememberDelivered 0 it is delivered again, as in Nim.
func TestLateCopyOfEvictedMessage(t *testing.T) {
	for _, remember := range []int{sds.DefaultRememberDelivered, 0} {
		cfg := sds.DefaultConfig()
		cfg.ParticipantID = "bob"
		cfg.MaxMessageHistory, cfg.MaxCausalHistory = 2, 2
		cfg.RememberDelivered = remember
		cfg.LogRetention = 0 // the log evicts by count alone
		cfg.Clock = sds.NewManualClock(time.Unix(1_800_000_000, 0))
		m, err := sds.NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ready := map[string]int{}
		m.SetEventHandler(func(e sds.Event) {
			if e.Kind == sds.EventMessageReady {
				ready[e.MessageID]++
			}
		})
		msg := func(id string, ts uint64, deps ...string) []byte {
			w := wire.Message{MessageID: id, LamportTimestamp: ts, HasLamport: true, ChannelID: "c", Content: []byte(id), SenderID: "alice"}
			for _, d := range deps {
				w.CausalHistory = append(w.CausalHistory, wire.HistoryEntry{MessageID: d, SenderID: "alice"})
			}
			return w.Marshal(wire.FormatNim)
		}
		for i, id := range []string{"m1", "m2", "m3"} { // m1 leaves the 2-entry log
			if _, err := m.Unwrap(msg(id, uint64(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		// A latecomer names m1, which the log no longer holds.
		res, _ := m.Unwrap(msg("late", 4, "m1"))
		if res.Delivered || len(res.MissingDeps) != 1 {
			t.Fatalf("remember=%d: latecomer %+v, want it waiting for m1", remember, res)
		}
		res, _ = m.Unwrap(msg("m1", 1)) // the repair arrives
		if remember > 0 {
			if !res.Duplicate || ready["m1"] != 1 {
				t.Fatalf("late copy of m1: %+v, delivered %d times", res, ready["m1"])
			}
		} else if !res.Delivered || ready["m1"] != 2 {
			t.Fatalf("remember=0: late copy of m1 %+v, delivered %d times (Nim delivers again)", res, ready["m1"])
		}
		if ready["late"] != 1 {
			t.Fatalf("remember=%d: the latecomer was not released by m1's late copy", remember)
		}
		m.Close()
	}
}
