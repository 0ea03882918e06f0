package sds

// MessageID identifies a message within its channel.
type MessageID string

// HistoryEntry names a message of a causal history: its id, the
// retrieval hint its sender attached (for example a transport-level
// message hash, usable to fetch the message from a store), empty if none,
// and the participant id of its sender when the entry names one (SDS-R; an
// addition of this package). In JSON the hint is base64, as the C library
// writes it.
type HistoryEntry struct {
	MessageID     MessageID `json:"messageId"`
	RetrievalHint []byte    `json:"retrievalHint"`
	SenderID      string    `json:"senderId,omitempty"`
}

// UnwrappedMessage is the result of UnwrapReceivedMessage. The pointers
// are set on every successful unwrap: Message holds the application
// content, ChannelId the channel it came on, and MissingDeps the causal
// dependencies this participant has not seen (empty when none; the
// message is then delivered, and OnMessageReady has run).
//
// The JSON tags are those of the C library's unwrap result, so
// encoding/json decodes that result into this type (its "message" array of
// byte values included).
type UnwrappedMessage struct {
	Message     *[]byte         `json:"message"`
	MissingDeps *[]HistoryEntry `json:"missingDeps"`
	ChannelId   *string         `json:"channelId"`
}
