package sds

import (
	"errors"
	"fmt"
)

// Errors returned by Manager operations. Decoding failures wrap the
// sds/wire sentinel errors as well as ErrDecode.
var (
	ErrInvalidArgument = errors.New("sds: invalid argument")
	// ErrEmptyContent is an ErrInvalidArgument, as in the Nim library.
	ErrEmptyContent       = fmt.Errorf("%w: empty message content", ErrInvalidArgument)
	ErrContentTooLarge    = errors.New("sds: message content too large")
	ErrDuplicateMessageID = errors.New("sds: message id already used on this channel")
	ErrUnknownChannel     = errors.New("sds: unknown channel")
	// ErrTooManyChannels: the operation would create a channel beyond
	// Config.MaxChannels.
	ErrTooManyChannels = errors.New("sds: too many channels")
	ErrDecode          = errors.New("sds: cannot decode message")
	ErrClosed          = errors.New("sds: manager closed")
	ErrInvalidConfig   = errors.New("sds: invalid configuration")
	// ErrUnsupportedFormat: the operation cannot be expressed in the
	// configured wire format (an ephemeral message in the Nim format).
	ErrUnsupportedFormat = errors.New("sds: not supported by the wire format")
	// ErrPersistence: the store failed where the caller must know (loading
	// a channel, dropping one, opening or closing the store); the
	// backend's error is wrapped too. Writes during protocol operations
	// never fail the operation: they are retried (see Config.Persistence).
	ErrPersistence = errors.New("sds: persistence failed")
)
