package sds

import (
	"time"

	"github.com/libsds-go/libsds/sds/wire"
)

// Test hooks, compiled into this package's tests only. The Nim tests write
// repair entries with chosen due times straight into a channel's buffers;
// these do the same where the public API cannot reach such a state.

// InjectRepairRequest adds a pending SDS-R request for e, due at due.
func (m *Manager) InjectRepairRequest(channelID string, e wire.HistoryEntry, due time.Time) {
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		panic(err)
	}
	defer m.unlockAndDispatch(ch)
	ch.outRepair.remove(e.MessageID)
	ch.outRepair.add(e, due)
}

// InjectRepairResponse adds a pending SDS-R response for e, due at due.
func (m *Manager) InjectRepairResponse(channelID string, e wire.HistoryEntry, due time.Time) {
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		panic(err)
	}
	defer m.unlockAndDispatch(ch)
	ch.inRepair.remove(e.MessageID)
	ch.inRepair.add(e, due)
}
