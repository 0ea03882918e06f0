// Package sds is a pure-Go implementation of SDS (Scalable Data Sync), the
// end-to-end reliability protocol for group messaging over a lossy
// broadcast transport, wire-compatible with the Nim libsds.
//
// A Manager serves many channels. Wrap turns application content into a
// wire message carrying a Lamport timestamp, causal history and a bloom
// filter of what this participant has seen; Unwrap processes a received
// wire message, acknowledges our own outgoing messages, and delivers it (and
// everything it unblocks) in causal order once its dependencies are met.
//
// Time-driven work (resending unacknowledged messages, giving up on
// dependencies that never arrive, the periodic sync signal and the SDS-R
// repair sweep) is done by Sweep and RepairSweep, one deterministic pass
// each, which StartPeriodicTasks runs on the Clock's timers; WrapSync and
// WrapEphemeral build the RFC's sync and ephemeral messages.
//
// The core does no I/O of its own: time comes from a Clock, and events are
// handed to an EventHandler without any internal lock held, so handlers may
// call back into the Manager. Bytes to broadcast that the core produces on
// its own (a resend, a repair, a sync message asking for a repair) come out
// as events too. SDS-R keeps the RFC's formulas; by default it asks and
// answers within seconds (RepairPolicy, in repair_policy.go).
//
// Channel state can be made durable (Config.Persistence: any
// persist.Backend the caller opens, such as the embedded store of package
// sds/persist/bolt, which the caller also closes): a channel
// is loaded when first used, and every operation writes what it changed,
// in one transaction, before its events reach the application, so after a
// crash the application is never ahead of the store. Store failures never
// fail a protocol operation (the writes are retried, PersistenceStats and
// EventPersistenceBacklog report them); failures to load or drop a channel
// are returned (ErrPersistence).
package sds
