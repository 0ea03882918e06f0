package sds

import (
	"bytes"
	"math"
	"sync/atomic"
	"time"

	"github.com/libsds-go/libsds/sds/wire"
)

// logEntry is a delivered (or sent) message in the local log, kept
// compact (issue #19): the fields hot paths read (id, Lamport timestamp,
// sender) as such, the content and causal history encoded in body
// (logbody.go), where history entries naming messages of the log refer to
// them instead of repeating their ids. With a store that reads messages
// back (persist.MessageLoader), body stays empty: the store holds them.
// The bloom filter is never kept (~19 KB, only needed on receipt).
type logEntry struct {
	id      string
	lamport uint64
	body    *byte // bodyLen bytes; nil: the store holds content and history
	bodyLen uint32
	cost    uint32 // counted against Config.MaxLogBytes
	sender  uint32 // reference into the log's senders
	// refBy is the distance to the newest entry whose body refers to this
	// one (0: none): its id outlives its eviction until that entry leaves.
	refBy uint16
	// at is when it joined the log (unix ns; 0: unknown, loaded from the
	// store), for Config.LogRetention.
	at int64
}

// Memory a log entry costs beyond its bytes and per causal-history entry,
// as counted against Config.MaxLogBytes (docs/LIMITS.md). The log keeps
// far less (BenchmarkFullChannelMemory); the rule is kept so that hosts
// see the same evictions.
const (
	logEntryOverhead = 160
	logHistOverhead  = 80
)

func logCost(msg *wire.Message) uint32 {
	return uint32(min(messageCost(msg, logEntryOverhead, logHistOverhead), math.MaxUint32))
}

// logBlockSize entries make a block: the log allocates and frees whole
// blocks, so entries never move and cost no pointer each. 73 entries of
// 56 bytes fill a 4 KiB allocation.
const logBlockSize = 73

type logBlock [logBlockSize]logEntry

// messageLog is the bounded, insertion-ordered local log: entries numbered
// by consecutive sequence numbers in a queue of blocks, found by id
// through a seqIndex, so adding and evicting are O(1). It is bounded by
// count (limit) and, with the other channels' logs, by bytes (max).
type messageLog struct {
	blocks     []*logBlock
	base       uint64 // sequence number of blocks[0][0]
	head, next uint64 // the entries held: [head, next)
	index      seqIndex
	limit      int
	// retention keeps entries younger than this (ns) beyond limit
	// (Config.LogRetention); 0: limit alone.
	retention int64
	senders   senderTable
	hints     map[*logEntry][]byte // retrieval hints from the provider, cached once non-empty
	// echoes holds when a copy of an entry was last rebroadcast (a repair
	// or resend seen, or our own repair; unix ns), for SDS-R's echo guard:
	// few entries have one.
	echoes map[*logEntry]int64
	ghosts ghosts // evicted entries that bodies of held ones refer to
	// stored: bodies are left to the store (its persist.MessageLoader
	// reads them back), except those it would not give back exactly.
	stored  bool
	scratch []byte   // setBody's
	track   *changes // records appends and evictions; nil without persistence
	// left remembers the ids of evicted entries for a while (in memory
	// only), so a late copy - a repair or resend arriving after eviction -
	// is recognised rather than delivered a second time.
	left  rememberedIDs
	bytes int64         // cost of the entries held
	total *atomic.Int64 // the manager's total of every channel's bytes
	max   int64         // Config.MaxLogBytes
}

func newMessageLog(limit, remember int, retention time.Duration, intern func([]byte) string, total *atomic.Int64, max int64) messageLog {
	return messageLog{limit: limit, retention: int64(retention), senders: senderTable{intern: intern},
		left: newRememberedIDs(remember), total: total, max: max}
}

func (l *messageLog) len() int { return int(l.next - l.head) }

// entry returns the entry with sequence number seq (held, or just taken).
func (l *messageLog) entry(seq uint64) *logEntry {
	i := seq - l.base
	return &l.blocks[i/logBlockSize][i%logBlockSize]
}

func (l *messageLog) hashAt(seq uint64) uint64 { return hashID(l.entry(seq).id) }

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
func (l *messageLog) evictOldest() {
	seq := l.head
	e := l.entry(seq)
	h := hashID(e.id)
	l.index.remove(seq, h, l, seq)
	l.left.add(h)
	if l.track != nil {
		l.track.evicts = append(l.track.evicts, e.id)
	}
	l.account(-int64(e.cost))
	var gh ghost
	if e.refBy != 0 {
		gh = ghost{id: e.id, sender: l.senders.name(e.sender), until: seq + uint64(e.refBy)}
	}
	l.ghosts.push(seq, gh)
	delete(l.hints, e)
	delete(l.echoes, e)
	l.senders.unref(e.sender)
	*e = logEntry{}
	l.head++
	if l.head-l.base == logBlockSize {
		l.blocks[0] = nil
		l.blocks = l.blocks[1:]
		l.base += logBlockSize
	}
}

// trimBytes evicts the oldest entries while all the manager's logs
// together exceed their byte budget, keeping this log's newest entry.
func (l *messageLog) trimBytes() {
	for l.total != nil && l.len() > 1 && l.total.Load() > l.max {
		l.evictOldest()
	}
}

// find returns the sequence number of the entry for id.
func (l *messageLog) find(id string) (uint64, bool) {
	return l.index.find(hashID(id), l.head, func(seq uint64) bool { return l.entry(seq).id == id })
}

func (l *messageLog) get(id string) *logEntry {
	if seq, ok := l.find(id); ok {
		return l.entry(seq)
	}
	return nil
}

func (l *messageLog) contains(id string) bool {
	_, ok := l.find(id)
	return ok
}

// add appends msg (its bloom filter and repair requests already dropped)
// with its cached retrieval hint, joining the log at time at (unix ns; 0:
// unknown), and evicts the oldest entries over limit that retention does
// not keep. The log keeps msg.MessageID as it is when own is set, else its
// own copy (decoded ids share memory with the whole message).
func (l *messageLog) add(msg *wire.Message, hint []byte, own bool, at int64) {
	for l.len() >= l.limit && l.expired(l.entry(l.head), at) {
		l.evictOldest()
	}
	seq := l.next
	if int(seq-l.base) == len(l.blocks)*logBlockSize {
		l.blocks = append(l.blocks, new(logBlock))
	}
	id := msg.MessageID
	if !own {
		id = keepID(l.senders.intern, id)
	}
	e := l.entry(seq)
	*e = logEntry{id: id, lamport: msg.LamportTimestamp, cost: logCost(msg), sender: l.senders.ref(msg.SenderID), at: at}
	if !l.stored || !storedExactly(msg) {
		l.setBody(e, seq, msg)
	}
	l.next++
	l.index.insert(seq, hashID(id), l, l.head, l.next)
	if len(hint) > 0 {
		l.setHint(e, hint)
	}
	if l.track != nil {
		stored := *msg
		stored.Content = bytes.Clone(msg.Content) // the caller's may change once the operation is over
		l.track.appends = append(l.track.appends, stored)
	}
	l.account(int64(e.cost))
}

// expired reports whether old may leave the log by count at time now
// (unix ns): it is past retention, or either time is unknown.
func (l *messageLog) expired(old *logEntry, now int64) bool {
	return l.retention == 0 || now == 0 || old.at == 0 || now-old.at >= l.retention
}

func (l *messageLog) hint(e *logEntry) []byte { return l.hints[e] }

func (l *messageLog) setHint(e *logEntry, hint []byte) {
	if l.hints == nil {
		l.hints = make(map[*logEntry][]byte)
	}
	l.hints[e] = hint
}

func (l *messageLog) echoAt(e *logEntry) int64 { return l.echoes[e] }

func (l *messageLog) setEchoAt(e *logEntry, at int64) {
	if l.echoes == nil {
		l.echoes = make(map[*logEntry]int64)
	}
	l.echoes[e] = at
}

func (l *messageLog) senderOf(e *logEntry) string { return l.senders.name(e.sender) }

// newest returns up to n entries, oldest first.
func (l *messageLog) newest(n int, dst []*logEntry) []*logEntry {
	n = min(n, l.len())
	for seq := l.next - uint64(n); seq < l.next; seq++ {
		dst = append(dst, l.entry(seq))
	}
	return dst
}

// ids returns every logged id, oldest first.
func (l *messageLog) ids() []string {
	out := make([]string, 0, l.len())
	for seq := l.head; seq < l.next; seq++ {
		out = append(out, l.entry(seq).id)
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
