package persist

import (
	"errors"
	"fmt"

	"github.com/libsds-go/libsds/sds/wire"
)

// Errors, wrapped with detail; test with errors.Is.
var (
	// ErrMalformed: a blob, record or key is not of the expected shape
	// (bad protobuf, a required field missing, an undecodable embedded
	// message, an id that does not match its key, a duplicate). Errors
	// from sds/wire for an embedded message are wrapped too.
	ErrMalformed = errors.New("persist: malformed data")
	// ErrLimit: a blob, record or field exceeds one of the Limits (or an
	// embedded message exceeds its wire.Limits).
	ErrLimit = errors.New("persist: limit exceeded")
	// ErrSchemaVersion: a ChannelMeta blob carries a schemaVersion this
	// package does not know. It is refused rather than read partly, as the
	// Nim library does.
	ErrSchemaVersion = errors.New("persist: unsupported ChannelMeta schemaVersion")
	// ErrContract: data loaded from a backend breaks the backend contract
	// (see Validate).
	ErrContract = errors.New("persist: backend contract broken")
	// ErrBacklog: more writes are waiting for retry than the Writer's bound.
	ErrBacklog = errors.New("persist: pending write backlog over its bound")
	// ErrNoLoader: the backend cannot read its history back (it is no
	// MessageLoader).
	ErrNoLoader = errors.New("persist: backend does not read its history back")
	// ErrInjected: a failure injected by a Memory backend for testing.
	ErrInjected = errors.New("persist: injected failure")
)

// wrapWire wraps an error from wire.Decode of an embedded message found at
// where, adding ErrLimit or ErrMalformed so callers need test only ours.
func wrapWire(err error, where string) error {
	if errors.Is(err, wire.ErrLimit) || errors.Is(err, wire.ErrTooLarge) {
		return fmt.Errorf("%w: %s: %w", ErrLimit, where, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, where, err)
}

func missing(what string) error {
	return fmt.Errorf("%w: required field %s missing", ErrMalformed, what)
}
