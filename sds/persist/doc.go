// Package persist stores the state of SDS channels: the encodings shared
// with the Nim libsds, the backend contract, and the policy for writing
// through it.
//
// # Formats
//
// The Nim records (ChannelMeta, NimChannelData, HistoryUpdate and the four
// buffer entries) encode byte for byte as the Nim snapshot_codec does, and
// their decoders accept what it accepts, refusing an unknown schemaVersion
// (ErrSchemaVersion). Decoders treat their input as untrusted: sizes and
// counts are bounded by Limits, and malformed input is an error, never a
// panic. Decoded values never alias their input.
//
// # Keyed records
//
// The Nim library rewrites the whole ChannelMeta (every unacknowledged
// message; ~38 MB per operation at 2,000 of them with 19 KB bloom filters)
// after every operation. Here the meta is a set of keyed records, one per
// buffer entry plus the Lamport clock (see Kind for the key encoding), and
// an operation writes only the records it changed (MetaDelta). The record
// values are the Nim encodings of the buffer entries, so the Nim ChannelMeta
// blob is derived from the records (AssembleChannelMeta, ExportNim) and
// split back into them (SplitChannelMeta, ImportNim): that is how state
// moves between the two libraries.
package persist
