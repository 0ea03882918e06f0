// Package cborabi is the CBOR encoding of the second libsds ABI generation,
// the snake_case sds_* functions of include/libsds.h: requests, responses
// and the event envelope, byte for byte as the Nim libsds of that
// generation writes them (nim-sds library/libsds.nim on nim-ffi 0.2, whose
// objects are serialised by vacp2p/nim-cbor-serialization 0.3).
//
// The rules this package follows, taken from those sources:
//
//   - An object is a definite-length map keyed by its field names as text
//     strings, in declaration order; every field is written (Option none,
//     which omits the key, does not occur in these types).
//   - Integers take their shortest form (0x00-0x17, 0x18 xx, ...); bool is
//     0xf4/0xf5; string is a definite text string; seq[byte] is a definite
//     byte string (an empty one is 0x40); seq[T] is a definite array (an
//     empty one is 0x80).
//   - Each {.ffi.} function decodes its request as an object whose fields
//     are the Nim procedure's parameters: {"req": {...}} for the
//     operations, {"config": {...}} for sds_create, and {"_placeholder":
//     uint8} for those without parameters. Missing fields keep their zero
//     value, unknown keys are an error, and the request must be a map.
//   - A successful result is the CBOR of the procedure's result: a
//     response object, or the text string "" (0x60) for Result[string];
//     sds_create answers the context as a decimal text string. Errors are
//     plain UTF-8 text, not CBOR.
//   - Events are {"eventType": <name>, "payload": <object>}.
//
// Decoding is bounded for hostile input (see decMode); this package has no
// cgo, so its tests and fuzz target run without the C library.
package cborabi

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// MaxRequestBytes bounds a request's size. nim-cbor-serialization has no
// limit by default; this one is far above any message the core accepts
// (its own limits apply after decoding).
const MaxRequestBytes = 256 << 20

// Decoding limits, all far above what a valid request needs: a request is
// at most 4 levels deep (request, "req"/"config", "limits", value), the
// configuration has about 30 keys, and an array is a list of message ids.
const (
	MaxNestedLevels  = 16
	MaxMapPairs      = 256
	MaxArrayElements = 1 << 20
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{
		// Struct fields in declaration order, as Nim writes objects.
		Sort: cbor.SortNone,
		// seq[byte] and seq[T] are never null in Nim: empty is 0x40 / 0x80.
		NilContainers: cbor.NilContainerAsEmpty,
		// Shortest integer forms (the only ones Nim writes) are the default;
		// strings are written as they are (Nim does not check UTF-8).
		String: cbor.StringToTextString,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  MaxNestedLevels,
		MaxArrayElements: MaxArrayElements,
		MaxMapPairs:      MaxMapPairs,
		// nim-cbor-serialization reads indefinite lengths and does not
		// check UTF-8; it rejects tags where it expects a value, byte
		// strings where it expects text, and keys that are not exactly a
		// field's name. A repeated key it reads again (the last scalar
		// wins, arrays are appended to): here it is an error, a map with a
		// repeated key not being valid CBOR (RFC 8949 section 5.6).
		IndefLength:        cbor.IndefLengthAllowed,
		DupMapKey:          cbor.DupMapKeyEnforcedAPF,
		UTF8:               cbor.UTF8DecodeInvalid,
		TagsMd:             cbor.TagsForbidden,
		ByteStringToString: cbor.ByteStringToStringForbidden,
		FieldNameMatching:  cbor.FieldNameMatchingCaseSensitive,
		ExtraReturnErrors:  cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Decode decodes a request into v, a pointer to one of the request types.
// The error is the reason only; callers prefix it as Nim does ("CBOR
// decode failed for <type>: ").
func Decode(data []byte, v any) error {
	switch {
	case len(data) == 0:
		return errors.New("empty request (a CBOR map is required)")
	case len(data) > MaxRequestBytes:
		return fmt.Errorf("request of %d bytes exceeds %d", len(data), MaxRequestBytes)
	case data[0]>>5 != 5:
		return fmt.Errorf("the request is not a CBOR map (initial byte 0x%02x)", data[0])
	}
	if err := decMode.Unmarshal(data, v); err != nil {
		return errors.New(trimPrefix(err.Error()))
	}
	return nil
}

func trimPrefix(s string) string {
	const p = "cbor: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Marshal encodes v with the encoding above.
func Marshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil { // only unsupported types fail; ours are fixed
		panic("cborabi: " + err.Error())
	}
	return b
}

// ---- requests ------------------------------------------------------------

// The per-procedure request objects of nim-ffi's {.ffi.} macro, named
// after the Nim types (used in decode error messages).
const (
	TypeCreate         = "SdsCreateCtorReq"
	TypeWrap           = "SdsWrapOutgoingMessageReq"
	TypeUnwrap         = "SdsUnwrapReceivedMessageReq"
	TypeMarkDeps       = "SdsMarkDependenciesMetReq"
	TypeReset          = "SdsResetReq"
	TypeStartPeriodic  = "SdsStartPeriodicTasksReq"
	TypeHintProvider   = "SdsSetRetrievalHintProviderReq"
	TypeWrapSync       = "SdsWrapSyncMessageReq"      // this library's
	TypeWrapEphemeral  = "SdsWrapEphemeralMessageReq" // this library's
	TypeStats          = "SdsGetStatsReq"             // this library's
	TypeUnitRequestKey = "_placeholder"
)

// WrapRequest is SdsWrapRequest (also the ephemeral wrap's request).
type WrapRequest struct {
	Message   []byte `cbor:"message"`
	MessageID string `cbor:"messageId"`
	ChannelID string `cbor:"channelId"`
}

// Request is nim-ffi's request envelope {req: T}.
type Request[T any] struct {
	Req T `cbor:"req"`
}

// WrapEnvelope is SdsWrapOutgoingMessageReq.
type WrapEnvelope = Request[WrapRequest]

// UnwrapRequest is SdsUnwrapRequest.
type UnwrapRequest struct {
	Message []byte `cbor:"message"`
}

// UnwrapEnvelope is SdsUnwrapReceivedMessageReq.
type UnwrapEnvelope = Request[UnwrapRequest]

// MarkDependenciesRequest is SdsMarkDependenciesRequest.
type MarkDependenciesRequest struct {
	MessageIDs []string `cbor:"messageIds"`
	ChannelID  string   `cbor:"channelId"`
}

// MarkDependenciesEnvelope is SdsMarkDependenciesMetReq.
type MarkDependenciesEnvelope = Request[MarkDependenciesRequest]

// HintProviderRequest is SdsHintProviderRequest: the provider's function
// pointer and user data as integers.
type HintProviderRequest struct {
	CallbackAddr uint64 `cbor:"callbackAddr"`
	UserDataAddr uint64 `cbor:"userDataAddr"`
}

// HintProviderEnvelope is SdsSetRetrievalHintProviderReq.
type HintProviderEnvelope = Request[HintProviderRequest]

// SyncRequest is the request of this library's sds_wrap_sync_message.
type SyncRequest struct {
	ChannelID string `cbor:"channelId"`
}

// SyncEnvelope is SdsWrapSyncMessageReq.
type SyncEnvelope = Request[SyncRequest]

// UnitRequest is the request of a procedure without parameters:
// {"_placeholder": 0}; {} is accepted too.
type UnitRequest struct {
	Placeholder uint8 `cbor:"_placeholder"`
}

// ---- responses -----------------------------------------------------------

// WrapResponse is SdsWrapResponse.
type WrapResponse struct {
	Message []byte `cbor:"message"`
}

// MissingDep is SdsMissingDep, plus the sender id when the entry has one
// (without it, Nim's encoding byte for byte).
type MissingDep struct {
	MessageID     string `cbor:"messageId"`
	RetrievalHint []byte `cbor:"retrievalHint"`
	SenderID      string `cbor:"senderId,omitempty"`
}

// UnwrapResponse is SdsUnwrapResponse.
type UnwrapResponse struct {
	Message     []byte       `cbor:"message"`
	ChannelID   string       `cbor:"channelId"`
	MissingDeps []MissingDep `cbor:"missingDeps"`
}

// EncodeWrap returns SdsWrapResponse{message: wireBytes}.
func EncodeWrap(wireBytes []byte) []byte {
	return Marshal(WrapResponse{Message: wireBytes})
}

// WrapResponseHead returns the bytes of SdsWrapResponse that precede n
// wire bytes: EncodeWrap(w) is WrapResponseHead(len(w)) followed by w, so
// a result can be assembled without encoding the wire bytes again.
func WrapResponseHead(n int) []byte {
	h := []byte{0xa1, 0x60 | 7, 'm', 'e', 's', 's', 'a', 'g', 'e'}
	return appendHead(h, 2, uint64(n))
}

// appendHead appends a CBOR head in its shortest form.
func appendHead(dst []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(dst, m|byte(v))
	case v <= 0xff:
		return append(dst, m|24, byte(v))
	case v <= 0xffff:
		return append(dst, m|25, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return append(dst, m|26, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, m|27, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// EncodeUnwrap returns the SdsUnwrapResponse of an unwrap.
func EncodeUnwrap(r *sds.UnwrapResult) []byte {
	return Marshal(UnwrapResponse{
		Message:     r.Content,
		ChannelID:   r.ChannelID,
		MissingDeps: missingDeps(r.MissingDeps),
	})
}

// EncodeText returns s as a CBOR text string: the result of a procedure
// returning Result[string] ("" is 0x60), and sds_create's context.
func EncodeText(s string) []byte { return Marshal(s) }

func missingDeps(deps []wire.HistoryEntry) []MissingDep {
	out := make([]MissingDep, len(deps))
	for i, d := range deps {
		out[i] = MissingDep{MessageID: d.MessageID, RetrievalHint: d.RetrievalHint, SenderID: d.SenderID}
	}
	return out
}

// ---- events ----------------------------------------------------------------

// Envelope is nim-ffi's EventEnvelope[T].
type Envelope[T any] struct {
	EventType string `cbor:"eventType"`
	Payload   T      `cbor:"payload"`
}

// MessageEvent is SdsMessageReadyPayload and SdsMessageSentPayload (and
// the payload of this library's message_failed and incoming_evicted).
type MessageEvent struct {
	MessageID string `cbor:"messageId"`
	ChannelID string `cbor:"channelId"`
}

// MissingDependenciesEvent is SdsMissingDependenciesPayload.
type MissingDependenciesEvent struct {
	MessageID   string       `cbor:"messageId"`
	ChannelID   string       `cbor:"channelId"`
	MissingDeps []MissingDep `cbor:"missingDeps"`
}

// PeriodicSyncEvent is SdsPeriodicSyncPayload, always {placeholder: false}.
type PeriodicSyncEvent struct {
	Placeholder bool `cbor:"placeholder"`
}

// RepairReadyEvent is SdsRepairReadyPayload (message first).
type RepairReadyEvent struct {
	Message   []byte `cbor:"message"`
	ChannelID string `cbor:"channelId"`
}

// MessageResendEvent is this library's message_resend payload.
type MessageResendEvent struct {
	MessageID string `cbor:"messageId"`
	ChannelID string `cbor:"channelId"`
	Attempt   uint64 `cbor:"attempt"`
	Message   []byte `cbor:"message"`
}

// DependenciesLostEvent is this library's dependencies_lost payload.
type DependenciesLostEvent struct {
	MessageID string   `cbor:"messageId"`
	ChannelID string   `cbor:"channelId"`
	Lost      []string `cbor:"lost"`
}

// RepairRequestEvent is this library's repair_request payload.
type RepairRequestEvent struct {
	MessageID string   `cbor:"messageId"`
	ChannelID string   `cbor:"channelId"`
	Requested []string `cbor:"requested"`
	Message   []byte   `cbor:"message"`
}

// PersistenceBacklogEvent is this library's persistence_backlog payload.
type PersistenceBacklogEvent struct {
	ChannelID string `cbor:"channelId"`
}

func envelope[T any](name string, p T) []byte {
	return Marshal(Envelope[T]{EventType: name, Payload: p})
}

// EncodeEvent returns the envelope of e, named e.Kind.String().
func EncodeEvent(e *sds.Event) []byte {
	name := e.Kind.String()
	switch e.Kind {
	case sds.EventMissingDependencies:
		return envelope(name, MissingDependenciesEvent{e.MessageID, e.ChannelID, missingDeps(e.MissingDeps)})
	case sds.EventPeriodicSync:
		return envelope(name, PeriodicSyncEvent{})
	case sds.EventRepairReady:
		return envelope(name, RepairReadyEvent{e.Payload, e.ChannelID})
	case sds.EventMessageResend:
		return envelope(name, MessageResendEvent{e.MessageID, e.ChannelID, uint64(max(e.Attempt, 0)), e.Payload})
	case sds.EventDependenciesLost:
		return envelope(name, DependenciesLostEvent{e.MessageID, e.ChannelID, e.Lost})
	case sds.EventPersistenceBacklog:
		return envelope(name, PersistenceBacklogEvent{e.ChannelID})
	case sds.EventRepairRequest:
		requested := make([]string, len(e.MissingDeps))
		for i := range e.MissingDeps {
			requested[i] = e.MissingDeps[i].MessageID
		}
		return envelope(name, RepairRequestEvent{e.MessageID, e.ChannelID, requested, e.Payload})
	default: // message_ready, message_sent, message_failed, incoming_evicted
		return envelope(name, MessageEvent{e.MessageID, e.ChannelID})
	}
}
