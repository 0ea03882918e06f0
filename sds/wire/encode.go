package wire

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds/internal/protofield"
)

// Field numbers.
const (
	nimMessageID     = 1
	nimLamport       = 2
	nimCausalHistory = 3
	nimChannelID     = 4
	nimContent       = 5
	nimBloomFilter   = 6
	nimSenderID      = 7
	nimRepairRequest = 13

	rfcSenderID      = 1
	rfcMessageID     = 2
	rfcChannelID     = 3
	rfcLamport       = 10
	rfcCausalHistory = 11
	rfcBloomFilter   = 12
	rfcRepairRequest = 13
	rfcContent       = 20

	entryMessageID     = 1
	entryRetrievalHint = 2
	entrySenderID      = 3
)

// entryLen is the size of e's encoding (without tag and length prefix).
func (e *HistoryEntry) entryLen(f Format) int {
	n := 0
	if f != FormatRFC || e.MessageID != "" {
		n += protofield.SizeBytes(entryMessageID, len(e.MessageID))
	}
	if (f == FormatRFC && e.RetrievalHint != nil) || len(e.RetrievalHint) > 0 {
		n += protofield.SizeBytes(entryRetrievalHint, len(e.RetrievalHint))
	}
	if e.SenderID != "" {
		n += protofield.SizeBytes(entrySenderID, len(e.SenderID))
	}
	return n
}

func (e *HistoryEntry) appendEntry(b []byte, f Format) []byte {
	if f != FormatRFC || e.MessageID != "" {
		b = protofield.AppendString(b, entryMessageID, e.MessageID)
	}
	if (f == FormatRFC && e.RetrievalHint != nil) || len(e.RetrievalHint) > 0 {
		b = protofield.AppendBytes(b, entryRetrievalHint, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = protofield.AppendString(b, entrySenderID, e.SenderID)
	}
	return b
}

func entriesLen(es []HistoryEntry, num protowire.Number, f Format) int {
	n := 0
	for i := range es {
		n += protofield.SizeBytes(num, es[i].entryLen(f))
	}
	return n
}

func appendEntries(b []byte, es []HistoryEntry, num protowire.Number, f Format) []byte {
	for i := range es {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(es[i].entryLen(f)))
		b = es[i].appendEntry(b, f)
	}
	return b
}

// EncodedLen returns the length of m's encoding in format f (FormatRFC, or
// the Nim format for any other value).
func (m *Message) EncodedLen(f Format) int {
	if f == FormatRFC {
		return m.rfcLen()
	}
	return m.nimLen()
}

// BloomFieldLen is the bytes a bloom filter of n bytes takes in a
// message in format f: the field's tag, length and the filter; 0 for an
// empty filter (which carries nothing, whatever the format writes).
func BloomFieldLen(f Format, n int) int {
	if n == 0 {
		return 0
	}
	if f == FormatRFC {
		return protofield.SizeBytes(rfcBloomFilter, n)
	}
	return protofield.SizeBytes(nimBloomFilter, n)
}

func (m *Message) nimLen() int {
	n := protofield.SizeBytes(nimMessageID, len(m.MessageID)) +
		protofield.SizeVarint(nimLamport, m.LamportTimestamp) +
		entriesLen(m.CausalHistory, nimCausalHistory, FormatNim) +
		protofield.SizeBytes(nimChannelID, len(m.ChannelID)) +
		protofield.SizeBytes(nimContent, len(m.Content)) +
		protofield.SizeBytes(nimBloomFilter, len(m.BloomFilter)) +
		entriesLen(m.RepairRequest, nimRepairRequest, FormatNim)
	if m.SenderID != "" {
		n += protofield.SizeBytes(nimSenderID, len(m.SenderID))
	}
	return n
}

func (m *Message) rfcLen() int {
	n := entriesLen(m.CausalHistory, rfcCausalHistory, FormatRFC) +
		entriesLen(m.RepairRequest, rfcRepairRequest, FormatRFC)
	if m.SenderID != "" {
		n += protofield.SizeBytes(rfcSenderID, len(m.SenderID))
	}
	if m.MessageID != "" {
		n += protofield.SizeBytes(rfcMessageID, len(m.MessageID))
	}
	if m.ChannelID != "" {
		n += protofield.SizeBytes(rfcChannelID, len(m.ChannelID))
	}
	if m.HasLamport {
		n += protofield.SizeVarint(rfcLamport, m.LamportTimestamp)
	}
	if m.BloomFilter != nil {
		n += protofield.SizeBytes(rfcBloomFilter, len(m.BloomFilter))
	}
	if m.Content != nil {
		n += protofield.SizeBytes(rfcContent, len(m.Content))
	}
	return n
}

// Append appends m's encoding in format f (FormatRFC, or the Nim format for
// any other value) to dst and returns the extended slice. It grows dst at
// most once.
func (m *Message) Append(dst []byte, f Format) []byte {
	if n := m.EncodedLen(f); cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	if f == FormatRFC {
		return m.appendRFC(dst)
	}
	return m.appendNim(dst)
}

// Marshal returns m's encoding in format f in a new slice of exactly the
// encoded length.
func (m *Message) Marshal(f Format) []byte {
	b := make([]byte, 0, m.EncodedLen(f))
	if f == FormatRFC {
		return m.appendRFC(b)
	}
	return m.appendNim(b)
}

func (m *Message) appendNim(b []byte) []byte {
	b = protofield.AppendString(b, nimMessageID, m.MessageID)
	b = protofield.AppendVarint(b, nimLamport, m.LamportTimestamp)
	b = appendEntries(b, m.CausalHistory, nimCausalHistory, FormatNim)
	b = protofield.AppendString(b, nimChannelID, m.ChannelID)
	b = protofield.AppendBytes(b, nimContent, m.Content)
	b = protofield.AppendBytes(b, nimBloomFilter, m.BloomFilter)
	if m.SenderID != "" {
		b = protofield.AppendString(b, nimSenderID, m.SenderID)
	}
	return appendEntries(b, m.RepairRequest, nimRepairRequest, FormatNim)
}

func (m *Message) appendRFC(b []byte) []byte {
	if m.SenderID != "" {
		b = protofield.AppendString(b, rfcSenderID, m.SenderID)
	}
	if m.MessageID != "" {
		b = protofield.AppendString(b, rfcMessageID, m.MessageID)
	}
	if m.ChannelID != "" {
		b = protofield.AppendString(b, rfcChannelID, m.ChannelID)
	}
	if m.HasLamport {
		b = protofield.AppendVarint(b, rfcLamport, m.LamportTimestamp)
	}
	b = appendEntries(b, m.CausalHistory, rfcCausalHistory, FormatRFC)
	if m.BloomFilter != nil {
		b = protofield.AppendBytes(b, rfcBloomFilter, m.BloomFilter)
	}
	b = appendEntries(b, m.RepairRequest, rfcRepairRequest, FormatRFC)
	if m.Content != nil {
		b = protofield.AppendBytes(b, rfcContent, m.Content)
	}
	return b
}
