package persist

import (
	"errors"
	"fmt"
	"math"
)

// Validate checks data loaded for channelID before the manager rebuilds the
// channel from it, and returns an error matching ErrContract that names the
// part of the backend contract that was broken:
//   - every record key parses, every record decodes and holds the id its key
//     names (repair entries: their history entry too), the Lamport record is
//     a minimal varint;
//   - the history holds each id once (an append of a present id replaces
//     it), and every history and buffered message belongs to channelID;
//   - no message is both buffered as incoming (waiting for dependencies) and
//     in the history (delivered): the operation that delivers a message
//     deletes its incoming record and appends it, and the two writes are
//     applied together or meta first. (A missing dependency that the
//     history holds is not an error: the loader treats it as met.)
//   - the Lamport clock is at least the timestamp of every message in the
//     history and the outgoing buffer (the clock never goes back, and the
//     meta is never written after the history of the same operation).
//
// The history's order itself cannot be checked (delivery order is causal,
// not by timestamp); the backend keeps it.
func Validate(channelID string, d *ChannelData, lim Limits) error {
	lim = lim.norm()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: channel %q: %s", ErrContract, channelID, fmt.Sprintf(format, args...))
	}
	if d == nil {
		return nil
	}
	recs, err := decodeRecords(d.Records, &lim)
	if err != nil {
		return fmt.Errorf("%w: channel %q: records are not as stored by the manager: %w", ErrContract, channelID, err)
	}
	clock := recs.lamport
	tooNew := func(ts uint64) bool {
		return min(ts, math.MaxInt64) > clock
	}
	inHistory := make(map[string]struct{}, len(d.History))
	for i := range d.History {
		m := &d.History[i]
		if _, dup := inHistory[m.MessageID]; dup {
			return bad("history holds message %q twice (an append of an id already in the history must replace it)", m.MessageID)
		}
		inHistory[m.MessageID] = struct{}{}
		if m.ChannelID != channelID {
			return bad("history message %q belongs to channel %q (channels must be kept apart)", m.MessageID, m.ChannelID)
		}
		if tooNew(m.LamportTimestamp) {
			return bad("history message %q has Lamport timestamp %d above the stored clock %d (the meta of an operation must be stored no later than its history)", m.MessageID, m.LamportTimestamp, clock)
		}
	}
	for i := range recs.out {
		m := &recs.out[i].Message
		if m.ChannelID != channelID {
			return bad("outgoing message %q belongs to channel %q (channels must be kept apart)", m.MessageID, m.ChannelID)
		}
		if tooNew(m.LamportTimestamp) {
			return bad("outgoing message %q has Lamport timestamp %d above the stored clock %d (a record set must be stored whole: each delta atomically)", m.MessageID, m.LamportTimestamp, clock)
		}
	}
	for i := range recs.in {
		in := &recs.in[i]
		if in.Message.ChannelID != channelID {
			return bad("incoming message %q belongs to channel %q (channels must be kept apart)", in.Message.MessageID, in.Message.ChannelID)
		}
		if _, ok := inHistory[in.Message.MessageID]; ok {
			return bad("message %q is both waiting in the incoming buffer and delivered in the history (meta and history updates must be applied in order)", in.Message.MessageID)
		}
	}
	return nil
}

// IsContract reports whether err is a contract violation found by Validate.
func IsContract(err error) bool { return errors.Is(err, ErrContract) }
