package sds

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Manager runs SDS for any number of channels. It is safe for concurrent
// use; operations on different channels proceed in parallel.
type Manager struct {
	cfg    Config
	limits wire.Limits
	clock  Clock
	logger zerolog.Logger // diagnostics; ch.log is a channel's message log

	mu       sync.RWMutex // guards channels, closed and retired
	channels map[string]*channel
	closed   bool
	// retired holds the counters of the channels that left (stats.go).
	retired channelStats
	// loose counts what belongs to no channel (stats.go).
	loose looseCounters

	handler atomic.Pointer[EventHandler]
	hints   atomic.Pointer[RetrievalHintProvider]

	// incomingBytes is the cost of every channel's incoming buffer
	// (Config.MaxIncomingBytes).
	incomingBytes atomic.Int64
	// logBytes is the cost of every channel's log (Config.MaxLogBytes).
	logBytes atomic.Int64
	// nextDue is the earliest due time of a repair entry (NextRepairDue).
	nextDue *dueHint

	// Manager-wide events (EventPeriodicSync) are queued and dispatched
	// like a channel's, in order, without a lock held.
	evMu          sync.Mutex
	evOutbox      []Event
	evDispatching bool

	taskMu       sync.Mutex // guards tasks and tasksRunning
	tasks        *periodicTasks
	tasksRunning bool

	// Persistence (see persistence.go); backend is nil without it.
	backend    persist.Backend
	writerOpts persist.WriterOptions
	storedLogs bool // the backend reads messages back: logs leave their bodies to it
}

// NewManager validates cfg and returns a Manager with no channels.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := bloom.NimParams(cfg.BloomCapacity, cfg.BloomErrorRate); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	m := &Manager{
		cfg:      cfg,
		limits:   cfg.limits(),
		clock:    cfg.Clock,
		logger:   cfg.Logger,
		channels: make(map[string]*channel),
		backend:  persist.Guard(cfg.Persistence),
		nextDue:  newDueHint(),
	}
	m.writerOpts = persist.WriterOptions{MaxPending: cfg.PersistMaxPending, Limits: persistLimits(&cfg, m.limits)}
	m.storedLogs = persist.MessageLoaderOf(m.backend) != nil
	return m, nil
}

// Config returns the manager's configuration.
func (m *Manager) Config() Config { return m.cfg }

// SetEventHandler routes events to h (nil discards them).
func (m *Manager) SetEventHandler(h EventHandler) {
	if h == nil {
		m.handler.Store(nil)
		return
	}
	m.handler.Store(&h)
}

// SetRetrievalHintProvider sets the provider asked for the retrieval hint
// of each causal-history entry while wrapping (nil: no hints).
func (m *Manager) SetRetrievalHintProvider(p RetrievalHintProvider) {
	if p == nil {
		m.hints.Store(nil)
		return
	}
	m.hints.Store(&p)
}

// lockChannel returns the channel locked, creating it when create is set.
// It returns nil (and no error) for an unknown channel when create is false.
func (m *Manager) lockChannel(id string, create bool) (*channel, error) {
	for {
		m.mu.RLock()
		ch, closed := m.channels[id], m.closed
		m.mu.RUnlock()
		if closed {
			return nil, ErrClosed
		}
		if ch == nil {
			if !create {
				return nil, nil
			}
			var err error
			var locked bool
			if ch, locked, err = m.createChannel(id); err != nil {
				return nil, err
			}
			if locked {
				return ch, nil
			}
		}
		ch.mu.Lock()
		if !ch.removed {
			return ch, nil
		}
		ch.mu.Unlock() // removed meanwhile: look again
	}
}

// createChannel adds channel id, loading it from the store if there is
// one. It returns the channel locked (locked true) when it created it, or
// unlocked when another goroutine had created it first.
func (m *Manager) createChannel(id string) (ch *channel, locked bool, err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, false, ErrClosed
	}
	if ch := m.channels[id]; ch != nil {
		m.mu.Unlock()
		return ch, false, nil
	}
	if len(m.channels) >= m.cfg.MaxChannels {
		m.mu.Unlock()
		return nil, false, fmt.Errorf("%w: %d channels, limit %d", ErrTooManyChannels, len(m.channels), m.cfg.MaxChannels)
	}
	id = m.ownID(id) // a decoded id shares memory with the whole message's strings
	if ch, err = newChannel(id, &m.cfg, &m.incomingBytes, &m.logBytes, m.nextDue); err != nil {
		m.mu.Unlock()
		return nil, false, err
	}
	// Locked before it is visible: whoever finds it waits for the load,
	// which runs without the manager lock (other channels carry on).
	ch.mu.Lock()
	m.channels[id] = ch
	m.mu.Unlock()
	if m.backend != nil {
		ch.log.stored = m.storedLogs
		if err := m.bootstrap(ch); err != nil {
			m.forget(ch)
			return nil, false, err
		}
	}
	return ch, true, nil
}

// unlockAndDispatch releases ch and hands its queued events to the
// handler, unless another goroutine is already doing so (it will pick
// these up too, keeping the channel's order).
//
// With persistence, it first writes what the operation changed (commit):
// an operation's events reach the application only once its writes were
// handed to the store.
func (m *Manager) unlockAndDispatch(ch *channel) {
	if ch.ps != nil {
		m.commit(ch)
	}
	if ch.dispatching || len(ch.outbox) == 0 {
		ch.mu.Unlock()
		return
	}
	ch.dispatching = true
	for len(ch.outbox) > 0 {
		batch := ch.outbox
		ch.outbox, ch.spare = ch.spare[:0], nil
		ch.mu.Unlock()
		h := m.handler.Load()
		for i := range batch {
			if h != nil {
				m.callHandler(*h, batch[i])
			}
			batch[i] = Event{}
		}
		ch.mu.Lock()
		ch.spare = batch[:0]
	}
	ch.dispatching = false
	ch.mu.Unlock()
}

// callHandler isolates the manager from a panicking handler.
func (m *Manager) callHandler(h EventHandler, e Event) {
	defer func() {
		if r := recover(); r != nil {
			m.logger.Error().Interface("panic", r).Str("event", e.Kind.String()).
				Str("channel", e.ChannelID).Msg("event handler panicked")
		}
	}()
	h(e)
}

func (m *Manager) checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidArgument, what)
	}
	if len(id) > m.limits.MaxIDBytes {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidArgument, what, m.limits.MaxIDBytes)
	}
	return nil
}

// checkOutgoing checks the arguments of a message to send.
func (m *Manager) checkOutgoing(channelID, messageID string, content []byte) error {
	if len(content) == 0 {
		return ErrEmptyContent
	}
	if len(content) > m.cfg.MaxContentSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrContentTooLarge, len(content), m.cfg.MaxContentSize)
	}
	if err := m.checkID("channel id", channelID); err != nil {
		return err
	}
	return m.checkID("message id", messageID)
}

// Wrap prepares content for broadcast on channelID under messageID and
// returns the wire bytes. The message joins the outgoing buffer until a
// peer acknowledges it.
func (m *Manager) Wrap(channelID, messageID string, content []byte) ([]byte, error) {
	return m.AppendWrap(nil, channelID, messageID, content)
}

// AppendWrap is Wrap appending the wire bytes to dst.
func (m *Manager) AppendWrap(dst []byte, channelID, messageID string, content []byte) ([]byte, error) {
	if err := m.checkOutgoing(channelID, messageID, content); err != nil {
		return dst, err
	}
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		return dst, err
	}
	if ch, err = m.fetchHints(ch); err != nil {
		return dst, err
	}
	defer m.unlockAndDispatch(ch)
	if ch.log.contains(messageID) || ch.outgoing.byID[messageID] != nil || ch.incoming.byID[messageID] != nil {
		return dst, fmt.Errorf("%w: %q", ErrDuplicateMessageID, messageID)
	}

	if m.cfg.InternID != nil {
		messageID = m.ownID(messageID) // the caller's string is kept otherwise
	}
	now := m.clock.Now()
	msg := m.newMessage(ch, messageID, append([]byte(nil), content...), now)
	msg.RepairRequest = m.attachSyncedRequests(ch, msg.RepairRequest)
	out := msg.Append(dst, m.cfg.WireFormat)
	ch.stats.WrappedContent++
	ch.countSent(out[len(dst):], &msg, m.cfg.WireFormat)
	msg.BloomFilter = nil
	msg.RepairRequest = nil // sent once; a resend or repair must not repeat them

	key := bloom.KeyOf(messageID)
	ch.outgoing.push(&outEntry{msg: msg, sentAt: now}, key)
	ch.filter.add(messageID, key)
	ch.log.add(&msg, nil, true, now.UnixNano())
	ch.log.trimBytes()
	m.noteOwn(ch, now)
	return out, nil
}

// idOf returns id as a string the manager may keep.
func (m *Manager) idOf(id []byte) string {
	if m.cfg.InternID != nil {
		return m.cfg.InternID(id)
	}
	return string(id)
}

// ownID returns a string equal to id that shares memory with nothing but
// other ids (the interning table's, or a copy of its own).
func (m *Manager) ownID(id string) string { return keepID(m.cfg.InternID, id) }

// keepID is ownID with the interning function intern (Config.InternID,
// may be nil).
func keepID(intern func([]byte) string, id string) string {
	if intern != nil {
		return intern(unsafe.Slice(unsafe.StringData(id), len(id)))
	}
	return strings.Clone(id)
}

// newMessage builds a message to send on ch: the next Lamport timestamp,
// the newest MaxCausalHistory log entries, the due SDS-R repair requests
// and the bloom filter as it stands (in ch's scratch buffer: valid until
// the filter is next serialized).
func (m *Manager) newMessage(ch *channel, id string, content []byte, now time.Time) wire.Message {
	msg := wire.Message{
		MessageID:        id,
		LamportTimestamp: ch.nextLamport(now),
		HasLamport:       true,
		ChannelID:        ch.id,
		Content:          content,
		SenderID:         m.cfg.ParticipantID,
	}
	if from := ch.log.newest(m.cfg.MaxCausalHistory); from < ch.log.next {
		msg.CausalHistory = make([]wire.HistoryEntry, 0, ch.log.next-from)
		for seq := from; seq < ch.log.next; seq++ {
			e := ch.log.entry(seq)
			msg.CausalHistory = append(msg.CausalHistory, wire.HistoryEntry{
				MessageID: ch.log.heldID(seq), RetrievalHint: ch.log.hint(e), SenderID: ch.log.senderOf(e),
			})
		}
	}
	msg.RepairRequest = m.takeRepairRequests(ch, now)
	ch.scratchBloom = ch.filter.appendWire(ch.scratchBloom[:0])
	msg.BloomFilter = ch.scratchBloom
	return msg
}

// fetchHints asks the retrieval-hint provider, with ch unlocked, for the
// causal-history entries the next wrap will name that have no hint yet,
// and returns ch locked again. Hints are cached once non-empty.
func (m *Manager) fetchHints(ch *channel) (*channel, error) {
	p := m.hints.Load()
	if p == nil || m.cfg.MaxCausalHistory == 0 {
		return ch, nil
	}
	var ask []string
	for seq := ch.log.newest(m.cfg.MaxCausalHistory); seq < ch.log.next; seq++ {
		if len(ch.log.hint(ch.log.entry(seq))) == 0 {
			ask = append(ask, ch.log.heldID(seq)) // ids never change: safe unlocked
		}
	}
	if len(ask) == 0 {
		return ch, nil
	}
	ch.mu.Unlock()
	hints := make([][]byte, len(ask))
	for i, id := range ask {
		hints[i] = m.callHintProvider(*p, id)
	}
	ch, err := m.lockChannel(ch.id, true)
	if err != nil {
		return nil, err
	}
	for i, id := range ask {
		if e := ch.log.get(id); e != nil && len(hints[i]) > 0 && len(ch.log.hint(e)) == 0 {
			ch.log.setHint(e, hints[i])
			m.saveHint(ch, id, hints[i])
		}
	}
	return ch, nil
}

func (m *Manager) callHintProvider(p RetrievalHintProvider, id string) (hint []byte) {
	defer func() {
		if r := recover(); r != nil {
			m.logger.Error().Interface("panic", r).Str("message", id).Msg("retrieval hint provider panicked")
			hint = nil
		}
	}()
	hint = p(id)
	if len(hint) > m.limits.MaxHintBytes {
		m.logger.Warn().Str("message", id).Int("bytes", len(hint)).Msg("retrieval hint over limit dropped")
		return nil
	}
	return append([]byte(nil), hint...)
}

// UnwrapResult is what Unwrap learned from a received message.
type UnwrapResult struct {
	ChannelID string
	MessageID string
	SenderID  string
	// Content is the application payload (a copy owned by the caller).
	Content []byte
	// MissingDeps lists causal dependencies this participant has not seen;
	// the message waits in the incoming buffer until they arrive or are
	// marked met. Dependencies that are themselves waiting in the buffer
	// are not listed: they are here already. For a sync message, the
	// entries of its causal history this participant lacks (nothing waits
	// for them; SDS-R requests them).
	MissingDeps []wire.HistoryEntry
	// Delivered reports whether the message was delivered by this call.
	Delivered bool
	// Duplicate reports a message already delivered or already buffered.
	Duplicate bool
	// Format is the wire format the message arrived in.
	Format wire.Format
	// Kind tells regular messages from the RFC's sync and ephemeral ones.
	Kind MessageKind
}

// MessageKind classifies a received message (RFC "Sync" and "Ephemeral").
type MessageKind uint8

const (
	// KindRegular is a content message, delivered in causal order.
	KindRegular MessageKind = iota
	// KindSync has empty content: its acknowledgements are processed, and
	// (SDS-R) its repair requests and the entries of its causal history we
	// lack; it is never delivered, logged or added to the bloom filter.
	KindSync
	// KindEphemeral carries no Lamport timestamp (RFC format only): it is
	// delivered at once and never buffered, logged or acknowledged.
	KindEphemeral
)

func (k MessageKind) String() string {
	switch k {
	case KindRegular:
		return "regular"
	case KindSync:
		return "sync"
	case KindEphemeral:
		return "ephemeral"
	}
	return "unknown"
}

func kindOf(hasLamport bool, contentLen int) MessageKind {
	switch {
	case !hasLamport:
		return KindEphemeral
	case contentLen == 0:
		return KindSync
	}
	return KindRegular
}

func resultOf(msg wire.Message, f wire.Format, kind MessageKind, delivered bool) UnwrapResult {
	return UnwrapResult{
		ChannelID: msg.ChannelID,
		MessageID: msg.MessageID,
		SenderID:  msg.SenderID,
		Content:   msg.Content,
		Format:    f,
		Kind:      kind,
		Delivered: delivered,
	}
}

// duplicateOf answers for a regular message seen before, copying from sc
// only what the result carries.
func duplicateOf(sc *wire.Scanned, id, channelID string, missing []wire.HistoryEntry) UnwrapResult {
	return UnwrapResult{
		ChannelID:   channelID,
		MessageID:   id,
		SenderID:    string(sc.SenderID()),
		Content:     bytes.Clone(sc.Content()),
		MissingDeps: missing,
		Duplicate:   true,
		Format:      sc.Format(),
		Kind:        KindRegular,
	}
}

// Unwrap processes a received wire message.
func (m *Manager) Unwrap(b []byte) (UnwrapResult, error) {
	// Scan first, copy later: most copies a participant receives are
	// duplicates (repairs, resends), recognised from the id alone.
	var sc wire.Scanned
	if err := sc.Scan(b, m.limits); err != nil {
		m.loose.unwrapErrors.Add(1)
		return UnwrapResult{}, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return m.unwrapScanned(&sc)
}

// UnwrapScanned is Unwrap for a message already validated by sc.Scan, so
// that a host handing one received message to several managers (sds-sim
// gives each broadcast to 99) validates it once. It gives exactly what
// Unwrap(sc.Bytes()) gives: a Scanned that failed, or was scanned with
// other limits than this manager's, is scanned again here. sc is only
// read, so several managers may use it at once; its buffer must not
// change meanwhile.
func (m *Manager) UnwrapScanned(sc *wire.Scanned) (UnwrapResult, error) {
	if !sc.Valid() || sc.Limits() != m.limits {
		return m.Unwrap(sc.Bytes())
	}
	return m.unwrapScanned(sc)
}

func (m *Manager) unwrapScanned(sc *wire.Scanned) (UnwrapResult, error) {
	res, err := m.unwrapValid(sc)
	if err != nil {
		m.loose.unwrapErrors.Add(1)
	}
	return res, err
}

// unwrapValid processes a message sc validated.
func (m *Manager) unwrapValid(sc *wire.Scanned) (UnwrapResult, error) {
	if len(sc.MessageID()) == 0 || len(sc.ChannelID()) == 0 {
		return UnwrapResult{}, fmt.Errorf("%w: empty message or channel id", ErrDecode)
	}
	if n := len(sc.Content()); n > m.cfg.MaxContentSize {
		return UnwrapResult{}, fmt.Errorf("%w: %d bytes, limit %d", ErrContentTooLarge, n, m.cfg.MaxContentSize)
	}
	kind := kindOf(sc.HasLamport(), len(sc.Content()))
	if kind == KindEphemeral {
		// No state: the caller delivers it now.
		m.loose.receivedEphemeral.Add(1)
		m.loose.bytesReceived.Add(uint64(len(sc.Bytes())))
		return resultOf(sc.MessageInterned(m.cfg.InternID), sc.Format(), kind, true), nil
	}
	channelID, id := "", "" // taken from a shared decode, if any, rather than made again
	if sh := sc.Shared(); sh != nil {
		channelID, id = sh.ChannelID, sh.MessageID
	} else {
		channelID = string(sc.ChannelID())
	}
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		return UnwrapResult{}, err
	}
	defer m.unlockAndDispatch(ch)
	ch.countReceived(sc, kind)
	if kind == KindSync {
		return m.unwrapSync(ch, sc), nil
	}
	if id == "" {
		id = m.idOf(sc.MessageID())
	}
	// SDS-R: the message itself is here, whether new or not: no request or
	// response for it is needed any more.
	if ch.cancelRepairs(id) {
		ch.stats.RepairsArrived++
	}
	if res, seen := m.unwrapSeen(ch, sc, id); seen {
		ch.stats.Duplicates++
		return res, nil
	}
	return m.unwrapNew(ch, sc), nil
}

// unwrapSync processes a sync message on ch (locked).
func (m *Manager) unwrapSync(ch *channel, sc *wire.Scanned) UnwrapResult {
	msg := sc.MessageInterned(m.cfg.InternID)
	res := resultOf(msg, sc.Format(), KindSync, false)
	now := m.clock.Now()
	// Sync ids need not be unique: no duplicate check, and the id cancels
	// no repair. Its acknowledgements count, and (SDS-R, as the RFC sends
	// repair requests on sync messages) so do its repair requests and what
	// its causal history shows missing.
	m.reviewAcks(ch, &msg, sc.Format())
	m.handleRepairRequests(ch, msg.RepairRequest, now)
	m.answerSyncGaps(ch, &msg, sc.Format(), now)
	res.MissingDeps = m.syncMissing(ch, &msg)
	m.requestMissing(ch, res.MissingDeps, now)
	return res
}

// unwrapSeen answers a regular message id seen before on ch (locked):
// delivered, buffered, or delivered and evicted from the log since. seen
// is false for a new message.
func (m *Manager) unwrapSeen(ch *channel, sc *wire.Scanned, id string) (res UnwrapResult, seen bool) {
	if ch.present(id) {
		// Delivered already, or the application said it has it.
		if m.sdsrEnabled() {
			ch.noteCopy(id, m.clock.Now())
		}
		return duplicateOf(sc, id, ch.id, nil), true
	}
	if p := ch.incoming.byID[id]; p != nil {
		return duplicateOf(sc, id, ch.id, ch.missingOf(p)), true
	}
	if ch.log.left.contains(id) {
		// Delivered before, evicted from the log since: a late copy is not
		// delivered again, but what waits for it (it was reported missing,
		// the log no longer holding it) may go now.
		var ready readyQueue
		ch.incoming.satisfy(id, nil, &ready)
		ch.deliverReady(&ready)
		return duplicateOf(sc, id, ch.id, nil), true
	}
	return UnwrapResult{}, false
}

// unwrapNew processes a regular message new to ch (locked): it acknowledges
// ours, serves its repair requests, and delivers it or buffers it until its
// dependencies arrive.
func (m *Manager) unwrapNew(ch *channel, sc *wire.Scanned) UnwrapResult {
	msg := sc.MessageInterned(m.cfg.InternID)
	format := sc.Format()
	res := resultOf(msg, format, KindRegular, false)
	ch.filter.add(msg.MessageID, bloom.KeyOf(msg.MessageID))
	m.reviewAcks(ch, &msg, format)
	msg.BloomFilter = nil // it aliases b
	if len(msg.RepairRequest) > 0 {
		m.handleRepairRequests(ch, msg.RepairRequest, m.clock.Now())
		msg.RepairRequest = nil // served; never stored or rebroadcast
	}

	wait := waitFirst(msg.CausalHistory, func(i int) bool {
		id := msg.CausalHistory[i].MessageID
		return id != msg.MessageID && !ch.present(id) // a self-reference can never be met; ignore it
	})
	for i, dep := range msg.CausalHistory {
		if wait.has(i) && ch.incoming.byID[dep.MessageID] == nil {
			res.MissingDeps = append(res.MissingDeps, dep)
		}
	}
	// res.Content is the caller's: the log copies what it keeps, the
	// buffer keeps a copy of its own.
	if wait.len() == 0 {
		ch.deliver(msg)
		res.Delivered = true
		return res
	}
	msg.Content = bytes.Clone(msg.Content)
	m.buffer(ch, msg, wait, &res)
	return res
}

// buffer keeps msg in ch's incoming buffer until wait is met, making room
// by evicting the oldest messages (a dependency evicted is missing now:
// res.MissingDeps gains it), and requests what is missing.
func (m *Manager) buffer(ch *channel, msg wire.Message, wait waitSet, res *UnwrapResult) {
	cost := incomingCost(&msg)
	for ch.incoming.len() >= m.cfg.MaxIncomingBuffer || m.incomingBytes.Load()+cost > int64(m.cfg.MaxIncomingBytes) {
		ev := m.evictOldest(ch)
		if ev == nil {
			// Other channels hold the budget: this one is not kept.
			m.logger.Debug().Str("channel", ch.id).Str("message", msg.MessageID).Msg("incoming buffers over their byte budget; not buffering")
			ch.stats.IncomingEvicted++
			ch.emit(Event{Kind: EventIncomingEvicted, ChannelID: ch.id, MessageID: msg.MessageID})
			return
		}
		if i := firstIndex(msg.CausalHistory, ev.msg.MessageID); i >= 0 && wait.has(i) {
			// It was counted as on its way; it is missing now.
			res.MissingDeps = append(res.MissingDeps, msg.CausalHistory[i])
		}
	}
	now := m.clock.Now()
	ch.incoming.add(&pending{msg: msg, wait: wait, receivedAt: now})
	m.requestMissing(ch, res.MissingDeps, now)
	if len(res.MissingDeps) > 0 {
		ch.stats.MissingDependencyReports++
		ch.emit(Event{
			Kind:        EventMissingDependencies,
			ChannelID:   ch.id,
			MessageID:   msg.MessageID,
			MissingDeps: append([]wire.HistoryEntry(nil), res.MissingDeps...),
		})
	}
}

// LogBytes returns the cost of the messages in all the channels' local
// logs, as counted against Config.MaxLogBytes.
func (m *Manager) LogBytes() int64 { return m.logBytes.Load() }

// IncomingBytes returns the cost of the messages waiting in all the
// channels' incoming buffers, as counted against Config.MaxIncomingBytes.
func (m *Manager) IncomingBytes() int64 { return m.incomingBytes.Load() }

// evictOldest drops the message received first from a full incoming
// buffer and reports it.
func (m *Manager) evictOldest(ch *channel) *pending {
	p := ch.incoming.oldest()
	if p == nil {
		return nil
	}
	ch.incoming.drop(p)
	m.logger.Debug().Str("channel", ch.id).Str("message", p.msg.MessageID).Msg("incoming buffer full; evicted the oldest message")
	ch.stats.IncomingEvicted++
	ch.emit(Event{Kind: EventIncomingEvicted, ChannelID: ch.id, MessageID: p.msg.MessageID})
	return p
}

// syncMissing lists the entries of a sync message's causal history that
// are neither delivered nor buffered here.
func (m *Manager) syncMissing(ch *channel, msg *wire.Message) []wire.HistoryEntry {
	var out []wire.HistoryEntry
	for i, dep := range msg.CausalHistory {
		id := dep.MessageID
		if id == "" || ch.present(id) || ch.incoming.byID[id] != nil {
			continue
		}
		dup := false
		for _, prev := range msg.CausalHistory[:i] {
			if prev.MessageID == id {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, dep)
		}
	}
	return out
}

// missingOf lists what a buffered message still waits for that is not
// itself buffered.
func (c *channel) missingOf(p *pending) []wire.HistoryEntry {
	if p.absent.len() == 0 {
		return nil
	}
	var out []wire.HistoryEntry
	for i, dep := range p.msg.CausalHistory {
		if p.absent.has(i) {
			out = append(out, dep)
		}
	}
	return out
}

// MarkDependenciesMet tells the manager the application obtained these
// messages some other way: they count as present from now on (they are
// never reported missing again) and whatever waited on them is delivered.
func (m *Manager) MarkDependenciesMet(channelID string, messageIDs []string) error {
	if err := m.checkID("channel id", channelID); err != nil {
		return err
	}
	for _, id := range messageIDs {
		if err := m.checkID("message id", id); err != nil {
			return err
		}
	}
	ch, err := m.lockChannel(channelID, false)
	if err != nil {
		return err
	}
	if ch == nil {
		return fmt.Errorf("%w: %q", ErrUnknownChannel, channelID)
	}
	defer m.unlockAndDispatch(ch)
	ch.markMet(messageIDs)
	return nil
}

// EnsureChannel creates channelID if it does not exist yet.
func (m *Manager) EnsureChannel(channelID string) error {
	if err := m.checkID("channel id", channelID); err != nil {
		return err
	}
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		return err
	}
	m.unlockAndDispatch(ch)
	return nil
}

// RemoveChannel forgets a channel and all its state. Removing an unknown
// channel is not an error.
//
// With persistence, the channel is dropped from the store too, whether
// loaded or not; if that fails, the error (ErrPersistence) is returned and
// the channel stays as it was, in memory and in the store. After Close it
// returns ErrClosed.
func (m *Manager) RemoveChannel(channelID string) error {
	if m.backend != nil {
		return m.dropChannel(channelID)
	}
	if ch, err := m.lockChannel(channelID, false); err == nil && ch != nil {
		m.forget(ch)
	}
	return nil
}

// Reset forgets every channel.
//
// With persistence, every channel is dropped from the store as
// RemoveChannel does: the loaded ones and, if the backend can list its
// channels (the embedded store can), the stored ones. Channels that fail
// to drop stay; the errors are returned joined. After Close it returns
// ErrClosed.
func (m *Manager) Reset() error {
	if m.backend != nil {
		return m.resetStored()
	}
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	for _, ch := range m.channelList() {
		ch.mu.Lock()
		if ch.removed {
			ch.mu.Unlock()
			continue
		}
		m.forget(ch)
	}
	return nil
}

// Close stops the periodic tasks and releases all state; later calls
// return ErrClosed. Close is idempotent.
//
// With persistence, the stored state is kept (Close is not a wipe: a new
// Manager over the same store resumes from it). Writes still pending
// after store failures are tried once more; if they fail they are lost,
// and Close returns an ErrPersistence error saying so. The backend itself
// is not closed: whoever opened it closes it, after Close.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true // no channel joins from here on
	m.mu.Unlock()
	var errs []error
	for _, ch := range m.channelList() {
		ch.mu.Lock()
		if ch.removed {
			ch.mu.Unlock()
			continue
		}
		if ch.ps != nil {
			d, u := m.takeChanges(ch)
			if err := ch.ps.w.Commit(d, u); err != nil {
				errs = append(errs, err)
			}
		}
		m.forget(ch)
	}
	m.StopPeriodicTasks()
	if len(errs) > 0 {
		errs[0] = fmt.Errorf("%w: writes lost on close: %w", ErrPersistence, errs[0])
	}
	return errors.Join(errs...)
}

// Channels returns the ids of the channels the manager holds.
func (m *Manager) Channels() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.channels))
	for id := range m.channels {
		out = append(out, id)
	}
	return out
}

// OutgoingMessage describes a message waiting for acknowledgement.
type OutgoingMessage struct {
	MessageID      string
	SentAt         time.Time
	ResendAttempts int
	// BloomSightings counts received bloom filters that contained it; a
	// message with sightings below the acknowledgement threshold is
	// "possibly acknowledged".
	BloomSightings int
}

// IncomingMessage describes a received message waiting for dependencies.
type IncomingMessage struct {
	MessageID  string
	WaitingFor []string // sorted as in its causal history
	ReceivedAt time.Time
}

// ChannelState is a copy of a channel's state, for inspection and tests.
type ChannelState struct {
	LamportTimestamp uint64
	MessageHistory   []string // local log, oldest first
	Outgoing         []OutgoingMessage
	Incoming         []IncomingMessage
	// SDS-R, each in due order: requests we will attach to outgoing
	// messages (Due is T_req) and responses we will give (Due is T_resp).
	RepairRequests  []RepairEntry
	RepairResponses []RepairEntry
}

// ChannelState returns a copy of a channel's state; ok is false for an
// unknown channel.
func (m *Manager) ChannelState(channelID string) (state ChannelState, ok bool) {
	ch, err := m.lockChannel(channelID, false)
	if err != nil || ch == nil {
		return ChannelState{}, false
	}
	defer ch.mu.Unlock()
	state.LamportTimestamp = ch.lamport
	state.MessageHistory = ch.log.ids()
	for _, sl := range ch.outgoing.slots {
		e := sl.e
		if e == nil {
			continue
		}
		state.Outgoing = append(state.Outgoing, OutgoingMessage{
			MessageID: e.msg.MessageID, SentAt: e.sentAt, ResendAttempts: e.attempts, BloomSightings: e.sightings,
		})
	}
	for _, p := range ch.incoming.byID {
		in := IncomingMessage{MessageID: p.msg.MessageID, ReceivedAt: p.receivedAt}
		for i, dep := range p.msg.CausalHistory {
			if p.wait.has(i) {
				in.WaitingFor = append(in.WaitingFor, dep.MessageID)
			}
		}
		state.Incoming = append(state.Incoming, in)
	}
	sort.Slice(state.Incoming, func(i, j int) bool { return state.Incoming[i].MessageID < state.Incoming[j].MessageID })
	state.RepairRequests = ch.outRepair.sorted()
	state.RepairResponses = ch.inRepair.sorted()
	return state, true
}
