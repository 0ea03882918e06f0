package persist

import (
	"bytes"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds/internal/protofield"
	"github.com/libsds-go/libsds/sds/wire"
)

// SchemaVersion is the ChannelMeta schemaVersion this package reads and
// writes (the Nim ChannelMetaSchemaVersion).
const SchemaVersion uint32 = 1

// The Nim record types. Field numbers and encoding follow the Nim
// snapshot_codec exactly; times are unix milliseconds (Nim drops the
// sub-millisecond part), written as the uint64 varint of the int64.

// UnacknowledgedMessage is an outgoing message waiting for acknowledgement:
// message 1, sendTime 2, resendAttempts 3 (all always written).
type UnacknowledgedMessage struct {
	Message        wire.Message
	SendTimeMs     int64 // unix milliseconds
	ResendAttempts uint32
}

// IncomingMessage is a received message waiting for its dependencies:
// message 1, one missingDeps 2 per id.
type IncomingMessage struct {
	Message     wire.Message
	MissingDeps []string // a set: decoding drops repeats, keeping first-seen order
}

// OutgoingRepairEntry is an SDS-R repair request we may send: outHistEntry
// 1, minTimeRepairReq 2.
type OutgoingRepairEntry struct {
	HistEntry          wire.HistoryEntry
	MinTimeRepairReqMs int64 // unix milliseconds
}

// OutgoingRepairKV is one entry of the outgoing repair buffer (a table keyed
// by the missing message id): messageId 1, entry 2.
type OutgoingRepairKV struct {
	MessageID string
	Entry     OutgoingRepairEntry
}

// IncomingRepairEntry is an SDS-R repair response we may send: inHistEntry
// 1, cachedMessage 2 (always written, the wire bytes to rebroadcast),
// minTimeRepairResp 3.
type IncomingRepairEntry struct {
	HistEntry           wire.HistoryEntry
	CachedMessage       []byte
	MinTimeRepairRespMs int64 // unix milliseconds
}

// IncomingRepairKV is one entry of the incoming repair buffer: messageId 1,
// entry 2.
type IncomingRepairKV struct {
	MessageID string
	Entry     IncomingRepairEntry
}

// ChannelMeta is the Nim per-channel snapshot: schemaVersion 1,
// lamportTimestamp 2 (both always written), then one field per buffer
// entry: outgoingBuffer 3, incomingBuffer 4, outgoingRepairBuffer 5,
// incomingRepairBuffer 6. This package stores it as keyed records (see
// RecordsOf); the blob is for moving state to and from the Nim library.
type ChannelMeta struct {
	SchemaVersion  uint32 // 0 is written as SchemaVersion
	Lamport        uint64 // Nim int64; the same varint
	Outgoing       []UnacknowledgedMessage
	Incoming       []IncomingMessage
	OutgoingRepair []OutgoingRepairKV
	IncomingRepair []IncomingRepairKV
}

// NimChannelData is the Nim ChannelData (the bootstrap payload): meta 1,
// one messageHistory 2 per message, oldest first.
type NimChannelData struct {
	Meta    ChannelMeta
	History []wire.Message
}

// HistoryUpdate is the Nim HistoryUpdate: one append 1 per message (in
// delivery order), one evict 2 per id. Backends apply the appends in order,
// then the evictions (see Backend.UpdateHistory).
type HistoryUpdate struct {
	Append []wire.Message
	Evict  []string
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

func appendMessageField(b []byte, num protowire.Number, m *wire.Message) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(m.EncodedLen(wire.FormatNim)))
	return m.Append(b, wire.FormatNim)
}

func sizeMessageField(num protowire.Number, m *wire.Message) int {
	return protofield.SizeBytes(num, m.EncodedLen(wire.FormatNim))
}

// entryLen is the length of e's Nim encoding: message_id 1 always,
// retrieval_hint 2 and sender_id 3 only when non-empty.
func entryLen(e *wire.HistoryEntry) int {
	n := protofield.SizeBytes(1, len(e.MessageID))
	if len(e.RetrievalHint) > 0 {
		n += protofield.SizeBytes(2, len(e.RetrievalHint))
	}
	if e.SenderID != "" {
		n += protofield.SizeBytes(3, len(e.SenderID))
	}
	return n
}

func appendEntry(b []byte, e *wire.HistoryEntry) []byte {
	b = protofield.AppendString(b, 1, e.MessageID)
	if len(e.RetrievalHint) > 0 {
		b = protofield.AppendBytes(b, 2, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = protofield.AppendString(b, 3, e.SenderID)
	}
	return b
}

func appendEntryField(b []byte, num protowire.Number, e *wire.HistoryEntry) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entryLen(e)))
	return appendEntry(b, e)
}

// EncodedLen returns the length of u's encoding.
func (u *UnacknowledgedMessage) EncodedLen() int {
	return sizeMessageField(1, &u.Message) +
		protofield.SizeVarint(2, uint64(u.SendTimeMs)) +
		protofield.SizeVarint(3, uint64(u.ResendAttempts))
}

// AppendTo appends u's encoding to b.
func (u *UnacknowledgedMessage) AppendTo(b []byte) []byte {
	b = appendMessageField(b, 1, &u.Message)
	b = protofield.AppendVarint(b, 2, uint64(u.SendTimeMs))
	return protofield.AppendVarint(b, 3, uint64(u.ResendAttempts))
}

// Marshal returns u's encoding.
func (u *UnacknowledgedMessage) Marshal() []byte {
	return u.AppendTo(make([]byte, 0, u.EncodedLen()))
}

// EncodedLen returns the length of m's encoding.
func (m *IncomingMessage) EncodedLen() int {
	n := sizeMessageField(1, &m.Message)
	for _, d := range m.MissingDeps {
		n += protofield.SizeBytes(2, len(d))
	}
	return n
}

// AppendTo appends m's encoding to b.
func (m *IncomingMessage) AppendTo(b []byte) []byte {
	b = appendMessageField(b, 1, &m.Message)
	for _, d := range m.MissingDeps {
		b = protofield.AppendString(b, 2, d)
	}
	return b
}

// Marshal returns m's encoding.
func (m *IncomingMessage) Marshal() []byte { return m.AppendTo(make([]byte, 0, m.EncodedLen())) }

func (e *OutgoingRepairEntry) encodedLen() int {
	return protofield.SizeBytes(1, entryLen(&e.HistEntry)) + protofield.SizeVarint(2, uint64(e.MinTimeRepairReqMs))
}

func (e *OutgoingRepairEntry) append(b []byte) []byte {
	b = appendEntryField(b, 1, &e.HistEntry)
	return protofield.AppendVarint(b, 2, uint64(e.MinTimeRepairReqMs))
}

// EncodedLen returns the length of kv's encoding.
func (kv *OutgoingRepairKV) EncodedLen() int {
	return protofield.SizeBytes(1, len(kv.MessageID)) + protofield.SizeBytes(2, kv.Entry.encodedLen())
}

// AppendTo appends kv's encoding to b.
func (kv *OutgoingRepairKV) AppendTo(b []byte) []byte {
	b = protofield.AppendString(b, 1, kv.MessageID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(kv.Entry.encodedLen()))
	return kv.Entry.append(b)
}

// Marshal returns kv's encoding.
func (kv *OutgoingRepairKV) Marshal() []byte { return kv.AppendTo(make([]byte, 0, kv.EncodedLen())) }

func (e *IncomingRepairEntry) encodedLen() int {
	return protofield.SizeBytes(1, entryLen(&e.HistEntry)) +
		protofield.SizeBytes(2, len(e.CachedMessage)) +
		protofield.SizeVarint(3, uint64(e.MinTimeRepairRespMs))
}

func (e *IncomingRepairEntry) append(b []byte) []byte {
	b = appendEntryField(b, 1, &e.HistEntry)
	b = protofield.AppendBytes(b, 2, e.CachedMessage)
	return protofield.AppendVarint(b, 3, uint64(e.MinTimeRepairRespMs))
}

// EncodedLen returns the length of kv's encoding.
func (kv *IncomingRepairKV) EncodedLen() int {
	return protofield.SizeBytes(1, len(kv.MessageID)) + protofield.SizeBytes(2, kv.Entry.encodedLen())
}

// AppendTo appends kv's encoding to b.
func (kv *IncomingRepairKV) AppendTo(b []byte) []byte {
	b = protofield.AppendString(b, 1, kv.MessageID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(kv.Entry.encodedLen()))
	return kv.Entry.append(b)
}

// Marshal returns kv's encoding.
func (kv *IncomingRepairKV) Marshal() []byte { return kv.AppendTo(make([]byte, 0, kv.EncodedLen())) }

func (m *ChannelMeta) version() uint32 {
	if m.SchemaVersion == 0 {
		return SchemaVersion
	}
	return m.SchemaVersion
}

// EncodedLen returns the length of m's encoding.
func (m *ChannelMeta) EncodedLen() int {
	n := protofield.SizeVarint(1, uint64(m.version())) + protofield.SizeVarint(2, m.Lamport)
	for i := range m.Outgoing {
		n += protofield.SizeBytes(3, m.Outgoing[i].EncodedLen())
	}
	for i := range m.Incoming {
		n += protofield.SizeBytes(4, m.Incoming[i].EncodedLen())
	}
	for i := range m.OutgoingRepair {
		n += protofield.SizeBytes(5, m.OutgoingRepair[i].EncodedLen())
	}
	for i := range m.IncomingRepair {
		n += protofield.SizeBytes(6, m.IncomingRepair[i].EncodedLen())
	}
	return n
}

// AppendTo appends m's encoding (the Nim ChannelMeta blob) to b, buffers in
// slice order.
func (m *ChannelMeta) AppendTo(b []byte) []byte {
	b = protofield.AppendVarint(b, 1, uint64(m.version()))
	b = protofield.AppendVarint(b, 2, m.Lamport)
	for i := range m.Outgoing {
		u := &m.Outgoing[i]
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(u.EncodedLen()))
		b = u.AppendTo(b)
	}
	for i := range m.Incoming {
		in := &m.Incoming[i]
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(in.EncodedLen()))
		b = in.AppendTo(b)
	}
	for i := range m.OutgoingRepair {
		kv := &m.OutgoingRepair[i]
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(kv.EncodedLen()))
		b = kv.AppendTo(b)
	}
	for i := range m.IncomingRepair {
		kv := &m.IncomingRepair[i]
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(kv.EncodedLen()))
		b = kv.AppendTo(b)
	}
	return b
}

// Marshal returns m's encoding, the Nim ChannelMeta blob.
func (m *ChannelMeta) Marshal() []byte { return m.AppendTo(make([]byte, 0, m.EncodedLen())) }

// EncodedLen returns the length of d's encoding.
func (d *NimChannelData) EncodedLen() int {
	n := protofield.SizeBytes(1, d.Meta.EncodedLen())
	for i := range d.History {
		n += sizeMessageField(2, &d.History[i])
	}
	return n
}

// AppendTo appends d's encoding (the Nim ChannelData blob) to b.
func (d *NimChannelData) AppendTo(b []byte) []byte {
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(d.Meta.EncodedLen()))
	b = d.Meta.AppendTo(b)
	for i := range d.History {
		b = appendMessageField(b, 2, &d.History[i])
	}
	return b
}

// Marshal returns d's encoding, the Nim ChannelData blob.
func (d *NimChannelData) Marshal() []byte { return d.AppendTo(make([]byte, 0, d.EncodedLen())) }

// EncodedLen returns the length of u's encoding.
func (u *HistoryUpdate) EncodedLen() int {
	n := 0
	for i := range u.Append {
		n += sizeMessageField(1, &u.Append[i])
	}
	for _, id := range u.Evict {
		n += protofield.SizeBytes(2, len(id))
	}
	return n
}

// AppendTo appends u's encoding (the Nim HistoryUpdate blob) to b. An
// empty update encodes to no bytes; the Nim encoder refuses it and callers
// skip it.
func (u *HistoryUpdate) AppendTo(b []byte) []byte {
	for i := range u.Append {
		b = appendMessageField(b, 1, &u.Append[i])
	}
	for _, id := range u.Evict {
		b = protofield.AppendString(b, 2, id)
	}
	return b
}

// Marshal returns u's encoding, the Nim HistoryUpdate blob.
func (u *HistoryUpdate) Marshal() []byte { return u.AppendTo(make([]byte, 0, u.EncodedLen())) }

// IsEmpty reports whether u neither appends nor evicts.
func (u *HistoryUpdate) IsEmpty() bool { return u == nil || len(u.Append) == 0 && len(u.Evict) == 0 }

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

// DecodeMessage decodes a stored SDS message, which must be in the Nim wire
// format (as backends store history messages). Nothing in the result aliases
// b (unlike wire.Decode, the bloom filter is copied too).
func DecodeMessage(b []byte, lim Limits) (wire.Message, error) {
	lim = lim.norm()
	return decodeMessage(b, &lim, "message")
}

// decodeMessage decodes an embedded SDS message, which must be in the Nim
// format. Nothing in the result aliases b.
func decodeMessage(b []byte, lim *Limits, where string) (wire.Message, error) {
	m, f, err := wire.Decode(b, lim.Wire)
	if err != nil {
		return wire.Message{}, wrapWire(err, where)
	}
	if f != wire.FormatNim {
		return wire.Message{}, fmt.Errorf("%w: %s: not a Nim-format SDS message", ErrMalformed, where)
	}
	if m.BloomFilter != nil {
		m.BloomFilter = bytes.Clone(m.BloomFilter)
	}
	return m, nil
}

// decodeEntry decodes a HistoryEntry as the Nim decodeHistoryEntry does:
// message_id 1 required, retrieval_hint 2 and sender_id 3 optional.
func decodeEntry(b []byte, lim *Limits, where string) (wire.HistoryEntry, error) {
	var id, hint, sender []byte
	hasID := false
	err := eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			id, hasID = f.Data, true
		case 2:
			hint = f.Data
		case 3:
			sender = f.Data
		}
		return nil
	})
	if err != nil {
		return wire.HistoryEntry{}, fmt.Errorf("%s: %w", where, err)
	}
	if !hasID {
		return wire.HistoryEntry{}, missing(where + ".messageId")
	}
	if len(id) > lim.Wire.MaxIDBytes || len(sender) > lim.Wire.MaxIDBytes {
		return wire.HistoryEntry{}, fmt.Errorf("%w: %s: id longer than %d bytes", ErrLimit, where, lim.Wire.MaxIDBytes)
	}
	if len(hint) > lim.Wire.MaxHintBytes {
		return wire.HistoryEntry{}, fmt.Errorf("%w: %s: retrieval hint longer than %d bytes", ErrLimit, where, lim.Wire.MaxHintBytes)
	}
	e := wire.HistoryEntry{MessageID: string(id), SenderID: string(sender)}
	if len(hint) > 0 {
		e.RetrievalHint = bytes.Clone(hint)
	}
	return e, nil
}

func checkID(id []byte, lim *Limits, where string) error {
	if len(id) > lim.Wire.MaxIDBytes {
		return fmt.Errorf("%w: %s: id of %d bytes, limit %d", ErrLimit, where, len(id), lim.Wire.MaxIDBytes)
	}
	return nil
}

func checkRecordSize(b []byte, lim *Limits, what string) error {
	if len(b) > lim.MaxRecordBytes {
		return fmt.Errorf("%w: %s of %d bytes, limit %d", ErrLimit, what, len(b), lim.MaxRecordBytes)
	}
	return nil
}

// DecodeUnacknowledged decodes an UnacknowledgedMessage blob.
func DecodeUnacknowledged(b []byte, lim Limits) (UnacknowledgedMessage, error) {
	lim = lim.norm()
	return decodeUnacked(b, &lim)
}

func decodeUnacked(b []byte, lim *Limits) (UnacknowledgedMessage, error) {
	const what = "UnacknowledgedMessage"
	if err := checkRecordSize(b, lim, what); err != nil {
		return UnacknowledgedMessage{}, err
	}
	var msg []byte
	var sendMs, attempts uint64
	var hasMsg, hasSend bool
	err := eachField(b, func(f *protofield.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.BytesType:
			msg, hasMsg = f.Data, true
		case f.Num == 2 && f.Type == protowire.VarintType:
			sendMs, hasSend = f.V, true
		case f.Num == 3 && f.Type == protowire.VarintType:
			attempts = f.V
		}
		return nil
	})
	if err != nil {
		return UnacknowledgedMessage{}, fmt.Errorf("%s: %w", what, err)
	}
	if !hasMsg {
		return UnacknowledgedMessage{}, missing(what + ".message")
	}
	if !hasSend {
		return UnacknowledgedMessage{}, missing(what + ".sendTime")
	}
	if attempts > math.MaxUint32 {
		return UnacknowledgedMessage{}, fmt.Errorf("%w: %s.resendAttempts %d overflows uint32", ErrMalformed, what, attempts)
	}
	m, err := decodeMessage(msg, lim, what+".message")
	if err != nil {
		return UnacknowledgedMessage{}, err
	}
	return UnacknowledgedMessage{Message: m, SendTimeMs: int64(sendMs), ResendAttempts: uint32(attempts)}, nil
}

// DecodeIncoming decodes an IncomingMessage blob.
func DecodeIncoming(b []byte, lim Limits) (IncomingMessage, error) {
	lim = lim.norm()
	return decodeIncoming(b, &lim)
}

func decodeIncoming(b []byte, lim *Limits) (IncomingMessage, error) {
	const what = "IncomingMessage"
	if err := checkRecordSize(b, lim, what); err != nil {
		return IncomingMessage{}, err
	}
	var msg []byte
	var hasMsg bool
	var deps []string
	seen := map[string]struct{}{}
	err := eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			msg, hasMsg = f.Data, true
		case 2:
			if err := checkID(f.Data, lim, what+".missingDeps"); err != nil {
				return err
			}
			if _, dup := seen[string(f.Data)]; dup {
				return nil
			}
			if len(deps) >= lim.MaxMissingDeps {
				return fmt.Errorf("%w: %s: more than %d missing dependencies", ErrLimit, what, lim.MaxMissingDeps)
			}
			d := string(f.Data)
			seen[d] = struct{}{}
			deps = append(deps, d)
		}
		return nil
	})
	if err != nil {
		return IncomingMessage{}, fmt.Errorf("%s: %w", what, err)
	}
	if !hasMsg {
		return IncomingMessage{}, missing(what + ".message")
	}
	m, err := decodeMessage(msg, lim, what+".message")
	if err != nil {
		return IncomingMessage{}, err
	}
	return IncomingMessage{Message: m, MissingDeps: deps}, nil
}

// kvFields reads the messageId 1 and entry 2 of a repair KV.
func kvFields(b []byte, lim *Limits, what string) (id, entry []byte, err error) {
	var hasID, hasEntry bool
	err = eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			id, hasID = f.Data, true
		case 2:
			entry, hasEntry = f.Data, true
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	case !hasID:
		return nil, nil, missing(what + ".messageId")
	case !hasEntry:
		return nil, nil, missing(what + ".entry")
	}
	if err := checkID(id, lim, what+".messageId"); err != nil {
		return nil, nil, err
	}
	return id, entry, nil
}

// DecodeOutgoingRepair decodes an OutgoingRepairKV blob.
func DecodeOutgoingRepair(b []byte, lim Limits) (OutgoingRepairKV, error) {
	lim = lim.norm()
	return decodeOutRepair(b, &lim)
}

func decodeOutRepair(b []byte, lim *Limits) (OutgoingRepairKV, error) {
	const what = "OutgoingRepairKV"
	if err := checkRecordSize(b, lim, what); err != nil {
		return OutgoingRepairKV{}, err
	}
	id, eb, err := kvFields(b, lim, what)
	if err != nil {
		return OutgoingRepairKV{}, err
	}
	var hist []byte
	var ms uint64
	var hasHist, hasMs bool
	err = eachField(eb, func(f *protofield.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.BytesType:
			hist, hasHist = f.Data, true
		case f.Num == 2 && f.Type == protowire.VarintType:
			ms, hasMs = f.V, true
		}
		return nil
	})
	switch {
	case err != nil:
		return OutgoingRepairKV{}, fmt.Errorf("%s.entry: %w", what, err)
	case !hasHist:
		return OutgoingRepairKV{}, missing(what + ".entry.outHistEntry")
	case !hasMs:
		return OutgoingRepairKV{}, missing(what + ".entry.minTimeRepairReq")
	}
	e, err := decodeEntry(hist, lim, what+".entry.outHistEntry")
	if err != nil {
		return OutgoingRepairKV{}, err
	}
	return OutgoingRepairKV{MessageID: string(id), Entry: OutgoingRepairEntry{HistEntry: e, MinTimeRepairReqMs: int64(ms)}}, nil
}

// DecodeIncomingRepair decodes an IncomingRepairKV blob.
func DecodeIncomingRepair(b []byte, lim Limits) (IncomingRepairKV, error) {
	lim = lim.norm()
	return decodeInRepair(b, &lim)
}

func decodeInRepair(b []byte, lim *Limits) (IncomingRepairKV, error) {
	const what = "IncomingRepairKV"
	if err := checkRecordSize(b, lim, what); err != nil {
		return IncomingRepairKV{}, err
	}
	id, eb, err := kvFields(b, lim, what)
	if err != nil {
		return IncomingRepairKV{}, err
	}
	var hist, cached []byte
	var ms uint64
	var hasHist, hasCached, hasMs bool
	err = eachField(eb, func(f *protofield.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.BytesType:
			hist, hasHist = f.Data, true
		case f.Num == 2 && f.Type == protowire.BytesType:
			cached, hasCached = f.Data, true
		case f.Num == 3 && f.Type == protowire.VarintType:
			ms, hasMs = f.V, true
		}
		return nil
	})
	switch {
	case err != nil:
		return IncomingRepairKV{}, fmt.Errorf("%s.entry: %w", what, err)
	case !hasHist:
		return IncomingRepairKV{}, missing(what + ".entry.inHistEntry")
	case !hasCached:
		return IncomingRepairKV{}, missing(what + ".entry.cachedMessage")
	case !hasMs:
		return IncomingRepairKV{}, missing(what + ".entry.minTimeRepairResp")
	}
	if len(cached) > lim.Wire.MaxMessageBytes {
		return IncomingRepairKV{}, fmt.Errorf("%w: %s.entry.cachedMessage of %d bytes, limit %d", ErrLimit, what, len(cached), lim.Wire.MaxMessageBytes)
	}
	e, err := decodeEntry(hist, lim, what+".entry.inHistEntry")
	if err != nil {
		return IncomingRepairKV{}, err
	}
	return IncomingRepairKV{MessageID: string(id), Entry: IncomingRepairEntry{
		HistEntry:           e,
		CachedMessage:       bytes.Clone(cached), // non-nil even when empty
		MinTimeRepairRespMs: int64(ms),
	}}, nil
}

// metaParts is a ChannelMeta blob split into its fields, the buffer entries
// still encoded (aliasing the blob).
type metaParts struct {
	lamport                uint64
	out, in, outRep, inRep [][]byte
}

func checkBlobSize(b []byte, lim *Limits, what string) error {
	if len(b) > lim.MaxBlobBytes {
		return fmt.Errorf("%w: %s of %d bytes, limit %d", ErrLimit, what, len(b), lim.MaxBlobBytes)
	}
	return nil
}

// splitMeta checks b's schemaVersion and splits it into its fields.
func splitMeta(b []byte, lim *Limits) (*metaParts, error) {
	const what = "ChannelMeta"
	if err := checkBlobSize(b, lim, what); err != nil {
		return nil, err
	}
	var ver, lamport uint64
	var hasVer, hasLamport bool
	counts := [7]int{}
	err := eachField(b, func(f *protofield.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.VarintType:
			ver, hasVer = f.V, true
		case f.Num == 2 && f.Type == protowire.VarintType:
			lamport, hasLamport = f.V, true
		case f.Num >= 3 && f.Num <= 6 && f.Type == protowire.BytesType:
			counts[f.Num]++
			if counts[f.Num] > lim.MaxEntries {
				return fmt.Errorf("%w: %s field %d: more than %d entries", ErrLimit, what, f.Num, lim.MaxEntries)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !hasVer {
		return nil, missing(what + ".schemaVersion")
	}
	if ver != uint64(SchemaVersion) {
		return nil, fmt.Errorf("%w: blob has version %d, this library reads version %d", ErrSchemaVersion, ver, SchemaVersion)
	}
	if !hasLamport {
		return nil, missing(what + ".lamportTimestamp")
	}
	p := &metaParts{
		lamport: lamport,
		out:     make([][]byte, 0, counts[3]),
		in:      make([][]byte, 0, counts[4]),
		outRep:  make([][]byte, 0, counts[5]),
		inRep:   make([][]byte, 0, counts[6]),
	}
	_ = eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 3:
			p.out = append(p.out, f.Data)
		case 4:
			p.in = append(p.in, f.Data)
		case 5:
			p.outRep = append(p.outRep, f.Data)
		case 6:
			p.inRep = append(p.inRep, f.Data)
		}
		return nil
	})
	return p, nil
}

// DecodeChannelMeta decodes a Nim ChannelMeta blob, refusing (with
// ErrSchemaVersion) a schemaVersion other than SchemaVersion. Buffers keep
// the blob's order; nothing in the result aliases b.
func DecodeChannelMeta(b []byte, lim Limits) (*ChannelMeta, error) {
	lim = lim.norm()
	return decodeMeta(b, &lim)
}

func decodeMeta(b []byte, lim *Limits) (*ChannelMeta, error) {
	p, err := splitMeta(b, lim)
	if err != nil {
		return nil, err
	}
	m := &ChannelMeta{
		SchemaVersion:  SchemaVersion,
		Lamport:        p.lamport,
		Outgoing:       makeN[UnacknowledgedMessage](len(p.out)),
		Incoming:       makeN[IncomingMessage](len(p.in)),
		OutgoingRepair: makeN[OutgoingRepairKV](len(p.outRep)),
		IncomingRepair: makeN[IncomingRepairKV](len(p.inRep)),
	}
	for i, e := range p.out {
		if m.Outgoing[i], err = decodeUnacked(e, lim); err != nil {
			return nil, fmt.Errorf("ChannelMeta.outgoingBuffer[%d]: %w", i, err)
		}
	}
	for i, e := range p.in {
		if m.Incoming[i], err = decodeIncoming(e, lim); err != nil {
			return nil, fmt.Errorf("ChannelMeta.incomingBuffer[%d]: %w", i, err)
		}
	}
	for i, e := range p.outRep {
		if m.OutgoingRepair[i], err = decodeOutRepair(e, lim); err != nil {
			return nil, fmt.Errorf("ChannelMeta.outgoingRepairBuffer[%d]: %w", i, err)
		}
	}
	for i, e := range p.inRep {
		if m.IncomingRepair[i], err = decodeInRepair(e, lim); err != nil {
			return nil, fmt.Errorf("ChannelMeta.incomingRepairBuffer[%d]: %w", i, err)
		}
	}
	return m, nil
}

// makeN returns a slice of n elements, nil for none (empty buffers decode
// as nil, whichever way they are decoded).
func makeN[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}

// nimDataParts splits a Nim ChannelData blob into its meta blob and its
// history messages (aliasing b).
func nimDataParts(b []byte, lim *Limits) (meta []byte, hist [][]byte, err error) {
	const what = "ChannelData"
	if err := checkBlobSize(b, lim, what); err != nil {
		return nil, nil, err
	}
	hasMeta := false
	err = eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			meta, hasMeta = f.Data, true
		case 2:
			if len(hist) >= lim.MaxEntries {
				return fmt.Errorf("%w: %s: more than %d history messages", ErrLimit, what, lim.MaxEntries)
			}
			hist = append(hist, f.Data)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if !hasMeta {
		return nil, nil, missing(what + ".meta")
	}
	return meta, hist, nil
}

func decodeHistory(hist [][]byte, lim *Limits, what string) ([]wire.Message, error) {
	out := makeN[wire.Message](len(hist))
	for i, h := range hist {
		m, err := decodeMessage(h, lim, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// DecodeNimChannelData decodes a Nim ChannelData blob.
func DecodeNimChannelData(b []byte, lim Limits) (*NimChannelData, error) {
	lim = lim.norm()
	mb, hist, err := nimDataParts(b, &lim)
	if err != nil {
		return nil, err
	}
	meta, err := decodeMeta(mb, &lim)
	if err != nil {
		return nil, fmt.Errorf("ChannelData.meta: %w", err)
	}
	h, err := decodeHistory(hist, &lim, "ChannelData.messageHistory")
	if err != nil {
		return nil, err
	}
	return &NimChannelData{Meta: *meta, History: h}, nil
}

// DecodeHistoryUpdate decodes a Nim HistoryUpdate blob.
func DecodeHistoryUpdate(b []byte, lim Limits) (*HistoryUpdate, error) {
	lim = lim.norm()
	const what = "HistoryUpdate"
	if err := checkBlobSize(b, &lim, what); err != nil {
		return nil, err
	}
	var apps [][]byte
	u := &HistoryUpdate{}
	err := eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			if len(apps) >= lim.MaxEntries {
				return fmt.Errorf("%w: %s: more than %d appends", ErrLimit, what, lim.MaxEntries)
			}
			apps = append(apps, f.Data)
		case 2:
			if len(u.Evict) >= lim.MaxEntries {
				return fmt.Errorf("%w: %s: more than %d evictions", ErrLimit, what, lim.MaxEntries)
			}
			if err := checkID(f.Data, &lim, what+".evict"); err != nil {
				return err
			}
			u.Evict = append(u.Evict, string(f.Data))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if u.Append, err = decodeHistory(apps, &lim, what+".append"); err != nil {
		return nil, err
	}
	return u, nil
}
