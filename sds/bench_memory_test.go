package sds_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/bolt"
	"github.com/libsds-go/libsds/sds/wire"
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
//
// With SDS_HEAP_PROFILE=path, every allocation is sampled and a heap
// profile of the receiver is written to path before it closes, for
// go tool pprof -sample_index=inuse_space.
func BenchmarkFullChannelMemory(b *testing.B) {
	if os.Getenv("SDS_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1
	}
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

// BenchmarkRepairAnswer measures one SDS-R answer by a receiver holding a
// full channel (as BenchmarkFullChannelMemory's, on a manual clock): a
// sync message requesting one of its logged messages arrives, and once
// the response is due RepairSweep rebroadcasts it (EventRepairReady). With
// store=bolt the log keeps content and causal history in the store, which
// is read back twice per answer: when the response is scheduled (the
// stored response record carries the message, as Nim's does) and when it
// is sent; it also writes that record and its removal. store=bolt-keep
// does the same writes with the bolt store behind the Backend and Batcher
// operations alone (no persist.MessageLoader), so the log keeps the
// messages in memory: the difference with store=bolt is the cost of the
// reads. BenchmarkLoggedMessage measures one read alone.
func BenchmarkRepairAnswer(b *testing.B) {
	for _, store := range []string{"none", "bolt-keep", "bolt"} {
		b.Run("store="+store, func(b *testing.B) {
			receiver, clk := fullReceiver(b, store)
			answers := 0
			receiver.SetEventHandler(func(e sds.Event) {
				if e.Kind == sds.EventRepairReady {
					answers++
				}
			})
			requests := make([][]byte, memPerChannel)
			for i := range requests {
				req := wire.Message{MessageID: fmt.Sprint("req-", i), LamportTimestamp: 1, HasLamport: true,
					ChannelID: "channel-0", SenderID: "carol", RepairRequest: []wire.HistoryEntry{{MessageID: memID(0, i), SenderID: "alice"}}}
				requests[i] = req.Marshal(wire.FormatNim)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := receiver.Unwrap(requests[i%len(requests)]); err != nil {
					b.Fatal(err)
				}
				clk.Advance(receiver.Config().RepairTMax)
				receiver.RepairSweep()
			}
			if answers != b.N {
				b.Fatalf("%d answers to %d requests", answers, b.N)
			}
		})
	}
}

// BenchmarkLoggedMessage measures Manager.LoggedMessage of a full
// channel's messages: with store=bolt, a read of the store (one bbolt read
// transaction and the decoding of one message); without, the decoding of
// the log entry. Both copy the message for the caller.
func BenchmarkLoggedMessage(b *testing.B) {
	for _, store := range []string{"none", "bolt"} {
		b.Run("store="+store, func(b *testing.B) {
			receiver, _ := fullReceiver(b, store)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := receiver.LoggedMessage("channel-0", memID(0, i%memPerChannel)); !ok {
					b.Fatal("not logged")
				}
			}
		})
	}
}

// fullReceiver returns a receiver ("bob", on a manual clock) holding one
// full channel, channel-0: without a store ("none"), with the embedded
// store ("bolt", no fsync), or with it behind the Backend and Batcher
// operations alone ("bolt-keep"). It follows RepairRFC, which answers
// every request it is in the response group of (under the default
// RepairPrompt, a participant other than the original sender answers only
// a request repeated after RepairResponseGrace).
func fullReceiver(b *testing.B, store string) (*sds.Manager, *sds.ManualClock) {
	b.Helper()
	clk := sds.NewManualClock(time.Unix(1_700_000_000, 0))
	set := func(c *sds.Config) {
		c.RepairPolicy = sds.RepairRFC
		if store == "none" {
			return
		}
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bob.db"), &bolt.Options{NoSync: true, Limits: c.PersistLimits()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		c.Persistence = s
		if store == "bolt-keep" {
			c.Persistence = struct {
				persist.Backend
				persist.Batcher
			}{s, s}
		}
	}
	receiver := startManager(b, "bob", clk, set)
	sender := startManager(b, "alice", clk, nil)
	content := make([]byte, memContentSize)
	for i := 0; i < memPerChannel; i++ {
		w, err := sender.Wrap("channel-0", memID(0, i), content)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := receiver.Unwrap(w); err != nil {
			b.Fatal(err)
		}
	}
	return receiver, clk
}

// memID is the 48-character id of message i of channel c.
func memID(c, i int) string {
	id := fmt.Sprintf("channel-%d-%d-", c, i)
	return id + strings.Repeat("x", memIDLength-len(id))
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
	if path := os.Getenv("SDS_HEAP_PROFILE"); path != "" {
		writeHeapProfile(b, path)
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
			id := memID(c, i)
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

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
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
