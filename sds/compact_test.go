package sds_test

// The compact bloom filter (Config.FullBloomFilter false, the default): a
// message in the Nim format carries the ids of the acknowledgement window
// only, in a filter sized for the error rate at their number.

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// compactPair is two managers on one clock, their events recorded.
func compactPair(t *testing.T, mutate func(*sds.Config)) (a, b *sds.Manager, aEv, bEv *nimEvents, clk *sds.ManualClock) {
	t.Helper()
	clk = sds.NewManualClock(nimStart)
	at := func(name string) func(*sds.Config) {
		return func(c *sds.Config) {
			c.ParticipantID, c.Clock = name, clk
			if mutate != nil {
				mutate(c)
			}
		}
	}
	a, aEv, _ = nimManager(t, at("alice"))
	b, bEv, _ = nimManager(t, at("bob"))
	return a, b, aEv, bEv, clk
}

// sendTo wraps n messages at from (ids prefix-0 ...) and unwraps each at to.
func sendTo(t *testing.T, from, to *sds.Manager, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		nimUnwrap(t, to, nimWrap(t, from, pChan, ids[i], []byte("hello")))
	}
	return ids
}

// attached is the filter a fresh wrap at m carries, and the wire bytes.
func attached(t *testing.T, m *sds.Manager, id string) (*bloom.Filter, []byte) {
	t.Helper()
	w := nimWrap(t, m, pChan, id, []byte{1})
	return nimAttachedBloom(t, w), w
}

func TestEffectiveAckWindow(t *testing.T) {
	cfg := sds.DefaultConfig()
	// 5 resends 60 s apart, each found by a sweep up to 60 s late, then
	// failure one interval after the last: 6 × (60 s + 60 s).
	if got := cfg.EffectiveAckWindow(); got != 12*time.Minute {
		t.Errorf("default window %v, want 12m", got)
	}
	cfg.BloomAckThreshold = 2 // "possibly acknowledged" messages wait 120 s
	if got := cfg.EffectiveAckWindow(); got != 18*time.Minute {
		t.Errorf("threshold 2: window %v, want 18m", got)
	}
	cfg.AckWindow = 90 * time.Second
	if got := cfg.EffectiveAckWindow(); got != 90*time.Second {
		t.Errorf("configured window %v, want 90s", got)
	}
	cfg = sds.DefaultConfig()
	cfg.MaxResendAttempts = math.MaxInt
	if got := cfg.EffectiveAckWindow(); got != math.MaxInt64 {
		t.Errorf("overflowing window %v, want the largest duration", got)
	}
	cfg = sds.DefaultConfig()
	cfg.AckWindow = -time.Second
	if _, err := sds.NewManager(cfg); err == nil {
		t.Error("negative AckWindow accepted")
	}
}

// The filter holds what was received, sent or marked met within the
// window, and forgets it after.
func TestCompactFilterHoldsTheWindow(t *testing.T) {
	a, b, _, _, clk := compactPair(t, nil)
	window := a.Config().EffectiveAckWindow()
	early := sendTo(t, b, a, "early", 50)
	if err := a.MarkDependenciesMet(pChan, []string{"met-1"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(window - time.Second)
	late := sendTo(t, b, a, "late", 50)
	f, w := attached(t, a, "a-1")
	for _, id := range slices.Concat(early, late, []string{"met-1"}) {
		if !f.Contains(id) {
			t.Fatalf("filter lacks %s, received within the window", id)
		}
	}
	full := nimWrap(t, mustFull(t), pChan, "x", []byte{1})
	t.Logf("101 ids in the window: message %d bytes (filter capacity %d, mBits %d); with the full filter %d", len(w), f.Params().Capacity, f.Params().MBits, len(full))
	if len(w) >= len(full)/10 {
		t.Errorf("message of %d bytes, want under a tenth of the full one (%d)", len(w), len(full))
	}

	clk.Advance(2 * time.Second) // early ones left the window, late ones not
	f, _ = attached(t, a, "a-2")
	for _, id := range slices.Concat(late, []string{"a-1"}) {
		if !f.Contains(id) {
			t.Fatalf("filter lacks %s", id)
		}
	}
	if hits := countIn(f, early); hits > 1 { // at 0.1%, one false positive is already unlikely
		t.Errorf("%d of 50 expired ids still in the filter", hits)
	}
	if p := f.Params(); p.Capacity > 100 {
		t.Errorf("capacity %d after half the window expired, want it rebuilt for ~52 ids", p.Capacity)
	}
}

func countIn(f *bloom.Filter, ids []string) int {
	n := 0
	for _, id := range ids {
		if f.Contains(id) {
			n++
		}
	}
	return n
}

func mustFull(t *testing.T) *sds.Manager {
	m, _, _ := nimManager(t, func(c *sds.Config) { c.FullBloomFilter = true })
	return m
}

// The target: after 100 messages each way between two managers
// with the default settings, a message is far below the 18.9 KB of the
// full filter; and an acknowledgement carried by the filter alone (the
// sender names no causal history) reaches the peer, until the window ends.
func TestCompactFilterAcknowledges(t *testing.T) {
	a, b, aEv, _, clk := compactPair(t, nil)
	for i := range 100 {
		nimUnwrap(t, b, nimWrap(t, a, pChan, fmt.Sprint("a-", i), []byte("a chat line of forty bytes, or about it")))
		nimUnwrap(t, a, nimWrap(t, b, pChan, fmt.Sprint("b-", i), []byte("a chat line of forty bytes, or about it")))
	}
	w := nimWrap(t, a, pChan, "a-next", []byte("a chat line of forty bytes, or about it"))
	t.Logf("after 100 messages each way: %d bytes", len(w))
	if len(w) > 2000 {
		t.Errorf("message of %d bytes after 100 each way, want at most 2,000", len(w))
	}

	// Filter-only acknowledgement: bob names no causal history.
	a, b, aEv, _, clk = compactPair(t, func(c *sds.Config) { c.MaxCausalHistory = 0 })
	nimUnwrap(t, b, nimWrap(t, a, pChan, "a-1", []byte{1}))
	window := b.Config().EffectiveAckWindow()
	clk.Advance(window) // the last moment alice may still be waiting
	if msg := nimDecode(t, nimWrap(t, b, pChan, "b-1", []byte{1})); len(msg.CausalHistory) != 0 {
		t.Fatal("bob named a causal history")
	} else {
		nimUnwrap(t, a, msg.Marshal(wire.FormatNim))
	}
	nimEqualIDs(t, "acknowledged", aEv.ids(sds.EventMessageAcknowledged), []string{"a-1"})
	// Past the window nothing is promised either way: an expired id's
	// bits stay until the filter is next rebuilt (TestCompactFilterHoldsTheWindow).
}

// nimReceiverLookup is a Nim receiver (nim-sds 07491b2, PROTOCOL.md
// §2.1), written from its rules rather than with package bloom: all five
// fields or the filter is ignored; words = len(field 1)/8, little-endian;
// k and mBits from the message; index abs(a + i·b) mod mBits with
// a = abs(H(id)) mod mBits, b = abs(H(id+" b")) mod mBits; word index/64
// read without a bounds check (a Nim receiver dies on an index past the
// words). It reports the parsed fields and whether each id is found.
func nimReceiverLookup(t *testing.T, enc []byte, ids []string) (fields map[protowire.Number]uint64, found []bool) {
	t.Helper()
	fields = map[protowire.Number]uint64{}
	var words []uint64
	for b := enc; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag in %x", enc)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad words field")
			}
			b = b[n:]
			words = make([]uint64, len(v)/8)
			for i := range words {
				for j := 7; j >= 0; j-- {
					words[i] = words[i]<<8 | uint64(v[8*i+j])
				}
			}
			fields[1] = uint64(len(v))
		case num >= 2 && num <= 5 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal("bad varint field")
			}
			b, fields[num] = b[n:], v
		default:
			t.Fatalf("unexpected field %d type %d", num, typ)
		}
	}
	if len(fields) != 5 {
		t.Fatalf("fields %v: a Nim receiver ignores a filter without all five", fields)
	}
	k, mBits := int64(fields[4]), int64(fields[5])
	if k < 1 || mBits < 1 {
		t.Fatalf("k %d, mBits %d", k, mBits)
	}
	if int64(len(words)) < 1+mBits/64 {
		t.Fatalf("%d words for mBits %d: a Nim receiver indexes up to word %d", len(words), mBits, (mBits-1)/64)
	}
	abs := func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}
	for _, id := range ids {
		ha, hb := abs(bloom.NimHash(id))%mBits, abs(bloom.NimHash(id+" b"))%mBits
		hit := true
		for i := range k {
			idx := abs(ha+i*hb) % mBits
			if idx/64 >= int64(len(words)) {
				t.Fatalf("index %d past the %d words", idx, len(words))
			}
			if words[idx/64]&(1<<(idx%64)) == 0 {
				hit = false
			}
		}
		found = append(found, hit)
	}
	return fields, found
}

// Every filter we send, compact or (past the window's limit) full, obeys
// a Nim receiver's rules and holds every id of the window.
func TestCompactFilterNimReceiverRules(t *testing.T) {
	a, _, _, _, _ := compactPair(t, func(c *sds.Config) { c.BloomCapacity = 2000 })
	var held []string
	// Up to 2,300 ids: past where the full filter takes over (~1,770),
	// short of its roll-over (2,400), which would drop the oldest.
	for _, n := range []int{0, 1, 2, 10, 100, 127, 128, 500, 1000, 1700, 2000, 2300} {
		for len(held) < n {
			id := fmt.Sprint("held-", len(held))
			if err := a.MarkDependenciesMet(pChan, []string{id}); err != nil {
				t.Fatal(err)
			}
			held = append(held, id)
		}
		msg := nimDecode(t, nimWrap(t, a, pChan, fmt.Sprint("probe-", n), []byte{1}))
		fields, found := nimReceiverLookup(t, msg.BloomFilter, held)
		for i, ok := range found {
			if !ok {
				t.Fatalf("%d ids: a Nim receiver does not find %s", n, held[i])
			}
		}
		t.Logf("%d ids: %d bytes, capacity %d, error rate %d ppm, k %d, mBits %d", n, fields[1], fields[2], fields[3], fields[4], fields[5])
		if fields[3] != 1000 {
			t.Errorf("%d ids: error rate field %d, want 1000 ppm", n, fields[3])
		}
		held = append(held, fmt.Sprint("probe-", n)) // ours, in the window too
	}
}

// The rate at which a compact filter acknowledges messages its sender
// never saw stays at the configured error rate as the window fills from
// one id to past where the full filter takes over.
func TestCompactFilterFalseAcknowledgementRate(t *testing.T) {
	const rate = 0.001
	a, b, aEv, _, _ := compactPair(t, nil)
	const ours = 3000
	mustEnsure(t, b, pChan)
	for i := range ours { // alice's messages bob never receives
		nimWrap(t, a, pChan, fmt.Sprint("unseen-", i), []byte{1})
	}
	type bucket struct{ upTo, checks, acks int }
	buckets := []*bucket{{upTo: 100}, {upTo: 1000}, {upTo: 9000}, {upTo: math.MaxInt}}
	fill := 0
	for step := 0; fill < 12000; step++ {
		add := 1 + fill/8 // checkpoints spread over the fill levels
		if fill < 100 {
			add = 5
		}
		ids := make([]string, add)
		for i := range ids {
			ids[i] = fmt.Sprint("other-", fill+i)
		}
		if err := b.MarkDependenciesMet(pChan, ids); err != nil { // ids bob has (here from a third peer)
			t.Fatal(err)
		}
		fill += add
		before := len(nimOutgoingIDs(nimState(t, a, pChan)))
		acked := aEv.count(sds.EventMessageAcknowledged)
		nimUnwrap(t, a, nimWrap(t, b, pChan, fmt.Sprint("b-", step), []byte{1}))
		bk := buckets[slices.IndexFunc(buckets, func(x *bucket) bool { return fill <= x.upTo })]
		bk.checks += before
		bk.acks += aEv.count(sds.EventMessageAcknowledged) - acked
	}
	from := 0
	for _, bk := range buckets {
		mean := rate * float64(bk.checks)
		t.Logf("window of %d to %d ids: %d false acknowledgements in %d checks (%.5f)", from, bk.upTo, bk.acks, bk.checks, float64(bk.acks)/float64(bk.checks))
		if float64(bk.acks) > mean+4*math.Sqrt(mean)+1 { // deterministic ids: cannot flake
			t.Errorf("window of %d to %d ids: %d false acknowledgements in %d checks, rate %v allows ~%.0f", from, bk.upTo, bk.acks, bk.checks, rate, mean)
		}
		from = bk.upTo
	}
}

// A burst (no id expires) grows the compact filter up to the full one's
// size, never beyond: from there on it is the full filter, byte for byte.
func TestCompactFilterBurstBecomesFull(t *testing.T) {
	small := func(c *sds.Config) { c.BloomCapacity = 300 }
	compact, _, _ := nimManager(t, small)
	full, _, _ := nimManager(t, func(c *sds.Config) { small(c); c.FullBloomFilter = true })
	var ids []string
	sawFull := false
	for step := 0; len(ids) < 600; step++ {
		batch := []string{fmt.Sprint("burst-", len(ids)), fmt.Sprint("burst-", len(ids)+1)}
		ids = append(ids, batch...)
		for _, m := range []*sds.Manager{compact, full} {
			if err := m.EnsureChannel(pChan); err != nil {
				t.Fatal(err)
			}
			if err := m.MarkDependenciesMet(pChan, batch); err != nil {
				t.Fatal(err)
			}
		}
		id := fmt.Sprint("w-", step)
		c, f := nimDecode(t, nimWrap(t, compact, pChan, id, []byte{1})), nimDecode(t, nimWrap(t, full, pChan, id, []byte{1}))
		if len(c.BloomFilter) > len(f.BloomFilter) {
			t.Fatalf("%d ids: compact filter %d bytes, full %d", len(ids), len(c.BloomFilter), len(f.BloomFilter))
		}
		if bytes.Equal(c.BloomFilter, f.BloomFilter) {
			sawFull = true
			continue
		}
		if sawFull && len(ids) < 360 {
			t.Fatalf("%d ids: compact again during the burst", len(ids))
		}
		got, _ := bloom.Decode(c.BloomFilter)
		if n := countIn(got, ids); n != len(ids) {
			t.Fatalf("%d ids: compact filter holds %d", len(ids), n)
		}
	}
	if !sawFull {
		t.Error("the compact filter never gave way to the full one")
	}
}

// FullBloomFilter restores Nim's filter byte for byte: the rolling filter
// of everything added, rolling over at 1.2 × capacity.
func TestFullBloomFilterIsNims(t *testing.T) {
	m, _, _ := nimManager(t, func(c *sds.Config) { c.FullBloomFilter = true; c.BloomCapacity = 50 })
	model, err := bloom.NewRolling(50, sds.DefaultBloomErrorRate)
	if err != nil {
		t.Fatal(err)
	}
	peerB := func(i int) []byte { return peer(fmt.Sprint("p-", i), uint64(i+1), "bob") }
	for i := range 200 { // past several roll-overs
		switch i % 3 {
		case 0:
			nimUnwrap(t, m, peerB(i))
			model.Add(fmt.Sprint("p-", i))
		case 1:
			if err := m.MarkDependenciesMet(pChan, []string{fmt.Sprint("met-", i)}); err != nil {
				t.Fatal(err)
			}
			model.Add(fmt.Sprint("met-", i))
		}
		id := fmt.Sprint("own-", i)
		got := nimDecode(t, nimWrap(t, m, pChan, id, []byte{1})).BloomFilter
		if want := model.Filter().AppendSerialized(nil); !bytes.Equal(got, want) {
			t.Fatalf("step %d: filter differs from Nim's rolling filter (%d and %d bytes)", i, len(got), len(want))
		}
		model.Add(id)
	}
}

// Resends, sync messages and restarts carry the window as it stands.
func TestCompactFilterOnResendSyncAndRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	a, aEv := persistentManager(t, mem, clk, nil)
	nimWrap(t, a, pChan, "a-1", []byte{1})
	for i := range 20 {
		nimUnwrap(t, a, peer(fmt.Sprint("p-", i), uint64(i+1), "bob"))
	}
	clk.Advance(a.Config().ResendInterval)
	a.Sweep()
	resends := aEv.of(sds.EventMessageResend)
	if len(resends) != 1 {
		t.Fatalf("%d resends, want 1", len(resends))
	}
	f := nimAttachedBloom(t, resends[0].Payload) // received after a-1 was first sent
	if n := countIn(f, []string{"p-0", "p-19"}); n != 2 || f.Params().Capacity >= sds.DefaultBloomCapacity {
		t.Fatalf("resend's filter: capacity %d, holds %d of 2", f.Params().Capacity, n)
	}
	sync, err := a.WrapSync(pChan)
	if err != nil {
		t.Fatal(err)
	}
	if f := nimAttachedBloom(t, sync); !f.Contains("p-19") || f.Params().Capacity >= sds.DefaultBloomCapacity {
		t.Fatalf("sync message's filter: capacity %d", f.Params().Capacity)
	}

	// After a restart the window's times are gone: what is loaded counts
	// as added at the load, so it stays one window from then.
	mustClose(t, a)
	clk.Advance(time.Hour)
	a2, _ := persistentManager(t, mem, clk, nil)
	mustEnsure(t, a2, pChan)
	clk.Advance(a2.Config().EffectiveAckWindow() - time.Second)
	if f, _ := attached(t, a2, "a-2"); countIn(f, []string{"p-0", "p-19", "a-1"}) != 3 {
		t.Fatal("after the restart, the filter lacks the loaded ids")
	}
	clk.Advance(2 * time.Second)
	if f, _ := attached(t, a2, "a-3"); countIn(f, []string{"p-0", "p-19", "a-1", "p-7"}) > 1 {
		t.Fatal("loaded ids outlived the window after the restart")
	}
}

// A peer's compact filter, well-formed or not, is handled as any received
// filter: a valid one acknowledges, a broken one is ignored (the message
// itself is processed) and never crashes.
func TestReceivedCompactFilters(t *testing.T) {
	p, err := bloom.WindowParams(40, sds.DefaultBloomErrorRate)
	if err != nil {
		t.Fatal(err)
	}
	bits := make([]byte, p.Words*8)
	idx := func(id string) []int64 { // Nim's indexes at p
		var out []int64
		abs := func(x int64) int64 { return max(x, -x) }
		ha, hb := abs(bloom.NimHash(id))%int64(p.MBits), abs(bloom.NimHash(id+" b"))%int64(p.MBits)
		for i := range int64(p.K) {
			out = append(out, abs(ha+i*hb)%int64(p.MBits))
		}
		return out
	}
	for _, x := range idx("ours-0") {
		bits[x/8] |= 1 << (x % 8)
	}
	enc := func(words []byte, fields map[protowire.Number]uint64) []byte {
		var b []byte
		if words != nil {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, words)
		}
		for n := protowire.Number(2); n <= 5; n++ {
			if v, ok := fields[n]; ok {
				b = protowire.AppendTag(b, n, protowire.VarintType)
				b = protowire.AppendVarint(b, v)
			}
		}
		return b
	}
	good := map[protowire.Number]uint64{2: 40, 3: 1000, 4: uint64(p.K), 5: uint64(p.MBits)}
	with := func(n protowire.Number, v uint64) map[protowire.Number]uint64 {
		f := maps.Clone(good)
		f[n] = v
		return f
	}
	without := func(n protowire.Number) map[protowire.Number]uint64 {
		f := maps.Clone(good)
		delete(f, n)
		return f
	}
	cases := []struct {
		name  string
		bloom []byte
		acks  bool
	}{
		{"valid", enc(bits, good), true},
		{"words short of mBits", enc(bits[:len(bits)-8], good), false},
		{"more words than 1+mBits/64", enc(append(slices.Clone(bits), make([]byte, 8)...), good), false},
		{"k zero", enc(bits, with(4, 0)), false},
		{"k huge", enc(bits, with(4, 1<<40)), false},
		{"mBits zero", enc(bits, with(5, 0)), false},
		{"no error rate", enc(bits, without(3)), false},
		{"no words", enc(nil, good), false},
		{"ragged words", enc(bits[:len(bits)-3], good), false},
		{"truncated", enc(bits, good)[:20], false},
	}
	for i, c := range cases {
		m, ev, _ := nimManager(t, nil)
		nimWrap(t, m, pChan, "ours-0", []byte{1})
		res := nimUnwrap(t, m, nimPeerMessage(pChan, fmt.Sprint("peer-", i), 1, []byte{1}, nil, c.bloom))
		if !res.Delivered {
			t.Errorf("%s: message not delivered", c.name)
		}
		if got := ev.count(sds.EventMessageAcknowledged) == 1; got != c.acks {
			t.Errorf("%s: acknowledged %v, want %v", c.name, got, c.acks)
		}
	}
}
