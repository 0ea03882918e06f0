package persist

import (
	"bytes"
	"cmp"
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
// recordsOf); the blob is for moving state to and from the Nim library.
type ChannelMeta struct {
	SchemaVersion  uint32 // 0 is written as SchemaVersion
	Lamport        uint64 // Nim int64; the same varint
	Outgoing       []UnacknowledgedMessage
	Incoming       []IncomingMessage
	OutgoingRepair []OutgoingRepairKV
	IncomingRepair []IncomingRepairKV
}

// nimChannelData is the Nim ChannelData (the bootstrap payload): meta 1,
// one messageHistory 2 per message, oldest first.
type nimChannelData struct {
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

// Each record type has one encoder, its appendTo. A record nested in
// another is written by appendNested, which puts the length in front once
// the record is written, so no record needs a length function of its own.

// encoder is a record that appends its encoding.
type encoder interface {
	appendTo(b []byte) []byte
}

// appendNested appends field num holding r's encoding. One byte is kept
// for the length (most entries are shorter than 128 bytes); a longer
// record is moved right to make room for its length.
func appendNested(b []byte, num protowire.Number, r encoder) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	b = r.appendTo(append(b, 0))
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	var pad [9]byte
	extra := protowire.SizeVarint(uint64(n)) - 1
	b = append(b, pad[:extra]...)
	copy(b[at+1+extra:], b[at+1:at+1+n])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}

// encode returns r's encoding in a buffer of hint bytes to start with.
// The hints of the records written on every operation follow their
// message or ids; one that falls short costs a regrowth, never a wrong
// encoding.
func encode(r encoder, hint int) []byte { return r.appendTo(make([]byte, 0, hint)) }

// messageHint is roughly what m adds to a record.
func messageHint(m *wire.Message) int { return m.EncodedLen(wire.FormatNim) + 32 }

// entryHint is roughly what a repair entry and its key add to a record.
func entryHint(e *wire.HistoryEntry) int {
	return 2*len(e.MessageID) + len(e.RetrievalHint) + len(e.SenderID) + 32
}

// appendMessageField appends field num holding m in the Nim wire format,
// whose length wire computes.
func appendMessageField(b []byte, num protowire.Number, m *wire.Message) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(m.EncodedLen(wire.FormatNim)))
	return m.Append(b, wire.FormatNim)
}

// nimEntry is a history entry in its Nim encoding: message_id 1 always,
// retrieval_hint 2 and sender_id 3 only when non-empty.
type nimEntry wire.HistoryEntry

func (e *nimEntry) appendTo(b []byte) []byte {
	b = protofield.AppendString(b, 1, e.MessageID)
	if len(e.RetrievalHint) > 0 {
		b = protofield.AppendBytes(b, 2, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = protofield.AppendString(b, 3, e.SenderID)
	}
	return b
}

// appendTo appends u's encoding to b.
func (u *UnacknowledgedMessage) appendTo(b []byte) []byte {
	b = appendMessageField(b, 1, &u.Message)
	b = protofield.AppendVarint(b, 2, uint64(u.SendTimeMs))
	return protofield.AppendVarint(b, 3, uint64(u.ResendAttempts))
}

// marshal returns u's encoding.
func (u *UnacknowledgedMessage) marshal() []byte { return encode(u, messageHint(&u.Message)) }

// appendTo appends m's encoding to b.
func (m *IncomingMessage) appendTo(b []byte) []byte {
	b = appendMessageField(b, 1, &m.Message)
	for _, d := range m.MissingDeps {
		b = protofield.AppendString(b, 2, d)
	}
	return b
}

// marshal returns m's encoding.
func (m *IncomingMessage) marshal() []byte {
	hint := messageHint(&m.Message)
	for _, d := range m.MissingDeps {
		hint += len(d) + 3
	}
	return encode(m, hint)
}

// appendTo appends e's encoding to b.
func (e *OutgoingRepairEntry) appendTo(b []byte) []byte {
	b = appendNested(b, 1, (*nimEntry)(&e.HistEntry))
	return protofield.AppendVarint(b, 2, uint64(e.MinTimeRepairReqMs))
}

// appendTo appends kv's encoding to b.
func (kv *OutgoingRepairKV) appendTo(b []byte) []byte {
	b = protofield.AppendString(b, 1, kv.MessageID)
	return appendNested(b, 2, &kv.Entry)
}

// marshal returns kv's encoding.
func (kv *OutgoingRepairKV) marshal() []byte { return encode(kv, entryHint(&kv.Entry.HistEntry)) }

// appendTo appends e's encoding to b.
func (e *IncomingRepairEntry) appendTo(b []byte) []byte {
	b = appendNested(b, 1, (*nimEntry)(&e.HistEntry))
	b = protofield.AppendBytes(b, 2, e.CachedMessage)
	return protofield.AppendVarint(b, 3, uint64(e.MinTimeRepairRespMs))
}

// appendTo appends kv's encoding to b.
func (kv *IncomingRepairKV) appendTo(b []byte) []byte {
	b = protofield.AppendString(b, 1, kv.MessageID)
	return appendNested(b, 2, &kv.Entry)
}

// marshal returns kv's encoding.
func (kv *IncomingRepairKV) marshal() []byte {
	return encode(kv, entryHint(&kv.Entry.HistEntry)+len(kv.Entry.CachedMessage))
}

func (m *ChannelMeta) version() uint32 {
	if m.SchemaVersion == 0 {
		return SchemaVersion
	}
	return m.SchemaVersion
}

// AppendTo appends m's encoding (the Nim ChannelMeta blob) to b, buffers in
// slice order.
func (m *ChannelMeta) AppendTo(b []byte) []byte {
	b = protofield.AppendVarint(b, 1, uint64(m.version()))
	b = protofield.AppendVarint(b, 2, m.Lamport)
	b = outgoingBuffer.appendAll(b, m.Outgoing)
	b = incomingBuffer.appendAll(b, m.Incoming)
	b = outgoingRepairBuffer.appendAll(b, m.OutgoingRepair)
	return incomingRepairBuffer.appendAll(b, m.IncomingRepair)
}

// Marshal returns m's encoding, the Nim ChannelMeta blob.
func (m *ChannelMeta) Marshal() []byte {
	hint := 32
	for i := range m.Outgoing {
		hint += messageHint(&m.Outgoing[i].Message)
	}
	for i := range m.Incoming {
		hint += messageHint(&m.Incoming[i].Message)
	}
	return encode(m, hint)
}

func (m *ChannelMeta) appendTo(b []byte) []byte { return m.AppendTo(b) }

// appendTo appends d's encoding (the Nim ChannelData blob) to b.
func (d *nimChannelData) appendTo(b []byte) []byte {
	b = appendNested(b, 1, &d.Meta)
	for i := range d.History {
		b = appendMessageField(b, 2, &d.History[i])
	}
	return b
}

// marshal returns d's encoding, the Nim ChannelData blob.
func (d *nimChannelData) marshal() []byte { return encode(d, 0) }

// appendTo appends u's encoding (the Nim HistoryUpdate blob) to b. An
// empty update encodes to no bytes; the Nim encoder refuses it and callers
// skip it.
func (u *HistoryUpdate) appendTo(b []byte) []byte {
	for i := range u.Append {
		b = appendMessageField(b, 1, &u.Append[i])
	}
	for _, id := range u.Evict {
		b = protofield.AppendString(b, 2, id)
	}
	return b
}

// marshal returns u's encoding, the Nim HistoryUpdate blob.
func (u *HistoryUpdate) marshal() []byte { return encode(u, 0) }

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

// fieldSpec is a singular field a decoder reads: of several occurrences
// the last wins, and one of another wire type is skipped.
type fieldSpec struct {
	num      uint64
	typ      protowire.Type
	name     string // for errors
	required bool
}

func bytesField(num uint64, name string, required bool) fieldSpec {
	return fieldSpec{num, protowire.BytesType, name, required}
}

func varintField(num uint64, name string, required bool) fieldSpec {
	return fieldSpec{num, protowire.VarintType, name, required}
}

// readFields reads the fields specs name from the record b (what, in
// errors) into got, which parallels specs; a required field that is
// absent is an error.
func readFields(b []byte, what string, specs []fieldSpec, got []protofield.Field) error {
	var seen uint
	err := eachField(b, func(f *protofield.Field) error {
		for i := range specs {
			if specs[i].num == f.Num && specs[i].typ == f.Type {
				got[i], seen = *f, seen|1<<i
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for i := range specs {
		if specs[i].required && seen&(1<<i) == 0 {
			return missing(what + "." + specs[i].name)
		}
	}
	return nil
}

var entryFields = []fieldSpec{
	bytesField(1, "messageId", true), bytesField(2, "retrievalHint", false), bytesField(3, "senderId", false),
}

// decodeEntry decodes a HistoryEntry as the Nim decodeHistoryEntry does:
// message_id 1 required, retrieval_hint 2 and sender_id 3 optional.
func decodeEntry(b []byte, lim *Limits, where string) (wire.HistoryEntry, error) {
	var f [3]protofield.Field
	if err := readFields(b, where, entryFields, f[:]); err != nil {
		return wire.HistoryEntry{}, err
	}
	id, hint, sender := f[0].Data, f[1].Data, f[2].Data
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

var unackedFields = []fieldSpec{
	bytesField(1, "message", true), varintField(2, "sendTime", true), varintField(3, "resendAttempts", false),
}

func decodeUnacked(b []byte, lim *Limits) (UnacknowledgedMessage, error) {
	const what = "UnacknowledgedMessage"
	if err := checkRecordSize(b, lim, what); err != nil {
		return UnacknowledgedMessage{}, err
	}
	var f [3]protofield.Field
	if err := readFields(b, what, unackedFields, f[:]); err != nil {
		return UnacknowledgedMessage{}, err
	}
	sendMs, attempts := f[1].V, f[2].V
	if attempts > math.MaxUint32 {
		return UnacknowledgedMessage{}, fmt.Errorf("%w: %s.resendAttempts %d overflows uint32", ErrMalformed, what, attempts)
	}
	m, err := decodeMessage(f[0].Data, lim, what+".message")
	if err != nil {
		return UnacknowledgedMessage{}, err
	}
	return UnacknowledgedMessage{Message: m, SendTimeMs: int64(sendMs), ResendAttempts: uint32(attempts)}, nil
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
	err := eachBytesField(b, func(f *protofield.Field) error {
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

var (
	kvFields        = []fieldSpec{bytesField(1, "messageId", true), bytesField(2, "entry", true)}
	outRepairFields = []fieldSpec{bytesField(1, "outHistEntry", true), varintField(2, "minTimeRepairReq", true)}
	inRepairFields  = []fieldSpec{
		bytesField(1, "inHistEntry", true), bytesField(2, "cachedMessage", true), varintField(3, "minTimeRepairResp", true),
	}
)

// readKV reads a repair KV (what, in errors): its messageId 1 and the
// fields specs name of its entry 2 into entry. It returns the id and the
// entry's history entry, decoded.
func readKV(b []byte, lim *Limits, what string, specs []fieldSpec, entry []protofield.Field) (string, wire.HistoryEntry, error) {
	if err := checkRecordSize(b, lim, what); err != nil {
		return "", wire.HistoryEntry{}, err
	}
	var kv [2]protofield.Field
	if err := readFields(b, what, kvFields, kv[:]); err != nil {
		return "", wire.HistoryEntry{}, err
	}
	id := kv[0].Data
	if err := checkID(id, lim, what+".messageId"); err != nil {
		return "", wire.HistoryEntry{}, err
	}
	if err := readFields(kv[1].Data, what+".entry", specs, entry); err != nil {
		return "", wire.HistoryEntry{}, err
	}
	e, err := decodeEntry(entry[0].Data, lim, what+".entry."+specs[0].name)
	return string(id), e, err
}

func decodeOutRepair(b []byte, lim *Limits) (OutgoingRepairKV, error) {
	var f [2]protofield.Field
	id, e, err := readKV(b, lim, "OutgoingRepairKV", outRepairFields, f[:])
	if err != nil {
		return OutgoingRepairKV{}, err
	}
	return OutgoingRepairKV{MessageID: id, Entry: OutgoingRepairEntry{HistEntry: e, MinTimeRepairReqMs: int64(f[1].V)}}, nil
}

func decodeInRepair(b []byte, lim *Limits) (IncomingRepairKV, error) {
	const what = "IncomingRepairKV"
	var f [3]protofield.Field
	id, e, err := readKV(b, lim, what, inRepairFields, f[:])
	if err != nil {
		return IncomingRepairKV{}, err
	}
	cached := f[1].Data
	if len(cached) > lim.Wire.MaxMessageBytes {
		return IncomingRepairKV{}, fmt.Errorf("%w: %s.entry.cachedMessage of %d bytes, limit %d", ErrLimit, what, len(cached), lim.Wire.MaxMessageBytes)
	}
	return IncomingRepairKV{MessageID: id, Entry: IncomingRepairEntry{
		HistEntry:           e,
		CachedMessage:       bytes.Clone(cached), // non-nil even when empty
		MinTimeRepairRespMs: int64(f[2].V),
	}}, nil
}

// metaParts is a ChannelMeta blob split into its fields, the buffer entries
// still encoded (aliasing the blob), by field number (3 to 6).
type metaParts struct {
	lamport uint64
	entries [7][][]byte
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
	p := &metaParts{lamport: lamport}
	for num := 3; num <= 6; num++ {
		p.entries[num] = make([][]byte, 0, counts[num])
	}
	_ = eachField(b, func(f *protofield.Field) error {
		if f.Type == protowire.BytesType && f.Num >= 3 && f.Num <= 6 {
			p.entries[f.Num] = append(p.entries[f.Num], f.Data)
		}
		return nil
	})
	return p, nil
}

// decodeChannelMeta decodes a Nim ChannelMeta blob, refusing (with
// ErrSchemaVersion) a schemaVersion other than SchemaVersion. Buffers keep
// the blob's order; nothing in the result aliases b.
func decodeChannelMeta(b []byte, lim Limits) (*ChannelMeta, error) {
	lim = lim.norm()
	return decodeMeta(b, &lim)
}

func decodeMeta(b []byte, lim *Limits) (*ChannelMeta, error) {
	p, err := splitMeta(b, lim)
	if err != nil {
		return nil, err
	}
	m := &ChannelMeta{SchemaVersion: SchemaVersion, Lamport: p.lamport}
	var errs [4]error
	m.Outgoing, errs[0] = outgoingBuffer.decodeAll(p.entries[outgoingBuffer.field], lim)
	m.Incoming, errs[1] = incomingBuffer.decodeAll(p.entries[incomingBuffer.field], lim)
	m.OutgoingRepair, errs[2] = outgoingRepairBuffer.decodeAll(p.entries[outgoingRepairBuffer.field], lim)
	m.IncomingRepair, errs[3] = incomingRepairBuffer.decodeAll(p.entries[incomingRepairBuffer.field], lim)
	if err := cmp.Or(errs[:]...); err != nil {
		return nil, err
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
	err = eachBytesField(b, func(f *protofield.Field) error {
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

// decodeNimChannelData decodes a Nim ChannelData blob.
func decodeNimChannelData(b []byte, lim Limits) (*nimChannelData, error) {
	meta, h, err := readNimData(b, lim, decodeMeta)
	if err != nil {
		return nil, err
	}
	return &nimChannelData{Meta: *meta, History: h}, nil
}

// readNimData reads a Nim ChannelData blob: its meta through readMeta,
// and its history.
func readNimData[T any](b []byte, lim Limits, readMeta func([]byte, *Limits) (T, error)) (T, []wire.Message, error) {
	var none T
	lim = lim.norm()
	mb, hist, err := nimDataParts(b, &lim)
	if err != nil {
		return none, nil, err
	}
	meta, err := readMeta(mb, &lim)
	if err != nil {
		return none, nil, fmt.Errorf("ChannelData.meta: %w", err)
	}
	h, err := decodeHistory(hist, &lim, "ChannelData.messageHistory")
	if err != nil {
		return none, nil, err
	}
	return meta, h, nil
}

// decodeHistoryUpdate decodes a Nim HistoryUpdate blob.
func decodeHistoryUpdate(b []byte, lim Limits) (*HistoryUpdate, error) {
	lim = lim.norm()
	const what = "HistoryUpdate"
	if err := checkBlobSize(b, &lim, what); err != nil {
		return nil, err
	}
	var apps [][]byte
	u := &HistoryUpdate{}
	err := eachBytesField(b, func(f *protofield.Field) error {
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
