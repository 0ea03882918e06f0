// Package sim is a discrete-event simulator of SDS groups: N participants,
// each running the real sds core (one sds.Manager each), on one or more
// channels of a simulated broadcast network with loss, latency, jitter,
// reordering, partitions and participants going offline.
//
// Everything runs on one goroutine under one sds.ManualClock. An event
// queue orders copies arriving, messages being sent and each
// participant's periodic work (Sweep, RepairSweep and sync messages, at
// the Config.Protocol intervals and a random phase per participant), so a
// run is deterministic for a seed and takes no wall time waiting.
//
// Run returns a Result: delivery ratio, send-to-delivery latency, what is
// still missing at the end, resends and repairs, bytes on the wire and
// memory. The package does no I/O; cmd/sds-sim adds flags, progress, JSON
// and the report.
package sim
