package sds_test

import (
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
)

// startManager returns a manager for participant on clock clk, the default
// configuration changed by set (nil: none), closed when the test ends.
func startManager(tb testing.TB, participant string, clk sds.Clock, set func(*sds.Config)) *sds.Manager {
	tb.Helper()
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = participant
	cfg.Clock = clk
	if set != nil {
		set(&cfg)
	}
	m, err := sds.NewManager(cfg)
	if err != nil {
		tb.Fatalf("NewManager: %v", err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

// testDeadline bounds a test that can deadlock (a handler or backend that
// blocks, a call back into the manager, the periodic goroutine): far above
// what any of them takes on a loaded machine under -race, far below go
// test's ten minutes.
const testDeadline = 30 * time.Second

// deadline ends the test binary with every goroutine's stack if t still
// runs after testDeadline, naming t: a deadlock fails at once, saying
// where everything waits.
func deadline(t *testing.T) {
	t.Helper()
	name := t.Name()
	timer := time.AfterFunc(testDeadline, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("%s still running after %v: deadlocked?", name, testDeadline))
	})
	t.Cleanup(func() { timer.Stop() })
}
