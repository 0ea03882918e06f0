package sds_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/libsds-go/libsds/sds"
)

// Two managers' periodic tasks stop each other from their handlers while
// both are inside one: StopPeriodicTasks called from a handler that
// periodic tasks run does not wait, whichever manager's tasks they are, so
// neither waits for the other's goroutine (which waits for it).
func TestPeriodicTasksStopEachOther(t *testing.T) {
	deadline(t)
	defer goleak.VerifyNone(t)
	a, _, _ := nimManager(t, nil)
	b, _, _ := nimManager(t, nil)
	aIn, bIn := make(chan struct{}), make(chan struct{})
	stopOther := func(in, otherIn chan struct{}, other *sds.Manager) sds.EventHandler {
		first := true
		return func(e sds.Event) {
			if e.Kind != sds.EventPeriodicSync || !first {
				return
			}
			first = false
			close(in)
			<-otherIn // both handlers are running now
			other.StopPeriodicTasks()
		}
	}
	a.SetEventHandler(stopOther(aIn, bIn, b))
	b.SetEventHandler(stopOther(bIn, aIn, a))
	for _, m := range []*sds.Manager{a, b} {
		if err := m.StartPeriodicTasks(); err != nil {
			t.Fatal(err)
		}
	}
	<-aIn
	<-bIn
	a.StopPeriodicTasks() // from here: waits for each goroutine to end
	b.StopPeriodicTasks()
}
