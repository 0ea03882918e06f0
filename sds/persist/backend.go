package persist

import (
	"bytes"
	"fmt"

	"github.com/libsds-go/libsds/sds/wire"
)

// Backend stores the state of SDS channels. It is the Nim library's
// five-operation persistence contract, with one change: the channel's meta
// is a set of keyed records written as deltas (MetaDelta), so a write costs
// what the operation changed, not the whole channel state.
//
// Contract (RunBackendTests in package persisttest checks it):
//   - Each call is atomic: it happens entirely or (when it returns an error)
//     not at all. An error means nothing changed (Writer relies on it to
//     drop what was never stored instead of keeping tombstones); a backend
//     that cannot tell must not report the write as failed only to have it
//     apply later. When it returns nil the change is stored; for a durable
//     backend, it survives a crash from then on.
//   - A backend is safe for concurrent use by multiple goroutines. Calls
//     for one channel are issued one at a time by the caller.
//   - Channel ids and record keys are arbitrary byte strings (including
//     empty channel ids). Channels are independent.
//   - A backend keeps no reference to the arguments after a call returns,
//     and the caller may keep and modify what LoadChannel returned.
//   - Empty writes (a nil or empty delta or update) are no-ops that succeed.
type Backend interface {
	// SaveChannelMeta applies d to the channel's records: every put
	// stores its value under its key (replacing any), every delete removes
	// its key (absent keys are ignored). A MetaDelta never puts and
	// deletes the same key.
	SaveChannelMeta(channelID string, d *MetaDelta) error
	// UpdateHistory applies u to the channel's history, which is ordered
	// by when each message was appended: first the appends, in order, each
	// at the end (a message whose id is already in the history replaces it
	// and moves to the end), then the evictions, each removing its id and
	// that id's retrieval hint (absent ids are ignored).
	UpdateHistory(channelID string, u *HistoryUpdate) error
	// LoadChannel returns the channel's records, its history oldest first
	// and its retrieval hints. A channel never written (or dropped) loads
	// as an empty ChannelData and no error.
	LoadChannel(channelID string) (*ChannelData, error)
	// DropChannel removes everything stored for the channel. Dropping an
	// unknown channel succeeds.
	DropChannel(channelID string) error
	// SaveRetrievalHint stores the retrieval hint of a message of the
	// channel's history, replacing any; an empty hint removes it. The hint
	// is kept until the message is evicted or the channel dropped (whether
	// or not the message is in the history yet).
	SaveRetrievalHint(channelID, messageID string, hint []byte) error
}

// Batcher is implemented by backends that can apply a meta delta and a
// history update in one transaction. The manager issues at most one of each
// at the end of an operation, back to back; Writer uses Apply when the
// backend has it, so a crash never leaves one without the other.
type Batcher interface {
	// Apply applies d, then u, as SaveChannelMeta and UpdateHistory would,
	// atomically. Either may be nil.
	Apply(channelID string, d *MetaDelta, u *HistoryUpdate) error
}

// MessageLoader is implemented by backends that can read a channel's
// history back piecemeal. With one, the manager keeps only what its hot
// paths read of each logged message in memory (a hash of its id, its
// sender, the ids of the newest few) and reads the rest back from the
// store: a message when a repair answer or Manager.LoggedMessage needs
// it, the oldest ids when it evicts them or ChannelState lists them. A
// backend without it (such as a host's, through the C ABI) is written for
// the five operations alone, and the manager keeps all of it in memory.
type MessageLoader interface {
	// LoadMessage returns the message messageID of the channel's history
	// as UpdateHistory stored it (as LoadChannel would return it); ok is
	// false when the history does not hold it. The caller may keep and
	// modify what it returns.
	LoadMessage(channelID, messageID string) (msg wire.Message, ok bool, err error)
	// HistoryIDs calls fn with the id of each message of the channel's
	// history, oldest first (LoadChannel's order), until fn returns false.
	// fn may keep the id; it must not call the backend.
	HistoryIDs(channelID string, fn func(messageID string) bool) error
}

// ChannelData is a channel's stored state.
type ChannelData struct {
	// Records is the channel's meta as keyed records (keys as in the
	// package doc; decode with DecodeRecords). Empty for a new channel.
	Records map[string][]byte
	// History is the history, oldest (first appended) first. Messages are
	// stored in the Nim wire format, so what is only representable in the
	// RFC format (Message.HasLamport false, Content nil) does not survive.
	History []wire.Message
	// Hints holds the saved retrieval hints, by message id.
	Hints map[string][]byte
}

// IsEmpty reports whether d holds nothing.
func (d *ChannelData) IsEmpty() bool {
	return d == nil || len(d.Records) == 0 && len(d.History) == 0 && len(d.Hints) == 0
}

// MetaDelta is what one operation (or several merged) changed in a
// channel's records: the keys put, with their values, and the keys deleted.
// A key is in at most one of the two maps. The zero value is an empty delta
// ready to use. Values are owned by the delta once put: do not modify them.
type MetaDelta struct {
	Puts    map[string][]byte
	Deletes map[string]struct{}
}

// Put records a put of value under key, replacing an earlier put or delete
// of the key in d (the latest operation wins).
func (d *MetaDelta) Put(key string, value []byte) {
	if value == nil {
		value = []byte{}
	}
	delete(d.Deletes, key)
	if d.Puts == nil {
		d.Puts = make(map[string][]byte)
	}
	d.Puts[key] = value
}

// Delete records a delete of key, replacing an earlier put of the key in d.
func (d *MetaDelta) Delete(key string) {
	delete(d.Puts, key)
	if d.Deletes == nil {
		d.Deletes = make(map[string]struct{})
	}
	d.Deletes[key] = struct{}{}
}

// Merge folds later, a delta that happened after d, into d: applying the
// result equals applying d then later.
func (d *MetaDelta) Merge(later *MetaDelta) {
	if later == nil {
		return
	}
	for k, v := range later.Puts {
		d.Put(k, v)
	}
	for k := range later.Deletes {
		d.Delete(k)
	}
}

// Len returns the number of keys d puts or deletes.
func (d *MetaDelta) Len() int {
	if d == nil {
		return 0
	}
	return len(d.Puts) + len(d.Deletes)
}

// ApplyTo applies d to a record set held in a map: the puts (copied; a
// nil value stored as empty), then the deletes.
func (d *MetaDelta) ApplyTo(records map[string][]byte) {
	for k, v := range d.Puts {
		records[k] = bytes.Clone(v)
		if records[k] == nil {
			records[k] = []byte{}
		}
	}
	for k := range d.Deletes {
		delete(records, k)
	}
}

// IsEmpty reports whether d changes nothing.
func (d *MetaDelta) IsEmpty() bool { return d.Len() == 0 }

// PutLamport records the Lamport clock.
func (d *MetaDelta) PutLamport(v uint64) { d.Put(LamportKey, encodeLamport(v)) }

// PutOutgoing records u in the outgoing buffer.
func (d *MetaDelta) PutOutgoing(u *UnacknowledgedMessage) {
	d.Put(OutgoingKey(u.Message.MessageID), u.marshal())
}

// DeleteOutgoing records the removal of id from the outgoing buffer.
func (d *MetaDelta) DeleteOutgoing(id string) { d.Delete(OutgoingKey(id)) }

// PutIncoming records m in the incoming buffer.
func (d *MetaDelta) PutIncoming(m *IncomingMessage) {
	d.Put(IncomingKey(m.Message.MessageID), m.marshal())
}

// DeleteIncoming records the removal of id from the incoming buffer.
func (d *MetaDelta) DeleteIncoming(id string) { d.Delete(IncomingKey(id)) }

// PutOutgoingRepair records kv in the outgoing repair buffer.
func (d *MetaDelta) PutOutgoingRepair(kv *OutgoingRepairKV) {
	d.Put(OutgoingRepairKey(kv.MessageID), kv.marshal())
}

// DeleteOutgoingRepair records the removal of id from the outgoing repair
// buffer.
func (d *MetaDelta) DeleteOutgoingRepair(id string) { d.Delete(OutgoingRepairKey(id)) }

// PutIncomingRepair records kv in the incoming repair buffer.
func (d *MetaDelta) PutIncomingRepair(kv *IncomingRepairKV) {
	d.Put(IncomingRepairKey(kv.MessageID), kv.marshal())
}

// DeleteIncomingRepair records the removal of id from the incoming repair
// buffer.
func (d *MetaDelta) DeleteIncomingRepair(id string) { d.Delete(IncomingRepairKey(id)) }

// AppendMessage adds an append of m to u, cancelling an earlier append or
// evict of the same id in u (the latest operation wins: the message goes to
// the end).
func (u *HistoryUpdate) AppendMessage(m wire.Message) {
	u.Evict = deleteID(u.Evict, m.MessageID)
	for i := range u.Append {
		if u.Append[i].MessageID == m.MessageID {
			u.Append = append(u.Append[:i], u.Append[i+1:]...)
			break
		}
	}
	u.Append = append(u.Append, m)
}

// EvictID adds an eviction of id to u, cancelling an earlier append of it
// in u.
func (u *HistoryUpdate) EvictID(id string) {
	for i := range u.Append {
		if u.Append[i].MessageID == id {
			u.Append = append(u.Append[:i], u.Append[i+1:]...)
			break
		}
	}
	u.Evict = append(deleteID(u.Evict, id), id)
}

func deleteID(ids []string, id string) []string {
	for i, x := range ids {
		if x == id {
			return append(ids[:i], ids[i+1:]...)
		}
	}
	return ids
}

// Import stores d (for example from ImportNim) as the whole state of a
// channel: it drops the channel, then writes the records and the history
// (in one transaction when b is a Batcher), then the hints. It is a
// migration step, not atomic as a whole: if it fails, run it again.
func Import(b Backend, channelID string, d *ChannelData) error {
	if err := b.DropChannel(channelID); err != nil {
		return fmt.Errorf("persist: import into %q: drop: %w", channelID, err)
	}
	md := &MetaDelta{Puts: make(map[string][]byte, len(d.Records))}
	for k, v := range d.Records {
		md.Put(k, v)
	}
	u := &HistoryUpdate{Append: d.History}
	if err := apply(b, channelID, md, u); err != nil {
		return fmt.Errorf("persist: import into %q: %w", channelID, err)
	}
	for id, h := range d.Hints {
		if err := b.SaveRetrievalHint(channelID, id, h); err != nil {
			return fmt.Errorf("persist: import into %q: hint: %w", channelID, err)
		}
	}
	return nil
}

// apply writes d and u, in one transaction when b is a Batcher, else the
// meta first: if the meta fails the history is not tried, so a stored
// history never gets ahead of the stored meta.
func apply(b Backend, channelID string, d *MetaDelta, u *HistoryUpdate) error {
	if d.IsEmpty() && u.IsEmpty() {
		return nil
	}
	if bb, ok := b.(Batcher); ok {
		return bb.Apply(channelID, d, u)
	}
	if !d.IsEmpty() {
		if err := b.SaveChannelMeta(channelID, d); err != nil {
			return fmt.Errorf("save channel meta: %w", err)
		}
	}
	if !u.IsEmpty() {
		if err := b.UpdateHistory(channelID, u); err != nil {
			return fmt.Errorf("update history: %w", err)
		}
	}
	return nil
}
