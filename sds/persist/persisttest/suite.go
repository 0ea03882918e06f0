package persisttest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Suite is the backend conformance suite.
type Suite struct {
	// New returns an empty backend; the test cleans it up (t.Cleanup).
	New func(t *testing.T) persist.Backend
	// Reopen, if set, closes b and opens the same storage again, to check
	// that what was written survives.
	Reopen func(t *testing.T, b persist.Backend) persist.Backend
}

// RunBackendTests runs the conformance suite against the backends made by
// newBackend.
func RunBackendTests(t *testing.T, newBackend func(t *testing.T) persist.Backend) {
	Suite{New: newBackend}.Run(t)
}

// Run runs the suite.
func (s Suite) Run(t *testing.T) {
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{
		{"NewChannelLoadsEmpty", s.newChannel},
		{"MetaPutsAndDeletes", s.meta},
		{"EmptyWritesAreNoOps", s.emptyWrites},
		{"HistoryOrderAndEviction", s.history},
		{"MessageFidelity", s.fidelity},
		{"RetrievalHints", s.hints},
		{"Drop", s.drop},
		{"ChannelsAreIndependent", s.independent},
		{"NoAliasing", s.aliasing},
		{"Batcher", s.batcher},
		{"NimVectorImportExport", s.vector},
		{"AgainstModel", s.againstModel},
		{"Concurrent", s.concurrent},
	} {
		t.Run(c.name, c.test)
	}
	if s.Reopen != nil {
		t.Run("SurvivesReopen", s.reopen)
	}
}

// Msg returns a message of channel ch exercising every Nim field.
func Msg(ch, id string, ts uint64) wire.Message {
	return wire.Message{
		MessageID: id, LamportTimestamp: ts, HasLamport: true,
		CausalHistory: []wire.HistoryEntry{{MessageID: "dep-" + id, RetrievalHint: []byte("hint"), SenderID: "s"}, {MessageID: "dep2"}},
		ChannelID:     ch, Content: []byte("content of " + id),
		BloomFilter:   []byte{1, 2, 3, 4},
		SenderID:      "sender",
		RepairRequest: []wire.HistoryEntry{{MessageID: "missing", SenderID: "x"}},
	}
}

func load(t *testing.T, b persist.Backend, ch string) *persist.ChannelData {
	t.Helper()
	d, err := b.LoadChannel(ch)
	if err != nil {
		t.Fatalf("LoadChannel(%q): %v", ch, err)
	}
	if d == nil {
		t.Fatalf("LoadChannel(%q) returned nil data", ch)
	}
	return d
}

func check(t *testing.T, b persist.Backend, m *Model, ch string) {
	t.Helper()
	d := load(t, b, ch)
	if diff := Diff(d, m.Load(ch)); diff != "" {
		t.Fatalf("channel %q: %s", ch, diff)
	}
	checkLoader(t, b, d, ch)
}

// checkLoader checks that a MessageLoader reads back each message of the
// history d loaded, and nothing else.
func checkLoader(t *testing.T, b persist.Backend, d *persist.ChannelData, ch string) {
	t.Helper()
	l, ok := b.(persist.MessageLoader)
	if !ok {
		return
	}
	for i := range d.History {
		want := &d.History[i]
		got, ok, err := l.LoadMessage(ch, want.MessageID)
		if err != nil || !ok || !bytes.Equal(got.Marshal(wire.FormatNim), want.Marshal(wire.FormatNim)) {
			t.Fatalf("channel %q: LoadMessage(%q) = %+v, %v, %v; LoadChannel has %+v", ch, want.MessageID, got, ok, err, *want)
		}
	}
	if got, ok, err := l.LoadMessage(ch, "never-stored"); ok || err != nil {
		t.Fatalf("channel %q: LoadMessage of an id never stored = %+v, %v, %v", ch, got, ok, err)
	}
	var listed []string
	if err := l.HistoryIDs(ch, func(id string) bool { listed = append(listed, id); return true }); err != nil || ids(d.History) != strings.Join(listed, ",") {
		t.Fatalf("channel %q: HistoryIDs listed %v, %v; LoadChannel has %s", ch, listed, err, ids(d.History))
	}
	if len(d.History) > 1 { // stops when told
		listed = nil
		_ = l.HistoryIDs(ch, func(id string) bool { listed = append(listed, id); return false })
		if len(listed) != 1 || listed[0] != d.History[0].MessageID {
			t.Fatalf("channel %q: HistoryIDs told to stop after the first listed %v", ch, listed)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ids(h []wire.Message) string {
	var s []string
	for _, m := range h {
		s = append(s, m.MessageID)
	}
	return strings.Join(s, ",")
}

func (s Suite) newChannel(t *testing.T) {
	b := s.New(t)
	for _, ch := range []string{"never-written", ""} {
		d := load(t, b, ch)
		if !d.IsEmpty() {
			t.Fatalf("new channel %q loads %+v", ch, d)
		}
	}
}

func (s Suite) meta(t *testing.T) {
	b, m := s.New(t), NewModel()
	const ch = "c"
	long := strings.Repeat("\xff", wire.DefaultMaxIDBytes)
	var d persist.MetaDelta
	d.PutLamport(7)
	d.Put(persist.OutgoingKey("a"), []byte("A"))
	d.Put(persist.OutgoingKey(long), []byte("long"))
	d.Put(persist.IncomingKey("\x00bin\x00"), []byte{0, 1, 2})
	d.Put(persist.OutgoingRepairKey(""), []byte{})
	d.Delete(persist.IncomingRepairKey("never-there"))
	must(t, b.SaveChannelMeta(ch, &d))
	m.SaveChannelMeta(ch, &d)
	check(t, b, m, ch)

	var d2 persist.MetaDelta
	d2.PutLamport(8) // replace
	d2.Delete(persist.OutgoingKey("a"))
	d2.Put(persist.IncomingRepairKey("p"), []byte("P"))
	d2.Delete(persist.OutgoingKey(long))
	must(t, b.SaveChannelMeta(ch, &d2))
	m.SaveChannelMeta(ch, &d2)
	check(t, b, m, ch)
}

func (s Suite) emptyWrites(t *testing.T) {
	b := s.New(t)
	must(t, b.SaveChannelMeta("c", nil))
	must(t, b.SaveChannelMeta("c", &persist.MetaDelta{}))
	must(t, b.UpdateHistory("c", nil))
	must(t, b.UpdateHistory("c", &persist.HistoryUpdate{}))
	if bb, ok := b.(persist.Batcher); ok {
		must(t, bb.Apply("c", nil, nil))
		must(t, bb.Apply("c", &persist.MetaDelta{}, &persist.HistoryUpdate{}))
	}
	if d := load(t, b, "c"); !d.IsEmpty() {
		t.Fatalf("%+v", d)
	}
}

func (s Suite) history(t *testing.T) {
	b, m := s.New(t), NewModel()
	const ch = "c"
	step := func(u *persist.HistoryUpdate, want string) {
		t.Helper()
		must(t, b.UpdateHistory(ch, u))
		m.UpdateHistory(ch, u)
		check(t, b, m, ch)
		if got := ids(load(t, b, ch).History); got != want {
			t.Fatalf("history %q, want %q", got, want)
		}
	}
	step(&persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "a", 1), Msg(ch, "b", 2)}}, "a,b")
	step(&persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "c", 3)}}, "a,b,c")
	step(&persist.HistoryUpdate{Evict: []string{"b", "absent"}}, "a,c")
	// Re-appending a present id replaces it and moves it to the end.
	re := Msg(ch, "a", 10)
	re.Content = []byte("replaced")
	step(&persist.HistoryUpdate{Append: []wire.Message{re}}, "c,a")
	if got := load(t, b, ch).History[1]; !bytes.Equal(got.Content, []byte("replaced")) {
		t.Fatalf("re-append did not replace: %q", got.Content)
	}
	// Appends first, then evictions.
	step(&persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "d", 4), Msg(ch, "e", 5)}, Evict: []string{"d", "c"}}, "a,e")
	// An evicted id appended again goes to the end, with a fresh position.
	step(&persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "c", 3)}}, "a,e,c")
	var many persist.HistoryUpdate
	for i := range 300 {
		many.Append = append(many.Append, Msg(ch, fmt.Sprintf("m%03d", i), uint64(100+i)))
	}
	must(t, b.UpdateHistory(ch, &many))
	m.UpdateHistory(ch, &many)
	check(t, b, m, ch)
}

func (s Suite) fidelity(t *testing.T) {
	b := s.New(t)
	const ch = "c"
	msgs := []wire.Message{
		Msg(ch, "full", 1<<63-1),
		{MessageID: "", LamportTimestamp: 0, HasLamport: true, ChannelID: ch, Content: []byte{}},
		{MessageID: "bin\x00\xff", LamportTimestamp: 1<<64 - 1, HasLamport: true, ChannelID: ch, Content: bytes.Repeat([]byte{0xab}, 70000), BloomFilter: bytes.Repeat([]byte{1}, 18765)},
	}
	must(t, b.UpdateHistory(ch, &persist.HistoryUpdate{Append: msgs}))
	got := load(t, b, ch).History
	if len(got) != len(msgs) {
		t.Fatalf("%d messages back", len(got))
	}
	for i := range msgs {
		if !bytes.Equal(got[i].Marshal(wire.FormatNim), msgs[i].Marshal(wire.FormatNim)) {
			t.Fatalf("message %d changed:\n%+v\n%+v", i, got[i], msgs[i])
		}
	}
}

func (s Suite) hints(t *testing.T) {
	b, m := s.New(t), NewModel()
	const ch = "c"
	do := func(id string, h []byte) {
		t.Helper()
		must(t, b.SaveRetrievalHint(ch, id, h))
		m.SaveRetrievalHint(ch, id, h)
		check(t, b, m, ch)
	}
	// A hint may arrive before its message is stored.
	do("a", []byte("ha"))
	u := &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "a", 1), Msg(ch, "b", 2), Msg(ch, "", 3)}}
	must(t, b.UpdateHistory(ch, u))
	m.UpdateHistory(ch, u)
	do("b", []byte("hb"))
	do("", []byte("empty id"))
	do("b", []byte("hb2")) // replace
	do("a", nil)           // remove
	do("never", nil)       // remove absent
	do("a", []byte("ha2"))
	// Eviction removes the hint.
	u = &persist.HistoryUpdate{Evict: []string{"a"}}
	must(t, b.UpdateHistory(ch, u))
	m.UpdateHistory(ch, u)
	check(t, b, m, ch)
	if _, ok := load(t, b, ch).Hints["a"]; ok {
		t.Fatal("hint survived eviction")
	}
	// Removing a hint of an unknown channel succeeds and creates nothing.
	must(t, b.SaveRetrievalHint("other", "x", nil))
	if d := load(t, b, "other"); !d.IsEmpty() {
		t.Fatalf("%+v", d)
	}
}

func (s Suite) drop(t *testing.T) {
	b := s.New(t)
	const ch = "c"
	fill := func() {
		var d persist.MetaDelta
		d.PutLamport(5)
		d.Put(persist.OutgoingKey("x"), []byte("X"))
		must(t, b.SaveChannelMeta(ch, &d))
		must(t, b.UpdateHistory(ch, &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "h1", 1), Msg(ch, "h2", 2)}}))
		must(t, b.SaveRetrievalHint(ch, "h1", []byte("hint")))
	}
	fill()
	must(t, b.DropChannel(ch))
	if d := load(t, b, ch); !d.IsEmpty() {
		t.Fatalf("dropped channel loads %+v", d)
	}
	must(t, b.DropChannel(ch))
	must(t, b.DropChannel("unknown"))
	// A dropped channel starts afresh.
	fill()
	d := load(t, b, ch)
	if len(d.Records) != 2 || ids(d.History) != "h1,h2" || len(d.Hints) != 1 {
		t.Fatalf("after re-fill: %+v", d)
	}
}

func (s Suite) independent(t *testing.T) {
	b, m := s.New(t), NewModel()
	chans := []string{"", "a", "ab", "a/b", "\x00", "c", strings.Repeat("z", 1024)}
	for i, ch := range chans {
		var d persist.MetaDelta
		d.PutLamport(uint64(i))
		d.Put(persist.OutgoingKey("same"), []byte(ch))
		u := &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "same", uint64(i)), Msg(ch, fmt.Sprintf("own-%d", i), 1)}}
		must(t, b.SaveChannelMeta(ch, &d))
		must(t, b.UpdateHistory(ch, u))
		must(t, b.SaveRetrievalHint(ch, "same", []byte("h"+ch)))
		m.SaveChannelMeta(ch, &d)
		m.UpdateHistory(ch, u)
		m.SaveRetrievalHint(ch, "same", []byte("h"+ch))
	}
	must(t, b.DropChannel("a"))
	m.DropChannel("a")
	must(t, b.UpdateHistory("ab", &persist.HistoryUpdate{Evict: []string{"same"}}))
	m.UpdateHistory("ab", &persist.HistoryUpdate{Evict: []string{"same"}})
	for _, ch := range chans {
		check(t, b, m, ch)
	}
}

func (s Suite) aliasing(t *testing.T) {
	b := s.New(t)
	const ch = "c"
	v := []byte("value")
	var d persist.MetaDelta
	d.Put("Ok", v)
	must(t, b.SaveChannelMeta(ch, &d))
	copy(v, "XXXXX")
	msg := Msg(ch, "m", 1)
	must(t, b.UpdateHistory(ch, &persist.HistoryUpdate{Append: []wire.Message{msg}}))
	msg.Content[0] = 'X'
	msg.BloomFilter[0] = 99
	hint := []byte("hint")
	must(t, b.SaveRetrievalHint(ch, "m", hint))
	hint[0] = 'X'

	got := load(t, b, ch)
	if string(got.Records["Ok"]) != "value" || got.History[0].Content[0] != 'c' || got.History[0].BloomFilter[0] != 1 || string(got.Hints["m"]) != "hint" {
		t.Fatalf("backend kept a reference to its arguments: %+v", got)
	}
	got.Records["Ok"][0] = 'Y'
	got.History[0].Content[0] = 'Y'
	got.History[0].BloomFilter[0] = 98
	got.Hints["m"][0] = 'Y'
	again := load(t, b, ch)
	if string(again.Records["Ok"]) != "value" || again.History[0].Content[0] != 'c' || again.History[0].BloomFilter[0] != 1 || string(again.Hints["m"]) != "hint" {
		t.Fatal("loaded data aliases the backend's storage")
	}
}

func (s Suite) batcher(t *testing.T) {
	b := s.New(t)
	bb, ok := b.(persist.Batcher)
	if !ok {
		t.Skip("not a Batcher")
	}
	m := NewModel()
	const ch = "c"
	var d persist.MetaDelta
	d.PutLamport(3)
	d.Put(persist.OutgoingKey("m1"), []byte("u"))
	u := &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "m1", 3)}}
	must(t, bb.Apply(ch, &d, u))
	m.Apply(ch, &d, u)
	check(t, b, m, ch)
	var d2 persist.MetaDelta
	d2.Delete(persist.OutgoingKey("m1"))
	must(t, bb.Apply(ch, &d2, nil))
	m.Apply(ch, &d2, nil)
	check(t, b, m, ch)
	u2 := &persist.HistoryUpdate{Evict: []string{"m1"}}
	must(t, bb.Apply(ch, nil, u2))
	m.Apply(ch, nil, u2)
	check(t, b, m, ch)
}

// vector: the Nim ChannelData vector, imported into the backend, loads and
// exports back byte for byte.
func (s Suite) vector(t *testing.T) {
	n, err := vectors.LoadNim()
	if err != nil {
		t.Skip(err)
	}
	blob := vectors.Hex(n.Snapshot.ChannelDataHex)
	cd, err := persist.ImportNim(blob, persist.Limits{})
	must(t, err)
	b := s.New(t)
	must(t, persist.Import(b, "c1", cd))
	d := load(t, b, "c1")
	// (Not Validate: the vector is a codec sample whose "in1" is both
	// buffered and delivered, which no real channel state is.)
	out, err := persist.ExportNim(d, persist.Limits{})
	must(t, err)
	if !bytes.Equal(out, blob) {
		t.Fatalf("exported\n %x\nwant\n %x", out, blob)
	}
}

// againstModel runs random operations on the backend and the model and
// compares them after each.
func (s Suite) againstModel(t *testing.T) {
	b, m := s.New(t), NewModel()
	bb, _ := b.(persist.Batcher)
	rng := rand.New(rand.NewPCG(1, 2))
	chans := []string{"x", "y", ""}
	idOf := func() string { return fmt.Sprintf("id%d", rng.IntN(12)) }
	for i := range 400 {
		ch := chans[rng.IntN(len(chans))]
		var d persist.MetaDelta
		for range rng.IntN(4) {
			kinds := []func(string) string{persist.OutgoingKey, persist.IncomingKey, persist.OutgoingRepairKey, persist.IncomingRepairKey}
			k := kinds[rng.IntN(len(kinds))](idOf())
			if rng.IntN(3) == 0 {
				d.Delete(k)
			} else {
				d.Put(k, []byte(fmt.Sprintf("v%d", i)))
			}
		}
		var u persist.HistoryUpdate
		for range rng.IntN(3) {
			u.AppendMessage(Msg(ch, idOf(), uint64(i)))
		}
		for range rng.IntN(2) {
			u.EvictID(idOf())
		}
		switch op := rng.IntN(10); {
		case op < 3:
			must(t, b.SaveChannelMeta(ch, &d))
			m.SaveChannelMeta(ch, &d)
		case op < 6:
			must(t, b.UpdateHistory(ch, &u))
			m.UpdateHistory(ch, &u)
		case op < 8 && bb != nil:
			must(t, bb.Apply(ch, &d, &u))
			m.Apply(ch, &d, &u)
		case op < 9:
			id, h := idOf(), []byte(fmt.Sprintf("h%d", i))
			if rng.IntN(4) == 0 {
				h = nil
			}
			must(t, b.SaveRetrievalHint(ch, id, h))
			m.SaveRetrievalHint(ch, id, h)
		default:
			if rng.IntN(4) == 0 {
				must(t, b.DropChannel(ch))
				m.DropChannel(ch)
			}
		}
		check(t, b, m, ch)
	}
	for _, ch := range chans {
		check(t, b, m, ch)
	}
}

// concurrent: one goroutine per channel, all at once (run with -race).
func (s Suite) concurrent(t *testing.T) {
	b := s.New(t)
	const workers, ops = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ch := fmt.Sprintf("chan-%d", w)
			for i := range ops {
				var d persist.MetaDelta
				d.PutLamport(uint64(i))
				d.Put(persist.OutgoingKey(fmt.Sprint(i)), []byte("x"))
				if i > 0 {
					d.Delete(persist.OutgoingKey(fmt.Sprint(i - 1)))
				}
				if err := b.SaveChannelMeta(ch, &d); err != nil {
					errs <- err
					return
				}
				if err := b.UpdateHistory(ch, &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, fmt.Sprint(i), uint64(i))}}); err != nil {
					errs <- err
					return
				}
				if _, err := b.LoadChannel(ch); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range workers {
		d := load(t, b, fmt.Sprintf("chan-%d", w))
		if len(d.History) != ops || len(d.Records) != 2 {
			t.Fatalf("worker %d: %d messages, %d records", w, len(d.History), len(d.Records))
		}
		for i := range d.History {
			if d.History[i].MessageID != fmt.Sprint(i) {
				t.Fatalf("worker %d: history order %s", w, ids(d.History))
			}
		}
	}
}

func (s Suite) reopen(t *testing.T) {
	b, m := s.New(t), NewModel()
	const ch = "c"
	var d persist.MetaDelta
	d.PutLamport(9)
	d.Put(persist.OutgoingKey("m"), []byte("u"))
	u := &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "m", 9), Msg(ch, "n", 10)}, Evict: []string{"n"}}
	must(t, b.SaveChannelMeta(ch, &d))
	must(t, b.UpdateHistory(ch, u))
	must(t, b.SaveRetrievalHint(ch, "m", []byte("h")))
	m.SaveChannelMeta(ch, &d)
	m.UpdateHistory(ch, u)
	m.SaveRetrievalHint(ch, "m", []byte("h"))
	b = s.Reopen(t, b)
	check(t, b, m, ch)
	// The history order continues after reopening.
	u2 := &persist.HistoryUpdate{Append: []wire.Message{Msg(ch, "o", 11), Msg(ch, "m", 12)}}
	must(t, b.UpdateHistory(ch, u2))
	m.UpdateHistory(ch, u2)
	b = s.Reopen(t, b)
	check(t, b, m, ch)
}
