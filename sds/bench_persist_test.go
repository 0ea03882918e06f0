package sds_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/libsds-go/libsds/internal/procio"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/bolt"
	"github.com/libsds-go/libsds/sds/wire"
)

// BenchmarkWrapPersistent measures one Wrap through a persistent manager
// (default configuration; bloom filters are not stored)
// with N messages already waiting for acknowledgement. Each wrap stores
// the clock, one outgoing record and one history append, in one
// transaction. The cost must not grow with N.
//
//   - store=bolt: the embedded store, bolt.Open (every transaction
//     fsynced);
//   - store=bolt-nosync: the same without fsync (the CPU and I/O volume
//     without the disk's latency);
//   - store=memory: persist.Memory (the manager's own cost of building and
//     committing the delta).
//
// Metrics: payload-B/op is what the manager handed to the backend (record
// values and encoded history messages); written-B/op is what the process
// passed to write(2) (/proc/self/io wchar; Linux only), i.e. the store's
// pages. The buffer is refilled to N outside the timer every
// max(100, N/4) wraps.
func BenchmarkWrapPersistent(b *testing.B) {
	for _, store := range []string{"bolt", "bolt-nosync", "memory"} {
		for _, waiting := range []int{0, 500, 2000, 10000} {
			b.Run(fmt.Sprintf("store=%s/unacked=%d", store, waiting), func(b *testing.B) {
				benchWrapPersistent(b, store, waiting)
			})
		}
	}
}

func benchWrapPersistent(b *testing.B, store string, waiting int) {
	var backend persist.Backend
	switch store {
	case "memory":
		backend = persist.NewMemory()
	default:
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), &bolt.Options{NoSync: store == "bolt-nosync"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		backend = s
	}
	counter := &countingBackend{Backend: backend}
	clk := sds.NewManualClock(nimStart)
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = "alice"
	cfg.Clock = clk
	cfg.Persistence = counter
	m, err := sds.NewManager(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })

	fillMsgs := prefillMessages(b, waiting)
	rotateEvery := max(100, waiting/4)
	channel := ""
	refill := func(i int) {
		if channel != "" {
			if err := m.RemoveChannel(channel); err != nil {
				b.Fatal(err)
			}
		}
		channel = fmt.Sprint("c", i)
		prefillStored(b, backend, channel, fillMsgs)
		if err := m.EnsureChannel(channel); err != nil {
			b.Fatal(err)
		}
		if st, _ := m.ChannelState(channel); len(st.Outgoing) != waiting {
			b.Fatalf("prefilled %d, want %d", len(st.Outgoing), waiting)
		}
		runtime.GC() // the refill's garbage is not the wraps' cost
	}
	refill(0)
	dst := make([]byte, 0, 32<<10)
	var written, payload int64
	w0, haveIO := procio.Written()
	p0 := counter.bytes
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%rotateEvery == 0 {
			b.StopTimer()
			w1, _ := procio.Written()
			written, payload = written+w1-w0, payload+counter.bytes-p0
			refill(i)
			w0, _ = procio.Written()
			p0 = counter.bytes
			b.StartTimer()
		}
		var err error
		if dst, err = m.AppendWrap(dst[:0], channel, fmt.Sprint(i), benchContent); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	w1, _ := procio.Written()
	written, payload = written+w1-w0, payload+counter.bytes-p0
	b.ReportMetric(float64(payload)/float64(b.N), "payload-B/op")
	if haveIO {
		b.ReportMetric(float64(written)/float64(b.N), "written-B/op")
	}
	if st := m.PersistenceStats(); st.WriteFailures != 0 {
		b.Fatalf("%d writes failed", st.WriteFailures)
	}
}

// prefillMessages returns n of our messages as n Wraps would have made
// them, as the log keeps them (without the bloom filter).
func prefillMessages(b *testing.B, n int) []wire.Message {
	b.Helper()
	gen := benchManager(b, "alice")
	defer gen.Close()
	out := make([]wire.Message, n)
	for i := range out {
		w, err := gen.Wrap("c", fmt.Sprint("fill-", i), benchContent)
		if err != nil {
			b.Fatal(err)
		}
		if out[i], _, err = wire.Decode(w, wire.Limits{}); err != nil {
			b.Fatal(err)
		}
		out[i].BloomFilter = nil
	}
	return out
}

// prefillStored stores channel with msgs waiting for acknowledgement, as
// len(msgs) Wraps would leave it (written at once): each message logged
// and in the outgoing buffer.
func prefillStored(b *testing.B, backend persist.Backend, channel string, msgs []wire.Message) {
	b.Helper()
	if len(msgs) == 0 {
		return
	}
	var d persist.MetaDelta
	u := &persist.HistoryUpdate{}
	for _, msg := range msgs {
		msg.ChannelID = channel
		d.PutOutgoing(&persist.UnacknowledgedMessage{Message: msg, SendTimeMs: nimStart.UnixMilli()})
		u.Append = append(u.Append, msg)
	}
	d.PutLamport(msgs[len(msgs)-1].LamportTimestamp)
	if err := backend.(persist.Batcher).Apply(channel, &d, u); err != nil {
		b.Fatal(err)
	}
}

// countingBackend counts the bytes handed to the backend's writes and,
// with note set, notes what the last write held (the Writer reuses its
// deltas).
type countingBackend struct {
	persist.Backend
	bytes int64
	note  bool
	last  writeNote
}

// writeNote is what one write held: the keys put and deleted, the ids
// appended and evicted, and its bytes.
type writeNote struct {
	puts, deletes, appends, evicts []string
	bytes                          int64
}

func (c *countingBackend) count(d *persist.MetaDelta, u *persist.HistoryUpdate) {
	before := c.bytes
	if d != nil {
		for k, v := range d.Puts {
			c.bytes += int64(len(k) + len(v))
		}
		for k := range d.Deletes {
			c.bytes += int64(len(k))
		}
	}
	if u != nil {
		for i := range u.Append {
			c.bytes += int64(u.Append[i].EncodedLen(wire.FormatNim))
		}
		for _, id := range u.Evict {
			c.bytes += int64(len(id))
		}
	}
	if c.note {
		c.last = noteOf(d, u, c.bytes-before)
	}
}

// noteOf notes what one write of n bytes holds.
func noteOf(d *persist.MetaDelta, u *persist.HistoryUpdate, n int64) writeNote {
	w := writeNote{bytes: n}
	if d != nil {
		w.puts = slices.Sorted(maps.Keys(d.Puts))
		w.deletes = slices.Sorted(maps.Keys(d.Deletes))
	}
	if u != nil {
		for i := range u.Append {
			w.appends = append(w.appends, u.Append[i].MessageID)
		}
		w.evicts = slices.Clone(u.Evict)
	}
	return w
}

func (c *countingBackend) SaveChannelMeta(ch string, d *persist.MetaDelta) error {
	c.count(d, nil)
	return c.Backend.SaveChannelMeta(ch, d)
}

func (c *countingBackend) UpdateHistory(ch string, u *persist.HistoryUpdate) error {
	c.count(nil, u)
	return c.Backend.UpdateHistory(ch, u)
}

func (c *countingBackend) Apply(ch string, d *persist.MetaDelta, u *persist.HistoryUpdate) error {
	c.count(d, u)
	return c.Backend.(persist.Batcher).Apply(ch, d, u)
}

func (c *countingBackend) SaveRetrievalHint(ch, id string, hint []byte) error {
	c.bytes += int64(len(id) + len(hint))
	return c.Backend.SaveRetrievalHint(ch, id, hint)
}
