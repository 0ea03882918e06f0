package sds_test

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// craftedFilter builds a Nim-format filter field by field, as a hostile
// peer could.
func craftedFilter(words int, capacity, errRate, k, mBits uint64) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, make([]byte, 8*words))
	for i, v := range []uint64{capacity, errRate, k, mBits} {
		b = protowire.AppendTag(b, protowire.Number(i+2), protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	}
	return b
}

// Each of these filters crashes or exhausts the Nim library. Here the
// message is still processed and the filter is ignored: it acknowledges
// nothing.
func TestHostileBloomFiltersAreIgnored(t *testing.T) {
	cases := map[string][]byte{
		"billions of hashes":  craftedFilter(2344, 10000, 1000, 4_000_000_000, 150000),
		"bits beyond words":   craftedFilter(1, 10000, 1000, 10, 150000),
		"zero bits":           craftedFilter(1, 10000, 1000, 10, 0),
		"truncated":           craftedFilter(2344, 10000, 1000, 10, 150000)[:100],
		"mBits near MaxInt64": craftedFilter(1, 1, 1, 1, math.MaxInt64),
	}
	for name, filter := range cases {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, "alice")
			acks := 0
			m.SetEventHandler(func(e sds.Event) {
				if e.Kind == sds.EventMessageAcknowledged {
					acks++
				}
			})
			if _, err := m.Wrap("c", "mine", []byte("x")); err != nil {
				t.Fatal(err)
			}
			msg := wire.Message{MessageID: "evil", LamportTimestamp: 1, HasLamport: true, ChannelID: "c", Content: []byte("hi"), BloomFilter: filter}
			res, err := m.Unwrap(msg.Marshal(wire.FormatNim))
			if err != nil || !res.Delivered {
				t.Fatalf("message with a bad filter: %+v %v", res, err)
			}
			if acks != 0 {
				t.Fatal("a bad filter acknowledged a message")
			}
		})
	}
}

// Input over the size limit is refused before decoding, and bad input
// leaves no trace (no channel is created).
func TestOversizeAndGarbageRefused(t *testing.T) {
	m := newTestManager(t, "alice")
	huge := make([]byte, 64<<20)
	if _, err := m.Unwrap(huge); !errors.Is(err, wire.ErrTooLarge) || !errors.Is(err, sds.ErrDecode) {
		t.Fatalf("64 MiB input: %v", err)
	}
	many := wire.Message{MessageID: "m", LamportTimestamp: 1, HasLamport: true, ChannelID: "c", Content: []byte("x")}
	for i := 0; i < 100_000; i++ {
		many.CausalHistory = append(many.CausalHistory, wire.HistoryEntry{MessageID: "d"})
	}
	if _, err := m.Unwrap(many.Marshal(wire.FormatNim)); !errors.Is(err, wire.ErrLimit) {
		t.Fatalf("100,000 history entries: %v", err)
	}
	for _, garbage := range [][]byte{nil, {0xff, 0xff, 0xff}, []byte("0a026d"), {0x0a, 0x00, 0x10, 0x01, 0x22, 0x00, 0x2a, 0x00}} {
		if _, err := m.Unwrap(garbage); !errors.Is(err, sds.ErrDecode) {
			t.Fatalf("garbage %x: %v", garbage, err)
		}
	}
	if ch := m.Channels(); len(ch) != 0 {
		t.Fatalf("refused input created channels %v", ch)
	}
}

// A Lamport timestamp at the top of the range neither wraps our clock
// around nor stops us sending.
func TestLamportSaturates(t *testing.T) {
	m := newTestManager(t, "alice")
	msg := wire.Message{MessageID: "far", LamportTimestamp: math.MaxUint64, HasLamport: true, ChannelID: "c", Content: []byte("x")}
	if _, err := m.Unwrap(msg.Marshal(wire.FormatNim)); err != nil {
		t.Fatal(err)
	}
	st, _ := m.ChannelState("c")
	if st.LamportTimestamp != math.MaxInt64 {
		t.Fatalf("clock %d, want clamped to MaxInt64", st.LamportTimestamp)
	}
	w, err := m.Wrap("c", "next", []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := wire.Decode(w, wire.DefaultLimits())
	if got.LamportTimestamp != math.MaxInt64 {
		t.Fatalf("sent Lamport %d", got.LamportTimestamp)
	}
}

// Dependency cycles and self-references cannot make delivery loop.
func TestCyclesAndSelfReferences(t *testing.T) {
	m := newTestManager(t, "alice")
	mk := func(id string, deps ...string) []byte {
		msg := wire.Message{MessageID: id, LamportTimestamp: 5, HasLamport: true, ChannelID: "c", Content: []byte(id)}
		for _, d := range deps {
			msg.CausalHistory = append(msg.CausalHistory, wire.HistoryEntry{MessageID: d})
		}
		return msg.Marshal(wire.FormatNim)
	}
	if res, _ := m.Unwrap(mk("self", "self")); !res.Delivered {
		t.Fatal("a self-reference blocked delivery")
	}
	if res, _ := m.Unwrap(mk("x", "y")); res.Delivered {
		t.Fatal("x delivered without y")
	}
	if res, _ := m.Unwrap(mk("y", "x")); res.Delivered || len(res.MissingDeps) != 0 {
		t.Fatalf("y: %+v (x is buffered, not missing)", res)
	}
	if err := m.MarkDependenciesMet("c", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	st, _ := m.ChannelState("c")
	// y is delivered; x, which the application says it has, is not again.
	if len(st.Incoming) != 0 || len(st.MessageHistory) != 2 || st.MessageHistory[1] != "y" {
		t.Fatalf("after breaking the cycle: log %v incoming %v", st.MessageHistory, st.Incoming)
	}
}
