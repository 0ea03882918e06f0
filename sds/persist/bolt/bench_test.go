package bolt

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/libsds-go/libsds/internal/procio"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// The cost of one more "send" with N unacknowledged messages buffered:
// put one outgoing record, put the Lamport clock, append one message to
// the history (and, to hold the buffer at N, acknowledge the oldest
// message: delete its record; for N=0 the buffer holds the one message
// of the previous send).
//
//	go test -run '^$' -bench BenchmarkSend -benchtime 2s ./sds/persist/bolt/
//
// Sub-benchmarks:
//   - store=bolt: what this package writes, through persist.Writer (one
//     bbolt transaction, fsynced).
//   - store=nim-encode: encoding the whole Nim ChannelMeta blob (N+1
//     entries), which the Nim library builds and hands to its backend on
//     every operation; nothing is written.
//   - store=nim-blob-bolt: that blob written to the same bbolt file as one
//     value per operation, i.e. the Nim design on this storage.
//
// filter=19KB carries an 18,765-byte bloom filter in every stored message
// (pessimistic: the Go manager keeps messages without their filter);
// filter=none stores the message as the manager does. Metrics: written-B/op
// is what the process handed to write(2) per operation (/proc/self/io
// wchar; Linux only), payload-B/op the bytes of the changed records and
// messages (or of the blob).
func BenchmarkSend(b *testing.B) {
	for _, filter := range []int{18765, 0} {
		for _, n := range []int{0, 500, 2000} {
			fname := "none"
			if filter > 0 {
				fname = "19KB"
			}
			name := fmt.Sprintf("filter=%s/unacked=%d", fname, n)
			b.Run("store=bolt/"+name, func(b *testing.B) { benchBolt(b, n, filter) })
			b.Run("store=nim-encode/"+name, func(b *testing.B) { benchNimEncode(b, n, filter) })
			b.Run("store=nim-blob-bolt/"+name, func(b *testing.B) { benchNimBlobBolt(b, n, filter) })
		}
	}
}

const benchChannel = "bench-channel-0123456789abcdef0123456789abcdef"

// benchMessage is a typical message: 64-character ids, 256 bytes of
// content, ten causal-history entries, and optionally a bloom filter.
func benchMessage(i, filter int) wire.Message {
	id := fmt.Sprintf("%064x", i)
	m := wire.Message{
		MessageID: id, LamportTimestamp: uint64(1_700_000_000_000 + i), HasLamport: true,
		ChannelID: benchChannel, Content: bytes.Repeat([]byte{'x'}, 256),
		SenderID: fmt.Sprintf("%064x", 7),
	}
	for j := range 10 {
		m.CausalHistory = append(m.CausalHistory, wire.HistoryEntry{MessageID: fmt.Sprintf("%064x", i-j-1), SenderID: m.SenderID})
	}
	if filter > 0 {
		m.BloomFilter = bytes.Repeat([]byte{0x5a}, filter)
	}
	return m
}

func benchUnacked(i, filter int) persist.UnacknowledgedMessage {
	return persist.UnacknowledgedMessage{Message: benchMessage(i, filter), SendTimeMs: int64(1_700_000_000_000 + i), ResendAttempts: 1}
}

func openBench(b *testing.B) *Store {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// fill stores n unacknowledged messages (and the same messages in the
// history) in one transaction.
func fill(b *testing.B, s *Store, n, filter int) {
	var d persist.MetaDelta
	var u persist.HistoryUpdate
	for i := range n {
		un := benchUnacked(i, filter)
		d.PutOutgoing(&un)
		u.Append = append(u.Append, un.Message)
	}
	d.PutLamport(uint64(1_700_000_000_000 + n))
	if err := s.Apply(benchChannel, &d, &u); err != nil {
		b.Fatal(err)
	}
}

func benchBolt(b *testing.B, n, filter int) {
	s := openBench(b)
	fill(b, s, n, filter)
	_, w, err := persist.Bootstrap(s, benchChannel, persist.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	oldest, next := 0, n
	var payload int64
	w0, haveIO := procio.Written()
	b.ReportAllocs()
	for b.Loop() {
		var d persist.MetaDelta
		if next-oldest >= max(n, 1) {
			d.DeleteOutgoing(fmt.Sprintf("%064x", oldest))
			oldest++
		}
		un := benchUnacked(next, filter)
		d.PutOutgoing(&un)
		d.PutLamport(uint64(1_700_000_000_000 + next))
		u := &persist.HistoryUpdate{Append: []wire.Message{un.Message}}
		for k, v := range d.Puts {
			payload += int64(len(k) + len(v))
		}
		payload += int64(un.Message.EncodedLen(wire.FormatNim))
		next++
		if err := w.Commit(&d, u); err != nil {
			b.Fatal(err)
		}
	}
	report(b, w0, haveIO, payload)
}

// nimMeta is the Nim ChannelMeta holding n+1 unacknowledged messages.
func nimMeta(n, filter int) *persist.ChannelMeta {
	m := &persist.ChannelMeta{Lamport: uint64(1_700_000_000_000 + n)}
	for i := range max(n, 1) {
		m.Outgoing = append(m.Outgoing, benchUnacked(i, filter))
	}
	return m
}

func benchNimEncode(b *testing.B, n, filter int) {
	m := nimMeta(n, filter)
	var payload int64
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		// The Nim library encodes a fresh blob for every operation.
		buf = m.AppendTo(buf[:0])
		payload += int64(len(buf))
	}
	b.ReportMetric(float64(payload)/float64(b.N), "payload-B/op")
}

func benchNimBlobBolt(b *testing.B, n, filter int) {
	s := openBench(b)
	m := nimMeta(n, filter)
	var payload int64
	w0, haveIO := procio.Written()
	b.ReportAllocs()
	for b.Loop() {
		blob := m.Marshal()
		payload += int64(len(blob))
		var d persist.MetaDelta
		d.Put("nim-meta", blob)
		if err := s.SaveChannelMeta(benchChannel, &d); err != nil {
			b.Fatal(err)
		}
	}
	report(b, w0, haveIO, payload)
}

func report(b *testing.B, w0 int64, haveIO bool, payload int64) {
	if w1, ok := procio.Written(); ok && haveIO {
		b.ReportMetric(float64(w1-w0)/float64(b.N), "written-B/op")
	}
	b.ReportMetric(float64(payload)/float64(b.N), "payload-B/op")
}
