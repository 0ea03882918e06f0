package sds_test

// Faults of the host's code: persistence backends that panic, stall or
// return garbage, and event handlers that block. None may lose data,
// corrupt another channel or manager, or wedge the library
// (docs/LIMITS.md, "Faults"). Nothing here sleeps: stalls are released by
// the test itself.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// faultyBackend is a Memory backend whose methods can be made to panic,
// to stall on one channel until released, or to load garbage.
type faultyBackend struct {
	*persist.Memory
	mu      sync.Mutex
	panicOn map[string]bool // method name -> panic
	stallCh string          // channel whose writes stall
	entered chan struct{}   // a write on stallCh started (buffered: one)
	release chan struct{}   // closed to let it go on
	garbage *persist.ChannelData
	// unexpected is set by a second write on stallCh while the first
	// stalls: it fails instead of waiting on entered for ever.
	unexpected error
}

func newFaultyBackend() *faultyBackend {
	return &faultyBackend{Memory: persist.NewMemory(), panicOn: map[string]bool{}}
}

func (b *faultyBackend) setPanic(op string, on bool) {
	b.mu.Lock()
	b.panicOn[op] = on
	b.mu.Unlock()
}

func (b *faultyBackend) enter(op, channelID string) error {
	b.mu.Lock()
	p, stall := b.panicOn[op], channelID == b.stallCh && b.release != nil
	entered, release := b.entered, b.release
	b.mu.Unlock()
	if p {
		panic(fmt.Sprintf("backend bug in %s", op))
	}
	if stall && op == "Apply" {
		select {
		case entered <- struct{}{}:
		default:
			err := fmt.Errorf("a second %s on %q while one stalls", op, channelID)
			b.mu.Lock()
			b.unexpected = err
			b.mu.Unlock()
			return err
		}
		<-release
	}
	return nil
}

func (b *faultyBackend) Apply(channelID string, d *persist.MetaDelta, u *persist.HistoryUpdate) error {
	if err := b.enter("Apply", channelID); err != nil {
		return err
	}
	return b.Memory.Apply(channelID, d, u)
}

func (b *faultyBackend) LoadChannel(channelID string) (*persist.ChannelData, error) {
	_ = b.enter("LoadChannel", channelID) // stalls only writes
	b.mu.Lock()
	g := b.garbage
	b.mu.Unlock()
	if g != nil {
		return g, nil
	}
	return b.Memory.LoadChannel(channelID)
}

func (b *faultyBackend) DropChannel(channelID string) error {
	_ = b.enter("DropChannel", channelID) // stalls only writes
	return b.Memory.DropChannel(channelID)
}

func historyOf(t *testing.T, b persist.Backend, channelID string) []string {
	t.Helper()
	d, err := b.LoadChannel(channelID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range d.History {
		ids = append(ids, m.MessageID)
	}
	return ids
}

// A backend that panics: a write's panic is a failed write (kept, retried,
// counted), a load's or a drop's is the operation's ErrPersistence; the
// channel is never left locked, and nothing is lost once it recovers.
func TestPanickingBackend(t *testing.T) {
	b := newFaultyBackend()
	clk := sds.NewManualClock(nimStart)
	m, rec := persistentManager(t, b, clk, nil)

	b.setPanic("Apply", true)
	if _, err := m.Wrap(pChan, "m1", []byte("x")); err != nil {
		t.Fatalf("Wrap with a panicking write: %v", err)
	}
	if _, err := m.Unwrap(peer("p1", 1, "bob")); err != nil {
		t.Fatalf("Unwrap with a panicking write: %v", err)
	}
	if st := m.PersistenceStats(); st.WriteFailures == 0 || st.Pending == 0 {
		t.Fatalf("stats after panicking writes: %+v", st)
	}
	// The channel is not wedged: the next operation runs (and retries).
	b.setPanic("Apply", false)
	if _, err := m.Wrap(pChan, "m2", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st := m.PersistenceStats(); st.Pending != 0 {
		t.Fatalf("writes still pending after recovery: %+v", st)
	}
	nimEqualIDs(t, "stored history", historyOf(t, b.Memory, pChan), []string{"m1", "p1", "m2"})
	nimEqualIDs(t, "delivered", rec.ids(sds.EventMessageReady), []string{"p1"})

	// A panicking load fails the operation that needed the channel.
	b.setPanic("LoadChannel", true)
	err := m.EnsureChannel("other")
	if !errors.Is(err, sds.ErrPersistence) || !errors.Is(err, persist.ErrPanic) {
		t.Fatalf("EnsureChannel with a panicking load: %v", err)
	}
	b.setPanic("LoadChannel", false)
	mustEnsure(t, m, "other")

	// A panicking drop fails RemoveChannel; the channel stays usable.
	b.setPanic("DropChannel", true)
	if err := m.RemoveChannel(pChan); !errors.Is(err, persist.ErrPanic) {
		t.Fatalf("RemoveChannel with a panicking drop: %v", err)
	}
	if _, err := m.Wrap(pChan, "m3", []byte("x")); err != nil {
		t.Fatalf("after a failed drop: %v", err)
	}
	b.setPanic("DropChannel", false)

	// A restart finds everything.
	mustClose(t, m)
	m2, _ := persistentManager(t, b, clk, nil)
	mustEnsure(t, m2, pChan)
	st, _ := m2.ChannelState(pChan)
	nimEqualIDs(t, "history after restart", st.MessageHistory, []string{"m1", "p1", "m2", "m3"})
}

// Garbage from LoadChannel is refused with ErrPersistence (never a panic,
// never partly loaded state); other channels and managers carry on, and
// the channel loads once the backend returns its real state.
func TestGarbageOnLoad(t *testing.T) {
	good, _, _ := wire.Decode(peer("g", 1, "bob"), wire.Limits{})
	good.BloomFilter = nil
	r := rand.New(rand.NewPCG(7, 7))
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	cases := map[string]*persist.ChannelData{
		"junk lamport":           {Records: map[string][]byte{persist.LamportKey: junk(9)}},
		"junk outgoing":          {Records: map[string][]byte{persist.OutgoingKey("o"): junk(40)}},
		"record under wrong key": {Records: map[string][]byte{persist.OutgoingKey("o"): nil, "Z?": junk(3)}},
		"unknown record kind":    {Records: map[string][]byte{"\xff\x00": {1}}},
		"duplicate history":      {History: []wire.Message{good, good}},
		"history with empty id":  {History: []wire.Message{{LamportTimestamp: 1, HasLamport: true, ChannelID: pChan, Content: []byte{1}}}},
		"hint for nothing huge":  {Hints: map[string][]byte{"g": junk(1 << 20)}},
	}
	for i := 0; i < 20; i++ {
		recs := map[string][]byte{}
		for k := 0; k < 4; k++ {
			recs[string(junk(1+r.IntN(4)))] = junk(r.IntN(64))
		}
		cases[fmt.Sprintf("random records %d", i)] = &persist.ChannelData{Records: recs}
	}
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			b := newFaultyBackend()
			clk := sds.NewManualClock(nimStart)
			m, _ := persistentManager(t, b, clk, nil)
			if _, err := m.Wrap("healthy", "h1", []byte("x")); err != nil {
				t.Fatal(err)
			}
			b.garbage = g
			err := m.EnsureChannel(pChan)
			if err == nil {
				// Some garbage is harmless (a hint for no message);
				// then the state must be usable.
				if _, err := m.Wrap(pChan, "after", []byte("x")); err != nil {
					t.Fatalf("loaded %s, then: %v", name, err)
				}
				return
			}
			if !errors.Is(err, sds.ErrPersistence) {
				t.Fatalf("%s: %v", name, err)
			}
			if _, ok := m.ChannelState(pChan); ok {
				t.Fatal("a refused load left the channel behind")
			}
			b.garbage = nil
			if _, err := m.Wrap("healthy", "h2", []byte("x")); err != nil {
				t.Fatalf("healthy channel after a garbage load: %v", err)
			}
			mustEnsure(t, m, pChan)
		})
	}
}

// A backend stalled on one channel's write holds up only that channel's
// operation: the manager's other channels and other managers carry on, and
// the stalled write lands when released.
func TestStallingBackend(t *testing.T) {
	deadline(t)
	b := newFaultyBackend()
	clk := sds.NewManualClock(nimStart)
	m, _ := persistentManager(t, b, clk, nil)
	other, _ := persistentManager(t, persist.NewMemory(), clk, nil)
	mustEnsure(t, m, "slow")
	b.mu.Lock()
	b.stallCh, b.entered, b.release = "slow", make(chan struct{}, 1), make(chan struct{})
	b.mu.Unlock()

	done := make(chan error)
	go func() {
		_, err := m.Wrap("slow", "s1", []byte("x"))
		done <- err
	}()
	<-b.entered // the write is stuck in the backend now
	for i := 0; i < 3; i++ {
		if _, err := m.Wrap("fast", fmt.Sprintf("f%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Wrap("slow", fmt.Sprintf("o%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Unwrap(peer("p1", 1, "bob")); err != nil {
		t.Fatal(err)
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatalf("stalled Wrap: %v", err)
	}
	if b.unexpected != nil {
		t.Fatal(b.unexpected)
	}
	nimEqualIDs(t, "stalled channel stored", historyOf(t, b.Memory, "slow"), []string{"s1"})
	nimEqualIDs(t, "fast channel stored", historyOf(t, b.Memory, "fast"), []string{"f0", "f1", "f2"})
}

// An event handler that blocks (for seconds, in real life) holds up only
// the goroutine that is dispatching: other calls on the same channel
// return at once with their events queued behind it, other channels'
// events are delivered, other managers are unaffected, and once released
// the queued events arrive in order.
func TestBlockingHandler(t *testing.T) {
	deadline(t)
	sender := newTestManager(t, "alice")
	m := newTestManager(t, "bob")
	third := newTestManager(t, "carol")
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var got []string
	first := true
	m.SetEventHandler(func(e sds.Event) {
		if e.Kind != sds.EventMessageReady {
			return
		}
		mu.Lock()
		got = append(got, e.ChannelID+"/"+e.MessageID)
		block := first && e.ChannelID == "x"
		first = first && !block
		mu.Unlock()
		if block {
			entered <- struct{}{}
			<-release
		}
	})
	wire := func(ch, id string) []byte {
		b, err := sender.Wrap(ch, id, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	x1, x2, x3, y1 := wire("x", "x1"), wire("x", "x2"), wire("x", "x3"), wire("y", "y1")

	done := make(chan error)
	go func() {
		_, err := m.Unwrap(x1)
		done <- err
	}()
	<-entered // the handler is blocked on x1's event
	for _, b := range [][]byte{x2, x3} {
		if res, err := m.Unwrap(b); err != nil || !res.Delivered {
			t.Fatalf("same channel while the handler blocks: %+v %v", res, err)
		}
	}
	if _, err := m.Unwrap(y1); err != nil {
		t.Fatal(err)
	}
	if _, err := third.Unwrap(x1); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	during := fmt.Sprint(got)
	mu.Unlock()
	if during != "[x/x1 y/y1]" {
		t.Fatalf("events while blocked: %s (y1's should arrive, x2 and x3 wait behind x1)", during)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[x/x1 y/y1 x/x2 x/x3]" {
		t.Fatalf("events after release: %v", got)
	}
}

// A handler blocked on a time-driven event (here the periodic_sync the
// periodic tasks emit when they start) holds up that manager's periodic
// loop only: the host's own calls on it go on, and so does another
// manager's periodic loop; once released, the loop carries on.
func TestBlockingHandlerOnPeriodicEvent(t *testing.T) {
	deadline(t)
	m, _, clk := nimManager(t, nil)
	other, orec, oclk := nimManager(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.SetEventHandler(func(e sds.Event) {
		if e.Kind == sds.EventPeriodicSync {
			once.Do(func() {
				entered <- struct{}{}
				<-release
			})
		}
	})
	if err := m.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	<-entered // the periodic goroutine is stuck in the handler
	if _, err := m.Wrap(pChan, "w1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Unwrap(peer("p1", 1, "bob")); err != nil {
		t.Fatal(err)
	}
	m.Sweep() // the host may still sweep by hand
	if err := other.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	waitTasks(oclk)
	oclk.Advance(sds.DefaultSyncMessageInterval)
	waitTasks(oclk)
	if n := orec.count(sds.EventPeriodicSync); n != 2 {
		t.Fatalf("the other manager's loop emitted %d periodic_sync, want 2", n)
	}
	close(release)
	waitTasks(clk) // m's loop got past the handler and armed its timers
	st, _ := m.ChannelState(pChan)
	nimEqualIDs(t, "log", st.MessageHistory, []string{"w1", "p1"})
}
