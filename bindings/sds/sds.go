package sds

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	core "github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
	"go.uber.org/zap"
)

// EventChanBufferSize is kept for source compatibility with the C binding;
// this package uses no event channel.
const EventChanBufferSize = 1024

// Errors of the core that the methods' errors wrap (test with errors.Is).
var (
	ErrInvalidArgument    = core.ErrInvalidArgument
	ErrContentTooLarge    = core.ErrContentTooLarge
	ErrDuplicateMessageID = core.ErrDuplicateMessageID
	ErrUnknownChannel     = core.ErrUnknownChannel
	ErrDecode             = core.ErrDecode
	ErrClosed             = core.ErrClosed
	ErrInvalidConfig      = core.ErrInvalidConfig
	ErrPersistence        = core.ErrPersistence
)

var errEmptyReliabilityManager = errors.New("empty reliability manager")

// Config is the core's configuration (github.com/libsds-go/libsds/sds),
// for NewReliabilityManagerWithConfig.
type Config = core.Config

// DefaultConfig returns the Nim library's defaults with an empty
// participant id (SDS-R disabled).
func DefaultConfig() Config { return core.DefaultConfig() }

// EventCallbacks receives a manager's events; nil fields are skipped. The
// first five are those of the C binding. Callbacks caused by a call run on
// the calling goroutine before the call returns; those of the periodic
// tasks run on the manager's goroutine. A channel's events arrive one at a
// time, in the order they happened.
type EventCallbacks struct {
	// OnMessageReady: a received message was delivered, its causal
	// dependencies being met.
	OnMessageReady func(messageId MessageID, channelId string)
	// OnMessageSent: a peer acknowledged our message.
	OnMessageSent func(messageId MessageID, channelId string)
	// OnMissingDependencies: a received message waits for messages this
	// participant has not seen (fetch them, then MarkDependenciesMet).
	OnMissingDependencies func(messageId MessageID, missingDeps []HistoryEntry, channelId string)
	// OnPeriodicSync: time to broadcast a sync message (see
	// StartPeriodicTasks and Manager().WrapSync).
	OnPeriodicSync func()
	// RetrievalHintProvider is asked, while wrapping, for the retrieval
	// hint of one of our logged messages (nil or empty: none).
	RetrievalHintProvider func(messageId MessageID) []byte

	// Additions of this package.

	// OnRepairReady (SDS-R, with a participant id): broadcast message, the
	// wire bytes of a message a peer asked for.
	OnRepairReady func(message []byte, channelId string)
	// OnMessageResend: our message is still unacknowledged; broadcast
	// message (its wire bytes) again. attempt counts from 1.
	OnMessageResend func(messageId MessageID, message []byte, attempt int, channelId string)
	// OnMessageFailed: our message stayed unacknowledged after the last
	// resend and was given up.
	OnMessageFailed func(messageId MessageID, channelId string)
	// OnDependenciesLost: messageId waited too long for lost; they count as
	// lost, and messageId is delivered or dropped as configured.
	OnDependenciesLost func(messageId MessageID, lost []MessageID, channelId string)
	// OnIncomingEvicted: the incoming buffer was full and messageId left it
	// undelivered.
	OnIncomingEvicted func(messageId MessageID, channelId string)
	// OnPersistenceBacklog: the channel's store keeps failing.
	OnPersistenceBacklog func(channelId string)
	// OnRepairRequest (SDS-R): our repair requests for requested fell
	// due; broadcast message, a sync message carrying them. Without this
	// callback they ride on the next wrapped message instead.
	OnRepairRequest func(message []byte, requested []MessageID, channelId string)
}

// ReliabilityManager runs SDS for any number of channels. It is safe for
// concurrent use.
type ReliabilityManager struct {
	m         *core.Manager
	callbacks atomic.Pointer[EventCallbacks]
	// closed is set by Cleanup: the core's Reset of a closed manager
	// without persistence succeeds, where its documentation (and this
	// package) says ErrClosed.
	closed atomic.Bool
}

// NewReliabilityManager creates a manager with the Nim library's defaults
// and an empty participant id, as the C library's SdsNewReliabilityManager
// does. The core's diagnostics (a panicking callback, a failing store, a
// message ignored) go to logger at its level; nil discards them.
func NewReliabilityManager(logger *zap.Logger) (*ReliabilityManager, error) {
	cfg := DefaultConfig()
	if logger != nil {
		cfg.Logger = zapLogger(logger)
	}
	return NewReliabilityManagerWithConfig(cfg)
}

// NewReliabilityManagerWithConfig creates a manager from a core
// configuration: start from DefaultConfig and set ParticipantID (which
// enables SDS-R), protocol parameters, Persistence (for the embedded store,
// bolt.Open from package sds/persist/bolt, closed by the caller after
// Cleanup), Clock (core.NewManualClock drives time in tests) or Logger.
func NewReliabilityManagerWithConfig(cfg Config) (*ReliabilityManager, error) {
	m, err := core.NewManager(cfg)
	if err != nil {
		return nil, fmt.Errorf("error NewReliabilityManager: %w", err)
	}
	rm := &ReliabilityManager{m: m}
	m.SetEventHandler(rm.dispatch)
	m.SetRetrievalHintProvider(rm.retrievalHint)
	return rm, nil
}

// Manager returns the core manager underneath, for what this API lacks
// (WrapSync, WrapEphemeral, Sweep, ChannelState, ...). Do not set its event
// handler or retrieval-hint provider: RegisterCallbacks relies on them.
func (rm *ReliabilityManager) Manager() *core.Manager {
	if rm == nil {
		return nil
	}
	return rm.m
}

// RegisterCallbacks replaces the manager's callbacks; it takes effect for
// events raised after it returns.
func (rm *ReliabilityManager) RegisterCallbacks(callbacks EventCallbacks) {
	if rm == nil {
		return
	}
	rm.callbacks.Store(&callbacks)
}

func (rm *ReliabilityManager) retrievalHint(id string) []byte {
	cb := rm.callbacks.Load()
	if cb == nil || cb.RetrievalHintProvider == nil {
		return nil
	}
	return cb.RetrievalHintProvider(MessageID(id))
}

// dispatch hands a core event to the registered callback.
func (rm *ReliabilityManager) dispatch(e core.Event) {
	cb := rm.callbacks.Load()
	if cb == nil {
		return
	}
	id, ch := MessageID(e.MessageID), e.ChannelID
	switch e.Kind {
	case core.EventMessageReady:
		if cb.OnMessageReady != nil {
			cb.OnMessageReady(id, ch)
		}
	case core.EventMessageAcknowledged:
		if cb.OnMessageSent != nil {
			cb.OnMessageSent(id, ch)
		}
	case core.EventMissingDependencies:
		if cb.OnMissingDependencies != nil {
			cb.OnMissingDependencies(id, historyEntries(e.MissingDeps), ch)
		}
	case core.EventPeriodicSync:
		if cb.OnPeriodicSync != nil {
			cb.OnPeriodicSync()
		}
	case core.EventRepairReady:
		if cb.OnRepairReady != nil {
			cb.OnRepairReady(e.Payload, ch)
		}
	case core.EventMessageResend:
		if cb.OnMessageResend != nil {
			cb.OnMessageResend(id, e.Payload, e.Attempt, ch)
		}
	case core.EventMessageFailed:
		if cb.OnMessageFailed != nil {
			cb.OnMessageFailed(id, ch)
		}
	case core.EventDependenciesLost:
		if cb.OnDependenciesLost != nil {
			lost := make([]MessageID, len(e.Lost))
			for i, l := range e.Lost {
				lost[i] = MessageID(l)
			}
			cb.OnDependenciesLost(id, lost, ch)
		}
	case core.EventIncomingEvicted:
		if cb.OnIncomingEvicted != nil {
			cb.OnIncomingEvicted(id, ch)
		}
	case core.EventPersistenceBacklog:
		if cb.OnPersistenceBacklog != nil {
			cb.OnPersistenceBacklog(ch)
		}
	case core.EventRepairRequest:
		if cb.OnRepairRequest != nil {
			requested := make([]MessageID, len(e.MissingDeps))
			for i, d := range e.MissingDeps {
				requested[i] = MessageID(d.MessageID)
			}
			cb.OnRepairRequest(e.Payload, requested, ch)
		}
	}
}

// historyEntries converts the core's entries; a missing hint becomes an
// empty, non-nil slice, as decoding the C library's JSON gives.
func historyEntries(deps []wire.HistoryEntry) []HistoryEntry {
	out := make([]HistoryEntry, len(deps))
	for i, d := range deps {
		hint := d.RetrievalHint
		if hint == nil {
			hint = []byte{}
		}
		out[i] = HistoryEntry{MessageID: MessageID(d.MessageID), RetrievalHint: hint, SenderID: d.SenderID}
	}
	return out
}

// jsonEvent holds any event of the C library's JSON events.
type jsonEvent struct {
	EventType   string         `json:"eventType"`
	MessageID   MessageID      `json:"messageId"`
	ChannelID   string         `json:"channelId"`
	MissingDeps []HistoryEntry `json:"missingDeps"`
	Message     []byte         `json:"message"`
	Attempt     int            `json:"attempt"`
	Lost        []MessageID    `json:"lost"`
	Requested   []MessageID    `json:"requested"`
}

// eventKindByName maps the C library's event names (the core's
// EventKind.String, which has one for every kind) back to the kinds.
var eventKindByName = func() map[string]core.EventKind {
	byName := map[string]core.EventKind{}
	for k := core.EventMessageReady; k.String() != "unknown"; k++ {
		byName[k.String()] = k
	}
	return byName
}()

// OnEvent dispatches an event given as the C library's JSON (see
// include/libsds.h) to the registered callbacks, as the C binding does
// with what the library sends it. This package calls the callbacks
// directly and never needs it; it is there for programs that feed events
// from elsewhere. Malformed JSON and unknown event types are ignored.
func (rm *ReliabilityManager) OnEvent(eventStr string) {
	if rm == nil {
		return
	}
	var ev jsonEvent
	if err := json.Unmarshal([]byte(eventStr), &ev); err != nil {
		return
	}
	e := core.Event{ChannelID: ev.ChannelID, MessageID: string(ev.MessageID), Payload: ev.Message, Attempt: ev.Attempt}
	kind, ok := eventKindByName[ev.EventType]
	if !ok {
		return
	}
	e.Kind = kind
	switch kind {
	case core.EventMissingDependencies:
		for _, d := range ev.MissingDeps {
			e.MissingDeps = append(e.MissingDeps, wire.HistoryEntry{MessageID: string(d.MessageID), RetrievalHint: d.RetrievalHint, SenderID: d.SenderID})
		}
	case core.EventDependenciesLost:
		for _, l := range ev.Lost {
			e.Lost = append(e.Lost, string(l))
		}
	case core.EventRepairRequest:
		for _, id := range ev.Requested {
			e.MissingDeps = append(e.MissingDeps, wire.HistoryEntry{MessageID: string(id)})
		}
	}
	rm.dispatch(e)
}

// OnCallbackError is kept for source compatibility with the C binding,
// where it logs a failed library callback; no callback fails here, and it
// does nothing.
func (rm *ReliabilityManager) OnCallbackError(callerRet int, err string) {}

// Cleanup stops the periodic tasks and releases the manager; later calls
// return an error wrapping ErrClosed, and a second Cleanup returns nil.
func (rm *ReliabilityManager) Cleanup() error {
	if rm == nil {
		return errEmptyReliabilityManager
	}
	rm.closed.Store(true)
	if err := rm.m.Close(); err != nil {
		return fmt.Errorf("error CleanupReliabilityManager: %w", err)
	}
	return nil
}

// Reset forgets every channel and all its state (persisted state too).
func (rm *ReliabilityManager) Reset() error {
	if rm == nil {
		return errEmptyReliabilityManager
	}
	err := rm.m.Reset()
	if err == nil && rm.closed.Load() {
		err = ErrClosed
	}
	if err != nil {
		return fmt.Errorf("error ResetReliabilityManager: %w", err)
	}
	return nil
}

// WrapOutgoingMessage prepares message (not empty) for broadcast on
// channelId under messageId (unique on the channel) and returns the wire
// bytes. The message is kept until a peer acknowledges it
// (OnMessageSent).
func (rm *ReliabilityManager) WrapOutgoingMessage(message []byte, messageId MessageID, channelId string) ([]byte, error) {
	if rm == nil {
		return nil, errEmptyReliabilityManager
	}
	b, err := rm.m.Wrap(channelId, string(messageId), message)
	if err != nil {
		return nil, fmt.Errorf("error WrapOutgoingMessage: %w", err)
	}
	return b, nil
}

// UnwrapReceivedMessage processes a received wire message (Nim or RFC
// format). A message whose dependencies are met is delivered:
// OnMessageReady runs for it and for every buffered message it unblocks
// before this returns. Otherwise it waits, and MissingDeps lists what it
// waits for (OnMissingDependencies reports the same). A message received
// twice, or our own, is not delivered again; its content is returned all
// the same.
func (rm *ReliabilityManager) UnwrapReceivedMessage(message []byte) (*UnwrappedMessage, error) {
	if rm == nil {
		return nil, errEmptyReliabilityManager
	}
	res, err := rm.m.Unwrap(message)
	if err != nil {
		return nil, fmt.Errorf("error UnwrapReceivedMessage: %w", err)
	}
	content := res.Content
	if content == nil {
		content = []byte{}
	}
	deps := historyEntries(res.MissingDeps)
	channelID := res.ChannelID
	return &UnwrappedMessage{Message: &content, MissingDeps: &deps, ChannelId: &channelID}, nil
}

// MarkDependenciesMet tells the manager these messages of channelId were
// obtained some other way: they count as present, and messages waiting
// for them are delivered (OnMessageReady) before this returns. No ids: it
// does nothing. An unknown channel is an error.
func (rm *ReliabilityManager) MarkDependenciesMet(messageIDs []MessageID, channelId string) error {
	if rm == nil {
		return errEmptyReliabilityManager
	}
	if len(messageIDs) == 0 {
		return nil
	}
	ids := make([]string, len(messageIDs))
	for i, id := range messageIDs {
		ids[i] = string(id)
	}
	if err := rm.m.MarkDependenciesMet(channelId, ids); err != nil {
		return fmt.Errorf("error MarkDependenciesMet: %w", err)
	}
	return nil
}

// StartPeriodicTasks starts the time-driven work on a goroutine of the
// manager's: OnPeriodicSync at once and every SyncMessageInterval, the
// buffer sweep (OnMessageResend, OnMessageFailed, OnDependenciesLost) and
// the SDS-R sweep (OnRepairReady). Starting them again does nothing;
// Cleanup stops them.
func (rm *ReliabilityManager) StartPeriodicTasks() error {
	if rm == nil {
		return errEmptyReliabilityManager
	}
	if err := rm.m.StartPeriodicTasks(); err != nil {
		return fmt.Errorf("error StartPeriodicTasks: %w", err)
	}
	return nil
}
