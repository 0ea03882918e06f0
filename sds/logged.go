package sds

import (
	"bytes"

	"github.com/libsds-go/libsds/sds/wire"
)

// LoggedMessage returns a copy of the message messageID in the channel's
// local log (delivered here, or sent by us), without bloom filter or
// repair requests; ok is false when the channel is not loaded or the log
// does not hold the message (never seen, still waiting, or evicted).
//
// EventMessageReady names a message without its content. A host keeps
// what Unwrap returned for messages that wait for dependencies, but after
// a restart it has not seen the Unwrap of those the store restored into
// the incoming buffer: it reads their content here when they are
// delivered. It may be called from the event handler.
func (m *Manager) LoggedMessage(channelID, messageID string) (msg wire.Message, ok bool) {
	ch, err := m.lockChannel(channelID, false)
	if err != nil || ch == nil {
		return wire.Message{}, false
	}
	defer ch.mu.Unlock()
	e := ch.log.get(messageID)
	if e == nil {
		return wire.Message{}, false
	}
	msg = e.msg
	msg.Content = bytes.Clone(e.msg.Content)
	msg.CausalHistory = make([]wire.HistoryEntry, len(e.msg.CausalHistory))
	for i, h := range e.msg.CausalHistory {
		h.RetrievalHint = bytes.Clone(h.RetrievalHint)
		msg.CausalHistory[i] = h
	}
	msg.BloomFilter, msg.RepairRequest = nil, nil
	return msg, true
}
