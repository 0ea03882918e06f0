package sds_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// bloomModes are the two filters a Nim-format message can carry.
var bloomModes = []struct {
	name string
	full bool
}{{"compact", false}, {"full", true}}

func clockedManager(b *testing.B, clk *sds.ManualClock, full bool) *sds.Manager {
	return benchManagerWith(b, "bob", func(c *sds.Config) { c.Clock, c.FullBloomFilter = clk, full })
}

// BenchmarkSteadyTraffic is one participant of a busy channel in steady
// state: a peer's message (no history, no filter) arrives every 200 ms of
// the clock, the rate of the whole group in sds-sim's 50-participant run,
// and every 10th time it wraps one of its own. With the default window
// (12 minutes) the compact filter holds ~3,600 ids. Per received message:
// an unwrap and a tenth of a wrap.
func BenchmarkSteadyTraffic(b *testing.B) {
	for _, mode := range bloomModes {
		b.Run(mode.name, func(b *testing.B) {
			clk := sds.NewManualClock(time.Unix(1_700_000_000, 0))
			m := clockedManager(b, clk, mode.full)
			const batch = 1 << 14
			msgs := make([][]byte, batch)
			next := 0
			refill := func() {
				for i := range msgs {
					msg := wire.Message{MessageID: fmt.Sprint("peer-", next), LamportTimestamp: uint64(next + 1), HasLamport: true,
						ChannelID: "c", Content: benchContent, SenderID: "alice"}
					msgs[i] = msg.Marshal(wire.FormatNim)
					next++
				}
			}
			dst := make([]byte, 0, 32<<10)
			step := func(i int) {
				clk.Advance(200 * time.Millisecond)
				if _, err := m.Unwrap(msgs[i%batch]); err != nil {
					b.Fatal(err)
				}
				if i%10 == 0 {
					var err error
					if dst, err = m.AppendWrap(dst[:0], "c", fmt.Sprint("own-", next, "-", i), benchContent); err != nil {
						b.Fatal(err)
					}
				}
			}
			refill()
			for i := range 2 * 3600 { // fill the window: steady state
				if i > 0 && i%batch == 0 {
					refill()
				}
				step(i)
			}
			refill()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%batch == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				step(i)
			}
			b.ReportMetric(float64(len(dst)), "wire-bytes")
		})
	}
}

// BenchmarkChannelMemory reports the heap one channel holds once n ids
// arrived within the acknowledgement window and it wrapped one message:
// with the compact filter, the window's ids (24 bytes each) and its
// filter come on top of the rolling filter every channel keeps.
func BenchmarkChannelMemory(b *testing.B) {
	for _, mode := range bloomModes {
		for _, n := range []int{100, 2000} {
			b.Run(fmt.Sprintf("%s/ids=%d", mode.name, n), func(b *testing.B) {
				const channels = 50
				ids := make([]string, n)
				for i := range ids {
					ids[i] = fmt.Sprintf("%064x", i)
				}
				var perChannel float64
				for b.Loop() {
					clk := sds.NewManualClock(time.Unix(1_700_000_000, 0))
					var before, after runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&before)
					m := clockedManager(b, clk, mode.full)
					for c := range channels {
						ch := fmt.Sprint("c", c)
						if err := m.EnsureChannel(ch); err != nil {
							b.Fatal(err)
						}
						for i := 0; i < n; i += 100 {
							if err := m.MarkDependenciesMet(ch, ids[i:min(i+100, n)]); err != nil {
								b.Fatal(err)
							}
						}
						if _, err := m.Wrap(ch, "own", benchContent); err != nil {
							b.Fatal(err)
						}
					}
					runtime.GC()
					runtime.ReadMemStats(&after)
					perChannel = float64(after.HeapAlloc-before.HeapAlloc) / channels
					runtime.KeepAlive(m)
					m.Close()
				}
				b.ReportMetric(perChannel, "heap-B/channel")
			})
		}
	}
}
