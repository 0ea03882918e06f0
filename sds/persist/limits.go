package persist

import (
	"cmp"

	"github.com/libsds-go/libsds/sds/wire"
)

// Limits bound what decoding one blob may cost; blobs are untrusted input
// (a corrupted file, a blob imported from elsewhere). Decoding allocates in
// proportion to the input, which is itself bounded. A zero (or negative)
// field means its default.
type Limits struct {
	// Wire bounds every embedded SDS message (and the length of a cached
	// message and the ids, hints and sender ids of history entries: ids at
	// most Wire.MaxIDBytes, hints at most Wire.MaxHintBytes).
	Wire wire.Limits
	// MaxBlobBytes bounds a whole ChannelMeta, ChannelData blob or
	// HistoryUpdate blob. Default 1 GiB: the Nim ChannelMeta at 2,000
	// unacknowledged messages carrying the default 18.8 KB bloom filter is
	// about 38 MB.
	MaxBlobBytes int
	// MaxRecordBytes bounds one record (an UnacknowledgedMessage,
	// IncomingMessage, OutgoingRepairKV or IncomingRepairKV blob). Default
	// twice the largest wire message plus 64 KiB (an IncomingRepairKV holds
	// a cached message beside its entry).
	MaxRecordBytes int
	// MaxMissingDeps bounds the missing dependencies of one incoming
	// message. Default 1024 (wire.DefaultMaxHistoryEntries: they come from
	// one message's causal history).
	MaxMissingDeps int
	// MaxEntries bounds the entries of one repeated field of a blob (each
	// buffer of a ChannelMeta, the history of a ChannelData blob, the appends
	// or the evictions of a HistoryUpdate). Default 1<<20.
	MaxEntries int
}

// Default limits.
const (
	defaultMaxBlobBytes   = 1 << 30
	defaultMaxRecordBytes = 2*wire.DefaultMaxMessageBytes + 64<<10
	defaultMaxMissingDeps = wire.DefaultMaxHistoryEntries
	defaultMaxEntries     = 1 << 20
)

func (l Limits) norm() Limits {
	l.Wire = l.Wire.WithDefaults()
	// max(v, 0): a negative field means its default, as zero does.
	l.MaxBlobBytes = cmp.Or(max(l.MaxBlobBytes, 0), defaultMaxBlobBytes)
	l.MaxRecordBytes = cmp.Or(max(l.MaxRecordBytes, 0), defaultMaxRecordBytes)
	l.MaxMissingDeps = cmp.Or(max(l.MaxMissingDeps, 0), defaultMaxMissingDeps)
	l.MaxEntries = cmp.Or(max(l.MaxEntries, 0), defaultMaxEntries)
	return l
}
