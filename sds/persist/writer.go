package persist

import (
	"errors"
	"fmt"
	"slices"

	"github.com/libsds-go/libsds/sds/wire"
)

// Writer carries one channel's writes to a Backend under the Nim failure
// policy:
//   - A failed write never fails the protocol operation: Commit returns the
//     error for the caller to log, and keeps what was not written.
//   - What is kept is merged with the next operation's changes, the latest
//     operation winning (a put after a delete of the same key wins and vice
//     versa; an append cancels a pending eviction of the same id and vice
//     versa; appends keep their order, a re-appended id moving to the end),
//     and retried at the next Commit. Merging the pending writes with a new
//     operation gives exactly the state that applying them one after the
//     other would.
//   - Loading and dropping report their failures (LoadChannel, Drop).
//
// Unlike the Nim snapshot, a meta delta is not self-contained, so a failed
// one is kept too, not only a failed history update.
//
// The Writer remembers which record keys, history ids and hints the backend
// holds (from the loaded data, then from every successful write; a failed
// write changed nothing, by the Backend contract), so deleting or evicting
// something that was only ever pending cancels it instead of leaving a
// tombstone: during an outage the pending writes stay bounded by the
// channel's state plus what was stored before the outage. Beyond
// WriterOptions.MaxPending entries, Commit reports ErrBacklog (and keeps
// everything: dropping writes would corrupt the stored state).
//
// A Writer is not safe for concurrent use; the manager calls it under the
// channel's lock.
type Writer struct {
	b       Backend
	batcher Batcher
	channel string
	max     int

	meta  MetaDelta
	hist  histQueue
	hints map[string][]byte // pending hint saves; empty: remove

	// Record keys, history ids and hint ids the backend may hold (a
	// superset); nil: unknown, so anything may be there.
	knownKeys  map[string]struct{}
	knownHist  *knownIDs
	knownHints *knownIDs
	// histByQueue: the history ids the backend holds are told by the
	// queue instead of knownHist (see tracksHistory).
	histByQueue bool
	loader      MessageLoader
}

// WriterOptions configures a Writer.
type WriterOptions struct {
	// MaxPending is the number of pending entries (record keys, history
	// ids, hints) above which Commit reports ErrBacklog. Default 65536.
	MaxPending int
	// Limits are used by Bootstrap to validate the loaded data.
	Limits Limits
}

// DefaultMaxPending is the default WriterOptions.MaxPending.
const DefaultMaxPending = 1 << 16

// histQueue is the pending history update: appends ordered by seq (a
// re-append takes a new seq: it moves to the end), evictions.
type histQueue struct {
	seq     uint64
	appends map[string]pendingAppend
	evicts  map[string]uint64
}

type pendingAppend struct {
	msg wire.Message
	seq uint64
}

func (q *histQueue) len() int { return len(q.appends) + len(q.evicts) }

func (q *histQueue) append(m wire.Message) {
	if q.appends == nil {
		q.appends = make(map[string]pendingAppend)
	}
	delete(q.evicts, m.MessageID)
	q.seq++
	q.appends[m.MessageID] = pendingAppend{m, q.seq}
}

func (q *histQueue) evict(id string) {
	delete(q.appends, id)
	if q.evicts == nil {
		q.evicts = make(map[string]uint64)
	}
	q.seq++
	q.evicts[id] = q.seq
}

// update returns the pending update: appends in order, evictions in the
// order they were made.
func (q *histQueue) update() *HistoryUpdate {
	u := &HistoryUpdate{Append: make([]wire.Message, 0, len(q.appends)), Evict: make([]string, 0, len(q.evicts))}
	as := make([]pendingAppend, 0, len(q.appends))
	for _, a := range q.appends {
		as = append(as, a)
	}
	slices.SortFunc(as, func(a, b pendingAppend) int { return compareU64(a.seq, b.seq) })
	for _, a := range as {
		u.Append = append(u.Append, a.msg)
	}
	type ev struct {
		id  string
		seq uint64
	}
	es := make([]ev, 0, len(q.evicts))
	for id, s := range q.evicts {
		es = append(es, ev{id, s})
	}
	slices.SortFunc(es, func(a, b ev) int { return compareU64(a.seq, b.seq) })
	for _, e := range es {
		u.Evict = append(u.Evict, e.id)
	}
	return u
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// newWriter returns a Writer for channelID. loaded is what LoadChannel
// returned for it (so the Writer knows what the backend holds); nil means
// unknown, and then every delete and eviction is written.
func newWriter(b Backend, channelID string, loaded *ChannelData, opt WriterOptions) *Writer {
	w := &Writer{b: b, channel: channelID, max: opt.MaxPending}
	if w.max <= 0 {
		w.max = DefaultMaxPending
	}
	w.batcher, _ = b.(Batcher)
	w.loader = MessageLoaderOf(b)
	w.histByQueue = loaded != nil && w.loader != nil
	if loaded != nil {
		w.knownKeys = make(map[string]struct{}, len(loaded.Records))
		for k := range loaded.Records {
			w.knownKeys[k] = struct{}{}
		}
		if !w.histByQueue {
			w.knownHist = new(knownIDs)
			for i := range loaded.History {
				w.knownHist.note(loaded.History[i].MessageID, true)
			}
		}
		w.knownHints = new(knownIDs)
		for id := range loaded.Hints {
			w.knownHints.note(id, true)
		}
	}
	return w
}

// Bootstrap loads channelID from b, validates it (Validate) and returns it
// with a Writer for the channel. Load failures and contract violations are
// returned: the caller decides between starting empty and giving up.
func Bootstrap(b Backend, channelID string, opt WriterOptions) (*ChannelData, *Writer, error) {
	d, err := b.LoadChannel(channelID)
	if err != nil {
		return nil, nil, fmt.Errorf("persist: load channel %q: %w", channelID, err)
	}
	if d == nil {
		d = &ChannelData{}
	}
	if err := Validate(channelID, d, opt.Limits); err != nil {
		return nil, nil, err
	}
	return d, newWriter(b, channelID, d, opt), nil
}

func (w *Writer) mayHoldKey(k string) bool {
	if w.knownKeys == nil {
		return true
	}
	_, ok := w.knownKeys[k]
	return ok
}

// mayHoldID reports whether the backend may hold id in the history.
//
// With a backend that reads messages back (MessageLoader: ours, not a
// host's) the Writer keeps no set of the ids it holds (8 to 16 bytes per
// logged message, issue #19): an id without a pending append may be
// held; one with (rare: an append not yet written when the log evicts
// it, as in an outage) is looked up in the backend, and a failed lookup
// counts as held.
func (w *Writer) mayHoldID(id string) bool {
	if !w.histByQueue {
		return w.knownHist.has(id)
	}
	if _, pending := w.hist.appends[id]; !pending {
		return true
	}
	_, ok, err := w.loader.LoadMessage(w.channel, id)
	return ok || err != nil
}

func (w *Writer) mayHoldHint(id string) bool { return w.knownHints.has(id) }

func note(set map[string]struct{}, id string, present bool) {
	if set == nil {
		return
	}
	if present {
		set[id] = struct{}{}
	} else {
		delete(set, id)
	}
}

// removeHint queues the removal of id's hint, unless a hint saved later is
// already queued or the backend cannot hold one.
func (w *Writer) removeHint(id string) {
	if _, later := w.hints[id]; later || !w.mayHoldHint(id) {
		return
	}
	if w.hints == nil {
		w.hints = make(map[string][]byte)
	}
	w.hints[id] = nil
}

// Pending returns the number of pending entries (record keys, history ids,
// hints) waiting to be written.
func (w *Writer) Pending() int { return w.meta.Len() + w.hist.len() + len(w.hints) }

// Backlogged reports whether more than MaxPending entries are pending.
func (w *Writer) Backlogged() bool { return w.Pending() > w.max }

// Commit merges one operation's changes (d and u, either may be nil) into
// the pending writes and writes them all: in one transaction if the backend
// is a Batcher, else the meta delta first and, only if that succeeded, the
// history update (so the stored history never gets ahead of the stored
// meta); then any pending hints. It takes ownership of d, u and what they
// hold.
//
// It returns nil when everything is stored. Otherwise the error says what
// failed; the operation must not fail because of it, and the unwritten
// changes are retried at the next Commit (call Commit at the end of every
// operation, even one that changed nothing, so a backlog drains). The error
// also matches ErrBacklog when more than MaxPending entries are waiting.
func (w *Writer) Commit(d *MetaDelta, u *HistoryUpdate) error {
	w.merge(d, u)
	err := w.flush()
	if err == nil {
		err = w.flushHints()
	}
	return w.report(err)
}

func (w *Writer) report(err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("persist: channel %q: %w (%d entries pending retry)", w.channel, err, w.Pending())
	if w.Backlogged() {
		err = errors.Join(err, fmt.Errorf("%w: %d pending, bound %d", ErrBacklog, w.Pending(), w.max))
	}
	return err
}

func (w *Writer) merge(d *MetaDelta, u *HistoryUpdate) {
	if d != nil {
		for k, v := range d.Puts {
			w.meta.Put(k, v)
		}
		for k := range d.Deletes {
			if w.mayHoldKey(k) {
				w.meta.Delete(k)
			} else {
				delete(w.meta.Puts, k) // never stored: nothing to delete
			}
		}
	}
	if u != nil {
		for i := range u.Append {
			id := u.Append[i].MessageID
			if _, ok := w.hist.evicts[id]; ok {
				// The append cancels the eviction, and with it the
				// eviction's removal of the hint: queue that.
				w.removeHint(id)
			}
			w.hist.append(u.Append[i])
		}
		for _, id := range u.Evict {
			delete(w.hints, id) // an earlier hint: the eviction removes it
			if w.mayHoldID(id) {
				w.hist.evict(id)
				continue
			}
			// Never stored: cancel the append, write no eviction, but
			// still remove a hint that may be stored.
			delete(w.hist.appends, id)
			w.removeHint(id)
		}
	}
}

func (w *Writer) flush() error {
	metaPending, histPending := !w.meta.IsEmpty(), w.hist.len() > 0
	if !metaPending && !histPending {
		return nil
	}
	var upd *HistoryUpdate
	if histPending {
		upd = w.hist.update()
	}
	if w.batcher != nil {
		var md *MetaDelta
		if metaPending {
			md = &w.meta
		}
		err := w.batcher.Apply(w.channel, md, upd)
		w.noteMeta(err == nil)
		w.noteHist(upd, err == nil)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		return nil
	}
	if metaPending {
		err := w.b.SaveChannelMeta(w.channel, &w.meta)
		w.noteMeta(err == nil)
		if err != nil {
			return fmt.Errorf("save channel meta: %w", err)
		}
	}
	if histPending {
		err := w.b.UpdateHistory(w.channel, upd)
		w.noteHist(upd, err == nil)
		if err != nil {
			return fmt.Errorf("update history: %w", err)
		}
	}
	return nil
}

// noteMeta records a meta write: if it succeeded, the known keys follow
// it and the pending meta is cleared. A failed write changed nothing (the
// Backend contract), so nothing else changes.
func (w *Writer) noteMeta(ok bool) {
	if !ok {
		return
	}
	for k := range w.meta.Puts {
		note(w.knownKeys, k, true)
	}
	for k := range w.meta.Deletes {
		note(w.knownKeys, k, false)
	}
	w.meta = MetaDelta{}
}

// noteHist records a history write, as noteMeta does. An eviction removes
// the id's hint too.
func (w *Writer) noteHist(u *HistoryUpdate, ok bool) {
	if u == nil || !ok {
		return
	}
	for i := range u.Append {
		w.knownHist.note(u.Append[i].MessageID, true)
	}
	for _, id := range u.Evict {
		w.knownHist.note(id, false)
		w.knownHints.note(id, false)
	}
	w.hist = histQueue{}
}

// SaveHint stores the retrieval hint of a message of the channel's history
// (an empty hint removes it), with the same policy as Commit: on failure it
// is kept (the latest hint for an id wins) and retried with the next Commit
// or SaveHint, and the error is only for logging. A hint for an id whose
// eviction is pending waits for that eviction to be written.
func (w *Writer) SaveHint(messageID string, hint []byte) error {
	if w.hints == nil {
		w.hints = make(map[string][]byte)
	}
	w.hints[messageID] = hint
	return w.report(w.flushHints())
}

func (w *Writer) flushHints() error {
	if len(w.hints) == 0 {
		return nil
	}
	ids := make([]string, 0, len(w.hints))
	for id := range w.hints {
		// An eviction pending for the id removes its hint when it is
		// written: a later hint waits until then (Commit writes hints
		// after the history).
		if _, evicting := w.hist.evicts[id]; !evicting {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := w.hints[id]
		if err := w.b.SaveRetrievalHint(w.channel, id, h); err != nil {
			return fmt.Errorf("save retrieval hint: %w", err)
		}
		w.knownHints.note(id, len(h) > 0)
		delete(w.hints, id)
	}
	return nil
}

// LoadMessage returns the message messageID of the channel's history as
// the backend holds it once the pending writes are written: a pending
// append's message, none for a pending eviction, else what the backend's
// MessageLoader reads (none without one). A pending append's message is
// the one handed to Commit: the caller must not modify it.
func (w *Writer) LoadMessage(messageID string) (wire.Message, bool, error) {
	if a, ok := w.hist.appends[messageID]; ok {
		return a.msg, true, nil
	}
	if _, ok := w.hist.evicts[messageID]; ok {
		return wire.Message{}, false, nil
	}
	l := MessageLoaderOf(w.b)
	if l == nil {
		return wire.Message{}, false, nil
	}
	return l.LoadMessage(w.channel, messageID)
}

// OldestHistoryIDs returns the ids of the oldest n messages of the
// channel's history as the backend holds it once the pending writes are
// written: the backend's, oldest first, without those pending eviction or
// re-append, then the pending appends in order. It needs the backend's
// MessageLoader: without one it returns ErrNoLoader.
func (w *Writer) OldestHistoryIDs(n int) ([]string, error) {
	if w.loader == nil {
		return nil, ErrNoLoader
	}
	ids := make([]string, 0, n)
	err := w.loader.HistoryIDs(w.channel, func(id string) bool {
		_, evicting := w.hist.evicts[id]
		_, moving := w.hist.appends[id]
		if !evicting && !moving {
			ids = append(ids, id)
		}
		return len(ids) < n
	})
	if err != nil {
		return nil, err
	}
	if len(ids) < n && len(w.hist.appends) > 0 {
		for _, m := range w.hist.update().Append {
			if ids = append(ids, m.MessageID); len(ids) == n {
				break
			}
		}
	}
	return ids, nil
}

// Drop removes the channel from the backend and, if that succeeded, forgets
// the pending writes (the channel is then known to be empty). Its failure
// is returned: the caller asked for the wipe and must not be told it
// happened. The pending writes are kept on failure.
func (w *Writer) Drop() error {
	if err := w.b.DropChannel(w.channel); err != nil {
		return fmt.Errorf("persist: drop channel %q: %w", w.channel, err)
	}
	w.meta, w.hist, w.hints = MetaDelta{}, histQueue{}, nil
	w.knownKeys, w.knownHist, w.knownHints = map[string]struct{}{}, new(knownIDs), new(knownIDs)
	if w.histByQueue {
		w.knownHist = nil
	}
	return nil
}
