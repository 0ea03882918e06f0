package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// bench measures what a participant sustains: c.n participants each send
// c.bench messages at c.rate (0: as fast as they can) with no injected
// loss, until every one delivered all the others' or none progressed for
// 5 s. Per participant it reports deliveries per second of the run and
// messages handled (sent + delivered) per CPU second.
func bench(c *config) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
	defer cancel()
	c.count = c.bench
	extra := []string{"-size", strconv.Itoa(c.benchSize)}
	mode := "SDS, store on disk"
	switch {
	case c.plain:
		extra, mode = append(extra, "-plain"), "gossipsub alone (no SDS)"
	case c.memory:
		mode = "SDS, state in memory"
	}
	procs := participants(c, append(extra, scaledTimers...)...)
	defer killAll(procs)
	if _, err := startAll(ctx, c, procs); err != nil {
		return err
	}
	want, last, lastChange := c.bench*(c.n-1)*c.n, -1, time.Now()
	err := poll(ctx, procs, "the deliveries", func() (bool, error) {
		vs, err := readViews(procs)
		got := 0
		for _, v := range vs {
			got += len(v.delivered)
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		return got >= want || time.Since(lastChange) > 5*time.Second, err
	})
	err = errors.Join(err, stopAll(procs, 10*time.Second))
	vs, verr := readViews(procs)
	if err = errors.Join(err, verr); err != nil {
		return err
	}
	fmt.Printf("p2p-test bench: %s; %d participants, %d messages each of %d bytes, rate %g/s each (0: as fast as possible)\n",
		mode, c.n, c.bench, c.benchSize, c.rate)
	for _, v := range vs {
		fmt.Println(benchLine(v, c))
	}
	return nil
}

// benchLine gives a participant's figures: the run lasts from its first
// message sent to its last delivery.
func benchLine(v *view, c *config) string {
	secs := float64(v.lastDelivered-v.firstSent) / 1000
	line := fmt.Sprintf("  %s: delivered %d of %d in %.1f s: %.0f deliveries/s", v.id, len(v.delivered), c.bench*(c.n-1), secs, float64(len(v.delivered))/secs)
	for _, s := range v.exits {
		handled := float64(len(v.sent) + len(v.delivered))
		line += fmt.Sprintf("; CPU %.1f s: %.0f messages handled per CPU second; peak RSS %d MB",
			float64(s.CPUMillis)/1000, handled/(float64(s.CPUMillis)/1000), s.PeakRSSKB>>10)
	}
	return line
}
