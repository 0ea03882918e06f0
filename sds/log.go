package sds

import (
	"sync/atomic"

	"github.com/libsds-go/libsds/sds/wire"
)

// logEntry is a delivered (or sent) message in the local log. The message is
// kept without its bloom filter: the filter is only needed on receipt, and
// keeping it would cost ~19 KB per entry.
type logEntry struct {
	msg  wire.Message
	hint []byte // retrieval hint from the provider, cached once non-empty
	cost int64  // counted against Config.MaxLogBytes
}

// Memory a log entry costs beyond its bytes (the entry, its map slot) and
// per causal-history entry.
const (
	logEntryOverhead = 160
	logHistOverhead  = 80
)

func logCost(msg *wire.Message) int64 {
	return messageCost(msg, logEntryOverhead, logHistOverhead)
}

// messageLog is the bounded, insertion-ordered local log: a map for lookup
// and a ring for order, so adding and evicting are O(1). It is bounded by
// count (limit) and, with the other channels' logs, by bytes (max).
type messageLog struct {
	byID  map[string]*logEntry
	ring  []*logEntry // entries [start, start+n) modulo len(ring); grows to limit
	start int         // index of the oldest entry
	n     int
	limit int
	track *changes // records appends and evictions; nil without persistence
	// left remembers the ids of evicted entries for a while (in memory
	// only), so a late copy - a repair or resend arriving after eviction -
	// is recognised rather than delivered a second time.
	left  idRing
	bytes int64         // cost of the entries held
	total *atomic.Int64 // the manager's total of every channel's bytes
	max   int64         // Config.MaxLogBytes
}

func newMessageLog(limit, remember int, total *atomic.Int64, max int64) messageLog {
	return messageLog{byID: make(map[string]*logEntry), limit: limit, left: newIDRing(remember), total: total, max: max}
}

func (l *messageLog) len() int { return l.n }

func (l *messageLog) account(delta int64) {
	l.bytes += delta
	if l.total != nil {
		l.total.Add(delta)
	}
}

// release gives the log's bytes back to the manager's total (the channel
// left the manager).
func (l *messageLog) release() { l.account(-l.bytes) }

// evictOldest removes the oldest entry, remembering its id.
func (l *messageLog) evictOldest() *logEntry {
	e := l.ring[l.start]
	l.ring[l.start] = nil
	l.start = (l.start + 1) % len(l.ring)
	l.n--
	delete(l.byID, e.msg.MessageID)
	l.left.add(e.msg.MessageID)
	if l.track != nil {
		l.track.evicts = append(l.track.evicts, e.msg.MessageID)
	}
	l.account(-e.cost)
	return e
}

// trimBytes evicts the oldest entries while all the manager's logs
// together exceed their byte budget, keeping this log's newest entry.
func (l *messageLog) trimBytes() {
	for l.total != nil && l.n > 1 && l.total.Load() > l.max {
		l.evictOldest()
	}
}

func (l *messageLog) get(id string) *logEntry { return l.byID[id] }

func (l *messageLog) contains(id string) bool {
	_, ok := l.byID[id]
	return ok
}

// add appends e and returns the entry it evicted (by count), if any.
func (l *messageLog) add(e *logEntry) (evicted *logEntry) {
	l.byID[e.msg.MessageID] = e
	if l.track != nil {
		l.track.appends = append(l.track.appends, e)
	}
	if l.n == l.limit {
		evicted = l.evictOldest()
	}
	if l.n == len(l.ring) { // full below limit: grow, oldest first at 0
		grown := make([]*logEntry, min(max(2*len(l.ring), 16), l.limit))
		for i := 0; i < l.n; i++ {
			grown[i] = l.ring[(l.start+i)%len(l.ring)]
		}
		l.ring, l.start = grown, 0
	}
	l.ring[(l.start+l.n)%len(l.ring)] = e
	l.n++
	e.cost = logCost(&e.msg)
	l.account(e.cost)
	return evicted
}

// newest returns up to n entries, oldest first.
func (l *messageLog) newest(n int, dst []*logEntry) []*logEntry {
	if n > l.n {
		n = l.n
	}
	for i := l.n - n; i < l.n; i++ {
		dst = append(dst, l.ring[(l.start+i)%len(l.ring)])
	}
	return dst
}

// ids returns every logged id, oldest first.
func (l *messageLog) ids() []string {
	out := make([]string, 0, l.n)
	for _, e := range l.newest(l.n, nil) {
		out = append(out, e.msg.MessageID)
	}
	return out
}

// idSet is a bounded FIFO set of ids (ids marked as met by the application,
// or given up as lost).
type idSet struct {
	byID  map[string]metInfo
	ring  []string
	start int
	limit int
	seq   uint64              // marking order, for persistence
	dirty map[string]struct{} // ids added or dropped; nil without persistence
}

type metInfo struct {
	seq      uint64
	inFilter bool // the id was also added to the bloom filter
}

func newIDSet(limit int) idSet { return idSet{byID: make(map[string]metInfo), limit: limit} }

func (s *idSet) contains(id string) bool {
	_, ok := s.byID[id]
	return ok
}

func (s *idSet) add(id string, inFilter bool) {
	if s.contains(id) {
		return
	}
	s.seq++
	s.put(id, metInfo{seq: s.seq, inFilter: inFilter})
}

// put adds id (absent) with its info, dropping the oldest id when full.
func (s *idSet) put(id string, info metInfo) {
	s.byID[id] = info
	s.touch(id)
	if len(s.ring) < s.limit {
		s.ring = append(s.ring, id)
		return
	}
	old := s.ring[s.start]
	delete(s.byID, old)
	s.touch(old)
	s.ring[s.start] = id
	s.start = (s.start + 1) % s.limit
}

func (s *idSet) touch(id string) {
	if s.dirty != nil {
		s.dirty[id] = struct{}{}
	}
}

// idRing is a bounded FIFO set of ids; limit 0 keeps none.
type idRing struct {
	byID  map[string]struct{}
	ring  []string
	start int
	limit int
}

func newIDRing(limit int) idRing { return idRing{limit: limit} }

func (r *idRing) contains(id string) bool {
	_, ok := r.byID[id]
	return ok
}

func (r *idRing) add(id string) {
	if r.limit <= 0 || r.contains(id) {
		return
	}
	if r.byID == nil {
		r.byID = make(map[string]struct{})
	}
	r.byID[id] = struct{}{}
	if len(r.ring) < r.limit {
		r.ring = append(r.ring, id)
		return
	}
	delete(r.byID, r.ring[r.start])
	r.ring[r.start] = id
	r.start = (r.start + 1) % r.limit
}
