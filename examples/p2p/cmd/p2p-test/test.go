package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/libsds-go/libsds/examples/p2p/record"
)

// test is make p2p-test: every participant sends its messages over a
// lossy gossip network; one crashes (SIGKILL) in the middle, at the worst
// moment (its message stored, not yet printed or published), and is
// restarted from its store; the outputs are checked once everything was
// delivered and acknowledged everywhere.
func test(c *config) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
	defer cancel()
	procs := participants(c, append(scaledTimers, "-loss", strconv.FormatFloat(c.loss, 'f', -1, 64))...)
	for i, p := range procs {
		p.args = append(p.args, "-seed", strconv.Itoa(i+1))
	}
	// One message crosses the network at the largest size SDS takes.
	procs[0].args = append(procs[0].args, "-large", strconv.Itoa(c.count/4))
	victim := procs[len(procs)/2]
	if c.crashAfter > 0 {
		victim.once = []string{"-crash-after", strconv.Itoa(c.crashAfter)}
	}
	defer killAll(procs)
	addrs, err := startAll(ctx, c, procs)
	if err != nil {
		return err
	}
	fmt.Printf("p2p-test: %d participants on 127.0.0.1, %d messages each at %g/s, %.0f%% receive loss\n",
		c.n, c.count, c.rate, 100*c.loss)
	var restartedAt time.Time
	if c.crashAfter > 0 {
		if err := crashAndRestart(ctx, c, procs, victim, addrs); err != nil {
			return err
		}
		restartedAt = time.Now()
	}
	err = poll(ctx, procs, "every message delivered and acknowledged everywhere", func() (bool, error) {
		vs, err := readViews(procs)
		if err != nil {
			return false, err
		}
		for _, v := range vs {
			if !v.complete(c.count, c.n-1) {
				return false, nil
			}
		}
		return true, nil
	})
	healed := time.Now()
	err = errors.Join(err, stopAll(procs, 10*time.Second))
	vs, verr := readViews(procs)
	if verr != nil {
		return errors.Join(err, verr)
	}
	report(vs, began, healed, restartedAt)
	ck := verify(vs, c.count, c.rssLimitMB<<10)
	if c.crashAfter > 0 {
		verifyCrash(ck, vs[len(vs)/2], victim.id+"-"+strconv.Itoa(c.crashAfter))
	}
	for _, f := range head(ck.failures, 20) {
		fmt.Println("  ", f)
	}
	if len(ck.failures) > 0 {
		err = errors.Join(err, fmt.Errorf("%d checks failed", len(ck.failures)))
	}
	if err != nil {
		// The last line stays the summary.
		fmt.Println("  ", strings.ReplaceAll(err.Error(), "\n", "\n   "))
		return errors.New(figures(vs, began))
	}
	fmt.Println("p2p-test: ok: every message delivered exactly once everywhere, in causal order, and acknowledged: " + figures(vs, began))
	return nil
}

// crashAndRestart waits for victim to crash (SIGKILL, after wrapping its
// message c.crashAfter) and restarts it from its store c.down later,
// dialing all the others.
func crashAndRestart(ctx context.Context, c *config, procs []*proc, victim *proc, addrs []string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s to crash: %w", victim.id, ctx.Err())
	case <-victim.done:
	}
	ws, ok := victim.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("%s ended with %v, not by SIGKILL (see %s)", victim.id, victim.cmd.ProcessState, victim.stderr)
	}
	fmt.Printf("p2p-test: %s SIGKILLed itself after storing its message %d; restarting it in %v\n", victim.id, c.crashAfter, c.down)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(c.down):
	}
	var peers []string
	for i, p := range procs {
		if p != victim {
			peers = append(peers, addrs[i])
		}
	}
	if err := victim.start(c.chat, peers); err != nil {
		return err
	}
	_, err := victim.waitStarted(ctx)
	return err
}

func readViews(procs []*proc) ([]*view, error) {
	vs := make([]*view, len(procs))
	for i, p := range procs {
		recs, torn, err := p.records()
		if err != nil {
			return nil, err
		}
		vs[i] = viewOf(p.id, recs, torn)
	}
	return vs, nil
}

// report prints each participant's figures.
func report(vs []*view, began, healed, restartedAt time.Time) {
	for _, v := range vs {
		line := fmt.Sprintf("  %s: runs %d, sent %d, delivered %d, acked %d, printed on restart from the store %d, missing %d, repairs %d, resends %d",
			v.id, v.runs, len(v.sent), len(v.delivered), len(v.acked), v.recovered, v.count[record.Missing], v.count[record.Repair], v.count[record.Resend])
		for _, s := range v.exits {
			line += fmt.Sprintf(", received %d (dropped %d), peak RSS %d MB", s.Received, s.Dropped, s.PeakRSSKB>>10)
		}
		fmt.Println(line)
	}
	fmt.Printf("p2p-test: complete %.1f s after the start", healed.Sub(began).Seconds())
	if !restartedAt.IsZero() {
		fmt.Printf(", %.1f s after the restart", healed.Sub(restartedAt).Seconds())
	}
	fmt.Println()
}

// figures sums up a run: the summary line.
func figures(vs []*view, began time.Time) string {
	msgs, deliveries, repairs, resends, restarts := 0, 0, 0, 0, 0
	var rss int64
	for _, v := range vs {
		msgs += len(v.sent)
		deliveries += len(v.delivered)
		repairs += v.count[record.Repair]
		resends += v.count[record.Resend]
		restarts += v.runs - 1
		for _, s := range v.exits {
			rss = max(rss, s.PeakRSSKB)
		}
	}
	return fmt.Sprintf("%d messages, %d deliveries, %d repairs, %d resends, %d restart(s), peak RSS %d MB, wall %.1f s",
		msgs, deliveries, repairs, resends, restarts, rss>>10, time.Since(began).Seconds())
}
