package persist

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// The four buffers of the Nim ChannelMeta, each described once for every
// conversion between the blob, the keyed records and ChannelMeta.

// buffer is one buffer of the Nim ChannelMeta; T is its entry type.
type buffer[T any, P interface {
	*T
	encoder
	marshal() []byte
}] struct {
	field  protowire.Number // its field in the ChannelMeta blob
	name   string           // its name there, for errors
	kind   recordKind       // the kind of its records
	decode func([]byte, *Limits) (T, error)
	id     func(*T) string // the id an entry is keyed by
	// named, for the repair buffers, is the id the entry's history entry
	// names, which must be the key's.
	named func(*T) string
	// order sorts the entries loaded from records; nil: by id.
	order func(a, b *T) int
}

var (
	outgoingBuffer = buffer[UnacknowledgedMessage, *UnacknowledgedMessage]{
		field: 3, name: "outgoingBuffer", kind: kindOutgoing, decode: decodeUnacked,
		id: func(u *UnacknowledgedMessage) string { return u.Message.MessageID },
		// Send order: a channel's clock rises with every send.
		order: func(a, b *UnacknowledgedMessage) int {
			return cmp.Or(cmp.Compare(a.Message.LamportTimestamp, b.Message.LamportTimestamp),
				cmp.Compare(a.Message.MessageID, b.Message.MessageID))
		},
	}
	incomingBuffer = buffer[IncomingMessage, *IncomingMessage]{
		field: 4, name: "incomingBuffer", kind: kindIncoming, decode: decodeIncoming,
		id: func(m *IncomingMessage) string { return m.Message.MessageID },
	}
	outgoingRepairBuffer = buffer[OutgoingRepairKV, *OutgoingRepairKV]{
		field: 5, name: "outgoingRepairBuffer", kind: kindOutgoingRepair, decode: decodeOutRepair,
		id:    func(kv *OutgoingRepairKV) string { return kv.MessageID },
		named: func(kv *OutgoingRepairKV) string { return kv.Entry.HistEntry.MessageID },
	}
	incomingRepairBuffer = buffer[IncomingRepairKV, *IncomingRepairKV]{
		field: 6, name: "incomingRepairBuffer", kind: kindIncomingRepair, decode: decodeInRepair,
		id:    func(kv *IncomingRepairKV) string { return kv.MessageID },
		named: func(kv *IncomingRepairKV) string { return kv.Entry.HistEntry.MessageID },
	}
)

// checkNamed reports a repair entry keyed by another id than its history
// entry names.
func (bf *buffer[T, P]) checkNamed(e *T) error {
	if bf.named != nil && bf.named(e) != bf.id(e) {
		return fmt.Errorf("%w: %s entry %q: its history entry names %q", ErrMalformed, bf.kind, bf.id(e), bf.named(e))
	}
	return nil
}

// appendAll appends es as the buffer's fields of the ChannelMeta blob.
func (bf *buffer[T, P]) appendAll(b []byte, es []T) []byte {
	for i := range es {
		b = appendNested(b, bf.field, P(&es[i]))
	}
	return b
}

// decodeAll decodes the buffer's entries of a ChannelMeta blob.
func (bf *buffer[T, P]) decodeAll(raw [][]byte, lim *Limits) ([]T, error) {
	es := makeN[T](len(raw))
	for i, v := range raw {
		var err error
		if es[i], err = bf.decode(v, lim); err != nil {
			return nil, fmt.Errorf("ChannelMeta.%s[%d]: %w", bf.name, i, err)
		}
	}
	return es, nil
}

// storedRecord is a record of a set, its key parsed.
type storedRecord struct {
	id    string
	value []byte
}

// load decodes and checks the buffer's records and returns the entries in
// order, with the record values beside them.
func (bf *buffer[T, P]) load(recs []storedRecord, lim *Limits) ([]T, [][]byte, error) {
	if len(recs) == 0 {
		return nil, nil, nil
	}
	es := make([]T, len(recs))
	for i, r := range recs {
		var err error
		if es[i], err = bf.decode(r.value, lim); err == nil {
			err = bf.checkNamed(&es[i])
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s record %q: %w", bf.kind, r.id, err)
		}
		if got := bf.id(&es[i]); got != r.id {
			return nil, nil, fmt.Errorf("%w: %s record under key id %q holds id %q", ErrMalformed, bf.kind, r.id, got)
		}
	}
	order := bf.order
	if order == nil {
		order = func(a, b *T) int { return cmp.Compare(bf.id(a), bf.id(b)) }
	}
	idx := make([]int, len(es))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return order(&es[a], &es[b]) })
	sorted, raw := make([]T, len(es)), make([][]byte, len(es))
	for i, j := range idx {
		sorted[i], raw[i] = es[j], recs[j].value
	}
	return sorted, raw, nil
}

// putUnique adds a record to r, refusing a second one under key.
func putUnique(r map[string][]byte, key string, value []byte) error {
	if _, dup := r[key]; dup {
		return fmt.Errorf("%w: two %s entries with id %q", ErrMalformed, recordKind(key[0]), key[1:])
	}
	r[key] = value
	return nil
}

// putRecords adds es to the record set r.
func (bf *buffer[T, P]) putRecords(r map[string][]byte, es []T) error {
	for i := range es {
		if err := bf.checkNamed(&es[i]); err != nil {
			return err
		}
		if err := putUnique(r, bf.kind.key(bf.id(&es[i])), P(&es[i]).marshal()); err != nil {
			return err
		}
	}
	return nil
}

// split adds the buffer's entries of a ChannelMeta blob to the record set
// r, each checked and copied as it is (not re-encoded).
func (bf *buffer[T, P]) split(r map[string][]byte, raw [][]byte, lim *Limits) error {
	for i, v := range raw {
		e, err := bf.decode(v, lim)
		if err == nil {
			err = bf.checkNamed(&e)
		}
		if err == nil {
			err = putUnique(r, bf.kind.key(bf.id(&e)), bytes.Clone(v))
		}
		if err != nil {
			return fmt.Errorf("ChannelMeta.%s[%d]: %w", bf.name, i, err)
		}
	}
	return nil
}
