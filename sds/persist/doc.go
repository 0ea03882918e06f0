// Package persist stores the state of SDS channels: the encodings shared
// with the Nim libsds, the backend contract, and the policy for writing
// through it.
//
// # Formats
//
// The Nim records (ChannelMeta, the ChannelData blob, HistoryUpdate and
// the four buffer entries) encode byte for byte as the Nim snapshot_codec does, and
// their decoders accept what it accepts, refusing an unknown schemaVersion
// (ErrSchemaVersion). Decoders treat their input as untrusted: sizes and
// counts are bounded by Limits, and malformed input is an error, never a
// panic. Decoded values never alias their input.
//
// # Keyed records
//
// The Nim library rewrites the whole ChannelMeta (every unacknowledged
// message; ~41 MB per operation at 2,000 of them carrying the default 18.8 KB
// bloom filter) after every operation. Here the meta is a set of keyed
// records, one per buffer entry plus the Lamport clock, and an operation
// writes only the records it changed (MetaDelta). A key is one kind byte
// followed by the raw message id (any bytes; nothing is escaped):
//
//	"L"        the Lamport clock (LamportKey): its minimal uvarint
//	"O" + id   an UnacknowledgedMessage (OutgoingKey)
//	"I" + id   an IncomingMessage (IncomingKey)
//	"Q" + id   an OutgoingRepairKV, a repair request we may send (OutgoingRepairKey)
//	"P" + id   an IncomingRepairKV, a repair response we may send (IncomingRepairKey)
//	"M" + id   a MetRecord, an id marked as met (our extension)
//
// The record values are the Nim encodings of the buffer entries, so the
// Nim ChannelMeta blob is derived from the records (ExportNim) and split
// back into them (ImportNim, then Import into a backend): that is how state
// moves between the two libraries.
//
// One record kind is this library's extension, with no Nim counterpart:
// the met records, the ids the application marked as met, which count as
// present across restarts. ExportNim leaves them out.
//
// # Backends
//
// Backend is the five-operation contract (with Batcher for one transaction
// per operation); package persisttest checks it (RunBackendTests). Memory
// is the in-memory backend for tests, with fault injection; package bolt is
// the durable default, one bbolt file.
//
// # Failure policy
//
// Writer applies the Nim policy for one channel: a failed write never fails
// the protocol operation and is retried, merged with later changes (the
// latest operation wins), with the next operation's write; loading and
// dropping report their failures. Bootstrap loads a channel, checks it
// (Validate) and returns its Writer.
//
// # Integrating with the manager
//
// At channel creation (getOrCreate): data, w, err := Bootstrap(backend, id,
// opts). On err, fail the creation. Otherwise rebuild the channel from
// data: DecodeRecords(data.Records) gives the Lamport clock and the four
// buffers (outgoing in send order); data.History, oldest first, is the log
// (rebuild the bloom filter from it); data.Hints are the cached retrieval
// hints by message id. Keep w with the channel.
//
// During each state-changing operation, under the channel lock, record
// what changed in a MetaDelta and a HistoryUpdate:
//   - clock changed: d.PutLamport(clock);
//   - message sent: d.PutOutgoing(&UnacknowledgedMessage{...}) and
//     u.AppendMessage(msg) (the manager logs its own messages);
//   - outgoing acknowledged or given up: d.DeleteOutgoing(id); resent:
//     d.PutOutgoing again (new sendTime, attempts);
//   - message buffered for missing dependencies: d.PutIncoming; its missing
//     set changed: d.PutIncoming again; delivered or dropped:
//     d.DeleteIncoming(id);
//   - message delivered: u.AppendMessage(msg); log entry evicted:
//     u.EvictID(id);
//   - SDS-R: d.PutOutgoingRepair / d.DeleteOutgoingRepair,
//     d.PutIncomingRepair / d.DeleteIncomingRepair;
//   - id marked met (or given up as lost): d.PutMet; dropped from the
//     bounded met set: d.DeleteMet.
//
// Messages are stored in the Nim wire format; store them as the log keeps
// them (without the bloom filter). At the end of every operation, even one
// that changed nothing, call w.Commit(&d, &u) once (it writes the pair in
// one transaction with a Batcher), and log a non-nil error without failing
// the operation; errors.Is(err, ErrBacklog) means the store has been
// failing for long (raise it as an event). When the hint provider returns
// a hint for a logged message, call w.SaveHint(id, hint) (log errors). To
// remove or reset a channel, call w.Drop() and return its error: the caller
// asked for the wipe.
//
// # Cost
//
// BenchmarkSend in package bolt measures one more send (put an outgoing
// record and the clock, append one message, acknowledge the oldest) with N
// unacknowledged messages: the bolt store writes a constant ~290 KB per
// operation with 19 KB bloom filters in every message (~78 KB without), at
// N = 500 and N = 2,000 alike (B+tree copy-on-write pages; the payload is
// 41 KB or 3.7 KB), while the Nim blob is 10 MB at N = 500 and 41 MB at
// N = 2,000.
package persist
