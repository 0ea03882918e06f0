package sds

import (
	"fmt"
	"time"

	"github.com/libsds-go/libsds/sds/wire"
)

// Test hooks, compiled into this package's tests only. The Nim tests write
// repair entries with chosen due times straight into a channel's buffers;
// these do the same where the public API cannot reach such a state.

// InjectRepairRequest adds a pending SDS-R request for e, due at due.
func (m *Manager) InjectRepairRequest(channelID string, e wire.HistoryEntry, due time.Time) {
	m.injectRepair(channelID, func(ch *channel) *repairBuffer { return &ch.outRepair }, e, due)
}

// InjectRepairResponse adds a pending SDS-R response for e, due at due.
func (m *Manager) InjectRepairResponse(channelID string, e wire.HistoryEntry, due time.Time) {
	m.injectRepair(channelID, func(ch *channel) *repairBuffer { return &ch.inRepair }, e, due)
}

// injectRepair replaces e in the repair buffer pick chooses.
func (m *Manager) injectRepair(channelID string, pick func(*channel) *repairBuffer, e wire.HistoryEntry, due time.Time) {
	ch, err := m.lockChannel(channelID, true)
	if err != nil {
		panic(err)
	}
	defer m.unlockAndDispatch(ch)
	buf := pick(ch)
	buf.remove(e.MessageID)
	buf.add(e, due)
}

// CheckBuffers verifies what the incoming buffers keep derived: every
// buffered message's absent set is exactly the entries it waits for that
// are not buffered, and it waits for something.
func (m *Manager) CheckBuffers() error {
	m.mu.Lock()
	chans := make([]*channel, 0, len(m.channels))
	for _, ch := range m.channels {
		chans = append(chans, ch)
	}
	m.mu.Unlock()
	for _, ch := range chans {
		ch.mu.Lock()
		err := ch.incoming.check()
		ch.mu.Unlock()
		if err != nil {
			return fmt.Errorf("channel %s: %w", ch.id, err)
		}
	}
	return nil
}

func (b *incomingBuffer) check() error {
	listed := func(ws []waiter, p *pending, i int) bool {
		for _, w := range ws {
			if w.p == p && w.i == i {
				return true
			}
		}
		return false
	}
	for dep, ws := range b.waiters {
		if b.byID[dep] != nil {
			return fmt.Errorf("%s is buffered but indexed as missing", dep)
		}
		for _, w := range ws {
			if w.p.gone || !w.p.wait.has(w.i) || w.p.msg.CausalHistory[w.i].MessageID != dep {
				return fmt.Errorf("stale waiter of missing %s: %s entry %d", dep, w.p.msg.MessageID, w.i)
			}
		}
	}
	for id, p := range b.byID {
		for _, w := range p.dependents {
			if w.p.gone || !w.p.wait.has(w.i) || w.p.msg.CausalHistory[w.i].MessageID != id {
				return fmt.Errorf("stale dependent of %s: %s entry %d", id, w.p.msg.MessageID, w.i)
			}
		}
		for i, dep := range p.msg.CausalHistory {
			if !p.wait.has(i) {
				continue
			}
			if q := b.byID[dep.MessageID]; q != nil && !listed(q.dependents, p, i) {
				return fmt.Errorf("%s waits for buffered %s but is not its dependent", id, dep.MessageID)
			} else if q == nil && !listed(b.waiters[dep.MessageID], p, i) {
				return fmt.Errorf("%s waits for missing %s but is not indexed", id, dep.MessageID)
			}
		}
	}
	for id, p := range b.byID {
		if p.wait.len() == 0 {
			return fmt.Errorf("%s is buffered but waits for nothing", id)
		}
		for i, dep := range p.msg.CausalHistory {
			want := p.wait.has(i) && b.byID[dep.MessageID] == nil
			if p.absent.has(i) != want {
				return fmt.Errorf("%s: entry %d (%s) absent %v, want %v", id, i, dep.MessageID, p.absent.has(i), want)
			}
		}
	}
	return nil
}
