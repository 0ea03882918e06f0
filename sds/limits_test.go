package sds_test

// Tests that cross the limits listed in docs/LIMITS.md at the Manager's
// entry points (the wire-level limits are crossed one by one in
// sds/wire/wire_test.go, the bloom ones in sds/bloom and hostile_test.go).

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

func limitsManager(t *testing.T, mutate func(*sds.Config)) *sds.Manager {
	t.Helper()
	m, _, _ := nimManager(t, mutate)
	return m
}

func plainMessage(channel, id string) []byte {
	return sdsrMessage(channel, id, "peer", 1, []byte("x"), nil, nil)
}

// A peer naming a new channel in every message creates at most MaxChannels
// of them; past that each such message is refused with ErrTooManyChannels
// and creates nothing, while the existing channels keep working.
func TestMaxChannels(t *testing.T) {
	m := limitsManager(t, func(c *sds.Config) { c.MaxChannels = 3 })
	for i := 0; i < 3; i++ {
		if _, err := m.Unwrap(plainMessage(fmt.Sprintf("c%d", i), "m")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Unwrap(plainMessage("c3", "m")); !errors.Is(err, sds.ErrTooManyChannels) {
		t.Fatalf("4th channel by Unwrap: %v", err)
	}
	if _, err := m.Wrap("c3", "mine", []byte("x")); !errors.Is(err, sds.ErrTooManyChannels) {
		t.Fatalf("4th channel by Wrap: %v", err)
	}
	if err := m.EnsureChannel("c3"); !errors.Is(err, sds.ErrTooManyChannels) {
		t.Fatalf("4th channel by EnsureChannel: %v", err)
	}
	if _, err := m.WrapSync("c3"); !errors.Is(err, sds.ErrTooManyChannels) {
		t.Fatalf("4th channel by WrapSync: %v", err)
	}
	if n := len(m.Channels()); n != 3 {
		t.Fatalf("%d channels", n)
	}
	// Existing channels are unaffected.
	if _, err := m.Wrap("c0", "mine", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if res, err := m.Unwrap(plainMessage("c1", "m2")); err != nil || !res.Delivered {
		t.Fatalf("existing channel: %+v %v", res, err)
	}
	// Removing one frees a place.
	if err := m.RemoveChannel("c2"); err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureChannel("c3"); err != nil {
		t.Fatalf("after RemoveChannel: %v", err)
	}
	if err := m.EnsureChannel("c4"); !errors.Is(err, sds.ErrTooManyChannels) {
		t.Fatalf("after refilling: %v", err)
	}
}

// The Nim library spends 1.1 GB on 20,000 messages naming new channels;
// here the default bound holds.
func TestDefaultMaxChannelsUnderFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods 20,000 messages")
	}
	m := limitsManager(t, nil)
	refused := 0
	for i := 0; i < 20_000; i++ {
		if _, err := m.Unwrap(plainMessage(fmt.Sprintf("flood-%d", i), "m")); errors.Is(err, sds.ErrTooManyChannels) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.Channels()); n != sds.DefaultMaxChannels || refused != 20_000-sds.DefaultMaxChannels {
		t.Fatalf("%d channels, %d refused", n, refused)
	}
}

func TestMaxChannelsValidated(t *testing.T) {
	refusesConfig(t, "MaxChannels 0", func(c *sds.Config) { c.MaxChannels = 0 })
}

// Content over MaxContentSize is refused by Wrap and by Unwrap (the whole
// message may still be under the wire limit).
func TestMaxContentSize(t *testing.T) {
	m := limitsManager(t, func(c *sds.Config) { c.MaxContentSize = 100 })
	if _, err := m.Wrap("c", "ok", make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Wrap("c", "big", make([]byte, 101)); !errors.Is(err, sds.ErrContentTooLarge) {
		t.Fatalf("Wrap: %v", err)
	}
	big := sdsrMessage("c", "in", "peer", 1, make([]byte, 101), nil, nil)
	if _, err := m.Unwrap(big); !errors.Is(err, sds.ErrContentTooLarge) {
		t.Fatalf("Unwrap: %v", err)
	}
	if st, _ := m.ChannelState("c"); len(st.MessageHistory) != 1 {
		t.Fatalf("log %v", st.MessageHistory)
	}
}

// Ids longer than Limits.MaxIDBytes are refused at every entry point.
func TestIDLengthLimits(t *testing.T) {
	m := limitsManager(t, nil)
	long := strings.Repeat("x", wire.DefaultMaxIDBytes+1)
	ok := strings.Repeat("x", wire.DefaultMaxIDBytes)
	if _, err := m.Wrap(ok, ok, []byte("x")); err != nil {
		t.Fatalf("ids at the limit: %v", err)
	}
	if _, err := m.Wrap(long, "m", []byte("x")); !errors.Is(err, sds.ErrInvalidArgument) {
		t.Fatalf("Wrap channel id: %v", err)
	}
	if _, err := m.Wrap("c", long, []byte("x")); !errors.Is(err, sds.ErrInvalidArgument) {
		t.Fatalf("Wrap message id: %v", err)
	}
	if err := m.MarkDependenciesMet(ok, []string{long}); !errors.Is(err, sds.ErrInvalidArgument) {
		t.Fatalf("MarkDependenciesMet id: %v", err)
	}
	if err := m.EnsureChannel(long); !errors.Is(err, sds.ErrInvalidArgument) {
		t.Fatalf("EnsureChannel: %v", err)
	}
	for name, b := range map[string][]byte{
		"channel id": plainMessage(long, "m"),
		"message id": plainMessage("c", long),
		"sender id":  sdsrMessage("c", "m", long, 1, []byte("x"), nil, nil),
		"history id": sdsrMessage("c", "m", "p", 1, []byte("x"), nimHistory(long), nil),
		"repair id":  sdsrMessage("c", "m", "p", 1, []byte("x"), nil, []wire.HistoryEntry{entry(long, "p")}),
	} {
		if _, err := m.Unwrap(b); !errors.Is(err, wire.ErrLimit) || !errors.Is(err, sds.ErrDecode) {
			t.Errorf("Unwrap with a long %s: %v", name, err)
		}
	}
	refusesConfig(t, "long participant id", func(c *sds.Config) { c.ParticipantID = long })
	if n := len(m.Channels()); n != 1 {
		t.Fatalf("refused input created channels: %v", m.Channels())
	}
}

// 100,000 repair requests in one message (the Nim library accepts them)
// are refused; at the limit they are accepted and at most
// MaxPendingRepairs responses are planned.
func TestRepairEntriesLimit(t *testing.T) {
	m := limitsManager(t, func(c *sds.Config) { c.MaxPendingRepairs = 10 })
	// Short ids keep 100,000 entries under the message size limit.
	for i := 0; i < 20; i++ {
		if _, err := m.Unwrap(sdsrMessage("c", fmt.Sprintf("h%c", 'a'+i), "b", uint64(i+1), []byte("x"), nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	reqs := make([]wire.HistoryEntry, 100_000)
	for i := range reqs {
		reqs[i] = entry(fmt.Sprintf("h%c", 'a'+i%20), "b")
	}
	if _, err := m.Unwrap(sdsrMessage("c", "asks", "evil", 50, []byte("x"), nil, reqs)); !errors.Is(err, wire.ErrLimit) {
		t.Fatalf("100,000 repair requests: %v", err)
	}
	if _, err := m.Unwrap(sdsrMessage("c", "asks", "evil", 50, []byte("x"), nil, reqs[:wire.DefaultMaxRepairEntries])); err != nil {
		t.Fatalf("%d repair requests: %v", wire.DefaultMaxRepairEntries, err)
	}
	if st, _ := m.ChannelState("c"); len(st.RepairResponses) != 10 {
		t.Fatalf("%d responses planned, want MaxPendingRepairs", len(st.RepairResponses))
	}
}

// Causal history at the limit is accepted, one more entry is refused.
func TestHistoryEntriesLimit(t *testing.T) {
	m := limitsManager(t, func(c *sds.Config) { c.MaxIncomingBuffer = 2; c.MaxPendingRepairs = 5 })
	hist := make([]wire.HistoryEntry, wire.DefaultMaxHistoryEntries+1)
	for i := range hist {
		hist[i] = entry(fmt.Sprintf("dep-%d", i), "bob")
	}
	if _, err := m.Unwrap(sdsrMessage("c", "over", "bob", 1, []byte("x"), hist, nil)); !errors.Is(err, wire.ErrLimit) {
		t.Fatalf("%d entries: %v", len(hist), err)
	}
	res, err := m.Unwrap(sdsrMessage("c", "at", "bob", 1, []byte("x"), hist[:wire.DefaultMaxHistoryEntries], nil))
	if err != nil || len(res.MissingDeps) != wire.DefaultMaxHistoryEntries {
		t.Fatalf("at the limit: %d missing, %v", len(res.MissingDeps), err)
	}
	// The repair requests it causes stay within MaxPendingRepairs.
	if st, _ := m.ChannelState("c"); len(st.RepairRequests) != 5 || len(st.Incoming) != 1 {
		t.Fatalf("requests %d, incoming %d", len(st.RepairRequests), len(st.Incoming))
	}
}

// A retrieval hint over MaxHintBytes from the provider is dropped: the
// entry goes out without a hint and the wrap succeeds.
func TestProviderHintOverLimit(t *testing.T) {
	m := limitsManager(t, nil)
	m.SetRetrievalHintProvider(func(id string) []byte {
		if id == "big" {
			return make([]byte, wire.DefaultMaxHintBytes+1)
		}
		return []byte("h-" + id)
	})
	for _, id := range []string{"big", "small"} {
		if _, err := m.Wrap("c", id, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	b, err := m.Wrap("c", "next", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	msg, _, err := wire.Decode(b, wire.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	hints := map[string]string{}
	for _, h := range msg.CausalHistory {
		hints[h.MessageID] = string(h.RetrievalHint)
	}
	if hints["big"] != "" || hints["small"] != "h-small" {
		t.Fatalf("hints %q", hints)
	}
}

// Our own filter obeys the bloom limits too (k <= bloom.MaxHashes, at most
// bloom.MaxFilterBytes of bits): Validate refuses what NewManager could
// not build, so the C constructor reports it as a configuration error.
func TestBloomConfigLimits(t *testing.T) {
	for name, mutate := range map[string]func(*sds.Config){
		"too many hashes": func(c *sds.Config) { c.BloomErrorRate = 1e-300 },
		"too many bytes":  func(c *sds.Config) { c.BloomCapacity = 1 << 30 },
	} {
		cfg := sds.DefaultConfig()
		mutate(&cfg)
		if err := cfg.Validate(); !errors.Is(err, sds.ErrInvalidConfig) {
			t.Errorf("%s: Validate: %v", name, err)
		}
		refusesConfig(t, name+": NewManager", mutate)
	}
}

func waitingMessage(channel, id string, content int, deps ...string) []byte {
	return sdsrMessage(channel, id, "", 1, make([]byte, content), nimHistory(deps...), nil)
}

// The incoming buffers of all channels together stay within
// MaxIncomingBytes: a channel over it evicts the messages it received
// first; a message whose channel has nothing left to evict (the others
// hold the budget) is not buffered, with an event naming it; messages
// leaving the buffer, and channels leaving the manager, give it back.
func TestMaxIncomingBytes(t *testing.T) {
	m, rec, _ := nimManager(t, func(c *sds.Config) { c.MaxIncomingBytes = 20_000 })
	for i := 1; i <= 4; i++ {
		res, err := m.Unwrap(waitingMessage("a", fmt.Sprintf("a%d", i), 5000, "gap"))
		if err != nil || res.Delivered {
			t.Fatalf("a%d: %+v %v", i, res, err)
		}
		if got := m.IncomingBytes(); got > 20_000 {
			t.Fatalf("after a%d: %d bytes buffered", i, got)
		}
	}
	nimEqualIDs(t, "evicted", rec.ids(sds.EventIncomingEvicted), []string{"a1"})
	if st, _ := m.ChannelState("a"); len(st.Incoming) != 3 {
		t.Fatalf("a holds %d", len(st.Incoming))
	}
	full := m.IncomingBytes()

	// Channel b has nothing to evict: its waiting message is not kept.
	res, err := m.Unwrap(waitingMessage("b", "b1", 5000, "gap"))
	if err != nil || res.Delivered || len(res.MissingDeps) != 1 {
		t.Fatalf("b1: %+v %v", res, err)
	}
	nimEqualIDs(t, "evicted", rec.ids(sds.EventIncomingEvicted), []string{"a1", "b1"})
	if st, _ := m.ChannelState("b"); len(st.Incoming) != 0 || m.IncomingBytes() != full {
		t.Fatalf("b holds %d, %d bytes (was %d)", len(st.Incoming), m.IncomingBytes(), full)
	}
	// A message that waits for nothing is delivered whatever the budget.
	if res, err := m.Unwrap(waitingMessage("b", "b0", 5000)); err != nil || !res.Delivered {
		t.Fatalf("b0: %+v %v", res, err)
	}

	// The gap arrives: a's messages are delivered and give their bytes back.
	if _, err := m.Unwrap(waitingMessage("a", "gap", 1)); err != nil {
		t.Fatal(err)
	}
	if m.IncomingBytes() != 0 {
		t.Fatalf("%d bytes after delivery", m.IncomingBytes())
	}
	nimEqualIDs(t, "delivered", rec.ids(sds.EventMessageReady), []string{"b0", "gap", "a2", "a3", "a4"})
	if res, _ := m.Unwrap(waitingMessage("b", "b1", 5000, "gap")); res.Delivered {
		t.Fatal("b1 delivered without its dependency")
	}
	if st, _ := m.ChannelState("b"); len(st.Incoming) != 1 {
		t.Fatal("b1 not buffered once there was room")
	}
	// A channel leaving the manager gives its bytes back.
	if err := m.RemoveChannel("b"); err != nil {
		t.Fatal(err)
	}
	if m.IncomingBytes() != 0 {
		t.Fatalf("%d bytes after RemoveChannel", m.IncomingBytes())
	}
}

// Messages naming 1,024 missing dependencies each (the most a message may
// carry) cost ~220 KB each waiting: the byte budget, not the count, is
// what bounds them, and the heap follows it.
func TestIncomingFloodOfLongHistories(t *testing.T) {
	const budget = 8 << 20
	m := limitsManager(t, func(c *sds.Config) { c.MaxIncomingBytes = budget; c.ParticipantID = "" })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		deps := make([]string, wire.DefaultMaxHistoryEntries)
		for j := range deps {
			deps[j] = fmt.Sprintf("d%d-%d", i, j)
		}
		if _, err := m.Unwrap(waitingMessage("c", fmt.Sprintf("m%d", i), 100, deps...)); err != nil {
			t.Fatal(err)
		}
		if got := m.IncomingBytes(); got > budget {
			t.Fatalf("message %d: %d bytes buffered", i, got)
		}
	}
	st, _ := m.ChannelState("c")
	if n := len(st.Incoming); n < 10 || n >= 100 {
		t.Fatalf("%d messages kept of 100 (~%d fit)", n, budget/220_000)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 2*budget {
		t.Fatalf("heap grew %d bytes for a budget of %d", grown, budget)
	}
	runtime.KeepAlive(m)
}

func TestMaxIncomingBytesValidated(t *testing.T) {
	refusesConfig(t, "MaxIncomingBytes 0", func(c *sds.Config) { c.MaxIncomingBytes = 0 })
}

// A received bloom filter may be as large as bloom.MaxFilterBytes (1 MiB);
// one far larger than ours still acknowledges, but no channel keeps a
// megabyte for it afterwards.
func TestHugeReceivedFiltersNotKept(t *testing.T) {
	m := limitsManager(t, nil)
	big, err := bloom.New(500_000, 0.001) // ~900 KB of bits
	if err != nil {
		t.Fatal(err)
	}
	const channels = 64
	for i := 0; i < channels; i++ {
		if _, err := m.Wrap(fmt.Sprintf("c%d", i), "mine", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	big.Add("mine")
	filter := big.AppendSerialized(nil)
	if len(filter) < 800_000 {
		t.Fatalf("filter of %d bytes", len(filter))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < channels; i++ {
		msg := wire.Message{MessageID: "evil", LamportTimestamp: 1, HasLamport: true, ChannelID: fmt.Sprintf("c%d", i), Content: []byte("x"), BloomFilter: filter}
		if _, err := m.Unwrap(msg.Marshal(wire.FormatNim)); err != nil {
			t.Fatal(err)
		}
		if st, _ := m.ChannelState(fmt.Sprintf("c%d", i)); len(st.Outgoing) != 0 {
			t.Fatal("the large filter did not acknowledge")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 8<<20 {
		t.Fatalf("heap grew %d MB for %d channels that saw a %d KB filter", grown>>20, channels, len(filter)>>10)
	}
	runtime.KeepAlive(m)
}

// The local logs of all channels together stay within MaxLogBytes (plus
// each channel's newest message): a channel over it evicts its oldest
// entries, which stay remembered (a late copy is still a duplicate); a
// channel leaving the manager gives its bytes back.
func TestMaxLogBytes(t *testing.T) {
	m, rec, _ := nimManager(t, func(c *sds.Config) { c.MaxLogBytes = 20_000 })
	msgs := make([][]byte, 10)
	for i := range msgs {
		msgs[i] = waitingMessage("a", fmt.Sprintf("a%d", i), 5000)
		if res, err := m.Unwrap(msgs[i]); err != nil || !res.Delivered {
			t.Fatalf("a%d: %+v %v", i, res, err)
		}
		if got := m.LogBytes(); got > 20_000 {
			t.Fatalf("after a%d: %d bytes logged", i, got)
		}
	}
	st, _ := m.ChannelState("a")
	if n := len(st.MessageHistory); n < 2 || n > 3 || st.MessageHistory[n-1] != "a9" {
		t.Fatalf("log %v", st.MessageHistory)
	}
	// An evicted message arriving again is a duplicate.
	if res, err := m.Unwrap(msgs[0]); err != nil || !res.Duplicate {
		t.Fatalf("late copy of a0: %+v %v", res, err)
	}
	if n := len(rec.ids(sds.EventMessageReady)); n != 10 {
		t.Fatalf("%d deliveries", n)
	}
	// Another channel keeps its newest message whatever the others hold,
	// and evicts its own older ones.
	for i := 0; i < 3; i++ {
		if _, err := m.Wrap("b", fmt.Sprintf("b%d", i), make([]byte, 19_000)); err != nil {
			t.Fatal(err)
		}
		if st, _ := m.ChannelState("b"); len(st.MessageHistory) != 1 {
			t.Fatalf("b's log %v", st.MessageHistory)
		}
	}
	if err := m.RemoveChannel("b"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveChannel("a"); err != nil {
		t.Fatal(err)
	}
	if m.LogBytes() != 0 {
		t.Fatalf("%d bytes after removing every channel", m.LogBytes())
	}
}

func TestMaxLogBytesValidated(t *testing.T) {
	refusesConfig(t, "MaxLogBytes 0", func(c *sds.Config) { c.MaxLogBytes = 0 })
}
