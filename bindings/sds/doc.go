// Package sds is a pure-Go drop-in for the Go bindings of the Nim libsds
// (github.com/waku-org/sds-go-bindings, package sds, now
// logos-messaging/sds-go-bindings): the same ReliabilityManager with the
// same methods, EventCallbacks, types and JSON shapes, built directly on
// this module's core (github.com/libsds-go/libsds/sds) — no cgo, no shared
// library, no Nim thread. A program switches by changing one import path:
//
//	import "github.com/waku-org/sds-go-bindings/sds"
//
// becomes
//
//	import "github.com/libsds-go/libsds/bindings/sds"
//
// This package is a Go module of its own (it depends on go.uber.org/zap,
// which the library's module does not).
//
// # What behaves the same
//
// NewReliabilityManager(*zap.Logger) creates a manager with the Nim
// library's defaults and an empty participant id (it can be passed where a
// func(*zap.Logger) (*ReliabilityManager, error) is expected);
// EventCallbacks has the five fields of the C binding (OnMessageReady,
// OnMessageSent, OnMissingDependencies, OnPeriodicSync,
// RetrievalHintProvider); WrapOutgoingMessage returns the wire bytes
// (the Nim wire format, byte for byte); UnwrapReceivedMessage returns an
// UnwrappedMessage whose three pointers are always set, with the content,
// the channel id and the missing dependencies (an empty, non-nil slice when
// there are none; a dependency without a retrieval hint has an empty,
// non-nil RetrievalHint, as decoding the C library's JSON gives);
// MarkDependenciesMet with no ids does nothing; errors read
// "error <Method>: <reason>"; a nil *ReliabilityManager returns an error
// from every method.
//
// # What differs (deliberately)
//
//   - Events run synchronously, on the goroutine whose call caused them,
//     before that call returns (an unwrap that delivers a message calls
//     OnMessageReady before UnwrapReceivedMessage returns); the periodic
//     ones (OnPeriodicSync, OnRepairReady, OnMessageResend, ...) run on the
//     manager's own goroutine. Callbacks may call back into the manager.
//     Code written for the C binding, which waits for callbacks with a
//     timeout, works unchanged.
//   - The logger given to NewReliabilityManager receives the core's
//     diagnostics (a panicking callback, a failing store, an ignored bloom
//     filter), each at its level with its fields; nil discards them.
//     OnCallbackError does nothing (no library callback can fail here).
//     With NewReliabilityManagerWithConfig they go to Config.Logger
//     (zerolog).
//   - HistoryEntry has a SenderID (the participant that sent the entry's
//     message, when the entry names one; JSON "senderId", omitted when
//     empty), the same in the unwrap result and in OnMissingDependencies.
//   - Errors wrap the core's sentinel errors, re-exported here
//     (ErrDuplicateMessageID, ErrUnknownChannel, ErrDecode, ErrClosed, ...),
//     so errors.Is works; the text after "error <Method>: " is the core's.
//   - After Cleanup every method returns an error wrapping ErrClosed, and a
//     second Cleanup returns nil (through the C binding a cleaned-up context
//     is undefined behaviour with the Nim library; with this module's C
//     library it gets no callback, and the call waits forever).
//   - A message that stays unacknowledged after the last resend is reported
//     by OnMessageFailed, not by OnMessageSent as the Nim library does.
//   - Additions: NewReliabilityManagerWithConfig (participant id, which
//     enables SDS-R repair, every protocol parameter, persistence, the
//     clock), EventCallbacks for the events the Nim library lacks or the
//     binding did not expose (OnRepairReady, OnMessageResend,
//     OnMessageFailed, OnDependenciesLost, OnIncomingEvicted,
//     OnPersistenceBacklog, OnRepairRequest), Stats (the core's metrics),
//     and Manager, the core manager underneath (for sync and ephemeral
//     messages, Sweep, channel state).
package sds
