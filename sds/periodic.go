package sds

import (
	"reflect"
	"runtime"
	"sort"
	"time"

	"github.com/libsds-go/libsds/sds/wire"
)

// Time-driven work. Sweep and RepairSweep each do one deterministic pass
// at Config.Clock's current time; StartPeriodicTasks runs them (and the
// periodic sync signal) from one goroutine on the clock's timers. An
// application may instead call them itself on its own schedule.

// Sweep does one pass of the buffer sweep over every channel:
//
//   - Resend: an outgoing message unacknowledged for ResendInterval
//     (PossiblyAckedResendInterval once a received bloom filter showed it)
//     is handed back for rebroadcast (EventMessageResend, with the stored
//     message re-encoded with the channel's current bloom filter), up to
//     MaxResendAttempts times; after that it leaves the buffer
//     (EventMessageFailed).
//   - Lost dependencies: a buffered message that has waited
//     MaxDependencyWait for dependencies that are not themselves buffered
//     gives up on them (EventDependenciesLost) and is delivered or dropped
//     as OnLostDependencies says. One waiting only for buffered messages
//     follows their fate. Still-missing dependencies of the other buffered
//     messages that have no pending SDS-R request get one again (with a
//     fresh T_req): a request, or its answer, may have been lost.
//   - The bloom filter rolls over if it holds too many ids.
func (m *Manager) Sweep() {
	m.eachChannel(func(ch *channel, now time.Time) {
		m.sweepOutgoing(ch, now)
		m.sweepIncoming(ch, now)
		ch.filter.clean()
	})
}

// RepairSweep does one SDS-R pass over every channel: each response whose
// T_resp has come is handed to the application (EventRepairReady with the
// message's wire bytes, re-encoded from the local log without a bloom
// filter; one whose message has left the log meanwhile is dropped), and
// requests more than RepairTMax past their T_req are dropped.
func (m *Manager) RepairSweep() {
	m.nextDue.reset()
	m.eachChannel(func(ch *channel, now time.Time) {
		m.sweepRepairs(ch, now)
		m.noteNextDue(ch)
	})
}

// eachChannel runs pass on every channel, locked, at the clock's current
// time, and dispatches what each raised.
func (m *Manager) eachChannel(pass func(ch *channel, now time.Time)) {
	now := m.clock.Now()
	for _, ch := range m.channelList() {
		ch.mu.Lock()
		if ch.removed {
			ch.mu.Unlock()
			continue
		}
		pass(ch, now)
		m.unlockAndDispatch(ch)
	}
}

// channelList returns the channels in no particular order.
func (m *Manager) channelList() []*channel {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*channel, 0, len(m.channels))
	for _, ch := range m.channels {
		out = append(out, ch)
	}
	return out
}

func (m *Manager) sweepOutgoing(ch *channel, now time.Time) {
	if ch.outgoing.len() == 0 {
		return
	}
	defer ch.outgoing.compact()
	var filter []byte // serialized once per sweep, on the first resend
	for i := range ch.outgoing.slots {
		e := ch.outgoing.slots[i].e
		if e == nil {
			continue
		}
		wait := m.cfg.ResendInterval
		if e.sightings > 0 {
			wait = m.cfg.PossiblyAckedResendInterval
		}
		if now.Sub(e.sentAt) < wait {
			continue
		}
		if e.attempts >= m.cfg.MaxResendAttempts {
			ch.outgoing.remove(e)
			ch.stats.Failed++
			ch.emit(Event{Kind: EventMessageFailed, ChannelID: ch.id, MessageID: e.msg.MessageID})
			continue
		}
		e.attempts++
		e.sentAt = now
		ch.outgoing.touch(e.msg.MessageID)
		if filter == nil {
			filter = ch.filter.appendWire(nil)
		}
		msg := e.msg
		msg.BloomFilter = filter
		payload := msg.Append(nil, m.cfg.WireFormat)
		ch.stats.Resends++
		ch.countSent(payload, &msg, m.cfg.WireFormat)
		ch.emit(Event{
			Kind: EventMessageResend, ChannelID: ch.id, MessageID: e.msg.MessageID,
			Payload: payload, Attempt: e.attempts,
		})
	}
}

func (m *Manager) sweepIncoming(ch *channel, now time.Time) {
	if ch.incoming.len() == 0 {
		return
	}
	m.expireIncoming(ch, now)
	m.rerequestMissing(ch, now)
}

// expireIncoming gives up on the dependencies of messages that waited
// MaxDependencyWait. Messages expire in arrival order, so only a prefix of
// the buffer is visited.
func (m *Manager) expireIncoming(ch *channel, now time.Time) {
	var ready readyQueue
	b := &ch.incoming
	// Nothing below appends to b.order or compacts it: delivery and
	// dropping only mark messages gone.
	for i := b.head; i < len(b.order); i++ {
		p := b.order[i]
		if p.gone {
			continue // delivered or dropped earlier in this pass
		}
		if now.Sub(p.receivedAt) < m.cfg.MaxDependencyWait {
			break
		}
		if p.absent.len() == 0 {
			continue // waits only for buffered messages: follows their fate
		}
		var lost []string
		for i, dep := range p.msg.CausalHistory {
			if p.absent.has(i) {
				lost = append(lost, dep.MessageID) // each id has one wait bit at most
			}
		}
		if len(lost) == 0 {
			continue // waits only for buffered messages: follows their fate
		}
		ch.stats.DependenciesLostReports++
		ch.stats.DependenciesLost += uint64(len(lost))
		ch.emit(Event{Kind: EventDependenciesLost, ChannelID: ch.id, MessageID: p.msg.MessageID, Lost: lost})
		if m.cfg.OnLostDependencies == LostDrop {
			b.drop(p)
			for _, id := range lost {
				if len(b.waiters[id]) == 0 {
					ch.outRepair.remove(id) // nothing waits for it any more
				}
			}
			continue
		}
		// LostDeliver: the lost ids count as present from now on; this
		// message and whatever else waited only for them are delivered.
		for _, id := range lost {
			ch.cancelRepairs(id)
			ch.met.add(id, false)
			b.satisfy(id, nil, &ready)
		}
		ch.deliverReady(&ready)
	}
}

// rerequestMissing gives every still-missing dependency that has no
// pending SDS-R request a new one: a request, or its answer, may have been
// lost. It visits each missing id once (the waiter index), not every
// buffered message's history.
func (m *Manager) rerequestMissing(ch *channel, now time.Time) {
	if !m.sdsrEnabled() {
		return
	}
	b := &ch.incoming
	var ids []string
	for id := range b.waiters { // the missing ids
		if ch.outRepair.get(id) == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	sort.Strings(ids) // deterministic when MaxPendingRepairs cuts the list
	missing := make([]wire.HistoryEntry, 0, len(ids))
	for _, id := range ids {
		if dep, ok := b.entryFor(id); ok {
			missing = append(missing, dep)
		}
	}
	m.scheduleRepairs(ch, missing, now)
}

func (m *Manager) sweepRepairs(ch *channel, now time.Time) {
	for e := ch.inRepair.peek(); e != nil && !e.due.After(now); e = ch.inRepair.peek() {
		ch.inRepair.pop()
		msg, ok := m.loggedMessage(ch, e.entry.MessageID) // no bloom filter, no repair requests
		if !ok {
			continue // evicted from the log since: nothing to send
		}
		ch.noteCopy(msg.MessageID, now)
		payload := msg.Append(nil, m.cfg.WireFormat)
		ch.stats.RepairsAnswered++
		if msg.SenderID != "" && msg.SenderID == m.cfg.ParticipantID {
			ch.stats.RepairsAnsweredAsSender++
		}
		ch.countSent(payload, &msg, m.cfg.WireFormat)
		ch.emit(Event{
			Kind: EventRepairReady, ChannelID: ch.id, MessageID: msg.MessageID,
			Payload: payload,
		})
	}
	m.sendDueRequests(ch, now)
	for e := ch.outRepair.peek(); m.cfg.RepairPolicy == RepairRFC && e != nil && now.Sub(e.due) > m.cfg.RepairTMax; e = ch.outRepair.peek() {
		ch.outRepair.pop() // expired
	}
}

// emitManager queues a manager-wide event and dispatches the queue unless
// another goroutine is doing so (it will pick this one up, in order).
func (m *Manager) emitManager(e Event) {
	m.evMu.Lock()
	m.evOutbox = append(m.evOutbox, e)
	if m.evDispatching {
		m.evMu.Unlock()
		return
	}
	m.evDispatching = true
	for len(m.evOutbox) > 0 {
		batch := m.evOutbox
		m.evOutbox = nil
		m.evMu.Unlock()
		h := m.handler.Load()
		for i := range batch {
			if h != nil {
				m.callHandler(*h, batch[i])
			}
		}
		m.evMu.Lock()
	}
	m.evDispatching = false
	m.evMu.Unlock()
}

// periodicTasks is one run of the periodic goroutine.
type periodicTasks struct {
	stop chan struct{} // closed to ask the goroutine to end
	done chan struct{} // closed when it has ended
}

// StartPeriodicTasks starts the time-driven work on one goroutine, timed
// by Config.Clock: EventPeriodicSync, Sweep and RepairSweep at once, as
// Nim does, and then every SyncMessageInterval, BufferSweepInterval and
// RepairSweepInterval respectively (each interval counted from the end of
// the previous run). Starting tasks that run is a no-op; after Close it
// returns ErrClosed. Event handlers called by these tasks run on that
// goroutine.
func (m *Manager) StartPeriodicTasks() error {
	m.taskMu.Lock()
	defer m.taskMu.Unlock()
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if m.tasksRunning {
		return nil
	}
	t := &periodicTasks{stop: make(chan struct{}), done: make(chan struct{})}
	m.tasks, m.tasksRunning = t, true
	go m.runPeriodic(t)
	return nil
}

// StopPeriodicTasks stops the time-driven work and returns once its
// goroutine has ended. Called from an event handler run by periodic tasks
// (this manager's or another's, directly or through a C host's callback)
// it cannot wait: it returns at once, and the goroutine ends as soon as its
// current task returns, without starting more work. Stopping tasks that do
// not run is a no-op.
func (m *Manager) StopPeriodicTasks() {
	m.taskMu.Lock()
	t, running := m.tasks, m.tasksRunning
	m.tasksRunning = false
	m.taskMu.Unlock()
	if t == nil {
		return
	}
	if running {
		close(t.stop)
	}
	if calledFromPeriodicTask() {
		return
	}
	<-t.done
}

func (m *Manager) runPeriodic(t *periodicTasks) {
	defer close(t.done)
	stopped := func() bool {
		select {
		case <-t.stop:
			return true
		default:
			return false
		}
	}
	// As Nim, every task runs once at start, then after each interval.
	m.emitManager(Event{Kind: EventPeriodicSync})
	if stopped() {
		return
	}
	m.Sweep()
	m.RepairSweep()
	clk := m.clock
	sweep := clk.NewTimer(m.cfg.BufferSweepInterval)
	defer sweep.Stop()
	syncTimer := clk.NewTimer(m.cfg.SyncMessageInterval)
	defer syncTimer.Stop()
	repair := clk.NewTimer(m.repairSweepDelay())
	defer repair.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-sweep.C():
			if stopped() {
				return
			}
			m.Sweep()
			sweep.Reset(m.cfg.BufferSweepInterval)
		case <-syncTimer.C():
			if stopped() {
				return
			}
			m.emitManager(Event{Kind: EventPeriodicSync})
			syncTimer.Reset(m.cfg.SyncMessageInterval)
		case <-repair.C():
			if stopped() {
				return
			}
			m.RepairSweep()
			repair.Reset(m.repairSweepDelay())
		case <-m.nextDue.wake:
			repair.Reset(m.repairSweepDelay()) // an entry falls due sooner
		}
	}
}

// runPeriodicEntry is the entry address of runPeriodic, the frame every
// call made by the periodic goroutine has below it.
var runPeriodicEntry = reflect.ValueOf((*Manager).runPeriodic).Pointer()

// calledFromPeriodicTask reports whether the caller runs inside
// runPeriodic: an event handler called by periodic tasks, which must not
// wait for their goroutine to end. The caller's frames are read
// structurally (runtime.Callers), a page at a time, so a deep handler is
// recognised too.
func calledFromPeriodicTask() bool {
	var pcs [64]uintptr
	for skip := 2; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs[:])
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if f.Entry == runPeriodicEntry {
				return true
			}
			if !more {
				break
			}
		}
		if n < len(pcs) {
			return false
		}
	}
}
