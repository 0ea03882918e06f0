package persist

import (
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
//	"M" + id   a MetRecord (an id marked as met), our extension: see kindMet
//
// The record values of the Nim kinds are exactly the Nim encodings of the
// entries of the Nim ChannelMeta blob, so a ChannelMeta blob is the records
// concatenated under their field tags (assembleChannelMeta, which leaves
// out the met records), and a ChannelMeta blob splits back into records
// (splitChannelMeta) without re-encoding.

// recordKind is the first byte of a record key.
type recordKind byte

// Record kinds.
const (
	kindLamport        recordKind = 'L'
	kindOutgoing       recordKind = 'O'
	kindIncoming       recordKind = 'I'
	kindOutgoingRepair recordKind = 'Q'
	kindIncomingRepair recordKind = 'P'
)

// String returns the kind's name.
func (k recordKind) String() string {
	switch k {
	case kindLamport:
		return "lamport"
	case kindOutgoing:
		return "outgoing"
	case kindIncoming:
		return "incoming"
	case kindOutgoingRepair:
		return "outgoing-repair"
	case kindIncomingRepair:
		return "incoming-repair"
	case kindMet:
		return "met"
	}
	return fmt.Sprintf("recordKind(%#x)", byte(k))
}

// LamportKey is the key of the Lamport clock record.
const LamportKey = string(kindLamport)

// key returns the key of the record of kind k for id.
func (k recordKind) key(id string) string { return string(k) + id }

// OutgoingKey returns the key of the outgoing-buffer record for id.
func OutgoingKey(id string) string { return string(kindOutgoing) + id }

// IncomingKey returns the key of the incoming-buffer record for id.
func IncomingKey(id string) string { return string(kindIncoming) + id }

// OutgoingRepairKey returns the key of the outgoing-repair record for id.
func OutgoingRepairKey(id string) string { return string(kindOutgoingRepair) + id }

// IncomingRepairKey returns the key of the incoming-repair record for id.
func IncomingRepairKey(id string) string { return string(kindIncomingRepair) + id }

// parseKey splits a record key into its kind and id (empty for the Lamport
// key). It fails (ErrMalformed) for an empty key, an unknown kind, a
// Lamport key with anything after the kind byte, and (ErrLimit) an id
// longer than maxID (0: wire.DefaultMaxIDBytes).
func parseKey(key string, maxID int) (recordKind, string, error) {
	if maxID <= 0 {
		maxID = wire.DefaultMaxIDBytes
	}
	if key == "" {
		return 0, "", fmt.Errorf("%w: empty record key", ErrMalformed)
	}
	k, id := recordKind(key[0]), key[1:]
	switch k {
	case kindLamport:
		if id != "" {
			return 0, "", fmt.Errorf("%w: record key %q: the Lamport key is the single byte %q", ErrMalformed, key, LamportKey)
		}
	case kindOutgoing, kindIncoming, kindOutgoingRepair, kindIncomingRepair, kindMet:
		if len(id) > maxID {
			return 0, "", fmt.Errorf("%w: %s record key: id of %d bytes, limit %d", ErrLimit, k, len(id), maxID)
		}
	default:
		return 0, "", fmt.Errorf("%w: record key %q: unknown kind %#x", ErrMalformed, key, key[0])
	}
	return k, id, nil
}

// encodeLamport returns the value of the Lamport record.
func encodeLamport(v uint64) []byte { return protowire.AppendVarint(nil, v) }

// decodeLamport decodes the value of the Lamport record.
func decodeLamport(b []byte) (uint64, error) {
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
// id, and orders the buffers: outgoing in send order, (Lamport timestamp,
// id); the others by id.
func decodeRecords(records map[string][]byte, lim *Limits) (*decodedRecords, error) {
	d := &decodedRecords{}
	byKind := make(map[recordKind][]storedRecord)
	for key, v := range records {
		kind, id, err := parseKey(key, lim.Wire.MaxIDBytes)
		if err != nil {
			return nil, err
		}
		switch kind {
		case kindLamport:
			if d.lamport, err = decodeLamport(v); err != nil {
				return nil, err
			}
		case kindMet: // our extension: checked, never assembled into the Nim blob
			if _, err := decodeMet(id, v, lim); err != nil {
				return nil, err
			}
		default:
			byKind[kind] = append(byKind[kind], storedRecord{id, v})
		}
	}
	var errs [4]error
	d.out, d.outRaw, errs[0] = outgoingBuffer.load(byKind[kindOutgoing], lim)
	d.in, d.inRaw, errs[1] = incomingBuffer.load(byKind[kindIncoming], lim)
	d.outRep, d.outRepRaw, errs[2] = outgoingRepairBuffer.load(byKind[kindOutgoingRepair], lim)
	d.inRep, d.inRepRaw, errs[3] = incomingRepairBuffer.load(byKind[kindIncomingRepair], lim)
	if err := cmp.Or(errs[:]...); err != nil {
		return nil, err
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

// recordsOf returns m as a record set (the inverse of DecodeRecords, up to
// buffer order). The Lamport record is always present. It fails
// (ErrMalformed) if two entries of a buffer share an id, or a repair entry's
// key differs from its history entry's id.
func recordsOf(m *ChannelMeta) (map[string][]byte, error) {
	r := make(map[string][]byte, 1+len(m.Outgoing)+len(m.Incoming)+len(m.OutgoingRepair)+len(m.IncomingRepair))
	r[LamportKey] = encodeLamport(m.Lamport)
	err := cmp.Or(
		outgoingBuffer.putRecords(r, m.Outgoing),
		incomingBuffer.putRecords(r, m.Incoming),
		outgoingRepairBuffer.putRecords(r, m.OutgoingRepair),
		incomingRepairBuffer.putRecords(r, m.IncomingRepair))
	if err != nil {
		return nil, err
	}
	return r, nil
}

// assembleChannelMeta returns the Nim ChannelMeta blob of a record set (for
// export to the Nim library): schemaVersion, the Lamport record's value (0
// without one), then the record values under their field tags, outgoing in
// send order, the others by id. Every record is decoded and checked first,
// as in DecodeRecords. Met records (our extension) are left out.
func assembleChannelMeta(records map[string][]byte, lim Limits) ([]byte, error) {
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

// splitChannelMeta splits a Nim ChannelMeta blob into a record set (for
// import from the Nim library), refusing an unknown schemaVersion
// (ErrSchemaVersion). Each entry is decoded and checked; the record values
// are copies of the entries' bytes, not re-encodings. Two entries of one
// buffer with the same id are an error (ErrMalformed), as are repair
// entries whose key differs from their history entry's id.
func splitChannelMeta(b []byte, lim Limits) (map[string][]byte, error) {
	lim = lim.norm()
	return splitMetaRecords(b, &lim)
}

func splitMetaRecords(b []byte, lim *Limits) (map[string][]byte, error) {
	p, err := splitMeta(b, lim)
	if err != nil {
		return nil, err
	}
	e := &p.entries
	r := make(map[string][]byte, 1+len(e[3])+len(e[4])+len(e[5])+len(e[6]))
	r[LamportKey] = encodeLamport(p.lamport)
	err = cmp.Or(
		outgoingBuffer.split(r, e[outgoingBuffer.field], lim),
		incomingBuffer.split(r, e[incomingBuffer.field], lim),
		outgoingRepairBuffer.split(r, e[outgoingRepairBuffer.field], lim),
		incomingRepairBuffer.split(r, e[incomingRepairBuffer.field], lim))
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ExportNim returns the Nim ChannelData blob of a loaded channel: the
// assembled ChannelMeta (assembleChannelMeta) and the history, oldest first.
// Retrieval hints and met records are not part of the Nim blob.
func ExportNim(d *ChannelData, lim Limits) ([]byte, error) {
	lim = lim.norm()
	dr, err := decodeRecords(d.Records, &lim)
	if err != nil {
		return nil, err
	}
	b := protofield.AppendBytes(nil, 1, dr.assemble(nil))
	for i := range d.History {
		b = appendMessageField(b, 2, &d.History[i])
	}
	return b, nil
}

// ImportNim splits a Nim ChannelData blob into the ChannelData a backend
// would load: the meta's records (splitChannelMeta) and the history. Store
// it with Import.
func ImportNim(b []byte, lim Limits) (*ChannelData, error) {
	recs, h, err := readNimData(b, lim, splitMetaRecords)
	if err != nil {
		return nil, err
	}
	return &ChannelData{Records: recs, History: h}, nil
}
