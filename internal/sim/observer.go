package sim

import (
	"time"

	"github.com/libsds-go/libsds/sds"
)

// Observer sees a run as it happens, in virtual time since the start. The
// byte slices belong to the simulator: read them during the call only.
// Tests use it to recount what the Result reports and to check the
// delivery invariants from the wire bytes alone.
type Observer interface {
	// Broadcast: participant from put payload on the network, one copy
	// for each other participant (copies is 0 while it is offline).
	Broadcast(at time.Duration, from int, kind PacketKind, payload []byte, copies int)
	// Arrive: a copy of from's broadcast reached participant to, which
	// unwraps it next.
	Arrive(at time.Duration, from, to int, kind PacketKind, payload []byte)
	// Event: participant p's manager emitted e.
	Event(at time.Duration, p int, e sds.Event)
}
