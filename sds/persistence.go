package sds

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Persistence. A channel's buffers note the ids whose entries an operation
// changed (and the log its appends and evictions) in the channel's
// changes; at the end of the operation, under the channel lock and before
// its events are dispatched, commit turns them into one persist.MetaDelta
// and one persist.HistoryUpdate, built from the entries as they stand, and
// hands them to the channel's persist.Writer, which applies the Nim
// failure policy (a failed write is kept, merged with later ones and
// retried; it never fails the operation). The cost of an operation's write
// follows what it changed, never the size of the buffers. Without
// persistence the buffers' trackers are nil and nothing is noted.

// changes is what the current operation changed in a channel.
type changes struct {
	out, in, outRep, inRep, met map[string]struct{} // ids whose entries changed
	appends                     []wire.Message      // log appends, in order
	evicts                      []string            // log evictions, in order
}

// chanStore links a channel to the store.
type chanStore struct {
	w          *persist.Writer
	lamport    uint64 // the clock as last handed to w
	chg        changes
	backlogged bool // w was over its bound after the last write
}

// trackChanges makes ch's buffers note their changes in s.
func (c *channel) trackChanges(s *chanStore) {
	s.chg.out = make(map[string]struct{})
	s.chg.in = make(map[string]struct{})
	s.chg.outRep = make(map[string]struct{})
	s.chg.inRep = make(map[string]struct{})
	s.chg.met = make(map[string]struct{})
	c.outgoing.dirty = s.chg.out
	c.incoming.dirty = s.chg.in
	c.outRepair.dirty = s.chg.outRep
	c.inRepair.dirty = s.chg.inRep
	c.met.dirty = s.chg.met
	c.log.track = &s.chg
	c.log.history = s.w
	c.ps = s
}

// waitingList returns what p waits for, in causal-history order.
func (p *pending) waitingList() []string {
	out := make([]string, 0, p.wait.len())
	for i, dep := range p.msg.CausalHistory {
		if p.wait.has(i) {
			out = append(out, dep.MessageID)
		}
	}
	return out
}

// commit writes what the operation changed in ch (and whatever earlier
// writes are pending), reporting failures without failing the operation.
// ch is locked and persistent.
func (m *Manager) commit(ch *channel) {
	s := ch.ps
	c := &s.chg
	defer m.forgetLogIDs(ch)
	if ch.lamport == s.lamport && len(c.out)+len(c.in)+len(c.outRep)+len(c.inRep)+len(c.met)+len(c.appends)+len(c.evicts) == 0 &&
		s.w.Pending() == 0 {
		return
	}
	d, u := m.takeChanges(ch)
	m.persistResult(ch, s.w.Commit(d, u))
}

// forgetLogIDs lets a stored log forget the ids the Writer now gives
// back, and logs the ids it could not read back.
func (m *Manager) forgetLogIDs(ch *channel) {
	l := &ch.log
	l.forgetIDs()
	if l.missedIDs > 0 {
		m.logger.Warn().Err(l.readErr).Str("channel", ch.id).Int("ids", l.missedIDs).
			Msg("the store did not give back the ids of logged messages: evictions left for the next load to trim")
		l.missedIDs, l.readErr = 0, nil
	}
}

// takeChanges builds the operation's delta and history update from ch's
// noted changes and clears them.
func (m *Manager) takeChanges(ch *channel) (*persist.MetaDelta, *persist.HistoryUpdate) {
	s := ch.ps
	c := &s.chg
	d := &persist.MetaDelta{}
	if ch.lamport != s.lamport {
		d.PutLamport(ch.lamport)
		s.lamport = ch.lamport
	}
	for id := range c.out {
		if e := ch.outgoing.byID[id]; e != nil {
			d.PutOutgoing(&persist.UnacknowledgedMessage{
				Message: e.msg, SendTimeMs: e.sentAt.UnixMilli(), ResendAttempts: uint32(min(e.attempts, 1<<32-1)),
			})
		} else {
			d.DeleteOutgoing(id)
		}
	}
	clear(c.out)
	for id := range c.in {
		if p := ch.incoming.byID[id]; p != nil {
			d.PutIncoming(&persist.IncomingMessage{Message: p.msg, MissingDeps: p.waitingList()})
		} else {
			d.DeleteIncoming(id)
		}
	}
	clear(c.in)
	for id := range c.outRep {
		if e := ch.outRepair.get(id); e != nil {
			d.PutOutgoingRepair(&persist.OutgoingRepairKV{MessageID: id, Entry: persist.OutgoingRepairEntry{
				HistEntry: e.entry, MinTimeRepairReqMs: e.due.UnixMilli(),
			}})
		} else {
			d.DeleteOutgoingRepair(id)
		}
	}
	clear(c.outRep)
	for id := range c.inRep {
		if e := ch.inRepair.get(id); e != nil {
			// The Nim entry carries the bytes to rebroadcast; ours are
			// re-encoded from the log when due, so this copy is only for
			// a move to the Nim library.
			cached := []byte{}
			if msg, ok := m.loggedMessage(ch, id); ok {
				cached = msg.Append(nil, m.cfg.WireFormat)
			}
			d.PutIncomingRepair(&persist.IncomingRepairKV{MessageID: id, Entry: persist.IncomingRepairEntry{
				HistEntry: e.entry, CachedMessage: cached, MinTimeRepairRespMs: e.due.UnixMilli(),
			}})
		} else {
			d.DeleteIncomingRepair(id)
		}
	}
	clear(c.inRep)
	for id := range c.met {
		if info, ok := ch.met.byID[id]; ok {
			d.PutMet(&persist.MetRecord{ID: id, Seq: info.seq, InFilter: info.inFilter})
		} else {
			d.DeleteMet(id)
		}
	}
	clear(c.met)
	u := &persist.HistoryUpdate{}
	if len(c.appends) > 0 {
		u.Append, c.appends = c.appends, nil // the Writer owns them now; read-only from here on
	}
	if len(c.evicts) > 0 {
		u.Evict, c.evicts = c.evicts, nil // the Writer owns it now
	}
	return d, u
}

// persistResult reports the outcome of a write to ch's store: a failure
// is logged and counted (it is retried with the next operation), and a
// backlog going over its bound raises EventPersistenceBacklog.
func (m *Manager) persistResult(ch *channel, err error) {
	s := ch.ps
	if err != nil {
		ch.stats.PersistenceFailures++
		m.logger.Warn().Err(err).Str("channel", ch.id).Int("pending", s.w.Pending()).
			Msg("persisting channel state failed; kept for retry with the next operation")
	}
	if b := s.w.Backlogged(); b != s.backlogged {
		s.backlogged = b
		if b {
			ch.stats.PersistenceBacklogs++
			m.logger.Error().Str("channel", ch.id).Int("pending", s.w.Pending()).
				Msg("persistence backlog over its bound; a crash now loses these writes")
			ch.emit(Event{Kind: EventPersistenceBacklog, ChannelID: ch.id})
		}
	}
}

// saveHint stores a retrieval hint just cached for a logged message.
func (m *Manager) saveHint(ch *channel, id string, hint []byte) {
	if ch.ps != nil {
		m.persistResult(ch, ch.ps.w.SaveHint(id, hint))
	}
}

// persistLimits bounds what loading a channel may decode. What the manager
// stored must always load: received messages were decoded under lim (and
// are stored without their bloom filter), and our own, stored likewise,
// hold at most MaxContentSize of content and MaxCausalHistory entries,
// which the configuration may set beyond what lim accepts from peers.
func persistLimits(cfg *Config, lim wire.Limits) persist.Limits {
	entry := 2*lim.MaxIDBytes + lim.MaxHintBytes + 16
	own := cfg.MaxContentSize + cfg.MaxCausalHistory*entry + 3*lim.MaxIDBytes + 64
	lim.MaxMessageBytes = max(lim.MaxMessageBytes, own)
	lim.MaxHistoryEntries = max(lim.MaxHistoryEntries, cfg.MaxCausalHistory)
	return persist.Limits{
		Wire:           lim,
		MaxRecordBytes: 2*lim.MaxMessageBytes + 64<<10,
		MaxMissingDeps: lim.MaxHistoryEntries,
	}
}

// loadError wraps a failure to load channel id.
func loadError(id string, err error) error {
	if persist.IsContract(err) {
		return fmt.Errorf("%w: channel %q: the stored state breaks the persist.Backend contract: %w", ErrPersistence, id, err)
	}
	return fmt.Errorf("%w: channel %q: %w", ErrPersistence, id, err)
}

// bootstrap loads ch (new, locked) from the store and rebuilds its state:
// the Lamport clock; the met ids and the log (history oldest first, with
// its cached hints), trimmed to their bounds; the outgoing buffer in send
// order; both SDS-R buffers; the incoming buffer, where what each message
// waits for is recomputed from its causal history against what is present
// now; and the bloom filter from the met ids, the outgoing messages, the
// log and the buffered messages (what a live filter holds, minus the ids
// that left the log). What the rebuild itself
// changes (a trimmed log, a message now deliverable and what it unblocks,
// a repair request for a present id, an incoming buffer over its bound)
// is noted like any operation's change and written with the first commit,
// and its events are dispatched then.
func (m *Manager) bootstrap(ch *channel) error {
	data, w, err := persist.Bootstrap(m.backend, ch.id, m.writerOpts)
	if err != nil {
		return loadError(ch.id, err)
	}
	lim := m.writerOpts.Limits
	meta, err := persist.DecodeRecords(data.Records, lim)
	if err != nil {
		return loadError(ch.id, err)
	}
	met, err := persist.DecodeMetRecords(data.Records, lim)
	if err != nil {
		return loadError(ch.id, err)
	}
	s := &chanStore{w: w, lamport: meta.Lamport}
	ch.lamport = meta.Lamport
	// Into the filter, oldest first (it keeps the newest when it rolls
	// over): met ids, our outgoing messages, the log, buffered messages.
	trimMet := max(0, len(met)-m.cfg.MaxMessageHistory)
	ch.loadMet(met[trimMet:])
	trimLog := max(0, len(data.History)-m.cfg.MaxMessageHistory)
	ch.loadLog(data.History[trimLog:], data.Hints, meta.Outgoing)
	ch.loadBuffers(meta)
	stale, ready := ch.loadIncoming(meta.Incoming, m.clock.Now())

	// From here on, changes are noted and written by the first commit.
	ch.trackChanges(s)
	for i := range trimLog {
		s.chg.evicts = append(s.chg.evicts, data.History[i].MessageID)
	}
	for _, r := range met[:trimMet] {
		ch.met.touch(r.ID)
	}
	for _, id := range stale {
		ch.incoming.touch(id)
	}
	for _, id := range slices.Collect(maps.Keys(ch.outRepair.byID)) {
		if ch.present(id) || ch.incoming.byID[id] != nil {
			ch.outRepair.remove(id) // here already: no request needed
		}
	}
	if len(ready) > 0 {
		heap.Init(&ready)
		ch.deliverReady(&ready)
	}
	for ch.incoming.len() > m.cfg.MaxIncomingBuffer ||
		ch.incoming.len() > 0 && m.incomingBytes.Load() > int64(m.cfg.MaxIncomingBytes) {
		m.evictOldest(ch)
	}
	return nil
}

// loadMet restores the stored met ids, oldest first.
func (c *channel) loadMet(met []persist.MetRecord) {
	for _, r := range met {
		c.met.seq = max(c.met.seq, r.Seq)
		c.met.put(r.ID, metInfo{seq: r.Seq, inFilter: r.InFilter})
		if r.InFilter {
			c.filter.add(r.ID, bloom.KeyOf(r.ID))
		}
	}
}

// loadLog restores the log from the stored history (oldest first) and its
// hints, adding to the filter first our outgoing messages that are not in
// it.
func (c *channel) loadLog(history []wire.Message, hints map[string][]byte, outgoing []persist.UnacknowledgedMessage) {
	inLog := make(map[string]bool, len(history))
	for i := range history {
		inLog[history[i].MessageID] = true
	}
	for i := range outgoing { // ours, added on Wrap; most are in the log too
		if id := outgoing[i].Message.MessageID; !inLog[id] {
			c.filter.add(id, bloom.KeyOf(id))
		}
	}
	for _, msg := range history {
		msg.BloomFilter, msg.RepairRequest = nil, nil
		c.log.add(&msg, hints[msg.MessageID], false, 0) // joined at an unknown time
		c.filter.add(msg.MessageID, bloom.KeyOf(msg.MessageID))
	}
}

// loadBuffers restores the outgoing buffer, in send order, and both SDS-R
// buffers.
func (c *channel) loadBuffers(meta *persist.ChannelMeta) {
	for i := range meta.Outgoing {
		u := &meta.Outgoing[i]
		u.Message.BloomFilter, u.Message.RepairRequest = nil, nil
		c.outgoing.push(&outEntry{
			msg: u.Message, sentAt: time.UnixMilli(u.SendTimeMs), attempts: int(min(u.ResendAttempts, 1<<31-1)),
		}, bloom.KeyOf(u.Message.MessageID))
	}
	for i := range meta.OutgoingRepair {
		kv := &meta.OutgoingRepair[i]
		c.outRepair.add(kv.Entry.HistEntry, time.UnixMilli(kv.Entry.MinTimeRepairReqMs))
	}
	for i := range meta.IncomingRepair {
		kv := &meta.IncomingRepair[i]
		c.inRepair.add(kv.Entry.HistEntry, time.UnixMilli(kv.Entry.MinTimeRepairRespMs))
	}
}

// loadIncoming restores the incoming buffer. Arrival order and time are
// not stored (the Nim record has neither), so messages come back in
// (Lamport timestamp, id) order and their wait for dependencies starts
// again at now. It returns the records to rewrite (their missing set
// changed) or delete (present meanwhile), and the messages that wait for
// nothing any more.
func (c *channel) loadIncoming(in []persist.IncomingMessage, now time.Time) (stale []string, ready readyQueue) {
	slices.SortFunc(in, func(a, b persist.IncomingMessage) int {
		return cmp.Or(cmp.Compare(a.Message.LamportTimestamp, b.Message.LamportTimestamp),
			cmp.Compare(a.Message.MessageID, b.Message.MessageID))
	})
	for i := range in {
		msg := in[i].Message
		msg.BloomFilter, msg.RepairRequest = nil, nil
		id := msg.MessageID
		if c.present(id) {
			stale = append(stale, id) // marked met while buffered
			continue
		}
		wait := waitFirst(msg.CausalHistory, func(j int) bool {
			dep := msg.CausalHistory[j].MessageID
			return dep != id && !c.present(dep)
		})
		p := &pending{msg: msg, wait: wait, receivedAt: now}
		if !sameSet(p, in[i].MissingDeps) {
			stale = append(stale, id)
		}
		c.incoming.add(p)
		// Unwrap adds a message to the filter on arrival, buffered or not
		// (delivery does not add it again).
		c.filter.add(id, bloom.KeyOf(id))
		if wait.len() == 0 {
			p.heapIndex = len(ready)
			ready = append(ready, p)
		}
	}
	return stale, ready
}

// sameSet reports whether list names exactly what p waits for.
func sameSet(p *pending, list []string) bool {
	n := 0
	for _, id := range list {
		if !p.waitsFor(id) {
			return false
		}
		n++
	}
	return n == p.wait.len()
}

// dropChannel removes channel id from the store and from the manager. A
// loaded channel is dropped through its Writer and, if that fails, stays
// as it is (in memory and in the store); one not loaded is held by a
// placeholder while it is dropped, so nobody loads it meanwhile.
func (m *Manager) dropChannel(id string) error {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return ErrClosed
		}
		ch := m.channels[id]
		if ch == nil {
			ch = &channel{id: id}
			ch.mu.Lock()
			m.channels[id] = ch
			m.mu.Unlock()
			err := m.backend.DropChannel(id)
			m.forget(ch)
			if err != nil {
				return fmt.Errorf("%w: drop channel %q: %w", ErrPersistence, id, err)
			}
			return nil
		}
		m.mu.Unlock()
		ch.mu.Lock()
		if ch.removed {
			ch.mu.Unlock()
			continue
		}
		if err := ch.ps.w.Drop(); err != nil {
			ch.mu.Unlock()
			return fmt.Errorf("%w: %w", ErrPersistence, err)
		}
		m.forget(ch)
		return nil
	}
}

// forget takes ch (locked) out of the manager and unlocks it. Its
// counters join the manager's in the same step (see Stats).
func (m *Manager) forget(ch *channel) {
	m.mu.Lock()
	if m.channels[ch.id] == ch {
		delete(m.channels, ch.id)
		m.retired.add(&ch.stats)
	}
	m.mu.Unlock()
	ch.markRemoved()
	ch.mu.Unlock()
}

// storedChannels lists the channels the backend holds, when it can tell
// (persist.Guard's backend asks the one underneath, and says nil, nil when
// it cannot tell).
func (m *Manager) storedChannels() ([]string, error) {
	if b, ok := m.backend.(interface{ Channels() ([]string, error) }); ok {
		return b.Channels()
	}
	return nil, nil
}

// resetStored drops every channel, loaded or only stored, each as
// RemoveChannel does; the ones that fail stay.
func (m *Manager) resetStored() error {
	ids := make(map[string]struct{})
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	for id := range m.channels {
		ids[id] = struct{}{}
	}
	m.mu.RUnlock()
	var errs []error
	stored, err := m.storedChannels()
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: list stored channels: %w", ErrPersistence, err))
	}
	for _, id := range stored {
		ids[id] = struct{}{}
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if err := m.dropChannel(id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PersistenceStats reports the store's failures during protocol
// operations (which never fail the operations themselves).
type PersistenceStats struct {
	// Enabled reports whether the manager persists channel state.
	Enabled bool
	// WriteFailures counts failed writes since NewManager: end-of-operation
	// commits and retrieval-hint saves. Each is kept and retried.
	WriteFailures uint64
	// Backlogs counts the times a channel's pending writes went over
	// Config.PersistMaxPending (each raised EventPersistenceBacklog).
	Backlogs uint64
	// Pending is the number of writes (record keys, history ids, hints)
	// waiting for retry now, over all loaded channels.
	Pending int
}

// PersistenceStats returns the persistence counters (the figures Stats
// reports as PersistenceEnabled, Counters.PersistenceFailures and
// PersistenceBacklogs, and Gauges.PersistencePending).
func (m *Manager) PersistenceStats() PersistenceStats {
	st := m.Stats()
	return PersistenceStats{
		Enabled:       st.PersistenceEnabled,
		WriteFailures: st.Counters.PersistenceFailures,
		Backlogs:      st.Counters.PersistenceBacklogs,
		Pending:       int(st.Gauges.PersistencePending),
	}
}

// PersistLimits returns the limits the manager applies when it decodes
// what its Persistence backend stores (a backend that decodes messages
// itself, such as a bridge to a host's store, uses them too).
func (c Config) PersistLimits() persist.Limits { return persistLimits(&c, c.limits()) }
