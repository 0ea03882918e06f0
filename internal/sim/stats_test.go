package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
	"github.com/libsds-go/libsds/sds"
)

// The counts of a run come from the managers' stats, and agree with what
// the simulator and the observer (checker) saw; a lossy run with SDS-R
// moves every count the cross-check compares.
func TestCountsFromManagerStats(t *testing.T) {
	cfg := smallConfig()
	// Resend what a sweep finds unacknowledged after 2 s.
	cfg.Protocol.ResendInterval, cfg.Protocol.BufferSweepInterval = 2*time.Second, 2*time.Second
	res, _ := runChecked(t, cfg)
	m := res.Managers
	if m.Resends == 0 || m.RepairsAnswered == 0 || m.RepairRequestSyncs == 0 || m.RepairRequestsSent == 0 ||
		m.MissingDependencyReports == 0 || m.WrappedSync == 0 || m.BloomBytesSent == 0 {
		t.Fatalf("the run moved too little to check: %+v", m)
	}
	if res.Resends != int(m.Resends) || res.Repairs != int(m.RepairsAnswered) || res.RequestSyncs != int(m.RepairRequestSyncs) ||
		res.Delivered != int64(m.Delivered) || res.Sent != int(m.WrappedContent) ||
		res.Traffic.Sent != int64(m.BytesSent) || res.Traffic.Received != int64(m.BytesReceived) {
		t.Errorf("result %+v\ndoes not report the managers' counters %+v", res, m)
	}
	// Bytes made once per broadcast: at most the bytes of the copies.
	if res.Traffic.Sent <= 0 || res.Traffic.Sent > res.Traffic.Wire {
		t.Errorf("sent %d bytes, copies %d", res.Traffic.Sent, res.Traffic.Wire)
	}
}

// A disagreement between the managers' counters and what the simulator
// saw fails the run, naming the count.
func TestCrossCheckNamesDisagreement(t *testing.T) {
	cfg := smallConfig()
	cfg.Messages = 60
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ok := res.Managers
	if err := sim.CrossCheck(new(*res), &ok); err != nil {
		t.Fatalf("the run's own counters disagree: %v", err)
	}
	for name, bump := range map[string]func(*sds.Counters){
		"resends":          func(c *sds.Counters) { c.Resends++ },
		"repairs":          func(c *sds.Counters) { c.RepairsAnswered++ },
		"deliveries":       func(c *sds.Counters) { c.Delivered++ },
		"bytes sent":       func(c *sds.Counters) { c.BytesSent++ },
		"bloom bytes sent": func(c *sds.Counters) { c.BloomBytesSent++ },
		"bytes received":   func(c *sds.Counters) { c.BytesReceived++ },
		"acknowledged":     func(c *sds.Counters) { c.AcknowledgedByBloom++ },
		"request syncs":    func(c *sds.Counters) { c.RepairRequestSyncs++ },
	} {
		c := res.Managers
		bump(&c)
		err := sim.CrossCheck(new(*res), &c)
		if err == nil || !strings.Contains(err.Error(), name+":") {
			t.Errorf("%s off by one: %v", name, err)
		}
	}
}
