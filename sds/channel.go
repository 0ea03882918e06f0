package sds

import (
	"container/heap"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// channel is one channel's protocol state. Its mutex guards everything but
// the manager's channel map; operations on different channels never
// contend.
type channel struct {
	mu      sync.Mutex
	id      string
	removed bool // set when the channel left the manager; holders retry

	lamport  uint64
	filter   localFilter
	log      messageLog
	met      idSet // ids the application marked as met without delivering them
	outgoing outgoingBuffer
	incoming incomingBuffer

	// SDS-R: requests we will make (due at T_req) and responses we will
	// give (due at T_resp).
	outRepair repairBuffer
	inRepair  repairBuffer

	// Events are queued under mu and handed out by one dispatcher at a
	// time, without mu held, so they keep their order.
	outbox      []Event
	spare       []Event
	dispatching bool

	ps *chanStore // the channel's store; nil without persistence

	stats channelStats // its metrics (stats.go)

	clock Clock // Config.Clock, to date log entries (Config.LogRetention)
	// ownSent lists the log sequence numbers of our own messages, in send
	// order, while in the log and within the acknowledgement window
	// (forgetOwn), for answering what a peer's sync shows it lacks
	// (answerSyncGaps).
	ownSent []uint64
	heard   heardRequests // SDS-R requests of others, for scheduleResponse
	// behind is set when a received message showed a whole causal
	// history missing: the next repair request goes in a full sync.
	behind bool
	// synced lists requests handed out only in request syncs so far
	// (attachSyncedRequests).
	synced []string

	// Scratch reused to avoid allocating per message.
	scratchBloom []byte
	peerNim      *bloom.Filter
	peerRFC      *bloom.RFCFilter
	peerKeep     int // largest received filter decoded into peerNim
}

func newChannel(id string, cfg *Config, incomingTotal, logTotal *atomic.Int64, due *dueHint) (*channel, error) {
	f, err := newLocalFilter(cfg)
	if err != nil {
		return nil, err
	}
	p, err := bloom.NimParams(cfg.BloomCapacity, cfg.BloomErrorRate)
	if err != nil {
		return nil, err
	}
	requestDue := due // requests fall due for RepairSweep only when it sends them
	if !cfg.RepairRequestSync {
		requestDue = nil
	}
	retention := cfg.LogRetention // it keeps messages available for repair
	if cfg.ParticipantID == "" {
		retention = 0
	}
	c := &channel{
		peerKeep:  2*8*p.Words + 1024, // twice a filter of our size
		id:        id,
		filter:    f,
		log:       newMessageLog(cfg.MaxMessageHistory, cfg.RememberDelivered, retention, cfg.InternID, logTotal, int64(cfg.MaxLogBytes)),
		clock:     cfg.Clock,
		met:       newIDSet(cfg.MaxMessageHistory),
		outgoing:  newOutgoingBuffer(),
		incoming:  newIncomingBuffer(incomingTotal),
		outRepair: repairBuffer{intern: cfg.InternID, hint: requestDue},
		inRepair:  repairBuffer{intern: cfg.InternID, hint: due},
	}
	c.log.keepIDs = cfg.MaxCausalHistory // used once the log is stored
	return c, nil
}

func (c *channel) emit(e Event) { c.outbox = append(c.outbox, e) }

// markRemoved records that c left the manager (c is locked): holders
// retry, and its buffered messages no longer count against the budget.
func (c *channel) markRemoved() {
	c.removed = true
	c.incoming.release()
	c.log.release()
}

// present reports whether id counts as delivered here.
func (c *channel) present(id string) bool {
	return c.log.contains(id) || c.met.contains(id)
}

// observeLamport applies the RFC delivery rule: the clock never goes back
// and follows a larger received timestamp. Values beyond int64 (which Nim
// peers cannot represent) are clamped.
func (c *channel) observeLamport(ts uint64) {
	if ts > math.MaxInt64 {
		ts = math.MaxInt64
	}
	if ts > c.lamport {
		c.lamport = ts
	}
}

// nextLamport applies the RFC send rule max(nowMillis, clock+1).
func (c *channel) nextLamport(now time.Time) uint64 {
	next := c.lamport
	if next < math.MaxInt64 {
		next++
	}
	if ms := now.UnixMilli(); ms > 0 && uint64(ms) > next {
		next = uint64(ms)
	}
	c.lamport = next
	return next
}

// acknowledge removes an outgoing message and reports it.
func (c *channel) acknowledge(e *outEntry) {
	c.outgoing.remove(e)
	c.emit(Event{Kind: EventMessageAcknowledged, ChannelID: c.id, MessageID: e.msg.MessageID})
}

// reviewAcks applies a received message's causal history and bloom filter
// to the outgoing buffer.
func (m *Manager) reviewAcks(c *channel, msg *wire.Message, format wire.Format) {
	if c.outgoing.len() == 0 {
		return
	}
	defer c.outgoing.compact()
	for i := range msg.CausalHistory {
		if e := c.outgoing.byID[msg.CausalHistory[i].MessageID]; e != nil {
			c.stats.AcknowledgedByHistory++
			c.acknowledge(e)
		}
	}
	if c.outgoing.len() == 0 {
		return
	}
	rf := c.decodeReceived(msg.BloomFilter, format, &m.cfg, &m.logger)
	if rf == nil {
		return
	}
	threshold := m.cfg.BloomAckThreshold
	sighted := func(e *outEntry) {
		e.sightings++
		if e.sightings >= threshold {
			c.stats.AcknowledgedByBloom++
			c.acknowledge(e)
		}
	}
	// This scan is the one per-message cost that grows with the outgoing
	// buffer: keep it a tight loop over contiguous slots.
	if nim, ok := rf.(nimReceived); ok {
		for i := range c.outgoing.slots {
			sl := &c.outgoing.slots[i]
			if sl.e != nil && nim.f.ContainsProbe(&sl.probe) {
				sighted(sl.e)
			}
		}
		return
	}
	for i := range c.outgoing.slots {
		sl := &c.outgoing.slots[i]
		if sl.e != nil && rf.contains(sl) {
			sighted(sl.e)
		}
	}
}

// deliver logs msg, reports it ready and delivers everything it unblocks,
// each exactly once, in causal order.
func (c *channel) deliver(msg wire.Message) {
	var ready readyQueue
	c.deliverOne(msg, nil, &ready)
	c.deliverReady(&ready)
}

// deliverReady delivers the unblocked messages in ready and whatever they
// unblock in turn.
func (c *channel) deliverReady(ready *readyQueue) {
	var now time.Time // read once, if anything waited
	for ready.Len() > 0 {
		p := heap.Pop(ready).(*pending)
		c.incoming.take(p)
		if now.IsZero() {
			now = c.clock.Now()
		}
		c.stats.wait.observe(now.Sub(p.receivedAt))
		c.deliverOne(p.msg, p, ready)
	}
}

// deliverOne logs msg and releases what waits for it; from is the
// buffered message it came from, nil if it was not buffered.
func (c *channel) deliverOne(msg wire.Message, from *pending, ready *readyQueue) {
	msg.BloomFilter = nil
	msg.RepairRequest = nil // served already; a rebroadcast must not repeat them
	c.observeLamport(msg.LamportTimestamp)
	c.log.add(&msg, nil, false, c.logTime())
	c.log.trimBytes()
	c.stats.Delivered++
	c.emit(Event{Kind: EventMessageReady, ChannelID: c.id, MessageID: msg.MessageID})
	c.incoming.satisfy(msg.MessageID, from, ready)
}

// markMet treats ids as present without a message and delivers what that
// unblocks.
func (c *channel) markMet(ids []string) {
	var ready readyQueue
	for _, id := range ids {
		c.cancelRepairs(id)
		if c.present(id) {
			continue
		}
		c.met.add(id, true)
		if p := c.incoming.byID[id]; p != nil {
			c.incoming.drop(p) // the application has it: never deliver it again
		}
		c.filter.add(id, bloom.KeyOf(id))
		c.incoming.satisfy(id, nil, &ready)
	}
	c.deliverReady(&ready)
}
