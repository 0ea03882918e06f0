package sds

import (
	"fmt"
	"strconv"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// WrapSync returns a sync message for channelID (RFC "Periodic Sync
// Message"), to broadcast when EventPeriodicSync asks for one: empty
// content, the Lamport timestamp advanced to max(nowMillis, clock+1), the
// causal history and bloom filter as a regular message would carry them,
// and (SDS-R) the due repair requests. It is never buffered, logged or
// added to the bloom filter. Its id, "sync-<hash of the participant
// id>-<Lamport timestamp>", is unique per participant; receivers do not
// need it to be.
//
// In the Nim wire format the message has an empty content field, which
// our Unwrap treats as a sync message; the Nim library, which has no sync
// messages, delivers it as an empty regular message.
func (m *Manager) WrapSync(channelID string) ([]byte, error) {
	if err := m.checkID("channel id", channelID); err != nil {
		return nil, err
	}
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		return nil, err
	}
	defer m.unlockAndDispatch(ch)
	msg := m.syncMessage(ch, m.clock.Now())
	msg.RepairRequest = m.attachSyncedRequests(ch, msg.RepairRequest)
	out := msg.Append(nil, m.cfg.WireFormat)
	ch.stats.WrappedSync++
	ch.countSent(out, &msg, m.cfg.WireFormat)
	return out, nil
}

// syncMessage builds a sync message on ch (WrapSync).
func (m *Manager) syncMessage(ch *channel, now time.Time) wire.Message {
	msg := m.newMessage(ch, "", nil, now)
	msg.MessageID = "sync-" + strconv.FormatUint(uint64(bloom.NimHash(m.cfg.ParticipantID)), 16) +
		"-" + strconv.FormatUint(msg.LamportTimestamp, 10)
	return msg
}

// WrapEphemeral returns an ephemeral message (RFC "Ephemeral Messages"):
// content with no Lamport timestamp, causal history or bloom filter, for
// which no reliability is wanted. It touches no channel state; a receiver
// delivers it at once (UnwrapResult.Kind is KindEphemeral) and never
// buffers, logs or acknowledges it. Only the RFC wire format can express
// a message without a Lamport timestamp: with WireFormat FormatNim it
// returns ErrUnsupportedFormat.
func (m *Manager) WrapEphemeral(channelID, messageID string, content []byte) ([]byte, error) {
	if m.cfg.WireFormat != wire.FormatRFC {
		return nil, fmt.Errorf("%w: ephemeral messages need the RFC wire format", ErrUnsupportedFormat)
	}
	if err := m.checkOutgoing(channelID, messageID, content); err != nil {
		return nil, err
	}
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	msg := wire.Message{MessageID: messageID, ChannelID: channelID, Content: content, SenderID: m.cfg.ParticipantID}
	out := msg.Append(nil, wire.FormatRFC)
	m.loose.wrappedEphemeral.Add(1)
	m.loose.bytesSent.Add(uint64(len(out)))
	return out, nil
}
