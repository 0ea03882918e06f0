package sds

import (
	"sort"
	"sync"
	"time"
)

// Clock supplies the current time and timers. Every time-driven behaviour
// of the core reads it, so tests drive time explicitly instead of sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now (at once if
	// d <= 0), like time.NewTimer.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock, with the semantics of
// time.Timer since Go 1.23: Stop and Reset discard a value not yet
// received from C.
type Timer interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was
	// armed.
	Stop() bool
	// Reset re-arms the timer to fire d from now; it reports whether it
	// was armed.
	Reset(d time.Duration) bool
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// ManualClock is a Clock that only moves when told to. Its timers fire
// during Advance and Set, in deadline order, so a test decides exactly when
// periodic work runs. Safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	cond   sync.Cond // on mu; signalled when the number of armed timers changes
	now    time.Time
	armed  map[*manualTimer]struct{}
	serial uint64 // arming order, to fire timers with equal deadlines in order
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// lock locks c, initialising a zero ManualClock on first use.
func (c *ManualClock) lock() {
	c.mu.Lock()
	if c.armed == nil {
		c.armed = make(map[*manualTimer]struct{})
		c.cond.L = &c.mu
	}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and fires the timers that are due.
// Each timer fires at most once per call, however far the clock moves:
// a periodic task re-arms its timer only after it has run.
func (c *ManualClock) Advance(d time.Duration) {
	c.lock()
	c.now = c.now.Add(d)
	c.fireLocked()
	c.mu.Unlock()
}

// Set moves the clock to t and fires the timers that are due.
func (c *ManualClock) Set(t time.Time) {
	c.lock()
	c.now = t
	c.fireLocked()
	c.mu.Unlock()
}

// Timers returns how many timers are armed.
func (c *ManualClock) Timers() int {
	c.lock()
	defer c.mu.Unlock()
	return len(c.armed)
}

// NextDeadline returns when the earliest armed timer fires; ok is false
// when none is armed.
func (c *ManualClock) NextDeadline() (at time.Time, ok bool) {
	c.lock()
	defer c.mu.Unlock()
	for t := range c.armed {
		if !ok || t.when.Before(at) {
			at, ok = t.when, true
		}
	}
	return at, ok
}

// WaitForTimers blocks until at least n timers are armed. A periodic task
// re-arms its timer after each run, so after Advance, waiting for all of a
// manager's timers (3 while its periodic tasks run) means the work the
// advance triggered is done, events included.
func (c *ManualClock) WaitForTimers(n int) {
	c.lock()
	for len(c.armed) < n {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

// NewTimer returns a timer that fires when the clock reaches now + d.
func (c *ManualClock) NewTimer(d time.Duration) Timer {
	t := &manualTimer{c: c, ch: make(chan time.Time, 1)}
	c.lock()
	t.armLocked(d)
	c.mu.Unlock()
	return t
}

func (c *ManualClock) fireLocked() {
	var due []*manualTimer
	for t := range c.armed {
		if !t.when.After(c.now) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].when.Equal(due[j].when) {
			return due[i].when.Before(due[j].when)
		}
		return due[i].serial < due[j].serial
	})
	for _, t := range due {
		t.fireLocked()
	}
}

type manualTimer struct {
	c      *ManualClock
	ch     chan time.Time
	when   time.Time
	serial uint64
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

// armLocked arms t for d from now, firing it at once when d <= 0.
func (t *manualTimer) armLocked(d time.Duration) {
	c := t.c
	t.when = c.now.Add(d)
	c.serial++
	t.serial = c.serial
	if d <= 0 {
		t.fireLocked()
		return
	}
	c.armed[t] = struct{}{}
	c.cond.Broadcast()
}

func (t *manualTimer) fireLocked() {
	if _, ok := t.c.armed[t]; ok {
		delete(t.c.armed, t)
		t.c.cond.Broadcast()
	}
	select {
	case t.ch <- t.c.now:
	default:
	}
}

// disarmLocked stops t and discards an unreceived value.
func (t *manualTimer) disarmLocked() bool {
	_, armed := t.c.armed[t]
	if armed {
		delete(t.c.armed, t)
		t.c.cond.Broadcast()
	}
	select {
	case <-t.ch:
	default:
	}
	return armed
}

func (t *manualTimer) Stop() bool {
	t.c.lock()
	defer t.c.mu.Unlock()
	return t.disarmLocked()
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.c.lock()
	defer t.c.mu.Unlock()
	was := t.disarmLocked()
	t.armLocked(d)
	return was
}
