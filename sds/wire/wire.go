// Package wire encodes and decodes SDS messages, byte-exact with the Nim
// libsds (the default format) and with the RFC / TypeScript (js-waku
// @waku/sds) format, which numbers the same fields differently.
//
// # Formats
//
// FormatNim (Nim libsds field numbers): message_id 1, lamport_timestamp 2,
// causal_history 3, channel_id 4, content 5, bloom_filter 6, sender_id 7,
// repair_request 13. The encoder writes the fields in that order; 1, 2, 4, 5
// and 6 always (even when empty), 7 only when non-empty, and one 3 / 13 per
// entry. HistoryEntry: message_id 1 always, retrieval_hint 2 and sender_id 3
// only when non-empty.
//
// FormatRFC (RFC / TypeScript field numbers): sender_id 1, message_id 2,
// channel_id 3, lamport_timestamp 10, causal_history 11, bloom_filter 12,
// repair_request 13, content 20, written in that order the way the
// TypeScript (protons) encoder writes them: strings only when non-empty,
// lamport_timestamp only when Message.HasLamport, bloom_filter and content
// only when non-nil (an empty but non-nil slice is written as an empty
// field), HistoryEntry.retrieval_hint only when non-nil.
//
// # Absent and empty fields
//
// In a decoded Message:
//   - Content is nil exactly when the RFC content field was absent (a sync
//     message); a present field gives a non-nil slice, possibly empty. In the
//     Nim format content is required, so Content is never nil there.
//   - HasLamport says whether lamport_timestamp was present (always true for
//     the Nim format, where it is required; the Nim encoder writes
//     LamportTimestamp whatever HasLamport says).
//   - BloomFilter is nil when the field was absent, and also when it was
//     empty in the Nim format (the Nim encoder always writes it, so the two
//     cannot be told apart there); in the RFC format a present empty field
//     gives a non-nil empty slice.
//   - HistoryEntry.RetrievalHint is nil when absent, and when empty in the
//     Nim format; an RFC hint present but empty is a non-nil empty slice.
//   - A present but empty string cannot be told from an absent one.
//
// # Recognising the format
//
// Decode and ChannelID look at the first occurrence of field 2: a varint
// means the Nim format (lamport_timestamp), a length-delimited field the RFC
// format (message_id). Each format requires its field 2, so a message without
// one is invalid in both; it is treated as Nim and rejected (ChannelID still
// reads field 4, as the Nim extractChannelId does).
//
// # Decoding rules
//
// proto3 encoding rules apply, with the Nim library's strictness where it is
// stricter: varints must be minimally encoded (the Nim decoder rejects
// over-long varints), groups (wire types 3 and 4) and wire types 6 and 7 are
// errors, and every field of the input must be well formed, including unknown
// ones, which are skipped whatever their number. Of a field that should occur
// once, the last occurrence wins. A known field with the wrong wire type is
// skipped, as the Nim decoder does (a required one is then missing).
//
// Required: Nim format — message_id, lamport_timestamp, channel_id and
// content must be present (each may be empty), as in the Nim decoder. RFC
// format — message_id and channel_id must be non-empty, and the message must
// carry lamport_timestamp or non-empty content (the TypeScript decoder's
// content / sync / ephemeral classification rejects anything else).
//
// Legacy causal history (Nim format only): old Nim versions wrote each
// causal-history entry as a bare string. An entry's bytes are first parsed
// as a HistoryEntry; if that fails, or yields no message_id (field 1), and
// the bytes are non-empty valid UTF-8 without C0 control characters or DEL,
// the bytes themselves are the message id, with no hint and no sender;
// otherwise the message is rejected. The two readings never compete: a
// HistoryEntry with an id contains the byte 0x0a (the tag of field 1, which
// must be minimally encoded) and an acceptable bare id cannot. The Nim
// decoder rejects the whole message instead. Repair requests and RFC entries
// get no such treatment; an RFC entry without field 1 has an empty id
// (proto3).
//
// # Memory
//
// Decode copies strings, Content and retrieval hints out of the input (it may
// be a C buffer freed afterwards), using a few shared allocations: all the
// strings of one message share one backing array (keeping any one of them
// keeps all of them, at most the size of the input, alive; use
// strings.Clone to keep a single id cheaply), the hints share another, and
// Content has its own. BloomFilter is not copied: it aliases the input and is
// valid only while the input is.
package wire

import (
	"errors"

	"github.com/libsds-go/libsds/sds/internal/enumname"
)

// HistoryEntry is one causal-history or repair-request entry.
type HistoryEntry struct {
	MessageID     string
	RetrievalHint []byte // nil when absent
	SenderID      string
}

// Message is an SDS message. See the package documentation for how absent
// and empty fields are represented.
type Message struct {
	MessageID        string
	LamportTimestamp uint64
	HasLamport       bool // RFC format may omit it (ephemeral); Nim format always has it
	CausalHistory    []HistoryEntry
	ChannelID        string
	Content          []byte // nil: absent (RFC sync message); the Nim format always writes it
	BloomFilter      []byte // opaque serialized filter; in a decoded Message it aliases the input
	SenderID         string
	RepairRequest    []HistoryEntry
}

// Format selects the field numbering.
type Format uint8

const (
	FormatNim Format = iota // Nim libsds field numbers (default)
	FormatRFC               // RFC / TypeScript field numbers
)

var formatNames = []string{FormatNim: "nim", FormatRFC: "rfc"}

// String returns "nim", "rfc" or "Format(n)".
func (f Format) String() string { return enumname.String(formatNames, f, "Format") }

// ParseFormat returns the format String names: "nim" or "rfc".
func ParseFormat(name string) (Format, error) {
	return enumname.Parse[Format](formatNames, name, "wire format")
}

// Errors returned by Decode and ChannelID, wrapped with detail; test with
// errors.Is.
var (
	// ErrTooLarge: the input is longer than Limits.MaxMessageBytes (checked
	// before anything is decoded).
	ErrTooLarge = errors.New("wire: message too large")
	// ErrMalformed: not a well-formed protobuf message of the expected
	// shape (truncation, bad varint, bad wire type, bad history entry).
	ErrMalformed = errors.New("wire: malformed message")
	// ErrMissingField: a required field is absent (or, in the RFC format,
	// empty).
	ErrMissingField = errors.New("wire: missing required field")
	// ErrLimit: a field or a repeated field exceeds one of the Limits.
	ErrLimit = errors.New("wire: limit exceeded")
)

// Limits bound what decoding one message may cost. A zero (or negative)
// field means the default from DefaultLimits.
type Limits struct {
	MaxMessageBytes   int // whole input, checked before decoding; default 1 MiB + 64 KiB
	MaxIDBytes        int // message id, channel id, sender id (also in entries); default 1024
	MaxHintBytes      int // one retrieval hint; default 4096
	MaxHistoryEntries int // causal-history entries in one message; default 1024
	MaxRepairEntries  int // repair-request entries in one message; default 256
	MaxBloomBytes     int // bloom_filter field; default 1 MiB
}

// Default limits. MaxMessageBytes leaves 64 KiB beside the largest content
// the Nim library sends (1 MiB) for the ~18.8 KB default bloom filter, the
// causal history and the ids.
const (
	DefaultMaxMessageBytes   = 1<<20 + 64<<10
	DefaultMaxIDBytes        = 1024
	DefaultMaxHintBytes      = 4096
	DefaultMaxHistoryEntries = 1024
	DefaultMaxRepairEntries  = 256
	DefaultMaxBloomBytes     = 1 << 20
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:   DefaultMaxMessageBytes,
		MaxIDBytes:        DefaultMaxIDBytes,
		MaxHintBytes:      DefaultMaxHintBytes,
		MaxHistoryEntries: DefaultMaxHistoryEntries,
		MaxRepairEntries:  DefaultMaxRepairEntries,
		MaxBloomBytes:     DefaultMaxBloomBytes,
	}
}

// WithDefaults returns l with every non-positive field replaced by its
// default, so a partly filled Limits is usable as is.
func (l Limits) WithDefaults() Limits {
	l.MaxMessageBytes = orDefault(l.MaxMessageBytes, DefaultMaxMessageBytes)
	l.MaxIDBytes = orDefault(l.MaxIDBytes, DefaultMaxIDBytes)
	l.MaxHintBytes = orDefault(l.MaxHintBytes, DefaultMaxHintBytes)
	l.MaxHistoryEntries = orDefault(l.MaxHistoryEntries, DefaultMaxHistoryEntries)
	l.MaxRepairEntries = orDefault(l.MaxRepairEntries, DefaultMaxRepairEntries)
	l.MaxBloomBytes = orDefault(l.MaxBloomBytes, DefaultMaxBloomBytes)
	return l
}

// orDefault is v, or def when v is not positive.
func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
