package sds

import (
	"errors"
	"testing"
	"time"

	core "github.com/libsds-go/libsds/sds"
)

// Stats through this API: a known exchange moves the counters by known
// amounts (the core's tests move every counter); Cleanup keeps them.
func TestStats(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	alice := newClocked(t, clk, func(c *Config) { c.ParticipantID = "alice" })
	bob := newClocked(t, clk, func(c *Config) { c.ParticipantID = "bob" })
	w1 := wrap(t, alice, "room", "a1", "one")
	w2 := wrap(t, alice, "room", "a2", "two")
	if u := unwrap(t, bob, w2); len(*u.MissingDeps) != 1 {
		t.Fatalf("a1 should be missing: %+v", u.MissingDeps)
	}
	clk.Advance(3 * time.Second)
	unwrap(t, bob, w1)
	unwrap(t, bob, w1) // a duplicate
	if _, err := bob.UnwrapReceivedMessage([]byte("junk")); err == nil {
		t.Fatal("junk unwrapped")
	}

	st, err := bob.Stats()
	if err != nil {
		t.Fatal(err)
	}
	c := st.Counters
	if c.ReceivedContent != 3 || c.Delivered != 2 || c.Duplicates != 1 || c.UnwrapErrors != 1 ||
		c.MissingDependencyReports != 1 || c.BytesReceived != uint64(2*len(w1)+len(w2)) {
		t.Errorf("bob's counters %+v", c)
	}
	if h := st.IncomingWait; h.Count != 1 || h.SumSeconds != 3 {
		t.Errorf("bob's incoming wait %+v: a2 waited 3 s", h)
	}
	if st.Channels != 1 || st.PerChannel[0].ChannelID != "room" || st.PerChannel[0].Counters.Duplicates != 1 ||
		st.Gauges.Incoming != 0 || st.Gauges.LogEntries != 2 {
		t.Errorf("bob's stats %+v", st)
	}

	a, _ := alice.Stats()
	if a.Counters.WrappedContent != 2 || a.Counters.BytesSent != uint64(len(w1)+len(w2)) || a.Gauges.Outgoing != 2 {
		t.Errorf("alice's stats %+v", a)
	}
	if err := alice.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if after, err := alice.Stats(); err != nil || after.Counters != a.Counters || after.Channels != 0 {
		t.Errorf("after Cleanup: %+v, %v", after, err)
	}
	var none *ReliabilityManager
	if _, err := none.Stats(); !errors.Is(err, errEmptyReliabilityManager) {
		t.Errorf("nil manager: %v", err)
	}
}
