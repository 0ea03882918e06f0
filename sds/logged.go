package sds

import (
	"bytes"
	"strings"

	"github.com/libsds-go/libsds/sds/wire"
)

// LoggedMessage returns a copy of the message messageID in the channel's
// local log (delivered here, or sent by us), without bloom filter or
// repair requests; ok is false when the channel is not loaded or the log
// does not hold the message (never seen, still waiting, or evicted).
// With a store that reads messages back (persist.MessageLoader: the
// embedded store, persist.Memory), the log keeps content and causal
// history there and this reads them back; ok is also false if that read
// fails (the failure is logged).
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
	if msg, ok = m.loggedMessage(ch, messageID); !ok {
		return wire.Message{}, false
	}
	// What the log or the Writer holds is shared: copy all of it.
	msg.MessageID, msg.ChannelID, msg.SenderID = strings.Clone(msg.MessageID), strings.Clone(msg.ChannelID), strings.Clone(msg.SenderID)
	msg.Content = bytes.Clone(msg.Content)
	hist := make([]wire.HistoryEntry, len(msg.CausalHistory))
	for i, h := range msg.CausalHistory {
		hist[i] = wire.HistoryEntry{
			MessageID: strings.Clone(h.MessageID), RetrievalHint: bytes.Clone(h.RetrievalHint), SenderID: strings.Clone(h.SenderID),
		}
	}
	msg.CausalHistory = hist
	return msg, true
}

// loggedMessage returns the message id of ch's log (ch locked) as it was
// logged, without bloom filter or repair requests: decoded from its entry
// or read back from the store. What it returns aliases memory the log or
// the store's Writer holds: read it, copy what is kept.
func (m *Manager) loggedMessage(ch *channel, id string) (wire.Message, bool) {
	seq, ok := ch.log.find(id)
	if !ok {
		return wire.Message{}, false
	}
	if ch.log.bodyBytes(seq) != nil {
		return ch.log.message(seq, ch.id), true
	}
	msg, ok, err := ch.ps.w.LoadMessage(id)
	if err != nil || !ok {
		m.logger.Warn().Err(err).Str("channel", ch.id).Str("message", id).
			Msg("reading a logged message back from the store failed")
		return wire.Message{}, false
	}
	msg.BloomFilter, msg.RepairRequest = nil, nil
	return msg, true
}
