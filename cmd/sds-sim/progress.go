package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/libsds-go/libsds/internal/sim"
)

// progress shows how far the runs are: a bar when stderr is a terminal,
// otherwise one line per finished run; nothing with -quiet.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	bar    *progressbar.ProgressBar
	quiet  bool
	total  int
	per    []int64 // per run, permille done
	label  []string
	ended  int
	active map[int]bool
}

const permille = 1000

func newProgress(w io.Writer, runs int, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet, total: runs, per: make([]int64, runs), label: make([]string, runs), active: map[int]bool{}}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(int64(runs)*permille,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("simulating"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) describe() {
	var running string
	for i := range p.total {
		if p.active[i] {
			running = p.label[i]
			break
		}
	}
	p.bar.Describe(fmt.Sprintf("[%d/%d] %s", p.ended, p.total, running))
}

func (p *progress) start(i int, label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label[i] = label
	p.active[i] = true
	if p.bar != nil {
		p.describe()
	}
}

func (p *progress) update(i int, done, total time.Duration) {
	if p.bar == nil || total <= 0 {
		return
	}
	v := min(int64(float64(done)/float64(total)*permille), permille)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.per[i] = v
	var sum int64
	for _, x := range p.per {
		sum += x
	}
	_ = p.bar.Set64(sum)
}

func (p *progress) done(i int, res *sim.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended++
	delete(p.active, i)
	p.per[i] = permille
	if p.bar != nil {
		p.describe()
		return
	}
	if p.quiet || res == nil {
		return
	}
	fmt.Fprintf(p.w, "[%d/%d] %s: delivered %.2f%%, p99 %.1f s, %d repairs, %d resends (%.1f s)\n",
		p.ended, p.total, p.label[i], 100*res.DeliveryRatio, float64(res.Latency.P99), res.Repairs, res.Resends, float64(res.WallTime))
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
