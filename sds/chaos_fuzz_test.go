package sds_test

// FuzzChaos complements FuzzInterleaving (which checks every step against
// an exact model of honest peers): three managers on a lossy broadcast, with
// time, sweeps, repair, sync messages, resends, restarts over a failing
// store, and arbitrary or mutated bytes from a hostile peer in between.
// There is no exact model here; after every step it checks the invariants
// that must survive anything:
//
//   - no panic, and no error but the documented ones;
//   - nothing delivered twice (EventMessageReady once per channel and id
//     at each manager, across restarts);
//   - causal order: when a message is delivered, every id in the causal
//     history it was accepted with was delivered, sent or marked met by
//     that manager before, or declared lost (EventDependenciesLost, under
//     LostDeliver);
//   - no buffered message is deliverable (each waits for something);
//   - buffers within their limits (incoming messages and bytes, repair
//     requests and responses, log entries and bytes, channels per
//     manager).

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

type chaosKey struct{ ch, id string }

type chaosNode struct {
	name    string
	cfg     sds.Config
	m       *sds.Manager
	store   *persist.Memory // nil without persistence
	present map[chaosKey]bool
	hist    map[chaosKey][]string // causal history each message was accepted with
	// the message being unwrapped (its events arrive before Unwrap returns)
	inflight     chaosKey
	inflightHist []string
	missing      []chaosKey // reported missing, for MarkDependenciesMet
	sent         int
}

type chaos struct {
	t          *testing.T
	in         []byte
	clk        *sds.ManualClock
	nodes      []*chaosNode
	pool       [][]byte // wire messages seen on the network
	persistent bool
	ids        []string // message ids used so far, for hostile messages to reuse
}

func (c *chaos) byte() int {
	if len(c.in) == 0 {
		return 0
	}
	b := c.in[0]
	c.in = c.in[1:]
	return int(b)
}

func (c *chaos) n(k int) int { return c.byte() % k }

func (c *chaos) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf(format, args...)
}

func (c *chaos) handler(n *chaosNode) sds.EventHandler {
	return func(e sds.Event) {
		switch e.Kind {
		case sds.EventMessageReady:
			k := chaosKey{e.ChannelID, e.MessageID}
			if n.present[k] {
				c.fail("%s: %s/%s delivered twice", n.name, k.ch, k.id)
			}
			h, ok := n.hist[k]
			if k == n.inflight {
				h, ok = n.inflightHist, true
			}
			if !ok {
				c.fail("%s: %s/%s delivered but never accepted", n.name, k.ch, k.id)
			}
			for _, d := range h {
				if d != k.id && !n.present[chaosKey{k.ch, d}] {
					c.fail("%s: %s/%s delivered before its dependency %s", n.name, k.ch, k.id, d)
				}
			}
			n.present[k] = true
		case sds.EventDependenciesLost:
			if n.cfg.OnLostDependencies == sds.LostDrop {
				return // the message is dropped; a lost id may still come
			}
			for _, id := range e.Lost {
				n.present[chaosKey{e.ChannelID, id}] = true
			}
		case sds.EventMissingDependencies:
			for _, d := range e.MissingDeps {
				if len(n.missing) < 64 {
					n.missing = append(n.missing, chaosKey{e.ChannelID, d.MessageID})
				}
			}
		case sds.EventRepairReady, sds.EventMessageResend:
			c.pool = append(c.pool, e.Payload)
		}
	}
}

func (c *chaos) open(n *chaosNode) {
	m, err := sds.NewManager(n.cfg)
	if err != nil {
		c.fail("NewManager: %v", err)
	}
	m.SetEventHandler(c.handler(n))
	n.m = m
}

// acceptable errors: bad input, limits, and a failing store.
func acceptable(err error) bool {
	return err == nil || errors.Is(err, sds.ErrDecode) || errors.Is(err, sds.ErrContentTooLarge) ||
		errors.Is(err, sds.ErrTooManyChannels) || errors.Is(err, sds.ErrPersistence) ||
		errors.Is(err, sds.ErrDuplicateMessageID) || errors.Is(err, sds.ErrUnknownChannel)
}

func (c *chaos) unwrap(n *chaosNode, b []byte) {
	n.inflight, n.inflightHist = chaosKey{}, nil
	if msg, _, err := wire.Decode(b, n.cfg.Limits); err == nil {
		n.inflight = chaosKey{msg.ChannelID, msg.MessageID}
		for _, h := range msg.CausalHistory {
			n.inflightHist = append(n.inflightHist, h.MessageID)
		}
	}
	res, err := n.m.Unwrap(b)
	if !acceptable(err) {
		c.fail("%s: Unwrap: %v", n.name, err)
	}
	if err == nil && !res.Duplicate && res.Kind == sds.KindRegular {
		n.hist[n.inflight] = n.inflightHist
	}
	n.inflight = chaosKey{}
}

func (c *chaos) broadcast(from *chaosNode, b []byte) {
	c.pool = append(c.pool, b)
	for _, n := range c.nodes {
		if n != from && c.n(10) != 0 { // 10% loss
			c.unwrap(n, b)
		}
	}
}

var chaosChannels = []string{"c0", "c1", "c2"}

func (c *chaos) hostile() []byte {
	msg := wire.Message{
		MessageID:        c.pickID(),
		LamportTimestamp: uint64(c.byte()) << (c.n(8) * 8),
		HasLamport:       c.n(8) != 0,
		ChannelID:        chaosChannels[c.n(3)],
		Content:          []byte{byte(c.byte())},
		SenderID:         []string{"", "a", "b", "c", "evil"}[c.n(5)],
	}
	if c.n(16) == 0 {
		msg.ChannelID = fmt.Sprintf("evil-%d", c.byte())
	}
	if c.n(8) == 0 {
		msg.Content = nil
	}
	for i := c.n(5); i > 0; i-- {
		msg.CausalHistory = append(msg.CausalHistory, wire.HistoryEntry{MessageID: c.pickID(), SenderID: "a"})
	}
	for i := c.n(3); i > 0; i-- {
		msg.RepairRequest = append(msg.RepairRequest, wire.HistoryEntry{MessageID: c.pickID(), SenderID: "b"})
	}
	if len(c.pool) > 0 && c.n(4) == 0 {
		// a real peer's bloom filter
		if m, _, err := wire.Decode(c.pool[c.n(len(c.pool))], wire.Limits{}); err == nil {
			msg.BloomFilter = m.BloomFilter
		}
	}
	return msg.Marshal(wire.Format(c.n(2)))
}

func (c *chaos) pickID() string {
	if len(c.ids) > 0 && c.n(4) != 0 {
		return c.ids[c.n(len(c.ids))]
	}
	return fmt.Sprintf("x%d", c.n(16))
}

func (c *chaos) restart(n *chaosNode) {
	n.store.SetFailing(persist.OpLoadChannel, false)
	n.store.FailWriteFraction(0, 0)
	if err := n.m.Close(); err != nil {
		c.fail("%s: Close with a working store: %v", n.name, err)
	}
	c.open(n)
}

func (c *chaos) step() {
	n := c.nodes[c.n(3)]
	switch op := c.n(12); op {
	case 0, 1, 2: // an honest message
		ch := chaosChannels[c.n(3)]
		id := fmt.Sprintf("%s-%d", n.name, n.sent)
		b, err := n.m.Wrap(ch, id, []byte{byte(c.byte()), 1})
		if !acceptable(err) {
			c.fail("%s: Wrap: %v", n.name, err)
		}
		if err == nil {
			n.sent++
			n.present[chaosKey{ch, id}] = true
			c.ids = append(c.ids, id)
			c.broadcast(n, b)
		}
	case 3: // a late, repeated or reordered copy
		if len(c.pool) > 0 {
			c.unwrap(n, c.pool[c.n(len(c.pool))])
		}
	case 4: // arbitrary bytes
		k := c.n(64)
		if k > len(c.in) {
			k = len(c.in)
		}
		b := append([]byte(nil), c.in[:k]...)
		c.in = c.in[k:]
		c.unwrap(n, b)
	case 5: // a real message with a byte changed
		if len(c.pool) > 0 {
			b := append([]byte(nil), c.pool[c.n(len(c.pool))]...)
			if len(b) > 0 {
				i := (c.byte()<<8 | c.byte()) % len(b)
				b[i] ^= byte(1 + c.byte())
			}
			c.unwrap(n, b)
		}
	case 6: // a crafted hostile message
		c.unwrap(n, c.hostile())
	case 7: // the application fetched a missing message elsewhere
		if len(n.missing) > 0 {
			k := n.missing[c.n(len(n.missing))]
			if k.id == "" {
				// A hostile history entry with no id: no message has one,
				// and MarkDependenciesMet refuses it (an invalid argument);
				// what waits for it is given up after MaxDependencyWait.
				break
			}
			was := n.present[k]
			n.present[k] = true // counts as present from the call on
			err := n.m.MarkDependenciesMet(k.ch, []string{k.id})
			if !acceptable(err) {
				c.fail("%s: MarkDependenciesMet: %v", n.name, err)
			}
			if err != nil {
				n.present[k] = was // not loaded (after a restart) or the load failed
			}
		}
	case 8: // time passes; the buffer sweep runs
		c.clk.Advance(time.Duration(c.byte()) * 250 * time.Millisecond)
		n.m.Sweep()
	case 9:
		c.clk.Advance(time.Duration(c.byte()) * 100 * time.Millisecond)
		n.m.RepairSweep()
	case 10: // a sync message
		b, err := n.m.WrapSync(chaosChannels[c.n(3)])
		if !acceptable(err) {
			c.fail("%s: WrapSync: %v", n.name, err)
		}
		if err == nil {
			c.broadcast(n, b)
		}
	case 11: // the store: fail, recover, or restart the manager
		if !c.persistent {
			n.m.Sweep()
			return
		}
		switch c.n(3) {
		case 0:
			n.store.FailWriteFraction(0.5, uint64(c.byte()))
		case 1:
			n.store.SetFailing(persist.OpLoadChannel, c.n(2) == 0)
		case 2:
			c.restart(n)
		}
	}
	if len(c.pool) > 512 {
		c.pool = c.pool[256:]
	}
}

func (c *chaos) check(step int) {
	for _, n := range c.nodes {
		if err := n.m.CheckBuffers(); err != nil {
			c.fail("step %d: %s: %v", step, n.name, err)
		}
		// each channel's newest message may exceed the log budget
		if got := n.m.LogBytes(); got < 0 || got > int64(n.cfg.MaxLogBytes)+int64(n.cfg.MaxChannels)*4096 {
			c.fail("step %d: %s logs %d bytes, limit %d", step, n.name, got, n.cfg.MaxLogBytes)
		}
		if got := n.m.IncomingBytes(); got < 0 || got > int64(n.cfg.MaxIncomingBytes) {
			c.fail("step %d: %s buffers %d bytes, limit %d", step, n.name, got, n.cfg.MaxIncomingBytes)
		}
		if got := len(n.m.Channels()); got > n.cfg.MaxChannels {
			c.fail("step %d: %s holds %d channels, limit %d", step, n.name, got, n.cfg.MaxChannels)
		}
		for _, ch := range n.m.Channels() {
			st, ok := n.m.ChannelState(ch)
			if !ok {
				continue
			}
			if len(st.Incoming) > n.cfg.MaxIncomingBuffer || len(st.RepairRequests) > n.cfg.MaxPendingRepairs ||
				len(st.RepairResponses) > n.cfg.MaxPendingRepairs ||
				(len(st.MessageHistory) > n.cfg.MaxMessageHistory && n.cfg.LogRetention == 0) { // else the byte budget bounds it
				c.fail("step %d: %s/%s over a limit: incoming %d, requests %d, responses %d, log %d",
					step, n.name, ch, len(st.Incoming), len(st.RepairRequests), len(st.RepairResponses), len(st.MessageHistory))
			}
			for _, p := range st.Incoming {
				if len(p.WaitingFor) == 0 {
					c.fail("step %d: %s/%s: %s is buffered but waits for nothing", step, n.name, ch, p.MessageID)
				}
			}
		}
	}
}

func FuzzChaos(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 3, 0, 1, 1, 0, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2})
	f.Add([]byte("hostile peers, lost messages, sweeps and restarts: nothing twice, nothing early"))
	f.Add([]byte{1, 3, 0, 0, 0, 6, 0, 6, 1, 6, 2, 6, 3, 8, 255, 9, 200, 11, 2, 0, 5, 0, 4, 9, 10, 11, 1, 1, 7, 0, 7, 1})
	f.Add([]byte{3, 0, 0, 1, 0, 2, 1, 0, 3, 4, 40, 10, 2, 0, 0, 8, 80, 64, 0, 11, 2, 11, 0, 1, 11, 1, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &chaos{t: t, in: data, clk: sds.NewManualClock(time.Unix(1_800_000_000, 0))}
		mode := c.byte()
		c.persistent = mode&1 == 1
		for i, name := range []string{"a", "b", "c"} {
			cfg := sds.DefaultConfig()
			cfg.ParticipantID = name
			cfg.Clock = c.clk
			cfg.BloomCapacity = 200
			cfg.MaxMessageHistory, cfg.MaxCausalHistory = 16, 3
			cfg.MaxLogBytes = 3000 // a dozen small messages: evictions by bytes too
			if c.persistent {
				// After a restart only the log remembers deliveries
				// (COMPATIBILITY.md P14): keep every message in it.
				cfg.MaxMessageHistory, cfg.MaxLogBytes = 10_000, 1<<30
			}
			cfg.MaxIncomingBuffer = 6
			cfg.MaxIncomingBytes = 4000 // a few messages: the byte budget bites too
			cfg.MaxPendingRepairs = 4
			cfg.MaxChannels = 3
			cfg.ResendInterval, cfg.PossiblyAckedResendInterval, cfg.MaxResendAttempts = time.Second, 2*time.Second, 2
			cfg.MaxDependencyWait = 20 * time.Second
			cfg.RepairTMin, cfg.RepairTMax = time.Second, 6*time.Second
			cfg.LogRetention = 10 * time.Second
			if mode&32 != 0 {
				cfg.RepairPolicy, cfg.LogRetention = sds.RepairRFC, 0
			}
			if mode&2 != 0 {
				cfg.OnLostDependencies = sds.LostDrop
			}
			cfg.WireFormat = wire.Format((mode >> (2 + i)) & 1)
			n := &chaosNode{name: name, cfg: cfg, present: map[chaosKey]bool{}, hist: map[chaosKey][]string{}}
			if c.persistent {
				n.store = persist.NewMemory()
				n.cfg.Persistence = n.store
			}
			c.open(n)
			c.nodes = append(c.nodes, n)
		}
		defer func() {
			for _, n := range c.nodes {
				n.m.Close()
			}
		}()
		for step := 0; len(c.in) > 0 && step < 2000; step++ {
			c.step()
			c.check(step)
		}
	})
}
