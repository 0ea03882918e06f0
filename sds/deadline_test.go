package sds_test

import (
	"fmt"
	"runtime/debug"
	"testing"
	"time"
)

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
