package sds_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
)

// Benchmarks use the default configuration. Their clock does not move, so
// every id stays in the acknowledgement window: a message's bloom filter
// grows with the ids its channel has seen, and from ~8,900 on it is the
// whole 18.8 KB filter (10,000 ids, 0.1%).

var benchContent = make([]byte, 100)

func benchManager(b *testing.B, participant string) *sds.Manager {
	b.Helper()
	return benchManagerWith(b, participant, func(*sds.Config) {})
}

func benchManagerWith(b *testing.B, participant string, set func(*sds.Config)) *sds.Manager {
	b.Helper()
	return startManager(b, participant, sds.NewManualClock(time.Unix(1_700_000_000, 0)), set)
}

// fill wraps n messages on channel so n wait for acknowledgement.
func fill(b *testing.B, m *sds.Manager, channel string, n int) {
	b.Helper()
	for i := 0; i < n; i++ {
		if _, err := m.Wrap(channel, fmt.Sprintf("%s-fill-%d", channel, i), benchContent); err != nil {
			b.Fatal(err)
		}
	}
}

// rotateEvery bounds memory in long runs: the outgoing buffer grows by one
// per wrap, so a fresh channel (prefilled to the same depth) takes over
// every rotateEvery iterations, outside the timer.
const rotateEvery = 20_000

// BenchmarkWrap measures AppendWrap into a reused buffer with N of our
// messages waiting for acknowledgement. Each wrap adds one, so a channel
// filled to N takes over (outside the timer) every max(100, N/4) wraps,
// as in BenchmarkWrapPersistent: N to 1.25 N waiting (0 to 100 at N = 0).
// timeWraps times AppendWrap of benchContent on channel into a reused
// buffer; every every iterations, outside the timer, refresh returns the
// channel to wrap on from then. It returns the last message.
func timeWraps(b *testing.B, m *sds.Manager, channel string, every int, refresh func(i int) string) []byte {
	dst := make([]byte, 0, 32<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%every == 0 {
			b.StopTimer()
			channel = refresh(i)
			b.StartTimer()
		}
		var err error
		if dst, err = m.AppendWrap(dst[:0], channel, fmt.Sprint(i), benchContent); err != nil {
			b.Fatal(err)
		}
	}
	return dst
}

func BenchmarkWrap(b *testing.B) {
	for _, waiting := range []int{0, 500, 2000, 10000} {
		b.Run(fmt.Sprintf("unacked=%d", waiting), func(b *testing.B) {
			m := benchManager(b, "alice")
			channel := "c0"
			fill(b, m, channel, waiting)
			dst := timeWraps(b, m, channel, max(100, waiting/4), func(i int) string {
				m.RemoveChannel(channel)
				channel = fmt.Sprintf("c%d", i)
				fill(b, m, channel, waiting)
				return channel
			})
			b.SetBytes(int64(len(dst)))
		})
	}
}

// wrapped returns n wire messages from a sender on one channel, each
// naming its predecessors in its causal history.
func wrapped(b *testing.B, sender *sds.Manager, channel string, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	for i := range out {
		w, err := sender.Wrap(channel, fmt.Sprintf("%s-m%d", channel, i), benchContent)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = w
	}
	return out
}

func BenchmarkUnwrap(b *testing.B) {
	const pool = 2048
	for _, waiting := range []int{0, 500, 2000} {
		b.Run(fmt.Sprintf("receiverUnacked=%d", waiting), func(b *testing.B) {
			sender := benchManager(b, "alice")
			msgs := wrapped(b, sender, "c", pool)
			var receiver *sds.Manager
			fresh := func() {
				receiver = benchManager(b, "bob")
				fill(b, receiver, "c", waiting) // our own messages the peer filters never contain
			}
			fresh()
			b.ReportAllocs()
			b.SetBytes(int64(len(msgs[0])))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%pool == 0 {
					b.StopTimer()
					receiver.Close()
					fresh()
					b.StartTimer()
				}
				res, err := receiver.Unwrap(msgs[i%pool])
				if err != nil || !res.Delivered {
					b.Fatalf("unwrap %d: delivered=%v err=%v", i, res.Delivered, err)
				}
			}
		})
	}
}

// BenchmarkPingPong: alice wraps, bob unwraps, bob wraps, alice unwraps.
// Every message acknowledges the previous one, so buffers stay small.
func BenchmarkPingPong(b *testing.B) {
	alice, bob := benchManager(b, "alice"), benchManager(b, "bob")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w, err := alice.Wrap("c", fmt.Sprint("a", i), benchContent)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bob.Unwrap(w); err != nil {
			b.Fatal(err)
		}
		if w, err = bob.Wrap("c", fmt.Sprint("b", i), benchContent); err != nil {
			b.Fatal(err)
		}
		if _, err := alice.Unwrap(w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCascade delivers a chain of messages in reverse order: all but
// the last arrival wait in the incoming buffer, and the last one releases
// the whole chain. Reported per message.
func BenchmarkCascade(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			cfg := sds.DefaultConfig()
			cfg.MaxCausalHistory = 1 // a pure chain: each names only its predecessor
			cfg.MaxMessageHistory = n
			cfg.Clock = sds.NewManualClock(time.Unix(1_700_000_000, 0))
			sender, _ := sds.NewManager(cfg)
			msgs := wrapped(b, sender, "c", n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				receiver, _ := sds.NewManager(cfg)
				delivered := 0
				receiver.SetEventHandler(func(e sds.Event) {
					if e.Kind == sds.EventMessageReady {
						delivered++
					}
				})
				b.StartTimer()
				for j := n - 1; j >= 0; j-- {
					if _, err := receiver.Unwrap(msgs[j]); err != nil {
						b.Fatal(err)
					}
				}
				if delivered != n {
					b.Fatalf("delivered %d of %d", delivered, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
		})
	}
}

// BenchmarkManyChannels wraps round-robin over many channels of one manager.
func BenchmarkManyChannels(b *testing.B) {
	for _, channels := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("channels=%d", channels), func(b *testing.B) {
			m := benchManagerWith(b, "alice", func(c *sds.Config) { c.MaxChannels = max(c.MaxChannels, channels) })
			names := make([]string, channels)
			for i := range names {
				names[i] = fmt.Sprint("ch", i)
				if err := m.EnsureChannel(names[i]); err != nil {
					b.Fatal(err)
				}
			}
			dst := make([]byte, 0, 32<<10)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%(rotateEvery*channels) == 0 {
					b.StopTimer()
					for _, n := range names {
						m.RemoveChannel(n)
						m.EnsureChannel(n)
					}
					b.StartTimer()
				}
				var err error
				if dst, err = m.AppendWrap(dst[:0], names[i%channels], fmt.Sprint(i), benchContent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParallelChannels wraps from many goroutines, each on its own
// channel: independent channels must not serialize.
func BenchmarkParallelChannels(b *testing.B) {
	m := benchManager(b, "alice")
	var next int64
	var mu = make(chan struct{}, 1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		mu <- struct{}{}
		next++
		channel := fmt.Sprint("p", next)
		<-mu
		dst := make([]byte, 0, 32<<10)
		i := 0
		for pb.Next() {
			if i > 0 && i%rotateEvery == 0 {
				m.RemoveChannel(channel)
			}
			var err error
			if dst, err = m.AppendWrap(dst[:0], channel, fmt.Sprint(i), benchContent); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
