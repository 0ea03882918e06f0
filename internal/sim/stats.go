package sim

import (
	"errors"
	"fmt"

	"github.com/libsds-go/libsds/sds"
)

// The counts a Result reports come from the managers' own metrics
// (sds.Manager.Stats), summed over the participants at the end of the
// run. The simulator counts the same events and bytes on its side as they
// pass through it; crossCheck compares the two accounts, and a run whose
// accounts differ fails, so neither can drift silently.

// madeBytes is what the simulator saw broadcast: each message's bytes
// once (not per copy), and its bloom filter field.
type madeBytes struct{ wire, bloom int64 }

// managerCounters sums the participants' counters (managers open).
func (r *run) managerCounters() sds.Counters {
	var c sds.Counters
	for _, part := range r.parts {
		pc := part.m.Stats().Counters
		c.Add(&pc)
	}
	return c
}

// crossCheck sets res's counts from the managers' counters c, after
// checking each against what the simulator observed (res as counted so
// far, and made); it names every count that differs.
func crossCheck(res *Result, c *sds.Counters, made madeBytes) error {
	var errs []error
	check := func(name string, observed int64, managers uint64) {
		if observed != int64(managers) {
			errs = append(errs, fmt.Errorf("%s: the simulator saw %d, the managers counted %d", name, observed, managers))
		}
	}
	ints := []struct {
		name     string
		observed *int
		managers uint64
	}{
		{"sent", &res.Sent, c.WrappedContent},
		{"syncs", &res.Syncs, c.WrappedSync},
		{"resends", &res.Resends, c.Resends},
		{"repairs", &res.Repairs, c.RepairsAnswered},
		{"request syncs", &res.RequestSyncs, c.RepairRequestSyncs},
		{"repair requests", &res.RepairRequests, c.RepairRequestsSent},
		{"acknowledged", &res.Acknowledged, c.AcknowledgedByHistory + c.AcknowledgedByBloom},
		{"failed", &res.Failed, c.Failed},
		{"missing-dependency events", &res.MissingEvents, c.MissingDependencyReports},
		{"dependencies-lost events", &res.LostEvents, c.DependenciesLostReports},
		{"dependencies lost", &res.LostIDs, c.DependenciesLost},
		{"incoming evicted", &res.Evicted, c.IncomingEvicted},
	}
	for _, f := range ints {
		check(f.name, int64(*f.observed), f.managers)
	}
	// The managers count every delivery; the simulator each (participant,
	// message) once, and repeats apart (an invariant: Duplicates is 0).
	check("deliveries", res.Delivered+int64(res.Duplicates), c.Delivered)
	check("bytes sent", made.wire, c.BytesSent)
	check("bloom bytes sent", made.bloom, c.BloomBytesSent)
	check("bytes received", res.Traffic.Received, c.BytesReceived)
	if len(errs) > 0 {
		return fmt.Errorf("sds-sim and the managers' stats disagree: %w", errors.Join(errs...))
	}
	for _, f := range ints {
		*f.observed = int(f.managers)
	}
	res.Delivered = int64(c.Delivered) - int64(res.Duplicates)
	res.Traffic.Sent, res.Traffic.SentBloom = int64(c.BytesSent), int64(c.BloomBytesSent)
	res.Traffic.Received = int64(c.BytesReceived)
	res.Managers = *c
	return nil
}
