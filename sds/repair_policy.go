package sds

import (
	"container/heap"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// This library's SDS-R policy, on top of the RFC formulas (repair.go),
// which stay as they are: when a request or response is due is T_req or
// T_resp; what happens around those times is ours.
//
//   - A due request is handed to the application at once, in a sync
//     message of its own (Config.RepairRequestSync), rather than waiting
//     for the next Wrap; and the periodic tasks wake when an entry falls
//     due, not only every RepairSweepInterval.
//   - A request stays after it was sent, due again RepairRetryInterval
//     later, until the message arrives (or the wait for it is given up):
//     a lost request or answer is retried without waiting for a sweep.
//     Another participant's request for the same message postpones ours
//     by as much rather than cancelling it.
//   - The original sender answers at once (its T_resp is 0); the others
//     wait RepairResponseGrace beyond their T_resp (over
//     RepairResponseWindow), so that they answer only when it does not. A
//     request that arrives within RepairResponseGrace of a copy of the
//     message going out is not answered: it crossed that copy.
//   - A peer's sync message carries its bloom filter: the original sender
//     of a message the filter lacks, sent long enough ago to have been
//     repaired but within the acknowledgement window (a compact filter
//     holds no older ids), answers it unasked (answerSyncGaps). Every
//     sync counts, not only a behind participant's request syncs: on the
//     churn run that answers sooner with fewer requests (BENCHMARKS.md).
//     A participant back from an outage learns of everything it missed
//     at once, not ten causal-history entries per repair round.

// repairRequestAttempts bounds how often one request is sent before it is
// dropped; the buffer sweep requests a dependency that is still missing
// again (rerequestMissing).
const repairRequestAttempts = 8

// dueHint tracks the earliest due time of the manager's repair entries
// (an entry may have left since: the hint may be early, never late), so
// that the periodic tasks and hosts driving time can sweep when one falls
// due.
type dueHint struct {
	ns   atomic.Int64  // unix ns; math.MaxInt64: nothing pending
	wake chan struct{} // signalled when ns moves earlier
}

func newDueHint() *dueHint {
	h := &dueHint{wake: make(chan struct{}, 1)}
	h.ns.Store(math.MaxInt64)
	return h
}

// lower moves the hint to t if that is earlier, and says so on wake.
func (h *dueHint) lower(t time.Time) {
	if h == nil {
		return
	}
	if h.lowerQuiet(t.UnixNano()) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

func (h *dueHint) lowerQuiet(ns int64) bool {
	for {
		cur := h.ns.Load()
		if ns >= cur {
			return false
		}
		if h.ns.CompareAndSwap(cur, ns) {
			return true
		}
	}
}

// reschedule moves e (in b) to due.
func (b *repairBuffer) reschedule(e *repairEntry, due time.Time) {
	e.due = due
	b.queue[e.index].due = due
	heap.Fix(&b.queue, e.index)
	b.touch(e.entry.MessageID)
	b.hint.lower(due)
}

// NextRepairDue returns when RepairSweep next has work: the earliest due
// time of a repair response, or (with RepairRequestSync) of a repair
// request, on any channel. It may be early (the entry may have left
// since), never late; ok is false when nothing is pending. A host that
// drives time itself calls RepairSweep then; StartPeriodicTasks does so.
func (m *Manager) NextRepairDue() (due time.Time, ok bool) {
	ns := m.nextDue.ns.Load()
	if ns == math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// repairSweepDelay is how long the periodic tasks wait for the next
// RepairSweep: RepairSweepInterval, or less when an entry falls due
// sooner.
func (m *Manager) repairSweepDelay() time.Duration {
	d := m.cfg.RepairSweepInterval
	if due, ok := m.NextRepairDue(); ok {
		d = max(0, min(d, due.Sub(m.clock.Now())))
	}
	return d
}

// reset forgets the hint before a sweep, which then notes every channel's
// earliest entry (noteNextDue); entries added meanwhile lower it again.
func (h *dueHint) reset() { h.ns.Store(math.MaxInt64) }

// noteNextDue lowers the hint to ch's earliest entry (ch locked).
func (m *Manager) noteNextDue(ch *channel) {
	if e := ch.inRepair.peek(); e != nil {
		m.nextDue.lowerQuiet(e.due.UnixNano())
	}
	if e := ch.outRepair.peek(); e != nil && m.cfg.RepairRequestSync {
		m.nextDue.lowerQuiet(e.due.UnixNano())
	}
}

// requestSent records that request e went out: it is due again after
// RepairRetryInterval, doubled at each retry after the first (a request
// nobody can answer must not keep the network busy), or dropped after
// repairRequestAttempts (at once with RepairRFC).
func (m *Manager) requestSent(c *channel, e *repairEntry, now time.Time) {
	e.attempts++
	if e.attempts > 1 {
		c.stats.RepairRequestRetries++
	}
	if e.attempts >= repairRequestAttempts || m.cfg.RepairPolicy == RepairRFC {
		c.outRepair.remove(e.entry.MessageID)
		return
	}
	c.outRepair.reschedule(e, now.Add(m.cfg.RepairRetryInterval<<max(0, e.attempts-2)))
}

// othersRequest applies another participant's request for the message of
// our request e. RepairRFC cancels ours. RepairPrompt holds it back while
// the other is answered: it is due again after RepairRetryInterval plus
// its T_req (so that the participants who held back do not all ask again
// at once).
func (m *Manager) othersRequest(c *channel, e *repairEntry, now time.Time) {
	if m.cfg.RepairPolicy == RepairRFC {
		c.outRepair.remove(e.entry.MessageID)
		return
	}
	t := m.repairTReq(e.entry.MessageID)
	if due := now.Add(m.cfg.RepairRetryInterval + t); e.due.Before(due) {
		c.outRepair.reschedule(e, due)
	}
}

// responseDelay is when we answer a request for r after receiving it: our
// T_resp over RepairTMax (RepairRFC), or over RepairResponseWindow plus
// RepairResponseGrace unless we sent the message (whose T_resp is 0).
func (m *Manager) responseDelay(r *wire.HistoryEntry) time.Duration {
	pid := m.cfg.ParticipantID
	if m.cfg.RepairPolicy == RepairRFC {
		return m.repairTResp(r.SenderID, r.MessageID, m.cfg.RepairTMax)
	}
	t := m.repairTResp(r.SenderID, r.MessageID, m.cfg.RepairResponseWindow)
	if r.SenderID != pid {
		t += m.cfg.RepairResponseGrace
	}
	return t
}

// echoed reports whether a copy of a logged message went out (at echoAt,
// unix ns; 0: never) within RepairResponseGrace of now: a request arriving
// now crossed it.
func (m *Manager) echoed(echoAt int64, now time.Time) bool {
	return echoAt != 0 && now.UnixNano()-echoAt < int64(m.cfg.RepairResponseGrace)
}

// scheduleResponse plans our answer to a request for r, a message in our
// log: unless one is planned already, we are outside its response group,
// or the response buffer is full. With RepairPrompt, also not when a copy
// just went out, and unless we sent the message, only for a request
// repeated RepairResponseGrace or more after the first one we heard, with
// no copy of the message seen in between: the original sender answers the
// first and stands in for itself while it is heard answering; the others
// step in when it is not.
func (m *Manager) scheduleResponse(c *channel, le *logEntry, r *wire.HistoryEntry, now time.Time) {
	if c.inRepair.get(r.MessageID) != nil ||
		!m.repairInGroup(r.SenderID, r.MessageID) {
		return
	}
	prompt, echoAt := m.cfg.RepairPolicy == RepairPrompt, c.log.echoAt(le)
	if prompt && m.echoed(echoAt, now) {
		return
	}
	if prompt && r.SenderID != m.cfg.ParticipantID {
		first := c.heard.firstSince(r.MessageID, echoAt, now.UnixNano(), m.cfg.MaxPendingRepairs)
		if now.UnixNano()-first < int64(m.cfg.RepairResponseGrace) {
			return
		}
	}
	if c.inRepair.len() >= m.cfg.MaxPendingRepairs {
		m.logger.Debug().Str("channel", c.id).Str("message", r.MessageID).Msg("repair response buffer full; not answering")
		return
	}
	c.inRepair.add(*r, now.Add(m.responseDelay(r)))
}

// heardRequests remembers when requests for each message were first
// heard since a copy of it last went out, for the last limit messages.
type heardRequests struct {
	at   map[string]int64 // unix ns
	ring []string
	next int
}

// firstSince returns when a request for id was first heard after
// echoAt (unix ns: a copy went out), recording now if none was.
func (h *heardRequests) firstSince(id string, echoAt, now int64, limit int) int64 {
	if t, ok := h.at[id]; ok {
		if t > echoAt {
			return t
		}
		h.at[id] = now
		return now
	}
	if h.at == nil {
		h.at = make(map[string]int64)
	}
	if len(h.ring) < limit {
		h.ring = append(h.ring, id)
	} else {
		delete(h.at, h.ring[h.next])
		h.ring[h.next] = id
		h.next = (h.next + 1) % len(h.ring)
	}
	h.at[id] = now
	return now
}

// logTime is the time a message joins the log, for Config.LogRetention.
func (c *channel) logTime() int64 {
	if c.log.retention == 0 || c.clock == nil {
		return 0
	}
	return c.clock.Now().UnixNano()
}

// noteCopy records that a copy of the logged message id was rebroadcast.
func (c *channel) noteCopy(id string, now time.Time) {
	if e := c.log.get(id); e != nil {
		c.log.setEchoAt(e, now.UnixNano())
	}
}

// noteOwn records the message we just sent, the log's newest entry
// (RepairPrompt).
func (m *Manager) noteOwn(c *channel, now time.Time) {
	if m.cfg.RepairPolicy != RepairPrompt || !m.sdsrEnabled() {
		return
	}
	m.forgetOwn(c, now)
	c.ownSent = append(c.ownSent, c.log.next-1)
}

// forgetOwn drops from c.ownSent the messages that left the log or were
// sent an acknowledgement window ago or longer (Config.EffectiveAckWindow):
// a peer with our settings keeps an id in its filter for that long after
// receiving it, and no longer (a compact filter), so an older one is
// absent from every peer's filter and its absence says nothing.
func (m *Manager) forgetOwn(c *channel, now time.Time) {
	window := m.cfg.EffectiveAckWindow()
	i := 0
	for i < len(c.ownSent) && (c.ownSent[i] < c.log.head || now.UnixNano()-c.log.entry(c.ownSent[i]).at >= int64(window)) {
		i++
	}
	if i > 0 {
		c.ownSent = append(c.ownSent[:0], c.ownSent[i:]...)
	}
}

// answerSyncGaps answers, as their original sender, our messages that the
// bloom filter of a peer's sync message lacks and that were sent at least
// syncGapAge ago (younger ones may still be on their way or under
// repair), but within the acknowledgement window (forgetOwn): the peer
// missed them, perhaps many at once, offline.
func (m *Manager) answerSyncGaps(c *channel, msg *wire.Message, format wire.Format, now time.Time) {
	if !m.sdsrEnabled() || m.cfg.RepairPolicy != RepairPrompt || len(c.ownSent) == 0 ||
		msg.SenderID == "" || msg.SenderID == m.cfg.ParticipantID {
		return
	}
	m.forgetOwn(c, now)
	settled := now.Add(-m.syncGapAge()).UnixNano()
	if len(c.ownSent) == 0 || c.log.entry(c.ownSent[0]).at > settled {
		return
	}
	rf := c.decodeReceived(msg.BloomFilter, format, &m.cfg, &m.logger)
	if rf == nil {
		return
	}
	settledOwn := func(yield func(uint64) bool) {
		for _, seq := range c.ownSent {
			if c.log.entry(seq).at > settled || !yield(seq) {
				return
			}
		}
	}
	c.log.eachID(settledOwn, func(seq uint64, id string, ok bool) {
		if !ok {
			return
		}
		if probe := bloom.NewProbe(bloom.KeyOf(id)); rf.containsID(id, &probe) {
			return
		}
		planned := c.inRepair.len()
		// A copy of the id: the response keeps it, the log's may go.
		m.scheduleResponse(c, c.log.entry(seq), &wire.HistoryEntry{MessageID: strings.Clone(id), SenderID: m.cfg.ParticipantID}, now)
		if c.inRepair.len() > planned {
			c.stats.RepairSyncGaps++
		}
	})
}

// syncGapAge is how old a message must be before a sync lacking it is
// answered: by then its first request would have been sent and answered.
func (m *Manager) syncGapAge() time.Duration {
	return m.cfg.RepairTMax + m.cfg.RepairRetryInterval
}

// attachSyncedRequests adds to reqs, up to MaxRepairRequests, requests
// that went out only in request syncs so far and are still pending: a
// host that ignores EventRepairRequest (as hosts may ignore events they do
// not know) still sends them with its next message, as before.
func (m *Manager) attachSyncedRequests(c *channel, reqs []wire.HistoryEntry) []wire.HistoryEntry {
	for len(c.synced) > 0 && len(reqs) < m.cfg.MaxRepairRequests {
		id := c.synced[0]
		c.synced = c.synced[1:]
		if e := c.outRepair.get(id); e != nil && !slices.ContainsFunc(reqs, func(r wire.HistoryEntry) bool { return r.MessageID == id }) {
			reqs = append(reqs, e.entry)
		}
	}
	return reqs
}

// requestMissing schedules requests for what a received message (or sync)
// showed missing. When that is a whole causal history, we have missed
// more than repairs ten at a time would fetch quickly (an outage, a
// partition): the next request goes in a full sync (sendDueRequests).
func (m *Manager) requestMissing(c *channel, missing []wire.HistoryEntry, now time.Time) {
	if n := len(missing); n > 0 && n >= m.cfg.MaxCausalHistory {
		c.behind = true
	}
	m.scheduleRepairs(c, missing, now)
}

// sendDueRequests hands the due repair requests to the application in
// sync messages (EventRepairRequest), MaxRepairRequests in each. Such a
// sync is a full one only when we are behind (requestMissing): its bloom
// filter then makes peers answer all we lack at once (answerSyncGaps).
// Otherwise it carries neither causal history nor bloom filter, to stay
// small.
func (m *Manager) sendDueRequests(c *channel, now time.Time) {
	if !m.cfg.RepairRequestSync || !m.sdsrEnabled() || m.cfg.MaxRepairRequests == 0 {
		return
	}
	for {
		e := c.outRepair.peek()
		if e == nil || e.due.After(now) {
			return
		}
		msg := m.syncMessage(c, now)
		if len(msg.RepairRequest) == 0 {
			return
		}
		if !c.behind {
			msg.BloomFilter, msg.CausalHistory = nil, nil
		}
		c.behind = false
		for i := range msg.RepairRequest {
			if len(c.synced) >= m.cfg.MaxPendingRepairs {
				c.synced = c.synced[1:]
			}
			c.synced = append(c.synced, msg.RepairRequest[i].MessageID)
		}
		payload := msg.Append(nil, m.cfg.WireFormat)
		c.stats.RepairRequestSyncs++
		c.countSent(payload, &msg, m.cfg.WireFormat)
		c.emit(Event{
			Kind: EventRepairRequest, ChannelID: c.id, MessageID: msg.MessageID,
			Payload: payload, MissingDeps: append([]wire.HistoryEntry(nil), msg.RepairRequest...),
		})
	}
}
