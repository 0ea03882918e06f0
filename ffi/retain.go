package ffi

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"
)

// Buffers handed to SdsCallBack callbacks are C memory the library owns.
// The host may keep the pointer and read it after the callback and after
// the call returned (sds-go-bindings does, from a goroutine the Go
// scheduler may move to another thread in between), so a buffer is not
// freed when its callback returns. The rule (include/libsds.h):
//
//   - Buffers handed out during a thread's call on a manager (including
//     nested calls from its callbacks, and events delivered by that thread)
//     belong to that thread's "current" generation. When the thread's
//     outermost call returns, they become its "previous" generation.
//   - When the same thread's next outermost call on the manager returns,
//     the previous generation is released to the manager's queue.
//   - Buffers of events delivered outside any call (periodic work) are
//     released as soon as their callback returns.
//   - The queue keeps the keepCount most recently released buffers and,
//     within keepBytes, every buffer released less than keepAge ago; older
//     ones are freed as new ones arrive.
//   - When the manager is released (cleaned up, and no call running on
//     it), everything it still holds goes to the process-wide graveyard,
//     a queue with the same rules, as do the buffers of failed creations:
//     a call that returns while another thread cleans its manager up can
//     still read its result.
//
// A thread that stops calling keeps one generation alive; with more than
// maxThreadSlots threads, the least recently used idle thread's generation
// is released to make room.
const (
	keepCount      = 64
	keepAge        = 250 * time.Millisecond
	keepBytes      = 8 << 20
	maxThreadSlots = 64
)

// buffer is a C allocation handed to the host.
type buffer struct {
	p    unsafe.Pointer
	size int
	at   time.Duration // when it was released, since epoch
}

var epoch = time.Now()

func now() time.Duration { return time.Since(epoch) }

// releaseQueue holds released buffers oldest first.
type releaseQueue struct {
	q     []buffer
	head  int
	bytes int
}

func (r *releaseQueue) push(bs []buffer, at time.Duration) {
	for _, b := range bs {
		b.at = at
		r.q = append(r.q, b)
		r.bytes += b.size
	}
	r.trim(at)
}

// trim frees the oldest buffers the rules no longer keep.
func (r *releaseQueue) trim(at time.Duration) {
	for len(r.q)-r.head > keepCount {
		b := r.q[r.head]
		if at-b.at < keepAge && r.bytes <= keepBytes {
			break
		}
		C.free(b.p)
		r.bytes -= b.size
		r.q[r.head] = buffer{}
		r.head++
	}
	if r.head > len(r.q)/2 { // compact
		n := copy(r.q, r.q[r.head:])
		clear(r.q[n:])
		r.q, r.head = r.q[:n], 0
	}
}

// drain empties the queue, returning its buffers oldest first.
func (r *releaseQueue) drain() []buffer {
	out := append([]buffer(nil), r.q[r.head:]...)
	r.q, r.head, r.bytes = nil, 0, 0
	return out
}

// graveyard holds the last buffers of released managers and the messages
// of failed creations.
var graveyard struct {
	mu sync.Mutex
	q  releaseQueue
}

func bury(bs ...buffer) {
	graveyard.mu.Lock()
	defer graveyard.mu.Unlock()
	graveyard.q.push(bs, now())
}

// retention is a manager's bookkeeping of the buffers it handed out.
type retention struct {
	mu     sync.Mutex
	slots  map[C.uintptr_t]*threadSlot
	queue  releaseQueue
	clock  uint64 // counts outermost calls, for least-recently-used eviction
	closed bool
}

type threadSlot struct {
	tid       C.uintptr_t
	depth     int      // calls of this thread running on the manager
	cur, prev []buffer // generations; cur is touched only by the thread itself
	used      uint64
}

// enter records the start of a call by thread tid.
func (r *retention) enter(tid C.uintptr_t) *threadSlot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slots[tid]
	if s == nil {
		if r.slots == nil {
			r.slots = make(map[C.uintptr_t]*threadSlot)
		}
		if len(r.slots) >= maxThreadSlots {
			r.evictIdleLocked()
		}
		s = &threadSlot{tid: tid}
		r.slots[tid] = s
	}
	s.depth++
	return s
}

// exit records the end of the call; at the end of the outermost one, the
// previous generation is released and the current one becomes previous.
func (r *retention) exit(s *threadSlot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.depth--
	if s.depth > 0 {
		return
	}
	if len(s.prev) > 0 {
		r.releaseLocked(s.prev)
		clear(s.prev)
	}
	s.prev, s.cur = s.cur, s.prev[:0]
	r.clock++
	s.used = r.clock
}

// keep adds a buffer to the current generation of s, a slot of the
// calling thread with a call running.
func (s *threadSlot) keep(p unsafe.Pointer, size int) {
	s.cur = append(s.cur, buffer{p: p, size: size})
}

// active returns the slot of thread tid if it has a call running.
func (r *retention) active(tid C.uintptr_t) *threadSlot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.slots[tid]; s != nil && s.depth > 0 {
		return s
	}
	return nil
}

// release hands one buffer to the queue.
func (r *retention) release(p unsafe.Pointer, size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked([]buffer{{p: p, size: size}})
}

func (r *retention) releaseLocked(bs []buffer) {
	if r.closed {
		bury(bs...)
		return
	}
	r.queue.push(bs, now())
}

func (r *retention) evictIdleLocked() {
	var victim *threadSlot
	for _, s := range r.slots {
		if s.depth == 0 && (victim == nil || s.used < victim.used) {
			victim = s
		}
	}
	if victim != nil {
		r.releaseLocked(victim.prev)
		delete(r.slots, victim.tid)
	}
}

// close gives every buffer to the graveyard; called once no call can reach
// the manager.
func (r *retention) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	all := r.queue.drain()
	for _, s := range r.slots {
		all = append(all, s.prev...)
		all = append(all, s.cur...)
	}
	r.slots = nil
	bury(all...)
}
