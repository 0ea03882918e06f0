package chat

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libsds-go/libsds/examples/p2p/record"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// node is one participant: the manager, the network and the output.
type node struct {
	opt         *Options
	m           *sds.Manager // nil with Options.Plain
	net         *network
	out         *output
	channel     string
	nextSeq     int    // number of our next message
	stopReceive func() // ends the receive loop and waits for it
	closers     []func() error

	received, dropped, duplicates, unwrapErrors atomic.Int64
	published, publishedBytes, syncs            atomic.Int64
}

// openManager creates the manager over the participant's store (in
// memory without a state directory).
func (n *node) openManager() error {
	cfg := n.opt.SDS
	cfg.ParticipantID = n.opt.ID
	if n.opt.StateDir != "" {
		store, closeStore, err := openStore(n.opt.StateDir, &cfg)
		if err != nil {
			return err
		}
		cfg.Persistence = store
		n.closers = append(n.closers, closeStore) // closers run last first: the manager, then its store
	}
	m, err := sds.NewManager(cfg)
	if err != nil {
		return err
	}
	n.m = m
	n.m.SetEventHandler(n.handle)
	n.closers = append(n.closers, m.Close)
	return nil
}

// maxMessageBytes is the largest message a peer may publish: the largest
// SDS accepts, so that gossipsub never refuses what SDS takes (gossipsub's
// own default, 1 MiB, is below a wrapped message of the largest content).
func (n *node) maxMessageBytes() int {
	return n.opt.SDS.Limits.WithDefaults().MaxMessageBytes
}

// handle prints each event and publishes what SDS asks to broadcast. It
// runs on the goroutine that caused the event: the receive loop, the
// sender, or the periodic tasks.
func (n *node) handle(e sds.Event) {
	r := record.Record{Msg: e.MessageID}
	switch e.Kind {
	case sds.EventMessageReady:
		r.Ev = record.Delivered
		if msg, ok := n.m.LoggedMessage(e.ChannelID, e.MessageID); ok {
			r.From, r.Bytes, r.Text = msg.SenderID, len(msg.Content), shortText(msg.Content)
		}
	case sds.EventMessageAcknowledged:
		r.Ev = record.Acked
	case sds.EventMissingDependencies:
		r.Ev, r.Deps = record.Missing, entryIDs(e.MissingDeps)
	case sds.EventPeriodicSync:
		n.sync()
		return
	case sds.EventRepairRequest:
		// A sync message carrying our due SDS-R requests, handed out as
		// soon as they are due rather than on our next message.
		n.syncs.Add(1)
		n.publish(e.Payload)
		return
	case sds.EventRepairReady:
		r.Ev = record.Repair
		n.publish(e.Payload)
	case sds.EventMessageResend:
		r.Ev, r.Attempt = record.Resend, e.Attempt
		n.publish(e.Payload)
	case sds.EventMessageFailed:
		r.Ev = record.Failed
	case sds.EventDependenciesLost:
		r.Ev, r.Deps = record.Lost, e.Lost
	case sds.EventIncomingEvicted:
		r.Ev = record.Evicted
	case sds.EventPersistenceBacklog:
		r.Ev = record.Backlog
	default:
		return
	}
	n.out.emit(r)
}

// sync publishes a sync message: its bloom filter and causal history
// acknowledge, and it carries our due SDS-R requests.
func (n *node) sync() {
	b, err := n.m.WrapSync(n.channel)
	if err != nil {
		n.fail("sync", err)
		return
	}
	n.syncs.Add(1)
	n.publish(b)
}

func (n *node) publish(b []byte) {
	if err := n.net.topic.Publish(n.net.ctx, b); err != nil {
		if n.net.ctx.Err() == nil {
			n.fail("publish", err)
		}
		return
	}
	n.published.Add(1)
	n.publishedBytes.Add(int64(len(b)))
}

func (n *node) fail(what string, err error) {
	n.out.emit(record.Record{Ev: record.Error, Err: what + ": " + err.Error()})
}

// receive hands every gossip message from a peer to SDS, less the
// injected loss, until ctx ends.
func (n *node) receive(ctx context.Context) {
	rng := rand.New(rand.NewPCG(n.opt.Seed, 0x5d5))
	for {
		msg, err := n.net.sub.Next(ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom == n.net.host.ID() {
			continue // our own publication, handed back by pubsub
		}
		n.received.Add(1)
		if n.opt.Loss > 0 && rng.Float64() < n.opt.Loss {
			n.dropped.Add(1)
			continue
		}
		n.unwrap(msg.Data)
	}
}

func (n *node) unwrap(b []byte) {
	if n.m == nil {
		id, text := splitPlain(b)
		n.out.emit(record.Record{Ev: record.Delivered, Msg: id, Bytes: len(text), Text: shortText(text)})
		return
	}
	res, err := n.m.Unwrap(b)
	switch {
	case err != nil:
		n.unwrapErrors.Add(1)
		n.fail("unwrap", err)
	case res.Duplicate:
		n.duplicates.Add(1)
	}
}

// send wraps and publishes our message number seq.
func (n *node) send(seq int, content []byte) error {
	id := fmt.Sprintf("%s-%d", n.opt.ID, seq)
	if n.m == nil {
		n.out.emit(record.Record{Ev: record.Sent, Msg: id, Bytes: len(content), Text: shortText(content)})
		n.publish(joinPlain(id, content))
		return nil
	}
	b, err := n.m.Wrap(n.channel, id, content)
	if err != nil {
		return fmt.Errorf("wrap %s: %w", id, err)
	}
	if seq == n.opt.CrashAfter {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; nothing more happens here
	}
	r := record.Record{Ev: record.Sent, Msg: id, Bytes: len(content), Text: shortText(content)}
	if msg, ok := n.m.LoggedMessage(n.channel, id); ok {
		r.Deps = entryIDs(msg.CausalHistory)
	}
	n.out.emit(r)
	n.publish(b)
	return nil
}

func (n *node) stats(start time.Time) *record.Stats {
	s := &record.Stats{
		Received: n.received.Load(), Dropped: n.dropped.Load(), Duplicates: n.duplicates.Load(),
		Published: n.published.Load(), PublishedB: n.publishedBytes.Load(), Syncs: n.syncs.Load(),
		UnwrapErrors: n.unwrapErrors.Load(), WallMillis: time.Since(start).Milliseconds(),
	}
	if n.m != nil {
		s.LogBytes, s.IncomingBytes = n.m.LogBytes(), n.m.IncomingBytes()
		c := n.m.Stats().Counters
		s.SDS = &c
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.PeakRSSKB = ru.Maxrss // kilobytes on Linux
		s.CPUMillis = (ru.Utime.Nano() + ru.Stime.Nano()) / 1e6
	}
	return s
}

func entryIDs(es []wire.HistoryEntry) []string {
	ids := make([]string, len(es))
	for i := range es {
		ids[i] = es[i].MessageID
	}
	return ids
}
