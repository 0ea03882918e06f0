package persist

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/libsds-go/libsds/sds/internal/protofield"
)

// Met records are this library's extension of the Nim meta; the Nim
// library has no counterpart. The manager remembers the ids the
// application marked as met (and those given up as lost): they count as
// present, like delivered messages, so a later message naming them is not
// held back and a late copy is a duplicate. Without a record of them a
// restart would make them missing again. The Nim ChannelMeta has no field
// for them, so assembleChannelMeta and ExportNim leave them out (a channel
// moved to the Nim library forgets them, as the Nim library itself does).
//
// Key: kindMet + id. Value, a protobuf message: seq 1 (varint, always
// written; the order the ids were marked in, which bounds the set
// oldest-first), inFilter 2 (varint, 1, written only when set: the id was
// also added to the channel's bloom filter).

// kindMet is the kind of the met-id records (our extension).
const kindMet recordKind = 'M'

// metKey returns the key of the met record for id.
func metKey(id string) string { return string(kindMet) + id }

// MetRecord is one id the application marked as met (or the manager gave
// up as lost).
type MetRecord struct {
	ID       string // from the key; not part of the value
	Seq      uint64 // marking order within the channel
	InFilter bool   // the id is in the channel's bloom filter
}

// Marshal returns the record's value.
func (r *MetRecord) marshal() []byte {
	b := make([]byte, 0, protofield.SizeVarint(1, r.Seq)+2)
	b = protofield.AppendVarint(b, 1, r.Seq)
	if r.InFilter {
		b = protofield.AppendVarint(b, 2, 1)
	}
	return b
}

// PutMet records r in the met set.
func (d *MetaDelta) PutMet(r *MetRecord) { d.Put(metKey(r.ID), r.marshal()) }

// DeleteMet records the removal of id from the met set.
func (d *MetaDelta) DeleteMet(id string) { d.Delete(metKey(id)) }

var metFields = []fieldSpec{varintField(1, "seq", true), varintField(2, "inFilter", false)}

// decodeMet decodes the value of the met record of id.
func decodeMet(id string, b []byte, lim *Limits) (MetRecord, error) {
	const what = "met record"
	if err := checkRecordSize(b, lim, what); err != nil {
		return MetRecord{}, err
	}
	var f [2]protofield.Field
	if err := readFields(b, what, metFields, f[:]); err != nil {
		return MetRecord{}, fmt.Errorf("%q: %w", id, err)
	}
	return MetRecord{ID: id, Seq: f[0].V, InFilter: f[1].V != 0}, nil
}

// DecodeMetRecords returns the met records of a record set (as LoadChannel
// returns it), in marking order (Seq, then id). Only the met records are
// decoded and checked (their keys and values); Validate or DecodeRecords
// checks the rest.
func DecodeMetRecords(records map[string][]byte, lim Limits) ([]MetRecord, error) {
	lim = lim.norm()
	var out []MetRecord
	for key, v := range records {
		if key == "" || recordKind(key[0]) != kindMet {
			continue
		}
		_, id, err := parseKey(key, lim.Wire.MaxIDBytes)
		if err != nil {
			return nil, err
		}
		r, err := decodeMet(id, v, &lim)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b MetRecord) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
