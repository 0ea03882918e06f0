package persist

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds/internal/protofield"
	"github.com/libsds-go/libsds/sds/wire"
)

// A channel's meta is a set of keyed records. A key is one kind byte
// followed, for the buffers, by the raw message id (arbitrary bytes, at most
// wire.Limits.MaxIDBytes; Go strings hold any bytes). Nothing is escaped:
// the kind byte alone separates the kinds, and the id is the rest of the
// key.
//
//	"L"        the Lamport clock: its uvarint (minimal, nothing after it)
//	"O" + id   an UnacknowledgedMessage blob (outgoing buffer), id = its message's id
//	"I" + id   an IncomingMessage blob (incoming buffer), id = its message's id
//	"Q" + id   an OutgoingRepairKV blob (SDS-R repair request we may send), id = its messageId
//	"P" + id   an IncomingRepairKV blob (SDS-R repair response we may send), id = its messageId
//	"M" + id   a MetRecord (an id marked as met), our extension: see KindMet
//
// The record values of the Nim kinds are exactly the Nim encodings of the
// entries of the Nim ChannelMeta blob, so a ChannelMeta blob is the records
// concatenated under their field tags (AssembleChannelMeta, which leaves
// out the met records), and a ChannelMeta blob splits back into records
// (SplitChannelMeta) without re-encoding.

// Kind is the first byte of a record key.
type Kind byte

// Record kinds.
const (
	KindLamport        Kind = 'L'
	KindOutgoing       Kind = 'O'
	KindIncoming       Kind = 'I'
	KindOutgoingRepair Kind = 'Q'
	KindIncomingRepair Kind = 'P'
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindLamport:
		return "lamport"
	case KindOutgoing:
		return "outgoing"
	case KindIncoming:
		return "incoming"
	case KindOutgoingRepair:
		return "outgoing-repair"
	case KindIncomingRepair:
		return "incoming-repair"
	case KindMet:
		return "met"
	}
	return fmt.Sprintf("Kind(%#x)", byte(k))
}

// LamportKey is the key of the Lamport clock record.
const LamportKey = string(KindLamport)

// OutgoingKey returns the key of the outgoing-buffer record for id.
func OutgoingKey(id string) string { return string(KindOutgoing) + id }

// IncomingKey returns the key of the incoming-buffer record for id.
func IncomingKey(id string) string { return string(KindIncoming) + id }

// OutgoingRepairKey returns the key of the outgoing-repair record for id.
func OutgoingRepairKey(id string) string { return string(KindOutgoingRepair) + id }

// IncomingRepairKey returns the key of the incoming-repair record for id.
func IncomingRepairKey(id string) string { return string(KindIncomingRepair) + id }

// ParseKey splits a record key into its kind and id (empty for the Lamport
// key). It fails (ErrMalformed) for an empty key, an unknown kind, a
// Lamport key with anything after the kind byte, and (ErrLimit) an id
// longer than maxID (0: wire.DefaultMaxIDBytes).
func ParseKey(key string, maxID int) (Kind, string, error) {
	if maxID <= 0 {
		maxID = wire.DefaultMaxIDBytes
	}
	if key == "" {
		return 0, "", fmt.Errorf("%w: empty record key", ErrMalformed)
	}
	k, id := Kind(key[0]), key[1:]
	switch k {
	case KindLamport:
		if id != "" {
			return 0, "", fmt.Errorf("%w: record key %q: the Lamport key is the single byte %q", ErrMalformed, key, LamportKey)
		}
	case KindOutgoing, KindIncoming, KindOutgoingRepair, KindIncomingRepair, KindMet:
		if len(id) > maxID {
			return 0, "", fmt.Errorf("%w: %s record key: id of %d bytes, limit %d", ErrLimit, k, len(id), maxID)
		}
	default:
		return 0, "", fmt.Errorf("%w: record key %q: unknown kind %#x", ErrMalformed, key, key[0])
	}
	return k, id, nil
}

// EncodeLamport returns the value of the Lamport record.
func EncodeLamport(v uint64) []byte { return protowire.AppendVarint(nil, v) }

// DecodeLamport decodes the value of the Lamport record.
func DecodeLamport(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty Lamport record", ErrMalformed)
	}
	v, n, flt := protofield.Varint(b)
	if flt != protofield.OK {
		return 0, fmt.Errorf("%w: Lamport record: %s", ErrMalformed, flt)
	}
	if n != len(b) {
		return 0, fmt.Errorf("%w: Lamport record: %d bytes after the varint", ErrMalformed, len(b)-n)
	}
	return v, nil
}

// decodedRecords is a record set decoded and checked.
type decodedRecords struct {
	lamport   uint64
	out       []UnacknowledgedMessage
	in        []IncomingMessage
	outRep    []OutgoingRepairKV
	inRep     []IncomingRepairKV
	outRaw    [][]byte // the record values, parallel to the slices above
	inRaw     [][]byte
	outRepRaw [][]byte
	inRepRaw  [][]byte
}

// decodeRecords decodes every record, checks each key against its record's
// id, and orders the buffers: outgoing in send order, which is (Lamport
// timestamp, id) since a channel's clock rises with every send; the others
// by id.
func decodeRecords(records map[string][]byte, lim *Limits) (*decodedRecords, error) {
	d := &decodedRecords{}
	type outRec struct {
		u   UnacknowledgedMessage
		raw []byte
	}
	var outs []outRec
	type inRec struct {
		m   IncomingMessage
		raw []byte
	}
	var ins []inRec
	type oRep struct {
		kv  OutgoingRepairKV
		raw []byte
	}
	var oreps []oRep
	type iRep struct {
		kv  IncomingRepairKV
		raw []byte
	}
	var ireps []iRep
	for key, v := range records {
		kind, id, err := ParseKey(key, lim.Wire.MaxIDBytes)
		if err != nil {
			return nil, err
		}
		mismatch := func(got string) error {
			return fmt.Errorf("%w: %s record under key id %q holds id %q", ErrMalformed, kind, id, got)
		}
		switch kind {
		case KindLamport:
			if d.lamport, err = DecodeLamport(v); err != nil {
				return nil, err
			}
		case KindOutgoing:
			u, err := decodeUnacked(v, lim)
			if err != nil {
				return nil, fmt.Errorf("%s record %q: %w", kind, id, err)
			}
			if u.Message.MessageID != id {
				return nil, mismatch(u.Message.MessageID)
			}
			outs = append(outs, outRec{u, v})
		case KindIncoming:
			m, err := decodeIncoming(v, lim)
			if err != nil {
				return nil, fmt.Errorf("%s record %q: %w", kind, id, err)
			}
			if m.Message.MessageID != id {
				return nil, mismatch(m.Message.MessageID)
			}
			ins = append(ins, inRec{m, v})
		case KindOutgoingRepair:
			kv, err := decodeOutRepair(v, lim)
			if err != nil {
				return nil, fmt.Errorf("%s record %q: %w", kind, id, err)
			}
			if kv.MessageID != id {
				return nil, mismatch(kv.MessageID)
			}
			if kv.Entry.HistEntry.MessageID != id {
				return nil, fmt.Errorf("%w: %s record %q: its history entry names %q", ErrMalformed, kind, id, kv.Entry.HistEntry.MessageID)
			}
			oreps = append(oreps, oRep{kv, v})
		case KindIncomingRepair:
			kv, err := decodeInRepair(v, lim)
			if err != nil {
				return nil, fmt.Errorf("%s record %q: %w", kind, id, err)
			}
			if kv.MessageID != id {
				return nil, mismatch(kv.MessageID)
			}
			if kv.Entry.HistEntry.MessageID != id {
				return nil, fmt.Errorf("%w: %s record %q: its history entry names %q", ErrMalformed, kind, id, kv.Entry.HistEntry.MessageID)
			}
			ireps = append(ireps, iRep{kv, v})
		case KindMet: // our extension: checked, never assembled into the Nim blob
			if _, err := decodeMet(id, v, lim); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(outs, func(a, b outRec) int {
		return cmp.Or(cmp.Compare(a.u.Message.LamportTimestamp, b.u.Message.LamportTimestamp),
			cmp.Compare(a.u.Message.MessageID, b.u.Message.MessageID))
	})
	slices.SortFunc(ins, func(a, b inRec) int { return cmp.Compare(a.m.Message.MessageID, b.m.Message.MessageID) })
	slices.SortFunc(oreps, func(a, b oRep) int { return cmp.Compare(a.kv.MessageID, b.kv.MessageID) })
	slices.SortFunc(ireps, func(a, b iRep) int { return cmp.Compare(a.kv.MessageID, b.kv.MessageID) })
	for _, r := range outs {
		d.out, d.outRaw = append(d.out, r.u), append(d.outRaw, r.raw)
	}
	for _, r := range ins {
		d.in, d.inRaw = append(d.in, r.m), append(d.inRaw, r.raw)
	}
	for _, r := range oreps {
		d.outRep, d.outRepRaw = append(d.outRep, r.kv), append(d.outRepRaw, r.raw)
	}
	for _, r := range ireps {
		d.inRep, d.inRepRaw = append(d.inRep, r.kv), append(d.inRepRaw, r.raw)
	}
	return d, nil
}

// DecodeRecords decodes a record set (as LoadChannel returns it) into the
// Nim ChannelMeta shape: every key must parse and match its record's id
// (ErrMalformed otherwise). The outgoing buffer comes in send order,
// (Lamport timestamp, id); the others by id. A set without a Lamport record
// has Lamport 0. Met records (our extension) are checked but not returned:
// see DecodeMetRecords. Nothing in the result aliases records.
func DecodeRecords(records map[string][]byte, lim Limits) (*ChannelMeta, error) {
	lim = lim.norm()
	d, err := decodeRecords(records, &lim)
	if err != nil {
		return nil, err
	}
	return &ChannelMeta{
		SchemaVersion:  SchemaVersion,
		Lamport:        d.lamport,
		Outgoing:       d.out,
		Incoming:       d.in,
		OutgoingRepair: d.outRep,
		IncomingRepair: d.inRep,
	}, nil
}

// RecordsOf returns m as a record set (the inverse of DecodeRecords, up to
// buffer order). The Lamport record is always present. It fails
// (ErrMalformed) if two entries of a buffer share an id, or a repair entry's
// key differs from its history entry's id.
func RecordsOf(m *ChannelMeta) (map[string][]byte, error) {
	r := make(map[string][]byte, 1+len(m.Outgoing)+len(m.Incoming)+len(m.OutgoingRepair)+len(m.IncomingRepair))
	r[LamportKey] = EncodeLamport(m.Lamport)
	put := func(k string, v []byte) error {
		if _, dup := r[k]; dup {
			return fmt.Errorf("%w: two %s entries with id %q", ErrMalformed, Kind(k[0]), k[1:])
		}
		r[k] = v
		return nil
	}
	for i := range m.Outgoing {
		if err := put(OutgoingKey(m.Outgoing[i].Message.MessageID), m.Outgoing[i].Marshal()); err != nil {
			return nil, err
		}
	}
	for i := range m.Incoming {
		if err := put(IncomingKey(m.Incoming[i].Message.MessageID), m.Incoming[i].Marshal()); err != nil {
			return nil, err
		}
	}
	for i := range m.OutgoingRepair {
		kv := &m.OutgoingRepair[i]
		if kv.Entry.HistEntry.MessageID != kv.MessageID {
			return nil, fmt.Errorf("%w: outgoing-repair entry %q names %q", ErrMalformed, kv.MessageID, kv.Entry.HistEntry.MessageID)
		}
		if err := put(OutgoingRepairKey(kv.MessageID), kv.Marshal()); err != nil {
			return nil, err
		}
	}
	for i := range m.IncomingRepair {
		kv := &m.IncomingRepair[i]
		if kv.Entry.HistEntry.MessageID != kv.MessageID {
			return nil, fmt.Errorf("%w: incoming-repair entry %q names %q", ErrMalformed, kv.MessageID, kv.Entry.HistEntry.MessageID)
		}
		if err := put(IncomingRepairKey(kv.MessageID), kv.Marshal()); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// AssembleChannelMeta returns the Nim ChannelMeta blob of a record set (for
// export to the Nim library): schemaVersion, the Lamport record's value (0
// without one), then the record values under their field tags, outgoing in
// send order, the others by id. Every record is decoded and checked first,
// as in DecodeRecords. Met records (our extension) are left out.
func AssembleChannelMeta(records map[string][]byte, lim Limits) ([]byte, error) {
	lim = lim.norm()
	d, err := decodeRecords(records, &lim)
	if err != nil {
		return nil, err
	}
	return d.assemble(nil), nil
}

func (d *decodedRecords) assemble(b []byte) []byte {
	n := protofield.SizeVarint(1, uint64(SchemaVersion)) + protofield.SizeVarint(2, d.lamport)
	for _, set := range [...][][]byte{d.outRaw, d.inRaw, d.outRepRaw, d.inRepRaw} {
		for _, v := range set {
			n += protofield.SizeBytes(3, len(v)) // tags 3 to 6 are all one byte
		}
	}
	b = slices.Grow(b, n)
	b = protofield.AppendVarint(b, 1, uint64(SchemaVersion))
	b = protofield.AppendVarint(b, 2, d.lamport)
	for i, set := range [...][][]byte{d.outRaw, d.inRaw, d.outRepRaw, d.inRepRaw} {
		for _, v := range set {
			b = protofield.AppendBytes(b, protowire.Number(3+i), v)
		}
	}
	return b
}

// SplitChannelMeta splits a Nim ChannelMeta blob into a record set (for
// import from the Nim library), refusing an unknown schemaVersion
// (ErrSchemaVersion). Each entry is decoded and checked; the record values
// are copies of the entries' bytes, not re-encodings. Two entries of one
// buffer with the same id are an error (ErrMalformed), as are repair
// entries whose key differs from their history entry's id.
func SplitChannelMeta(b []byte, lim Limits) (map[string][]byte, error) {
	lim = lim.norm()
	return splitMetaRecords(b, &lim)
}

func splitMetaRecords(b []byte, lim *Limits) (map[string][]byte, error) {
	p, err := splitMeta(b, lim)
	if err != nil {
		return nil, err
	}
	r := make(map[string][]byte, 1+len(p.out)+len(p.in)+len(p.outRep)+len(p.inRep))
	r[LamportKey] = EncodeLamport(p.lamport)
	put := func(k string, v []byte) error {
		if _, dup := r[k]; dup {
			return fmt.Errorf("%w: ChannelMeta has two %s entries with id %q", ErrMalformed, Kind(k[0]), k[1:])
		}
		r[k] = bytes.Clone(v)
		return nil
	}
	for i, e := range p.out {
		u, err := decodeUnacked(e, lim)
		if err != nil {
			return nil, fmt.Errorf("ChannelMeta.outgoingBuffer[%d]: %w", i, err)
		}
		if err := put(OutgoingKey(u.Message.MessageID), e); err != nil {
			return nil, err
		}
	}
	for i, e := range p.in {
		m, err := decodeIncoming(e, lim)
		if err != nil {
			return nil, fmt.Errorf("ChannelMeta.incomingBuffer[%d]: %w", i, err)
		}
		if err := put(IncomingKey(m.Message.MessageID), e); err != nil {
			return nil, err
		}
	}
	for i, e := range p.outRep {
		kv, err := decodeOutRepair(e, lim)
		if err != nil {
			return nil, fmt.Errorf("ChannelMeta.outgoingRepairBuffer[%d]: %w", i, err)
		}
		if kv.Entry.HistEntry.MessageID != kv.MessageID {
			return nil, fmt.Errorf("%w: outgoingRepairBuffer[%d]: key %q, entry names %q", ErrMalformed, i, kv.MessageID, kv.Entry.HistEntry.MessageID)
		}
		if err := put(OutgoingRepairKey(kv.MessageID), e); err != nil {
			return nil, err
		}
	}
	for i, e := range p.inRep {
		kv, err := decodeInRepair(e, lim)
		if err != nil {
			return nil, fmt.Errorf("ChannelMeta.incomingRepairBuffer[%d]: %w", i, err)
		}
		if kv.Entry.HistEntry.MessageID != kv.MessageID {
			return nil, fmt.Errorf("%w: incomingRepairBuffer[%d]: key %q, entry names %q", ErrMalformed, i, kv.MessageID, kv.Entry.HistEntry.MessageID)
		}
		if err := put(IncomingRepairKey(kv.MessageID), e); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ExportNim returns the Nim ChannelData blob of a loaded channel: the
// assembled ChannelMeta (AssembleChannelMeta) and the history, oldest first.
// Retrieval hints and met records are not part of the Nim blob.
func ExportNim(d *ChannelData, lim Limits) ([]byte, error) {
	lim = lim.norm()
	dr, err := decodeRecords(d.Records, &lim)
	if err != nil {
		return nil, err
	}
	meta := dr.assemble(nil)
	n := protofield.SizeBytes(1, len(meta))
	for i := range d.History {
		n += sizeMessageField(2, &d.History[i])
	}
	b := make([]byte, 0, n)
	b = protofield.AppendBytes(b, 1, meta)
	for i := range d.History {
		b = appendMessageField(b, 2, &d.History[i])
	}
	return b, nil
}

// ImportNim splits a Nim ChannelData blob into the ChannelData a backend
// would load: the meta's records (SplitChannelMeta) and the history. Store
// it with Import.
func ImportNim(b []byte, lim Limits) (*ChannelData, error) {
	lim = lim.norm()
	mb, hist, err := nimDataParts(b, &lim)
	if err != nil {
		return nil, err
	}
	recs, err := splitMetaRecords(mb, &lim)
	if err != nil {
		return nil, fmt.Errorf("ChannelData.meta: %w", err)
	}
	h, err := decodeHistory(hist, &lim, "ChannelData.messageHistory")
	if err != nil {
		return nil, err
	}
	return &ChannelData{Records: recs, History: h}, nil
}
