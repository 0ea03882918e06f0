package wire

import "google.golang.org/protobuf/encoding/protowire"

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

// sizeLD is the size of a length-delimited field with an n-byte payload.
func sizeLD(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// sizeVarint is the size of a varint field.
func sizeVarint(num protowire.Number, v uint64) int {
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendLDString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendLDBytes(b []byte, num protowire.Number, p []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}

// entryLen is the size of e's encoding (without tag and length prefix).
func (e *HistoryEntry) entryLen(f Format) int {
	n := 0
	if f != FormatRFC || e.MessageID != "" {
		n += sizeLD(entryMessageID, len(e.MessageID))
	}
	if (f == FormatRFC && e.RetrievalHint != nil) || len(e.RetrievalHint) > 0 {
		n += sizeLD(entryRetrievalHint, len(e.RetrievalHint))
	}
	if e.SenderID != "" {
		n += sizeLD(entrySenderID, len(e.SenderID))
	}
	return n
}

func (e *HistoryEntry) appendEntry(b []byte, f Format) []byte {
	if f != FormatRFC || e.MessageID != "" {
		b = appendLDString(b, entryMessageID, e.MessageID)
	}
	if (f == FormatRFC && e.RetrievalHint != nil) || len(e.RetrievalHint) > 0 {
		b = appendLDBytes(b, entryRetrievalHint, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = appendLDString(b, entrySenderID, e.SenderID)
	}
	return b
}

func entriesLen(es []HistoryEntry, num protowire.Number, f Format) int {
	n := 0
	for i := range es {
		n += sizeLD(num, es[i].entryLen(f))
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

func (m *Message) nimLen() int {
	n := sizeLD(nimMessageID, len(m.MessageID)) +
		sizeVarint(nimLamport, m.LamportTimestamp) +
		entriesLen(m.CausalHistory, nimCausalHistory, FormatNim) +
		sizeLD(nimChannelID, len(m.ChannelID)) +
		sizeLD(nimContent, len(m.Content)) +
		sizeLD(nimBloomFilter, len(m.BloomFilter)) +
		entriesLen(m.RepairRequest, nimRepairRequest, FormatNim)
	if m.SenderID != "" {
		n += sizeLD(nimSenderID, len(m.SenderID))
	}
	return n
}

func (m *Message) rfcLen() int {
	n := entriesLen(m.CausalHistory, rfcCausalHistory, FormatRFC) +
		entriesLen(m.RepairRequest, rfcRepairRequest, FormatRFC)
	if m.SenderID != "" {
		n += sizeLD(rfcSenderID, len(m.SenderID))
	}
	if m.MessageID != "" {
		n += sizeLD(rfcMessageID, len(m.MessageID))
	}
	if m.ChannelID != "" {
		n += sizeLD(rfcChannelID, len(m.ChannelID))
	}
	if m.HasLamport {
		n += sizeVarint(rfcLamport, m.LamportTimestamp)
	}
	if m.BloomFilter != nil {
		n += sizeLD(rfcBloomFilter, len(m.BloomFilter))
	}
	if m.Content != nil {
		n += sizeLD(rfcContent, len(m.Content))
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
	b = appendLDString(b, nimMessageID, m.MessageID)
	b = protowire.AppendTag(b, nimLamport, protowire.VarintType)
	b = protowire.AppendVarint(b, m.LamportTimestamp)
	b = appendEntries(b, m.CausalHistory, nimCausalHistory, FormatNim)
	b = appendLDString(b, nimChannelID, m.ChannelID)
	b = appendLDBytes(b, nimContent, m.Content)
	b = appendLDBytes(b, nimBloomFilter, m.BloomFilter)
	if m.SenderID != "" {
		b = appendLDString(b, nimSenderID, m.SenderID)
	}
	return appendEntries(b, m.RepairRequest, nimRepairRequest, FormatNim)
}

func (m *Message) appendRFC(b []byte) []byte {
	if m.SenderID != "" {
		b = appendLDString(b, rfcSenderID, m.SenderID)
	}
	if m.MessageID != "" {
		b = appendLDString(b, rfcMessageID, m.MessageID)
	}
	if m.ChannelID != "" {
		b = appendLDString(b, rfcChannelID, m.ChannelID)
	}
	if m.HasLamport {
		b = protowire.AppendTag(b, rfcLamport, protowire.VarintType)
		b = protowire.AppendVarint(b, m.LamportTimestamp)
	}
	b = appendEntries(b, m.CausalHistory, rfcCausalHistory, FormatRFC)
	if m.BloomFilter != nil {
		b = appendLDBytes(b, rfcBloomFilter, m.BloomFilter)
	}
	b = appendEntries(b, m.RepairRequest, rfcRepairRequest, FormatRFC)
	if m.Content != nil {
		b = appendLDBytes(b, rfcContent, m.Content)
	}
	return b
}
