package sds

import (
	"container/heap"
	"sync/atomic"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// outEntry is an outgoing message waiting for acknowledgement.
type outEntry struct {
	msg       wire.Message // without bloom filter; re-encoded on resend
	sentAt    time.Time
	attempts  int
	sightings int // received bloom filters that contained it
	slot      int // index in outgoingBuffer.slots
}

// outSlot is what the bloom acknowledgement review reads for every
// outgoing message, kept contiguous so the review is a linear scan.
type outSlot struct {
	probe bloom.Probe // the id's hashes and bit indexes for the last filter size seen
	e     *outEntry   // nil once removed, until compaction
}

// outgoingBuffer keeps unacknowledged messages in send order with O(1)
// lookup and removal.
type outgoingBuffer struct {
	byID  map[string]*outEntry
	slots []outSlot // send order, with holes
	holes int
	dirty map[string]struct{} // ids added, changed or removed; nil without persistence
}

func newOutgoingBuffer() outgoingBuffer {
	return outgoingBuffer{byID: make(map[string]*outEntry)}
}

func (b *outgoingBuffer) len() int { return len(b.byID) }

// touch records that id's entry changed (for persistence).
func (b *outgoingBuffer) touch(id string) {
	if b.dirty != nil {
		b.dirty[id] = struct{}{}
	}
}

func (b *outgoingBuffer) push(e *outEntry, key bloom.Key) {
	b.byID[e.msg.MessageID] = e
	b.touch(e.msg.MessageID)
	e.slot = len(b.slots)
	b.slots = append(b.slots, outSlot{probe: bloom.NewProbe(key), e: e})
}

func (b *outgoingBuffer) remove(e *outEntry) {
	delete(b.byID, e.msg.MessageID)
	b.touch(e.msg.MessageID)
	b.slots[e.slot].e = nil
	b.holes++
}

// compact closes the holes once they are the majority, keeping send order;
// amortised O(1) per removal. Call it only between scans of slots.
func (b *outgoingBuffer) compact() {
	if b.holes <= 32 || b.holes <= len(b.slots)/2 {
		return
	}
	live := b.slots[:0]
	for _, s := range b.slots {
		if s.e != nil {
			s.e.slot = len(live)
			live = append(live, s)
		}
	}
	clear(b.slots[len(live):])
	b.slots, b.holes = live, 0
}

// pending is a received message waiting for its dependencies.
type pending struct {
	msg        wire.Message // without bloom filter
	wait       waitSet      // which causal-history entries it still waits for
	absent     waitSet      // of those, the ones not buffered here either (missing)
	dependents []waiter     // buffered messages waiting for this one, while it is buffered
	receivedAt time.Time
	heapIndex  int
	gone       bool  // left the buffer (delivered or dropped); ignore it in waiter lists and order
	cost       int64 // counted against Config.MaxIncomingBytes while buffered
}

// waitSet marks, by index into the message's causal history, the entries a
// buffered message still waits for: only the first entry of each id, never
// the message itself. Bits instead of a map of ids: the buffer may hold
// thousands of messages, and a map each cost a cache miss per question.
type waitSet struct {
	bits []uint64
	n    int // bits set
}

func (w *waitSet) add(i int) {
	if w.bits == nil {
		w.bits = make([]uint64, 0, 1)
	}
	for len(w.bits) <= i/64 {
		w.bits = append(w.bits, 0)
	}
	if w.bits[i/64]&(1<<(i%64)) == 0 {
		w.bits[i/64] |= 1 << (i % 64)
		w.n++
	}
}

func (w *waitSet) has(i int) bool {
	return i/64 < len(w.bits) && w.bits[i/64]&(1<<(i%64)) != 0
}

// clear unmarks i and reports whether it was marked.
func (w *waitSet) clear(i int) bool {
	if !w.has(i) {
		return false
	}
	w.bits[i/64] &^= 1 << (i % 64)
	w.n--
	return true
}

func (w *waitSet) len() int { return w.n }

// waitsFor reports whether p still waits for id.
func (p *pending) waitsFor(id string) bool {
	for i := range p.msg.CausalHistory {
		if p.wait.has(i) && p.msg.CausalHistory[i].MessageID == id {
			return true
		}
	}
	return false
}

// waitFirst marks in w every first occurrence of an id in hist for which
// need is true (the caller excludes the message's own id); need must
// answer the same for equal ids.
func waitFirst(hist []wire.HistoryEntry, need func(i int) bool) waitSet {
	var w waitSet
	var seen map[string]struct{} // long histories only; short ones scan back
	for i := range hist {
		if !need(i) {
			continue
		}
		id := hist[i].MessageID
		if w.n > 0 {
			if seen == nil && w.n > 16 {
				seen = make(map[string]struct{}, len(hist))
				for j := range i {
					if w.has(j) {
						seen[hist[j].MessageID] = struct{}{}
					}
				}
			}
			if seen != nil {
				if _, dup := seen[id]; dup {
					continue
				}
			} else if w.firstMarked(hist[:i], id) {
				continue
			}
		}
		if seen != nil {
			seen[id] = struct{}{}
		}
		w.add(i)
	}
	return w
}

// firstMarked reports whether an entry of hist marked in w names id.
func (w *waitSet) firstMarked(hist []wire.HistoryEntry, id string) bool {
	for j := range hist {
		if w.has(j) && hist[j].MessageID == id {
			return true
		}
	}
	return false
}

func firstIndex(hist []wire.HistoryEntry, id string) int {
	for i := range hist {
		if hist[i].MessageID == id {
			return i
		}
	}
	return -1
}

// waiter is a buffered message waiting for the id its causal-history
// entry i names.
type waiter struct {
	p *pending
	i int
}

// Memory a waiting message costs beyond its bytes: the struct,
// and per causal-history entry the entry, its wait bit and its place in
// the waiter index (measured: ~220 KB for 1,024 entries with short ids).
const (
	pendingOverhead = 256
	entryOverhead   = 200
)

// incomingCost estimates what buffering msg costs.
func incomingCost(msg *wire.Message) int64 {
	return messageCost(msg, pendingOverhead, entryOverhead)
}

// messageCost estimates what keeping msg costs: its bytes, perMessage,
// and perEntry for each causal-history entry.
func messageCost(msg *wire.Message, perMessage, perEntry int) int64 {
	n := perMessage + len(msg.Content) + len(msg.MessageID) + len(msg.SenderID)
	for i := range msg.CausalHistory {
		h := &msg.CausalHistory[i]
		n += perEntry + len(h.MessageID) + len(h.RetrievalHint) + len(h.SenderID)
	}
	return int64(n)
}

// incomingBuffer holds messages with unmet dependencies. What waits for a
// buffered message is listed on it (dependents); what waits for a missing
// id, in waiters. So an arrival unblocks its dependents without scanning
// the buffer, and a dependency that is itself buffered costs no index
// entry (in long chains, most are). order keeps arrival order for the
// sweep and for eviction; messages that left stay in it until popped or
// compacted away.
type incomingBuffer struct {
	byID    map[string]*pending
	waiters map[string][]waiter // by missing id
	order   []*pending          // arrival order, with departed entries (gone)
	head    int                 // order[:head] is consumed
	dirty   map[string]struct{} // ids added, changed or removed; nil without persistence
	bytes   int64               // cost of the messages held
	total   *atomic.Int64       // the manager's total of every channel's bytes
}

func newIncomingBuffer(total *atomic.Int64) incomingBuffer {
	return incomingBuffer{byID: make(map[string]*pending), waiters: make(map[string][]waiter), total: total}
}

func (b *incomingBuffer) account(delta int64) {
	b.bytes += delta
	b.total.Add(delta)
}

// release gives the buffer's bytes back to the manager's total (the
// channel left the manager).
func (b *incomingBuffer) release() {
	if b.total != nil { // nil in a drop's placeholder channel
		b.total.Add(-b.bytes)
	}
	b.bytes = 0
}

func (b *incomingBuffer) len() int { return len(b.byID) }

// touch records that id's entry changed (for persistence).
func (b *incomingBuffer) touch(id string) {
	if b.dirty != nil {
		b.dirty[id] = struct{}{}
	}
}

func (b *incomingBuffer) add(p *pending) {
	id := p.msg.MessageID
	b.byID[id] = p
	b.touch(id)
	p.cost = incomingCost(&p.msg)
	b.account(p.cost)
	// Those that waited for p while it was missing wait on p itself now.
	if ws, ok := b.waiters[id]; ok {
		delete(b.waiters, id)
		for _, w := range ws {
			w.p.absent.clear(w.i)
		}
		p.dependents = append(p.dependents, ws...)
	}
	p.absent = waitSet{}
	for i := range p.msg.CausalHistory {
		if !p.wait.has(i) {
			continue
		}
		dep := p.msg.CausalHistory[i].MessageID
		if q := b.byID[dep]; q != nil {
			q.dependents = append(q.dependents, waiter{p, i})
		} else {
			b.waiters[dep] = append(b.waiters[dep], waiter{p, i})
			p.absent.add(i)
		}
	}
	b.order = append(b.order, p)
	b.compact()
}

// compact drops departed messages from order once they outnumber the
// live ones; amortised O(1) per message.
func (b *incomingBuffer) compact() {
	if n := len(b.order) - b.head; n <= 32 || n <= 2*len(b.byID) {
		return
	}
	live := b.order[:0]
	for _, p := range b.order[b.head:] {
		if !p.gone {
			live = append(live, p)
		}
	}
	clear(b.order[len(live):])
	b.order, b.head = live, 0
}

// oldest returns the message received first still in the buffer, or nil.
func (b *incomingBuffer) oldest() *pending {
	for b.head < len(b.order) {
		if p := b.order[b.head]; !p.gone {
			return p
		}
		b.order[b.head] = nil
		b.head++
	}
	b.order, b.head = b.order[:0], 0
	return nil
}

// take removes a message that is being delivered; satisfy(id, p, ready)
// then releases what waits on it.
func (b *incomingBuffer) take(p *pending) {
	delete(b.byID, p.msg.MessageID)
	b.touch(p.msg.MessageID)
	p.gone = true
	b.account(-p.cost)
}

// drop removes a message from the buffer without delivering it.
func (b *incomingBuffer) drop(p *pending) {
	id := p.msg.MessageID
	delete(b.byID, id)
	b.touch(id)
	p.gone = true
	b.account(-p.cost)
	// What waited on p misses it now.
	if len(p.dependents) > 0 {
		for _, w := range p.dependents {
			w.p.absent.add(w.i)
		}
		b.waiters[id] = append(b.waiters[id], p.dependents...)
		p.dependents = nil
	}
	// p waits for nothing any more.
	for i := range p.msg.CausalHistory {
		if !p.wait.has(i) {
			continue
		}
		dep := p.msg.CausalHistory[i].MessageID
		if q := b.byID[dep]; q != nil {
			q.dependents = withoutWaiter(q.dependents, p)
			continue
		}
		if ws := withoutWaiter(b.waiters[dep], p); len(ws) == 0 {
			delete(b.waiters, dep)
		} else {
			b.waiters[dep] = ws
		}
	}
}

func withoutWaiter(ws []waiter, p *pending) []waiter {
	for j, w := range ws {
		if w.p == p {
			return append(ws[:j], ws[j+1:]...)
		}
	}
	return ws
}

// entryFor returns the causal-history entry (with its sender and hint)
// under which a waiting message names the missing id.
func (b *incomingBuffer) entryFor(id string) (wire.HistoryEntry, bool) {
	if ws := b.waiters[id]; len(ws) > 0 {
		return ws[0].p.msg.CausalHistory[ws[0].i], true
	}
	return wire.HistoryEntry{}, false
}

// satisfy records that id is now present and pushes every message it
// unblocks onto ready. from is the buffered message id is being delivered
// from (take), whose dependents wait on it; nil when id was not buffered,
// and those waiting for it are in the missing-id index.
func (b *incomingBuffer) satisfy(id string, from *pending, ready *readyQueue) {
	var ws []waiter
	if from != nil {
		ws, from.dependents = from.dependents, nil
	} else {
		var ok bool
		if ws, ok = b.waiters[id]; !ok {
			return
		}
		delete(b.waiters, id)
	}
	for _, w := range ws {
		p := w.p
		if p.gone || !p.wait.clear(w.i) {
			continue
		}
		p.absent.clear(w.i)
		b.touch(p.msg.MessageID)
		if p.wait.len() == 0 {
			heap.Push(ready, p)
		}
	}
}

// readyQueue orders deliverable messages by Lamport timestamp, then id (the
// RFC's conflict rule), so a cascade is delivered in causal order in
// O(N log N).
type readyQueue []*pending

func (q readyQueue) Len() int { return len(q) }
func (q readyQueue) Less(i, j int) bool {
	a, b := &q[i].msg, &q[j].msg
	if a.LamportTimestamp != b.LamportTimestamp {
		return a.LamportTimestamp < b.LamportTimestamp
	}
	return a.MessageID < b.MessageID
}
func (q readyQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIndex, q[j].heapIndex = i, j
}
func (q *readyQueue) Push(x any) {
	p := x.(*pending)
	p.heapIndex = len(*q)
	*q = append(*q, p)
}
func (q *readyQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return p
}
