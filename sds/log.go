package sds

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/libsds-go/libsds/sds/wire"
)

// logEntry is a delivered (or sent) message in the local log, kept
// compact (issue #19): what the hot paths read as such (a hash of its id,
// its sender, its cost and age), the rest - id, Lamport timestamp, content
// and causal history - encoded in a body (logbody.go), where history
// entries naming messages of the log refer to them instead of repeating
// their ids. With a store that reads messages back
// (persist.MessageLoader), an entry has no body: the store holds the
// message, and the log keeps only the ids of its newest entries (those a
// wrap's causal history names), reading older ones back when it evicts
// them. The bloom filter is never kept (~19 KB, only needed on receipt).
type logEntry struct {
	hash   uint64 // hashID of its id
	at     int64  // when it joined the log (unix ns; 0: unknown, loaded from the store), for Config.LogRetention
	cost   uint32 // counted against Config.MaxLogBytes
	sender uint32 // reference into the log's senders
}

// logBody is an entry's body, when the log keeps it: a pointer to
//
//	refBy (2 bytes, little endian) uvarint(len(body)) body
//
// refBy is the distance to the newest entry whose body refers to this one
// (0: none): its id outlives its eviction until that entry leaves. It is
// the only part that changes; what readers alias (ids, content) never
// does. The body itself has at least four bytes (logbody.go), so the
// header and the length's first five bytes are always there to read.
type logBody struct{ p *byte }

const bodyHeader = 2

func (b logBody) header() []byte { return unsafe.Slice(b.p, bodyHeader+binary.MaxVarintLen32) }

func (b logBody) refBy() uint16 { return binary.LittleEndian.Uint16(b.header()) }

func (b logBody) setRefBy(d uint16) { binary.LittleEndian.PutUint16(b.header(), d) }

func (b logBody) bytes() []byte {
	n, k := binary.Uvarint(b.header()[bodyHeader:])
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(b.p), bodyHeader+k)), n)
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
// blocks, so entries never move and cost no pointer each. 168 entries of
// 24 bytes fill a 4 KiB allocation, the pointers to their bodies (when
// the log keeps them) a 1,408-byte one.
const logBlockSize = 168

type logBlock struct {
	entries [logBlockSize]logEntry
	bodies  *[logBlockSize]logBody // nil until an entry of the block keeps a body
}

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
	stored bool
	storedLog
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

func (l *messageLog) block(seq uint64) (*logBlock, uint64) {
	i := seq - l.base
	return l.blocks[i/logBlockSize], i % logBlockSize
}

// entry returns the entry with sequence number seq (held, or just taken).
func (l *messageLog) entry(seq uint64) *logEntry {
	b, i := l.block(seq)
	return &b.entries[i]
}

// body returns the body of entry seq; its p is nil if it has none.
func (l *messageLog) body(seq uint64) logBody {
	b, i := l.block(seq)
	if b.bodies == nil {
		return logBody{}
	}
	return b.bodies[i]
}

// bodyBytes returns the body of entry seq, nil if it has none.
func (l *messageLog) bodyBytes(seq uint64) []byte {
	if b := l.body(seq); b.p != nil {
		return b.bytes()
	}
	return nil
}

func (l *messageLog) hashAt(seq uint64) uint64 { return l.entry(seq).hash }

// idAt returns the id of entry seq, unless only the store has it. It
// aliases the log's memory: copy it to keep it past the entry.
func (l *messageLog) idAt(seq uint64) (string, bool) {
	if l.stored && seq >= l.recentBase {
		return l.recent[seq-l.recentBase], true
	}
	if b := l.bodyBytes(seq); b != nil {
		return bodyID(b), true
	}
	return "", false
}

// heldID returns the id of entry seq, which the log holds in memory: it
// has a body, or it is one of a stored log's newest keepIDs.
func (l *messageLog) heldID(seq uint64) string {
	id, ok := l.idAt(seq)
	if !ok {
		panic("sds: the log lost the id of one of its newest entries")
	}
	return id
}

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
	l.index.remove(seq, e.hash, l, seq)
	l.left.add(e.hash)
	var refBy uint16
	if b := l.body(seq); b.p != nil {
		refBy = b.refBy()
	}
	var gh ghost
	if l.track != nil || refBy != 0 {
		id, ok := l.evictedID(seq)
		if l.track != nil && ok {
			l.track.evicts = append(l.track.evicts, id)
		}
		if refBy != 0 {
			gh = ghost{id: id, sender: l.senders.name(e.sender), until: seq + uint64(refBy)}
		}
	}
	l.ghosts.push(seq, gh)
	if l.stored && seq == l.recentBase {
		l.recent[0] = ""
		l.recent = l.recent[1:]
		l.recentBase++
	}
	delete(l.hints, e)
	delete(l.echoes, e)
	l.senders.unref(e.sender)
	l.account(-int64(e.cost))
	*e = logEntry{}
	if blk, i := l.block(seq); blk.bodies != nil {
		blk.bodies[i] = logBody{}
	}
	l.head++
	if l.head-l.base == logBlockSize {
		l.blocks[0] = nil
		l.blocks = l.blocks[1:]
		l.base += logBlockSize
	}
}

// evictedID returns the id of entry seq, which is leaving the log, as a
// string of its own (not the body's, which goes).
func (l *messageLog) evictedID(seq uint64) (string, bool) {
	if id, ok := l.idAt(seq); ok {
		return strings.Clone(id), true
	}
	return l.storedID(seq)
}

// trimBytes evicts the oldest entries while all the manager's logs
// together exceed their byte budget, keeping this log's newest entry.
func (l *messageLog) trimBytes() {
	for l.total != nil && l.len() > 1 && l.total.Load() > l.max {
		l.evictOldest()
	}
}

// find returns the sequence number of the entry for id. An entry whose id
// only the store has is taken for id when their hashes are equal (see
// rememberedIDs for the odds of a mistake).
func (l *messageLog) find(id string) (uint64, bool) {
	h := hashID(id)
	return l.index.find(h, l.head, func(seq uint64) bool {
		if l.entry(seq).hash != h {
			return false
		}
		held, ok := l.idAt(seq)
		return !ok || held == id
	})
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
// not keep. A stored log keeps msg.MessageID as it is when own is set,
// else its own copy (decoded ids share memory with the whole message).
func (l *messageLog) add(msg *wire.Message, hint []byte, own bool, at int64) {
	for l.len() >= l.limit && l.expired(l.entry(l.head), at) {
		l.evictOldest()
	}
	seq := l.next
	if int(seq-l.base) == len(l.blocks)*logBlockSize {
		l.blocks = append(l.blocks, new(logBlock))
	}
	e := l.entry(seq)
	*e = logEntry{hash: hashID(msg.MessageID), cost: logCost(msg), sender: l.senders.ref(msg.SenderID), at: at}
	if l.stored {
		l.keepRecent(seq, msg.MessageID, own)
	}
	if !l.stored || !storedExactly(msg) {
		l.setBody(seq, msg)
	}
	l.next++
	l.index.insert(seq, e.hash, l, l.head, l.next)
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

// newest returns the sequence number of the oldest of the newest n
// entries (up to next).
func (l *messageLog) newest(n int) uint64 { return l.next - uint64(min(n, l.len())) }

// eachID calls fn with each entry of seqs (held, ascending) and its id
// (read back from the store where only it has it, with one read; ok false
// when it failed to give it). The id aliases the log's memory: copy it to
// keep it.
func (l *messageLog) eachID(seqs iter.Seq[uint64], fn func(seq uint64, id string, ok bool)) {
	var old []string
	read := false
	for seq := range seqs {
		id, ok := l.idAt(seq)
		if !ok {
			if !read {
				old, read = l.readStoredIDs(int(l.recentBase-l.head)), true
			}
			if id, old, ok = matchID(l.entry(seq).hash, old); !ok {
				l.missedIDs++
			}
		}
		fn(seq, id, ok)
	}
}

// ids returns every logged id, oldest first, leaving out those the store
// failed to give back.
func (l *messageLog) ids() []string {
	out := make([]string, 0, l.len())
	held := func(yield func(uint64) bool) {
		for seq := l.head; seq < l.next && yield(seq); seq++ {
		}
	}
	l.eachID(held, func(_ uint64, id string, ok bool) {
		if ok {
			out = append(out, strings.Clone(id)) // the caller's to keep
		}
	})
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
