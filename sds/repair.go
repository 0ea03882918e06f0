package sds

import (
	"container/heap"
	"sort"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// SDS-R timing, exactly as the Nim library computes it (PROTOCOL.md §4),
// with H = bloom.NimHash. Durations are whole milliseconds. A manager
// sending the RFC format uses @waku/sds's formulas instead (repair_waku.go).

// absHash is abs(h) as an unsigned value; unlike Nim (which raises on
// abs(low(int64))) it is defined for every input.
func absHash(h int64) uint64 {
	if h < 0 {
		return uint64(-h) // -MinInt64 wraps to MinInt64, which is 2^63 as uint64
	}
	return uint64(h)
}

// ComputeTReq is the SDS-R request backoff: how long after noticing that
// messageID is missing participantID asks for it.
// T_req = tMin + abs(H(participantID + messageID)) mod (tMax - tMin), or
// tMin when that range is not positive.
func ComputeTReq(participantID, messageID string, tMin, tMax time.Duration) time.Duration {
	minMs := tMin.Milliseconds()
	span := tMax.Milliseconds() - minMs
	if span <= 0 {
		return tMin
	}
	off := absHash(bloom.NimHash(participantID+messageID)) % uint64(span)
	return time.Duration(minMs+int64(off)) * time.Millisecond
}

// ComputeTResp is the SDS-R response backoff: how long after a request
// for messageID (originally sent by senderID) participantID rebroadcasts
// it. The original sender's is 0. With distance = abs(H(participantID) xor
// H(senderID)), T_resp = 0 when tMax <= 0 or distance == 0, otherwise
// ((distance mod tMax) * (abs(H(messageID)) mod tMax)) mod tMax in
// unsigned 64-bit arithmetic.
func ComputeTResp(participantID, senderID, messageID string, tMax time.Duration) time.Duration {
	maxMs := tMax.Milliseconds()
	distance := absHash(bloom.NimHash(participantID) ^ bloom.NimHash(senderID))
	if maxMs <= 0 || distance == 0 {
		return 0
	}
	m := uint64(maxMs)
	d := distance % m
	h := absHash(bloom.NimHash(messageID)) % m
	return time.Duration((d*h)%m) * time.Millisecond
}

// IsInResponseGroup reports whether participantID may answer repair
// requests for messageID sent by senderID: always when numGroups <= 1,
// else when abs(H(participantID + messageID)) mod numGroups equals
// abs(H(senderID + messageID)) mod numGroups. A sender is always in the
// group of its own messages.
func IsInResponseGroup(participantID, senderID, messageID string, numGroups int) bool {
	if numGroups <= 1 {
		return true
	}
	n := uint64(numGroups)
	return absHash(bloom.NimHash(participantID+messageID))%n == absHash(bloom.NimHash(senderID+messageID))%n
}

// repairEntry is a pending SDS-R request (due at T_req) or response (due
// at T_resp).
type repairEntry struct {
	entry    wire.HistoryEntry
	due      time.Time
	index    int // in repairBuffer.queue
	attempts int // times a request was sent (requestSent)
}

// repairBuffer holds repair entries by id, ordered by due time (then id)
// in a heap: the most overdue is found in O(1) and taken in O(log n).
type repairBuffer struct {
	intern func([]byte) string // Config.InternID
	hint   *dueHint            // the manager's earliest due time; nil: not tracked
	byID   map[string]*repairEntry
	queue  repairQueue
	dirty  map[string]struct{} // ids added or removed; nil without persistence
}

// touch records that id's entry changed (for persistence).
func (b *repairBuffer) touch(id string) {
	if b.dirty != nil {
		b.dirty[id] = struct{}{}
	}
}

func (b *repairBuffer) len() int { return len(b.queue) }

func (b *repairBuffer) get(id string) *repairEntry { return b.byID[id] }

// add inserts a copy of entry due at due; the caller checks it is absent.
func (b *repairBuffer) add(entry wire.HistoryEntry, due time.Time) {
	if b.byID == nil {
		b.byID = make(map[string]*repairEntry)
	}
	// Decoded strings share the whole message's memory: keep our own.
	e := &repairEntry{
		entry: wire.HistoryEntry{
			MessageID:     keepID(b.intern, entry.MessageID),
			SenderID:      keepID(b.intern, entry.SenderID),
			RetrievalHint: append([]byte(nil), entry.RetrievalHint...),
		},
		due: due,
	}
	if len(e.entry.RetrievalHint) == 0 {
		e.entry.RetrievalHint = nil
	}
	b.byID[e.entry.MessageID] = e
	b.touch(e.entry.MessageID)
	heap.Push(&b.queue, e)
	b.hint.lower(due)
}

// remove removes id's entry and reports whether there was one.
func (b *repairBuffer) remove(id string) bool {
	e := b.byID[id]
	if e == nil {
		return false
	}
	delete(b.byID, id)
	b.touch(id)
	heap.Remove(&b.queue, e.index)
	return true
}

// peek returns the entry due first, or nil.
func (b *repairBuffer) peek() *repairEntry {
	if len(b.queue) == 0 {
		return nil
	}
	return b.queue[0].e
}

// pop removes and returns the entry due first; the buffer is not empty.
func (b *repairBuffer) pop() *repairEntry {
	e := heap.Pop(&b.queue).(*repairEntry)
	delete(b.byID, e.entry.MessageID)
	b.touch(e.entry.MessageID)
	return e
}

// sorted returns the entries in due order, for inspection.
func (b *repairBuffer) sorted() []RepairEntry {
	if len(b.queue) == 0 {
		return nil
	}
	out := make([]RepairEntry, len(b.queue))
	for i, sl := range b.queue {
		e := sl.e
		out[i] = RepairEntry{MessageID: e.entry.MessageID, SenderID: e.entry.SenderID, Due: e.due}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Due.Equal(out[j].Due) {
			return out[i].Due.Before(out[j].Due)
		}
		return out[i].MessageID < out[j].MessageID
	})
	return out
}

// repairQueue is a heap of entries, each with a copy of its due time so
// that ordering reads the queue alone (entries are scattered in memory; a
// heap operation compares at every level).
type repairQueue []repairSlot

type repairSlot struct {
	due time.Time
	e   *repairEntry
}

func (q repairQueue) Len() int { return len(q) }
func (q repairQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].e.entry.MessageID < q[j].e.entry.MessageID
}
func (q repairQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].e.index, q[j].e.index = i, j
}
func (q *repairQueue) Push(x any) {
	e := x.(*repairEntry)
	e.index = len(*q)
	*q = append(*q, repairSlot{due: e.due, e: e})
}
func (q *repairQueue) Pop() any {
	old := *q
	e := old[len(old)-1].e
	old[len(old)-1] = repairSlot{}
	*q = old[:len(old)-1]
	return e
}

// RepairEntry describes a pending SDS-R request or response.
type RepairEntry struct {
	MessageID string
	SenderID  string    // the original sender of the message
	Due       time.Time // T_req (request) or T_resp (response)
}

// sdsrEnabled reports whether this participant takes part in SDS-R.
func (m *Manager) sdsrEnabled() bool { return m.cfg.ParticipantID != "" }

// cancelRepairs forgets any pending request for id and any response with
// it: it arrived (or was marked met). It reports whether a request was
// pending.
func (c *channel) cancelRepairs(id string) (requested bool) {
	requested = c.outRepair.remove(id)
	c.inRepair.remove(id)
	return requested
}

// takeRepairRequests returns up to MaxRepairRequests due requests, most
// overdue first, each then due again for a retry (requestSent). O(k log n).
func (m *Manager) takeRepairRequests(c *channel, now time.Time) []wire.HistoryEntry {
	if c.outRepair.len() == 0 || m.cfg.MaxRepairRequests == 0 {
		return nil
	}
	var out []wire.HistoryEntry
	for len(out) < m.cfg.MaxRepairRequests {
		e := c.outRepair.peek()
		if e == nil || e.due.After(now) {
			break
		}
		if m.cfg.RepairPolicy == RepairRFC && now.Sub(e.due) > m.cfg.RepairTMax {
			c.outRepair.pop() // expired
			continue
		}
		out = append(out, e.entry)
		m.requestSent(c, e, now)
	}
	return out
}

// scheduleRepairs creates a request, due at now + T_req, for each missing
// dependency that has none. Entries without a sender id are skipped: no
// peer would answer them.
func (m *Manager) scheduleRepairs(c *channel, missing []wire.HistoryEntry, now time.Time) {
	if !m.sdsrEnabled() {
		return
	}
	for i := range missing {
		dep := &missing[i]
		if dep.SenderID == "" || c.outRepair.get(dep.MessageID) != nil {
			continue
		}
		if c.outRepair.len() >= m.cfg.MaxPendingRepairs {
			m.logger.Debug().Str("channel", c.id).Str("message", dep.MessageID).Msg("repair request buffer full; not requesting")
			return
		}
		t := m.repairTReq(dep.MessageID)
		c.outRepair.add(*dep, now.Add(t))
	}
}

// handleRepairRequests applies a received message's repair requests: each
// cancels (RepairRFC) or postpones (RepairPrompt) our own request for the
// same message (someone asked already), and one for a message in our log
// that we are eligible to answer is scheduled at now + T_resp
// (scheduleResponse). A request without a sender id cannot be placed in a
// response group and is not answered. A second request for a message we
// already plan to answer keeps the first response time.
func (m *Manager) handleRepairRequests(c *channel, reqs []wire.HistoryEntry, now time.Time) {
	pid := m.cfg.ParticipantID
	c.stats.RepairRequestsReceived += uint64(len(reqs))
	for i := range reqs {
		r := &reqs[i]
		if e := c.outRepair.get(r.MessageID); e != nil {
			m.othersRequest(c, e, now)
		}
		if pid == "" || r.SenderID == "" || r.MessageID == "" {
			continue
		}
		if le := c.log.get(r.MessageID); le != nil {
			m.scheduleResponse(c, le, r, now)
		}
	}
}
