package persist_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/persisttest"
	"github.com/libsds-go/libsds/sds/wire"
)

const testChannel = "testChannel"

// bothPaths runs f against a Batcher backend and against the same backend
// without Apply (meta and history in two calls).
func bothPaths(t *testing.T, f func(t *testing.T, mem *persist.Memory, b persist.Backend)) {
	t.Run("batched", func(t *testing.T) {
		mem := persist.NewMemory()
		f(t, mem, mem)
	})
	t.Run("unbatched", func(t *testing.T) {
		mem := persist.NewMemory()
		f(t, mem, unbatched{mem})
	})
}

// writeOps are the operations failed by SetFailing for either path.
var writeOps = []persist.Op{persist.OpApply, persist.OpSaveChannelMeta, persist.OpUpdateHistory}

func setFailing(mem *persist.Memory, on bool, ops ...persist.Op) {
	if len(ops) == 0 {
		ops = writeOps
	}
	for _, op := range ops {
		mem.SetFailing(op, on)
	}
}

// send is what wrapping one outgoing message changes: the clock, the
// outgoing record, the history.
func send(id string, ts uint64) (*persist.MetaDelta, *persist.HistoryUpdate) {
	msg := persisttest.Msg(testChannel, id, ts)
	var d persist.MetaDelta
	d.PutLamport(ts)
	u := persist.UnacknowledgedMessage{Message: msg, SendTimeMs: 1_700_000_000_000}
	d.PutOutgoing(&u)
	return &d, &persist.HistoryUpdate{Append: []wire.Message{msg}}
}

func bootstrap(t *testing.T, b persist.Backend, opt persist.WriterOptions) *persist.Writer {
	t.Helper()
	_, w, err := persist.Bootstrap(b, testChannel, opt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func loadCh(t *testing.T, b persist.Backend) *persist.ChannelData {
	t.Helper()
	d, err := b.LoadChannel(testChannel)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func historyIDs(d *persist.ChannelData) string {
	s := ""
	for i, m := range d.History {
		if i > 0 {
			s += ","
		}
		s += m.MessageID
	}
	return s
}

// Port of "saveChannelMeta failure during send does NOT surface": the
// failure is reported for logging only, and the next operation's write
// stores both operations' changes.
func TestWriterSaveFailureIsRetried(t *testing.T) {
	bothPaths(t, func(t *testing.T, mem *persist.Memory, b persist.Backend) {
		w := bootstrap(t, b, persist.WriterOptions{})
		setFailing(mem, true, persist.OpApply, persist.OpSaveChannelMeta)
		if err := w.Commit(send("m1", 1)); err == nil {
			t.Fatal("failure not reported")
		} else if errors.Is(err, persist.ErrBacklog) {
			t.Fatalf("backlog reported for one pending op: %v", err)
		}
		if w.Pending() == 0 {
			t.Fatal("failed write not kept")
		}
		if d := loadCh(t, b); !d.IsEmpty() {
			t.Fatalf("store changed by a failed write: %+v", d)
		}
		setFailing(mem, false)
		if err := w.Commit(send("m2", 2)); err != nil {
			t.Fatal(err)
		}
		d := loadCh(t, b)
		_, ok1 := d.Records[persist.OutgoingKey("m1")]
		_, ok2 := d.Records[persist.OutgoingKey("m2")]
		if !ok1 || !ok2 || historyIDs(d) != "m1,m2" || w.Pending() != 0 {
			t.Fatalf("after recovery: %v %v %q pending %d", ok1, ok2, historyIDs(d), w.Pending())
		}
		if meta, err := persist.DecodeRecords(d.Records, persist.Limits{}); err != nil || meta.Lamport != 2 {
			t.Fatalf("lamport: %+v, %v", meta, err)
		}
	})
}

// Port of "updateHistory failure is retried via R2 pending-write queue".
func TestWriterHistoryFailureIsRetried(t *testing.T) {
	bothPaths(t, func(t *testing.T, mem *persist.Memory, b persist.Backend) {
		w := bootstrap(t, b, persist.WriterOptions{})
		setFailing(mem, true, persist.OpApply, persist.OpUpdateHistory)
		_ = w.Commit(send("m1", 1))
		if d := loadCh(t, b); len(d.History) != 0 {
			t.Fatal("history stored despite the failure")
		}
		_ = w.Commit(send("m2", 2))
		setFailing(mem, false)
		if err := w.Commit(send("m3", 3)); err != nil {
			t.Fatal(err)
		}
		if d := loadCh(t, b); historyIDs(d) != "m1,m2,m3" || w.Pending() != 0 {
			t.Fatalf("history %q, pending %d", historyIDs(d), w.Pending())
		}
	})
}

// Without a Batcher, a failed meta write is not followed by the history
// write, so the stored history never gets ahead of the stored meta.
func TestWriterMetaBeforeHistory(t *testing.T) {
	mem := persist.NewMemory()
	w := bootstrap(t, unbatched{mem}, persist.WriterOptions{})
	mem.SetFailing(persist.OpSaveChannelMeta, true)
	_ = w.Commit(send("m1", 1))
	if n := mem.Calls(persist.OpUpdateHistory); n != 0 {
		t.Fatalf("history written %d times after the meta failed", n)
	}
	// A history-only failure keeps only the history.
	mem.SetFailing(persist.OpSaveChannelMeta, false)
	mem.SetFailing(persist.OpUpdateHistory, true)
	_ = w.Commit(nil, nil)
	if w.Pending() != 1 {
		t.Fatalf("pending %d, want the one append", w.Pending())
	}
	if d := loadCh(t, mem); len(d.Records) != 2 {
		t.Fatalf("meta not stored: %+v", d.Records)
	}
}

// Port of "evict-then-re-add merge rule preserves the re-added message on
// disk" (latest operation wins), for an id never stored and for one stored
// before the outage.
func TestWriterEvictThenReAdd(t *testing.T) {
	bothPaths(t, func(t *testing.T, mem *persist.Memory, b persist.Backend) {
		w := bootstrap(t, b, persist.WriterOptions{})
		m0 := persisttest.Msg(testChannel, "m0", 0)
		if err := w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{m0}}); err != nil {
			t.Fatal(err)
		}
		setFailing(mem, true)
		m := func(id string, ts uint64) wire.Message { return persisttest.Msg(testChannel, id, ts) }
		_ = w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{m("m1", 1)}})
		_ = w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{m("m2", 2), m("m3", 3)}, Evict: []string{"m1", "m0"}})
		// SDS-R style re-delivery of both evicted messages.
		_ = w.Commit(nil, &persist.HistoryUpdate{Append: []wire.Message{m("m1", 4), m("m0", 5)}})
		setFailing(mem, false)
		if err := w.Commit(nil, nil); err != nil {
			t.Fatal(err)
		}
		d := loadCh(t, b)
		if got := historyIDs(d); got != "m2,m3,m1,m0" {
			t.Fatalf("history %q, want m2,m3,m1,m0", got)
		}
		if d.History[3].LamportTimestamp != 5 {
			t.Fatal("re-added m0 not the latest version")
		}
	})
}

// Port of "pending queue survives idle ops": an operation with no changes
// of its own still flushes what is pending.
func TestWriterIdleCommitFlushes(t *testing.T) {
	bothPaths(t, func(t *testing.T, mem *persist.Memory, b persist.Backend) {
		w := bootstrap(t, b, persist.WriterOptions{})
		setFailing(mem, true)
		_ = w.Commit(send("m1", 1))
		setFailing(mem, false)
		if err := w.Commit(nil, nil); err != nil {
			t.Fatal(err)
		}
		if d := loadCh(t, b); historyIDs(d) != "m1" || w.Pending() != 0 {
			t.Fatalf("%q %d", historyIDs(d), w.Pending())
		}
	})
}

// Port of "loadChannel failure surfaces" and of the bootstrap validation.
func TestBootstrapFailures(t *testing.T) {
	mem := persist.NewMemory()
	mem.SetFailing(persist.OpLoadChannel, true)
	if _, _, err := persist.Bootstrap(mem, testChannel, persist.WriterOptions{}); !errors.Is(err, persist.ErrInjected) {
		t.Fatalf("load failure: %v", err)
	}
	mem.SetFailing(persist.OpLoadChannel, false)
	// A delivered message still buffered as incoming: contract broken.
	msg := persisttest.Msg(testChannel, "x", 1)
	var d persist.MetaDelta
	d.PutLamport(1)
	d.PutIncoming(&persist.IncomingMessage{Message: msg, MissingDeps: []string{"y"}})
	if err := mem.Apply(testChannel, &d, &persist.HistoryUpdate{Append: []wire.Message{msg}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := persist.Bootstrap(mem, testChannel, persist.WriterOptions{}); !errors.Is(err, persist.ErrContract) {
		t.Fatalf("contract: %v", err)
	}
	// A new channel bootstraps empty.
	data, w, err := persist.Bootstrap(mem, "new", persist.WriterOptions{})
	if err != nil || !data.IsEmpty() || w == nil {
		t.Fatalf("%+v %v", data, err)
	}
}

// Port of "dropChannel failure during removeChannel surfaces" and of the
// single-drop, wipe-everything test.
func TestWriterDrop(t *testing.T) {
	mem := persist.NewMemory()
	w := bootstrap(t, mem, persist.WriterOptions{})
	if err := w.Commit(send("m1", 1)); err != nil {
		t.Fatal(err)
	}
	mem.SetFailing(persist.OpApply, true)
	_ = w.Commit(send("m2", 2))
	mem.SetFailing(persist.OpDropChannel, true)
	if err := w.Drop(); !errors.Is(err, persist.ErrInjected) {
		t.Fatalf("drop failure: %v", err)
	}
	if w.Pending() == 0 {
		t.Fatal("a failed drop lost the pending writes")
	}
	mem.SetFailing(persist.OpDropChannel, false)
	mem.SetFailing(persist.OpApply, false)
	if err := w.Drop(); err != nil {
		t.Fatal(err)
	}
	if w.Pending() != 0 || !loadCh(t, mem).IsEmpty() || mem.Calls(persist.OpDropChannel) != 2 {
		t.Fatalf("after drop: pending %d, calls %d", w.Pending(), mem.Calls(persist.OpDropChannel))
	}
	// The channel is known to be empty: re-creating it works, and
	// deleting what was never stored writes nothing.
	if err := w.Commit(send("m3", 3)); err != nil {
		t.Fatal(err)
	}
	if d := loadCh(t, mem); historyIDs(d) != "m3" || len(d.Records) != 2 {
		t.Fatalf("%+v", d)
	}
}

// During an outage, a channel that sends and gets acknowledgements keeps a
// small pending queue: a delete of a record that was never stored cancels
// its put instead of leaving a tombstone, and an eviction of a message that
// was never stored cancels its append.
func TestWriterOutageStaysBounded(t *testing.T) {
	bothPaths(t, func(t *testing.T, mem *persist.Memory, b persist.Backend) {
		const maxHistory = 50
		w := bootstrap(t, b, persist.WriterOptions{MaxPending: 200})
		model := persisttest.NewModel()
		var hist []string
		op := func(i int) (*persist.MetaDelta, *persist.HistoryUpdate) {
			id := fmt.Sprintf("m%d", i)
			d, u := send(id, uint64(i+1))
			if i > 0 { // the previous message is acknowledged
				d.DeleteOutgoing(fmt.Sprintf("m%d", i-1))
			}
			hist = append(hist, id)
			if len(hist) > maxHistory {
				u.EvictID(hist[0])
				hist = hist[1:]
			}
			return d, u
		}
		for i := range 100 {
			d, u := op(i)
			model.Apply(testChannel, d, u)
			if err := w.Commit(d, u); err != nil {
				t.Fatal(err)
			}
		}
		setFailing(mem, true)
		for i := 100; i < 10_000; i++ {
			d, u := op(i)
			model.Apply(testChannel, d, u)
			if err := w.Commit(d, u); errors.Is(err, persist.ErrBacklog) {
				t.Fatalf("op %d: backlog: %v", i, err)
			}
		}
		// Pending: lamport, the live outgoing record, the tombstone of
		// the last stored one, maxHistory appends, the evictions of the
		// maxHistory messages stored before the outage.
		if p := w.Pending(); p > 3+2*maxHistory {
			t.Fatalf("pending %d after the outage", p)
		}
		setFailing(mem, false)
		if err := w.Commit(nil, nil); err != nil {
			t.Fatal(err)
		}
		if diff := persisttest.Diff(loadCh(t, b), model.Load(testChannel)); diff != "" {
			t.Fatal(diff)
		}
	})
}

func TestWriterBacklogReported(t *testing.T) {
	mem := persist.NewMemory()
	w := bootstrap(t, mem, persist.WriterOptions{MaxPending: 10})
	mem.SetFailing(persist.OpApply, true)
	var err error
	for i := range 6 { // 2 live records + 1 message each, lamport shared
		err = w.Commit(send(fmt.Sprintf("m%d", i), uint64(i+1)))
	}
	if !errors.Is(err, persist.ErrBacklog) || !w.Backlogged() {
		t.Fatalf("no backlog reported: %v (pending %d)", err, w.Pending())
	}
	mem.SetFailing(persist.OpApply, false)
	if err := w.Commit(nil, nil); err != nil || w.Backlogged() {
		t.Fatalf("%v", err)
	}
	if d := loadCh(t, mem); len(d.History) != 6 {
		t.Fatalf("%d messages", len(d.History))
	}
}

func TestWriterHints(t *testing.T) {
	mem := persist.NewMemory()
	w := bootstrap(t, mem, persist.WriterOptions{})
	if err := w.Commit(send("m1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveHint("m1", []byte("h1")); err != nil {
		t.Fatal(err)
	}
	mem.SetFailing(persist.OpSaveRetrievalHint, true)
	if err := w.SaveHint("m1", []byte("h1b")); err == nil {
		t.Fatal("hint failure not reported")
	}
	_ = w.SaveHint("m2", []byte("h2"))
	mem.SetFailing(persist.OpSaveRetrievalHint, false)
	// m2's eviction drops its pending hint; m1's is retried with the
	// next commit.
	if err := w.Commit(nil, &persist.HistoryUpdate{Evict: []string{"m2"}}); err != nil {
		t.Fatal(err)
	}
	d := loadCh(t, mem)
	if string(d.Hints["m1"]) != "h1b" || len(d.Hints) != 1 || w.Pending() != 0 {
		t.Fatalf("hints %q pending %d", d.Hints, w.Pending())
	}
}

// The merge rule, checked as a property: whatever fails, once a Commit
// succeeds the backend holds exactly what applying every operation in
// order gives; and with a Batcher, a failed Commit leaves the backend as
// the last successful one did.
func TestWriterMergeProperty(t *testing.T) {
	for seed := range uint64(30) {
		for _, batched := range []bool{true, false} {
			for _, knownStart := range []bool{true, false} {
				name := fmt.Sprintf("seed%d/batched=%v/loaded=%v", seed, batched, knownStart)
				t.Run(name, func(t *testing.T) { mergeProperty(t, seed, batched, knownStart) })
			}
		}
	}
}

func mergeProperty(t *testing.T, seed uint64, batched, knownStart bool) {
	rng := rand.New(rand.NewPCG(seed, 99))
	mem := persist.NewMemory()
	var b persist.Backend = mem
	if !batched {
		b = unbatched{mem}
	}
	model := persisttest.NewModel()
	// Some state stored before the Writer starts.
	for i := range 5 {
		d, u := send(fmt.Sprintf("pre%d", i), uint64(i))
		model.Apply(testChannel, d, u)
		if err := mem.Apply(testChannel, d, u); err != nil {
			t.Fatal(err)
		}
	}
	var w *persist.Writer
	if knownStart {
		w = bootstrap(t, b, persist.WriterOptions{})
	} else {
		w = persist.NewWriter(b, testChannel, nil, persist.WriterOptions{})
	}
	lastGood := model.Load(testChannel)
	mem.FailWriteFraction(0.4, seed)
	id := func() string { return fmt.Sprintf("id%d", rng.IntN(10)) }
	for i := range 300 {
		var d persist.MetaDelta
		var u persist.HistoryUpdate
		for range rng.IntN(4) {
			k := []func(string) string{persist.OutgoingKey, persist.IncomingKey, persist.OutgoingRepairKey}[rng.IntN(3)](id())
			if rng.IntN(2) == 0 {
				d.Delete(k)
			} else {
				d.Put(k, []byte(fmt.Sprint(i)))
			}
		}
		for range rng.IntN(3) {
			if rng.IntN(3) == 0 {
				u.EvictID(id())
			} else {
				u.AppendMessage(persisttest.Msg(testChannel, id(), uint64(i)))
			}
		}
		if rng.IntN(20) == 0 {
			if err := w.Drop(); err == nil {
				model.DropChannel(testChannel)
				lastGood = model.Load(testChannel)
			}
			continue
		}
		if rng.IntN(8) == 0 {
			hid, h := id(), []byte(fmt.Sprint("h", i))
			model.SaveRetrievalHint(testChannel, hid, h)
			_ = w.SaveHint(hid, h) // checked below, after a full success
		}
		model.Apply(testChannel, &d, &u)
		applyFailures := mem.Failed(persist.OpApply)
		err := w.Commit(&d, &u)
		got := loadCh(t, mem)
		switch {
		case err == nil:
			lastGood = model.Load(testChannel)
			if diff := persisttest.Diff(got, lastGood); diff != "" {
				t.Fatalf("op %d: after a successful commit: %s", i, diff)
			}
		case !batched:
		case mem.Failed(persist.OpApply) > applyFailures:
			// The store is as the last successful Apply left it (hints
			// are written separately: compare the rest).
			got.Hints, lastGood.Hints = nil, nil
			if diff := persisttest.Diff(got, lastGood); diff != "" {
				t.Fatalf("op %d: a failed batched commit changed the store: %s", i, diff)
			}
		default: // Apply succeeded, a hint failed
			lastGood = model.Load(testChannel)
		}
	}
	mem.FailWriteFraction(0, 0)
	if err := w.Commit(nil, nil); err != nil {
		t.Fatal(err)
	}
	if diff := persisttest.Diff(loadCh(t, mem), model.Load(testChannel)); diff != "" {
		t.Fatalf("final: %s", diff)
	}
}
