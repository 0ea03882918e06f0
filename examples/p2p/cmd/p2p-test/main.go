// Command p2p-test runs sds-chat participants as separate processes over
// libp2p gossipsub on 127.0.0.1, with injected receive loss and one
// participant SIGKILLed mid-run and restarted from its store, then checks
// from their own JSON output that SDS kept its promises (check.go). The
// last line it prints is the summary. Everything it starts it stops, also
// on failure; the run has its own deadline.
//
//	p2p-test -chat build/p2p/sds-chat -dir build/p2p/run
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

type config struct {
	chat, dir        string
	n, count         int
	rate, loss       float64
	crashAfter       int // the victim SIGKILLs itself after wrapping this message
	down             time.Duration
	deadline         time.Duration
	rssLimitMB       int64
	bench, benchSize int
	plain, memory    bool
}

func main() {
	var c config
	flag.StringVar(&c.chat, "chat", "sds-chat", "the sds-chat binary")
	flag.StringVar(&c.dir, "dir", "p2p-run", "directory for the participants' state and output (emptied first)")
	flag.IntVar(&c.n, "n", 5, "participants")
	flag.IntVar(&c.count, "count", 200, "messages each participant sends")
	flag.Float64Var(&c.rate, "rate", 5, "messages per second each participant sends")
	flag.Float64Var(&c.loss, "loss", 0.1, "fraction of received gossip messages each participant drops")
	flag.IntVar(&c.crashAfter, "crash-after", 80, "one participant SIGKILLs itself right after wrapping its message N (0: none)")
	flag.DurationVar(&c.down, "down", 5*time.Second, "how long the crashed participant stays down")
	flag.DurationVar(&c.deadline, "deadline", 100*time.Second, "deadline of the run until the participants are asked to stop (they then have 10 s)")
	flag.Int64Var(&c.rssLimitMB, "rss-limit", 160, "peak RSS bound of each participant, MB")
	flag.IntVar(&c.bench, "bench", 0, "benchmark instead: participants send this many messages as fast as they can, no loss or kill")
	flag.IntVar(&c.benchSize, "size", 0, "benchmark message size in bytes")
	flag.BoolVar(&c.plain, "plain", false, "benchmark without SDS (baseline)")
	flag.BoolVar(&c.memory, "memory", false, "benchmark SDS with its state in memory, no store")
	flag.Parse()
	chat, err := filepath.Abs(c.chat)
	if err == nil {
		c.chat = chat
		err = os.RemoveAll(c.dir)
	}
	if err == nil {
		err = os.MkdirAll(c.dir, 0o755)
	}
	if err != nil {
		fmt.Println("p2p-test: FAIL:", err)
		os.Exit(1)
	}
	run := test
	if c.bench > 0 {
		run = bench
	}
	if err := run(&c); err != nil {
		fmt.Println("p2p-test: FAIL:", err)
		os.Exit(1)
	}
}

// The SDS settings of the test (and the benchmark): the library's timers
// scaled down so that a run of about a minute sees resends and repairs
// several times over. Acknowledgements come within a second (four peers
// each send five messages a second, each naming what it has), so a 3 s
// resend interval resends only what was really lost; SDS-R asks 0.2-1.5 s
// after noticing a gap, and the sweeps run often enough not to add to
// that.
//
// The causal history keeps its default 10 entries. A repair releases all
// that waited for it at once (bursts of 24 were seen), so a message can
// leave every peer's last 10 before anyone names it again. A participant
// that lost it still gets it: its periodic sync's bloom filter lacks it,
// and the message's sender answers that unasked (the default SDS-R
// policy). Before that policy this test needed 100 entries (3 of 4,000
// deliveries were missing in one run with 10).
var scaledTimers = []string{
	"-sync", "1s", "-sweep", "500ms",
	"-resend", "3s", "-resend-possibly-acked", "6s", "-resend-attempts", "30",
	"-repair-min", "200ms", "-repair-max", "1500ms", "-repair-sweep", "200ms",
}

// participants prepares n participants sending count messages at rate.
func participants(c *config, extra ...string) []*proc {
	procs := make([]*proc, c.n)
	for i := range procs {
		id := "p" + strconv.Itoa(i)
		p := &proc{
			id:     id,
			out:    filepath.Join(c.dir, id+".jsonl"),
			stderr: filepath.Join(c.dir, id+".stderr"),
		}
		own := extra
		if !c.memory {
			own = append([]string{"-state", filepath.Join(c.dir, id)}, extra...)
		}
		p.args = append([]string{
			"-id", id, "-json", "-out", p.out,
			"-count", strconv.Itoa(c.count), "-rate", strconv.FormatFloat(c.rate, 'f', -1, 64),
			"-wait-peers", strconv.Itoa(c.n - 1), "-wait-timeout", "20s",
		}, own...)
		procs[i] = p
	}
	return procs
}

// startAll starts the participants one after the other, each dialing
// those before it; it returns their addresses.
func startAll(ctx context.Context, c *config, procs []*proc) ([]string, error) {
	addrs := make([]string, len(procs))
	for i, p := range procs {
		if err := p.start(c.chat, addrs[:i]); err != nil {
			return nil, err
		}
		a, err := p.waitStarted(ctx)
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	return addrs, nil
}

// killAll ends every run still going, at once.
func killAll(procs []*proc) {
	for _, p := range procs {
		if p.running() {
			p.signal(syscall.SIGKILL)
			<-p.done
		}
	}
}

// poll calls done every 200 ms until it returns true; a participant that
// exited on its own fails the wait.
func poll(ctx context.Context, procs []*proc, what string, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		for _, p := range procs {
			if p.cmd != nil && !p.running() && !p.ending {
				return fmt.Errorf("%s exited on its own (code %d) waiting for %s; see %s",
					p.id, p.cmd.ProcessState.ExitCode(), what, p.stderr)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stopAll stops every participant cleanly, all at once: SIGTERM, then
// SIGKILL to those still running after grace. It fails if one did not
// exit with code 0 in time.
func stopAll(procs []*proc, grace time.Duration) error {
	for _, p := range procs {
		p.signal(syscall.SIGTERM)
	}
	timeout := time.After(grace)
	var errs []error
	for _, p := range procs {
		select {
		case <-p.done:
		case <-timeout:
		}
		if p.running() {
			p.signal(syscall.SIGKILL)
			<-p.done
			errs = append(errs, fmt.Errorf("%s did not exit within %v of SIGTERM (see %s)", p.id, grace, p.stderr))
		} else if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			errs = append(errs, fmt.Errorf("%s exited with code %d (see %s)", p.id, code, p.stderr))
		}
	}
	return errors.Join(errs...)
}
