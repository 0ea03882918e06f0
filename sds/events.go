package sds

import "github.com/libsds-go/libsds/sds/wire"

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventMessageReady: a received message was delivered (its causal
	// dependencies are met). MessageID and ChannelID are set.
	EventMessageReady EventKind = iota + 1
	// EventMessageAcknowledged: one of our outgoing messages was
	// acknowledged by a peer and left the outgoing buffer. The Nim ABI
	// calls this "message_sent".
	EventMessageAcknowledged
	// EventMissingDependencies: a received message waits for the entries in
	// MissingDeps, which this participant has not seen.
	EventMissingDependencies
	// EventPeriodicSync: time to send a sync message (WrapSync) on the
	// channels the application serves. Emitted by the periodic tasks,
	// once when they start and then every SyncMessageInterval, as Nim
	// does; ChannelID is empty (it concerns the whole manager).
	EventPeriodicSync
	// EventRepairReady: SDS-R. A peer asked for a message we hold and our
	// response time came: broadcast Payload, the message's wire bytes.
	// MessageID names the repaired message.
	EventRepairReady
	// EventMessageResend: one of our outgoing messages is still
	// unacknowledged after ResendInterval (PossiblyAckedResendInterval if
	// possibly acknowledged): broadcast Payload again. Payload is the
	// stored message re-encoded with the channel's current bloom filter.
	// Attempt counts the rebroadcasts, from 1 to MaxResendAttempts.
	// (Absent from Nim, which only counts attempts.)
	EventMessageResend
	// EventMessageFailed: one of our outgoing messages stayed
	// unacknowledged after MaxResendAttempts rebroadcasts; it left the
	// outgoing buffer. (Nim reports this as "message_sent".)
	EventMessageFailed
	// EventDependenciesLost: the received message MessageID waited
	// MaxDependencyWait for the ids in Lost; they count as irretrievably
	// lost and the message is delivered (LostDeliver: its message_ready
	// follows) or dropped (LostDrop), as configured.
	EventDependenciesLost
	// EventIncomingEvicted: the incoming buffer was full (MaxIncomingBuffer,
	// or the manager's MaxIncomingBytes) and the message MessageID, the one
	// received first, left it undelivered; or, when the other channels'
	// buffers hold the whole MaxIncomingBytes, MessageID is the message
	// just received, which was not buffered.
	EventIncomingEvicted
	// EventPersistenceBacklog: the channel's store has been failing long
	// enough that more than Config.PersistMaxPending writes wait for retry
	// (they are kept and retried at every operation; a crash now loses
	// them). Emitted once each time the backlog goes over the bound.
	// (Absent from Nim, which only logs.)
	EventPersistenceBacklog
	// EventRepairRequest: SDS-R. Repair requests of ours fell due
	// (Config.RepairRequestSync): broadcast Payload, a sync message
	// carrying them (MissingDeps lists the requested entries; MessageID
	// is the sync message's id). (Absent from Nim, which waits for the
	// next message to carry them.)
	EventRepairRequest
)

// String returns the event's name as the Nim ABI spells it where one exists.
func (k EventKind) String() string {
	switch k {
	case EventMessageReady:
		return "message_ready"
	case EventMessageAcknowledged:
		return "message_sent"
	case EventMissingDependencies:
		return "missing_dependencies"
	case EventPeriodicSync:
		return "periodic_sync"
	case EventRepairReady:
		return "repair_ready"
	case EventMessageResend:
		return "message_resend"
	case EventMessageFailed:
		return "message_failed"
	case EventDependenciesLost:
		return "dependencies_lost"
	case EventIncomingEvicted:
		return "incoming_evicted"
	case EventPersistenceBacklog:
		return "persistence_backlog"
	case EventRepairRequest:
		return "repair_request"
	}
	return "unknown"
}

// Event is something the application should know about. Slices in an Event
// belong to the receiver.
type Event struct {
	Kind        EventKind
	ChannelID   string
	MessageID   string
	MissingDeps []wire.HistoryEntry
	// Payload is the wire message to broadcast (EventRepairReady,
	// EventMessageResend).
	Payload []byte
	// Attempt numbers a rebroadcast (EventMessageResend).
	Attempt int
	// Lost lists the dependencies given up on (EventDependenciesLost).
	Lost []string
}

// EventHandler receives events. It runs without any Manager lock held, so
// it may call back into the Manager; events of one channel arrive in the
// order they happened, one at a time (EventPeriodicSync, which belongs to
// no channel, keeps its own order). An event caused by a call made from
// inside a handler is delivered after that handler returns.
type EventHandler func(Event)

// RetrievalHintProvider returns the retrieval hint for one of our logged
// message ids (for example a transport-level hash), or nil if it has none.
// It is called without any Manager lock held.
type RetrievalHintProvider func(messageID string) []byte
