package sds_test

import (
	"fmt"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// BenchmarkWrapPendingRepairs: Wrap on a channel holding n SDS-R requests
// that are not due yet. Finding the due ones is a heap peek, so the cost
// must not grow with n.
func BenchmarkWrapPendingRepairs(b *testing.B) {
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			cfg := sds.DefaultConfig()
			cfg.ParticipantID = "alice"
			cfg.MaxPendingRepairs = n + 1
			cfg.MaxIncomingBuffer = n + 1
			cfg.Clock = sds.NewManualClock(nimStart)
			m, err := sds.NewManager(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = m.Close() })
			fillRepairs(b, m, n)
			timeWraps(b, m, "c", rotateEvery, func(int) string {
				m.Reset() // the outgoing buffer grows by one per wrap
				fillRepairs(b, m, n)
				return "c"
			})
		})
	}
}

// fillRepairs makes n SDS-R requests pending on channel c, none due.
func fillRepairs(b *testing.B, m *sds.Manager, n int) {
	b.Helper()
	for i := 0; i < n; i += 10 {
		var h []wire.HistoryEntry
		for j := i; j < i+10 && j < n; j++ {
			h = append(h, wire.HistoryEntry{MessageID: fmt.Sprintf("gap-%d", j), SenderID: "bob"})
		}
		w := wire.Message{MessageID: fmt.Sprintf("w-%d", i), LamportTimestamp: 1, HasLamport: true,
			ChannelID: "c", Content: []byte{1}, SenderID: "bob", CausalHistory: h}
		if _, err := m.Unwrap(w.Marshal(wire.FormatNim)); err != nil {
			b.Fatal(err)
		}
	}
	if st, _ := m.ChannelState("c"); len(st.RepairRequests) != n {
		b.Fatalf("%d pending requests, want %d", len(st.RepairRequests), n)
	}
}
