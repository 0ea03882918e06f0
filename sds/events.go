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
}

// EventHandler receives events. It runs without any Manager lock held, so
// it may call back into the Manager; events of one channel arrive in the
// order they happened, one at a time. An event caused by a call made from
// inside a handler is delivered after that handler returns.
type EventHandler func(Event)

// RetrievalHintProvider returns the retrieval hint for one of our logged
// message ids (for example a transport-level hash), or nil if it has none.
// It is called without any Manager lock held.
type RetrievalHintProvider func(messageID string) []byte
