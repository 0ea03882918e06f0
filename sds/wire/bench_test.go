package wire

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchMessage is a typical message: default-size (18,765-byte) bloom filter,
// 10 causal-history entries with hints and senders, 100 bytes of content.
func benchMessage() Message {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	hexID := func() string { return fmt.Sprintf("%x", rnd(32)) }
	m := Message{
		MessageID:        hexID(),
		LamportTimestamp: 1795636229945,
		HasLamport:       true,
		ChannelID:        "my-channel",
		Content:          rnd(100),
		BloomFilter:      rnd(18765),
		SenderID:         "participant-1",
	}
	for range 10 {
		m.CausalHistory = append(m.CausalHistory, HistoryEntry{
			MessageID: hexID(), RetrievalHint: rnd(32), SenderID: "participant-2",
		})
	}
	return m
}

func BenchmarkEncode(b *testing.B) {
	m := benchMessage()
	for _, f := range formats {
		b.Run(f.String()+"/Append", func(b *testing.B) {
			buf := make([]byte, 0, m.EncodedLen(f))
			b.ReportAllocs()
			b.SetBytes(int64(m.EncodedLen(f)))
			for b.Loop() {
				buf = m.Append(buf[:0], f)
			}
		})
		b.Run(f.String()+"/Marshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(m.EncodedLen(f)))
			for b.Loop() {
				_ = m.Marshal(f)
			}
		})
	}
}

// benchEncoded times read over benchMessage encoded in each format;
// withBytes reports the throughput in encoded bytes.
func benchEncoded(b *testing.B, withBytes bool, read func(enc []byte) error) {
	m := benchMessage()
	for _, f := range formats {
		enc := m.Marshal(f)
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			if withBytes {
				b.SetBytes(int64(len(enc)))
			}
			for b.Loop() {
				if err := read(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	benchEncoded(b, true, func(enc []byte) error {
		_, _, err := Decode(enc, Limits{})
		return err
	})
}

func BenchmarkChannelID(b *testing.B) {
	benchEncoded(b, false, func(enc []byte) error {
		_, err := ChannelID(enc, Limits{})
		return err
	})
}
