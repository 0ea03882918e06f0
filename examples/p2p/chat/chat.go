// Package chat is sds-chat: a participant in a group chat over libp2p
// gossipsub, made reliable by one sds.Manager. Every line it sends is
// wrapped and published on the topic; every gossip message received is
// unwrapped; deliveries, acknowledgements, missing dependencies, SDS-R
// repairs and resends are printed as they happen, as text or as JSON lines
// (package record). The periodic tasks run on the real clock, and the
// state is kept in a store so that a restarted participant resumes.
package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/libsds-go/libsds/examples/p2p/record"
	"github.com/libsds-go/libsds/sds"
)

// Options configure a participant.
type Options struct {
	ID       string   // participant id: the SDS sender id and message id prefix
	Listen   string   // libp2p listen address
	Peers    []string // addresses (with /p2p/ id) to dial, again until connected
	Topic    string   // the gossipsub topic, also the SDS channel id
	StateDir string   // the store, the libp2p key and the address file; "": nothing kept
	JSON     bool     // print JSON lines (package record) rather than text
	// Out is the output file, appended to; "": stdout. A JSON output file
	// is also the participant's record of what it has shown: a restarted
	// participant reads it to print what the store holds but it had not
	// printed (record.Record.Recovered).
	Out string

	// Scripted sending (instead of lines from stdin): Count messages, or
	// the lines of MessagesFile, Rate per second (0: as fast as it can),
	// after WaitPeers peers joined the topic (or WaitTimeout passed).
	Count        int
	MessagesFile string
	Rate         float64
	Size         int // pad each scripted message to Size bytes
	Large        int // scripted message number Large carries the largest content SDS takes
	// CrashAfter makes the participant SIGKILL itself right after message
	// number CrashAfter is wrapped (and so stored), before it is printed
	// or published: the worst moment for a crash, which only the store,
	// resends and repairs can make good.
	CrashAfter  int
	WaitPeers   int
	WaitTimeout time.Duration

	Loss float64 // fraction of received gossip messages dropped before SDS sees them
	Seed uint64  // seeds the loss

	// Plain publishes and delivers the bare content without SDS: the
	// baseline of the benchmarks.
	Plain bool
	// SDS is the manager's configuration; Run sets the participant id, and
	// the store when StateDir is set.
	SDS sds.Config
}

func (o *Options) scripted() bool { return o.Count > 0 || o.MessagesFile != "" }

// Run runs the participant until ctx ends (or, reading stdin, until it
// ends), then stops cleanly, printing its counters.
func Run(ctx context.Context, opt Options, stdin io.Reader) (err error) {
	start := time.Now()
	if opt.ID == "" || strings.ContainsAny(opt.ID, " \n") {
		return fmt.Errorf("participant id %q: need one word", opt.ID)
	}
	if opt.StateDir != "" {
		if err := os.MkdirAll(opt.StateDir, 0o700); err != nil {
			return err
		}
	}
	out, shown, err := openOutput(&opt)
	if err != nil {
		return err
	}
	defer out.close()
	n := &node{opt: &opt, out: out, channel: opt.Topic}
	defer func() { err = errors.Join(err, n.close()) }() // on an early return
	if !opt.Plain {
		if err := n.openManager(); err != nil {
			return err
		}
	}
	if n.net, err = startNetwork(&opt, n.maxMessageBytes()); err != nil {
		return err
	}
	n.closers = append(n.closers, func() error { n.net.close(); return nil })
	if err := n.begin(shown); err != nil {
		return err
	}
	err = n.run(ctx, stdin)
	n.stop()
	stats := n.stats(start)
	if err = errors.Join(err, n.close()); err == nil {
		out.emit(record.Record{Ev: record.Exit, Stats: stats}) // stopped cleanly: everything stored
	}
	return err
}

// close closes what the participant opened, the last opened first, once.
func (n *node) close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	n.closers = nil
	return errors.Join(errs...)
}

// begin announces the participant, prints what the store holds that was
// not printed, and starts receiving.
func (n *node) begin(shown journal) error {
	addr := n.net.address()
	if n.opt.StateDir != "" {
		if err := os.WriteFile(filepath.Join(n.opt.StateDir, "address"), []byte(addr+"\n"), 0o600); err != nil {
			return err
		}
	}
	restored := 0
	if n.m != nil {
		if err := n.m.EnsureChannel(n.channel); err != nil {
			return err
		}
		st, _ := n.m.ChannelState(n.channel)
		restored = len(st.MessageHistory)
	}
	n.out.emit(record.Record{Ev: record.Start, ID: n.opt.ID, Addr: addr, Restored: restored})
	if n.m != nil {
		n.nextSeq = n.reconcile(shown)
	} else {
		n.nextSeq = shown.lastSeq(n.opt.ID) + 1
	}
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); n.receive(rctx) }()
	n.stopReceive = func() { cancel(); wg.Wait() }
	return nil
}

// stop ends the periodic tasks and the receiving, in that order: nothing
// publishes or unwraps afterwards.
func (n *node) stop() {
	if n.m != nil {
		n.m.StopPeriodicTasks()
	}
	if n.stopReceive != nil {
		n.stopReceive()
	}
}
