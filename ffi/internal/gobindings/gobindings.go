// Package gobindings spells out the types sds-go-bindings decodes the
// library's JSON results into, for the tests of ffi and ffi/capitest: what
// the library writes must read back through them.
package gobindings

// UnwrappedMessage is sds-go-bindings' result of
// SdsUnwrapReceivedMessage; a nil pointer is a key the JSON lacked.
type UnwrappedMessage struct {
	Message     *[]byte `json:"message"`
	MissingDeps *[]struct {
		MessageID     string `json:"messageId"`
		RetrievalHint []byte `json:"retrievalHint"`
	} `json:"missingDeps"`
	ChannelID *string `json:"channelId"`
}
