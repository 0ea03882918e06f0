package sds_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist/bolt"
)

// Issue #19's figure: what a full channel costs the receiver in memory.
const (
	memChannels    = 10   // channels the receiver holds
	memPerChannel  = 1000 // messages per channel: the default log, full
	memContentSize = 100
	memIDLength    = 48
)

// BenchmarkFullChannelMemory measures the live heap a receiver keeps per full
// channel. Two managers with the default configuration (participant ids
// "alice" and "bob", so messages carry sender ids); alice wraps 1,000
// messages of 100 bytes with 48-character ids on each of 10 channels and
// bob unwraps each at once. Then alice is closed and dropped, and after
// runtime.GC() bob's live heap (HeapAlloc, minus what was live before bob
// was created) is divided by the channels (B/channel) and by the messages
// logged (B/logged-message). Everything bob holds counts: the logs, the
// bloom filters (the rolling filter and the acknowledgement window, which
// keeps every id here: the messages arrive well within its 12 minutes)
// and, with store=bolt, the store's own heap (bolt.Open, no fsync).
func BenchmarkFullChannelMemory(b *testing.B) {
	for _, store := range []string{"none", "bolt"} {
		b.Run("store="+store, func(b *testing.B) {
			var perChannel float64
			for i := 0; i < b.N; i++ {
				perChannel += float64(receiverHeap(b, store == "bolt")) / memChannels
			}
			perChannel /= float64(b.N)
			b.ReportMetric(perChannel, "B/channel")
			b.ReportMetric(perChannel/memPerChannel, "B/logged-message")
		})
	}
}

// receiverHeap returns the live heap of a receiver holding memChannels
// full channels.
func receiverHeap(b *testing.B, store bool) uint64 {
	b.Helper()
	before := liveHeap()
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = "bob"
	var closeStore func() error
	if store {
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bob.db"), &bolt.Options{NoSync: true, Limits: cfg.PersistLimits()})
		if err != nil {
			b.Fatal(err)
		}
		cfg.Persistence, closeStore = s, s.Close
	}
	receiver, err := sds.NewManager(cfg)
	if err != nil {
		b.Fatal(err)
	}
	fillChannels(b, receiver)
	heap := liveHeap() - before
	if receiver.LogBytes() == 0 {
		b.Fatal("nothing logged")
	}
	if err := receiver.Close(); err != nil {
		b.Fatal(err)
	}
	if closeStore != nil {
		if err := closeStore(); err != nil {
			b.Fatal(err)
		}
	}
	return heap
}

// fillChannels has a sender (closed after) wrap memPerChannel messages on
// each of memChannels channels and receiver unwrap them, all delivered.
func fillChannels(b *testing.B, receiver *sds.Manager) {
	b.Helper()
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = "alice"
	sender, err := sds.NewManager(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close()
	content := make([]byte, memContentSize)
	for c := 0; c < memChannels; c++ {
		channel := fmt.Sprintf("channel-%d", c)
		for i := 0; i < memPerChannel; i++ {
			id := fmt.Sprintf("%s-%d-", channel, i)
			id += strings.Repeat("x", memIDLength-len(id))
			w, err := sender.Wrap(channel, id, content)
			if err != nil {
				b.Fatal(err)
			}
			if res, err := receiver.Unwrap(w); err != nil || !res.Delivered {
				b.Fatalf("unwrap %s: delivered %v, %v", id, res.Delivered, err)
			}
		}
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
