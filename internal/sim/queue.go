package sim

import "github.com/libsds-go/libsds/sds/wire"

// The discrete-event queue: a binary min-heap of events by (virtual time,
// sequence number), so events at the same instant run in the order they
// were scheduled and a run is deterministic. Events are values, not
// pointers: a run pushes about one per copy of every broadcast.

type evKind uint8

const (
	evArrive      evKind = iota // a copy reaches peer
	evSend                      // peer's application sends a message
	evSweep                     // peer's buffer sweep (Sweep)
	evRepairSweep               // peer's SDS-R sweep (RepairSweep)
	evSync                      // peer broadcasts sync messages
	evCheck                     // after the send phase: is anything left to do?
	evMemory                    // sample the heap
)

type event struct {
	at   int64 // virtual ns since the start
	seq  uint64
	pkt  *packet
	peer int32
	kind evKind
}

// packet is one broadcast, shared by all its copies in flight (Unwrap
// keeps none of the bytes it is given).
type packet struct {
	data []byte
	sc   wire.Scanned // data, validated once for all receivers
	kind PacketKind
	from int32
	refs int32 // copies in flight
	msg  int32 // index of the message it carries; -1 for a sync message
	at   int64 // virtual ns when it was broadcast
	// bucket is where the packet's traffic is counted.
	bucket *KindBytes
}

type eventQueue struct {
	h   []event
	seq uint64
}

func (q *eventQueue) len() int { return len(q.h) }

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !less(&q.h[i], &q.h[parent]) {
			break
		}
		q.h[i], q.h[parent] = q.h[parent], q.h[i]
		i = parent
	}
}

func (q *eventQueue) peek() *event { return &q.h[0] }

func (q *eventQueue) pop() event {
	h := q.h
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = event{}
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		small := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			small = r
		}
		if !less(&h[small], &h[i]) {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	q.h = h
	return top
}
