package sds

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unsafe"

	"github.com/libsds-go/libsds/sds/wire"
)

// A log entry's body holds what the hot paths do not read: its id,
// Lamport timestamp, content and causal history, encoded once:
//
//	body    = string(id) uvarint(lamport) string(content) uvarint(entries) entry...
//	entry   = uvarint(dist<<2 | flags) [id] [sender] [hint]
//
// dist > 0 refers to the entry dist sequence numbers before this one in
// the same log: its id, and its sender unless flagSender gives one. Most
// history entries are such references, one byte each instead of an id of
// their own. dist = 0 is a literal: the id follows. Then, with flagSender,
// the sender (a literal without it has none) and, with flagHint, the
// retrieval hint (present, possibly empty). Strings are uvarint length,
// then bytes. A stored log (storedLog) writes literals only: the entries
// it would refer to may keep no id.
const (
	flagSender = 1 << iota
	flagHint
	flagBits = 2
)

// setBody encodes msg as the body of entry seq, which is not in the index
// yet (a self-reference is a literal).
func (l *messageLog) setBody(seq uint64, msg *wire.Message) {
	hist := binary.AppendUvarint(l.scratch[:0], uint64(len(msg.CausalHistory)))
	guess := seq - uint64(len(msg.CausalHistory))
	for i := range msg.CausalHistory {
		hist, guess = l.appendHistoryEntry(hist, seq, guess, &msg.CausalHistory[i])
	}
	size := uvarintLen(uint64(len(msg.MessageID))) + len(msg.MessageID) + uvarintLen(msg.LamportTimestamp) +
		uvarintLen(uint64(len(msg.Content))) + len(msg.Content) + len(hist)
	b := make([]byte, bodyHeader, bodyHeader+uvarintLen(uint64(size))+size)
	b = binary.AppendUvarint(b, uint64(size))
	b = appendString(b, msg.MessageID)
	b = binary.AppendUvarint(b, msg.LamportTimestamp)
	b = appendString(b, unsafe.String(unsafe.SliceData(msg.Content), len(msg.Content)))
	b = append(b, hist...)
	blk, i := l.block(seq)
	if blk.bodies == nil {
		blk.bodies = new([logBlockSize]logBody)
	}
	blk.bodies[i] = logBody{unsafe.SliceData(b)}
	if cap(hist) <= 4<<10 { // a huge history is not worth keeping the space for
		l.scratch = hist[:0]
	}
}

// appendHistoryEntry encodes h, a history entry of the entry with sequence
// number seq: a reference when the log holds h's message (and it is
// close enough for refBy), else a literal. A history usually names
// consecutive entries of the log (the sender's newest, when its log is
// ours), so the entry after the last one named (guess) is tried before the
// index; it returns the next guess.
func (l *messageLog) appendHistoryEntry(b []byte, seq, guess uint64, h *wire.HistoryEntry) ([]byte, uint64) {
	dist, flags, refSender := uint64(0), 0, ""
	r, ok := guess, !l.stored && guess >= l.head && guess < seq && l.heldID(guess) == h.MessageID
	if !ok && !l.stored {
		if r, ok = l.find(h.MessageID); !ok {
			r = guess
		}
	}
	if ok && seq-r <= math.MaxUint16 {
		dist = seq - r
		l.body(r).setRefBy(uint16(dist)) // this entry is the newest referring to it
		refSender = l.senderOf(l.entry(r))
	}
	if h.SenderID != refSender {
		flags |= flagSender
	}
	if h.RetrievalHint != nil {
		flags |= flagHint
	}
	b = binary.AppendUvarint(b, dist<<flagBits|uint64(flags))
	if dist == 0 {
		b = appendString(b, h.MessageID)
	}
	if flags&flagSender != 0 {
		b = appendString(b, h.SenderID)
	}
	if flags&flagHint != 0 {
		b = appendString(b, unsafe.String(unsafe.SliceData(h.RetrievalHint), len(h.RetrievalHint)))
	}
	return b, r + 1
}

func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// bodyReader reads a body. Bodies are written once, by setBody, so a read
// past the end is a bug: it panics.
type bodyReader struct {
	b []byte
}

func (r *bodyReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		panic("sds: corrupt log entry body")
	}
	r.b = r.b[n:]
	return v
}

// bytes returns the next n bytes; they alias the body, which nothing
// modifies.
func (r *bodyReader) bytes() []byte {
	n := r.uvarint()
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) string() string {
	v := r.bytes()
	return unsafe.String(unsafe.SliceData(v), len(v))
}

// refEntry is one decoded history entry: dist > 0 names an earlier entry
// of the log.
type refEntry struct {
	dist  uint64
	entry wire.HistoryEntry // MessageID set for literals only; SenderID when flagSender
	flags int
}

// bodyID returns the id a body starts with (aliasing the body).
func bodyID(body []byte) string {
	r := bodyReader{body}
	return r.string()
}

// readBody decodes a body: it returns the id, Lamport timestamp and
// content, and calls fn with each history entry as written (all of it
// aliasing the body).
func readBody(body []byte, fn func(refEntry)) (id string, lamport uint64, content []byte) {
	r := bodyReader{body}
	id = r.string()
	lamport = r.uvarint()
	content = r.bytes()
	for n := r.uvarint(); n > 0; n-- {
		tag := r.uvarint()
		re := refEntry{dist: tag >> flagBits, flags: int(tag & (1<<flagBits - 1))}
		if re.dist == 0 {
			re.entry.MessageID = r.string()
		}
		if re.flags&flagSender != 0 {
			re.entry.SenderID = r.string()
		}
		if re.flags&flagHint != 0 {
			re.entry.RetrievalHint = r.bytes()
		}
		fn(re)
	}
	return id, lamport, content
}

// message decodes the entry with sequence number seq, which holds its
// body, as the message it logged (no bloom filter, no repair requests) of
// channel channelID. Its strings and bytes alias the log's memory: read
// them, copy what is kept.
func (l *messageLog) message(seq uint64, channelID string) wire.Message {
	msg := wire.Message{HasLamport: true, ChannelID: channelID, SenderID: l.senderOf(l.entry(seq))}
	msg.MessageID, msg.LamportTimestamp, msg.Content = readBody(l.bodyBytes(seq), func(re refEntry) {
		h := re.entry
		if re.dist > 0 {
			id, sender := l.refTarget(seq - re.dist)
			h.MessageID = id
			if re.flags&flagSender == 0 {
				h.SenderID = sender
			}
		}
		msg.CausalHistory = append(msg.CausalHistory, h)
	})
	return msg
}

// refTarget returns the id and sender of the entry with sequence number
// seq, held or a ghost.
func (l *messageLog) refTarget(seq uint64) (id, sender string) {
	if seq >= l.head {
		return l.heldID(seq), l.senderOf(l.entry(seq))
	}
	g := l.ghosts.get(seq)
	return g.id, g.sender
}

// storedExactly reports whether a store gives msg back as it is: stores
// keep messages in the Nim wire format, which writes no empty retrieval
// hint (the RFC format tells it from an absent one).
func storedExactly(msg *wire.Message) bool {
	for i := range msg.CausalHistory {
		if h := msg.CausalHistory[i].RetrievalHint; h != nil && len(h) == 0 {
			return false
		}
	}
	return true
}
