// Command sds-sim shows how SDS behaves on a network like yours before you
// integrate it: N participants running the real sds core on a simulated
// lossy broadcast network, with and without SDS-R, under a virtual clock.
//
//	go run ./cmd/sds-sim -participants 100 -messages 10000 -loss 0.2 -report report/
//
// It prints a comparison (or JSON with -json), and with -report DIR writes
// a Markdown summary and plots. -sweep varies one parameter, e.g.
// -sweep loss=0:0.5:0.1 or -sweep participants=10,100,1000.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sds-sim:", err)
		}
		os.Exit(2)
	}
}

// options are the command's flags beside the simulation's own.
type options struct {
	sdsr       string
	sweep      string
	json       bool
	report     string
	quiet      bool
	parallel   int
	bwLosses   string
	bwMessages int
	cpuProfile string
	childJob   int // >= 0: this process is a child running that one job
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sds-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := sim.DefaultConfig()
	cfg.Network.Loss = 0.2
	p := &cfg.Protocol
	var o options
	var partitions, outages listFlag
	var lost, format, policy string

	fs.IntVar(&cfg.Participants, "participants", cfg.Participants, "group size")
	fs.IntVar(&cfg.Messages, "messages", cfg.Messages, "content messages the whole group sends")
	fs.IntVar(&cfg.Channels, "channels", cfg.Channels, "channels every participant serves (each message goes to one at random)")
	fs.Float64Var(&cfg.SendRate, "rate", cfg.SendRate, "messages per virtual second per participant (exponential gaps)")
	fs.IntVar(&cfg.ContentSize, "size", cfg.ContentSize, "content bytes per message")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: a run is deterministic for a seed")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "longest virtual time to go on after the last send (ends earlier once all is quiet)")

	fs.Float64Var(&cfg.Network.Loss, "loss", cfg.Network.Loss, "probability that one copy of a broadcast is lost")
	fs.DurationVar(&cfg.Network.Delay, "delay", cfg.Network.Delay, "base network latency")
	fs.DurationVar(&cfg.Network.Jitter, "jitter", cfg.Network.Jitter, "random extra latency, uniform in [0, jitter)")
	fs.Float64Var(&cfg.Network.Reorder, "reorder", cfg.Network.Reorder, "probability a copy is held back by up to -reorder-delay")
	fs.DurationVar(&cfg.Network.ReorderDelay, "reorder-delay", cfg.Network.ReorderDelay, "longest hold-back of a reordered copy")
	fs.Var(&partitions, "partition", "split the group for a while, e.g. at=5m,for=2m,groups=2 (repeatable)")
	fs.Var(&outages, "offline", "take one participant off the network for a while, e.g. p=3,at=5m,for=3m (repeatable)")
	fs.Float64Var(&cfg.Network.Churn.Fraction, "churn", 0, "fraction of participants that each go offline once, at random, while messages are sent")
	fs.DurationVar(&cfg.Network.Churn.Duration, "churn-for", 3*time.Minute, "how long a -churn outage lasts")
	fs.DurationVar(&cfg.Network.ClockSkew, "clock-skew", 0, "each participant's clock is off by a fixed amount drawn uniformly from [-d, d]")

	fs.IntVar(&p.BloomCapacity, "bloom", p.BloomCapacity, "bloom filter capacity (ids)")
	fs.Float64Var(&p.BloomErrorRate, "bloom-error", p.BloomErrorRate, "bloom filter false-positive rate")
	fs.IntVar(&p.BloomAckThreshold, "ack-threshold", p.BloomAckThreshold, "received bloom filters that must show a message before it counts as acknowledged")
	fs.BoolVar(&p.FullBloomFilter, "full-bloom", p.FullBloomFilter, "every message carries the whole rolling bloom filter, as in Nim (default: the acknowledgement window's)")
	fs.DurationVar(&p.AckWindow, "ack-window", p.AckWindow, "how long ids stay in the filter messages carry (0: derived from the resend settings)")
	fs.IntVar(&p.MaxCausalHistory, "history", p.MaxCausalHistory, "causal-history entries per message")
	fs.IntVar(&p.MaxMessageHistory, "log", p.MaxMessageHistory, "messages each participant keeps in its log (MaxMessageHistory)")
	fs.IntVar(&p.RememberDelivered, "remember", p.RememberDelivered, "ids of evicted log entries still recognised as delivered (RememberDelivered; 0 as in Nim)")
	fs.DurationVar(&p.ResendInterval, "resend", p.ResendInterval, "resend interval for unacknowledged messages")
	fs.DurationVar(&p.PossiblyAckedResendInterval, "resend-possibly-acked", p.PossiblyAckedResendInterval, "resend interval once a bloom filter showed the message")
	fs.IntVar(&p.MaxResendAttempts, "resend-attempts", p.MaxResendAttempts, "rebroadcasts before a message fails")
	fs.DurationVar(&p.SyncMessageInterval, "sync", p.SyncMessageInterval, "sync message interval")
	fs.DurationVar(&p.BufferSweepInterval, "sweep-interval", p.BufferSweepInterval, "buffer sweep interval")
	fs.DurationVar(&p.MaxDependencyWait, "dep-wait", p.MaxDependencyWait, "how long a message waits for missing dependencies")
	fs.StringVar(&lost, "lost", "deliver", "what becomes of a message whose dependencies are lost: deliver or drop")
	fs.IntVar(&p.MaxIncomingBuffer, "incoming", p.MaxIncomingBuffer, "messages one channel may keep waiting for dependencies")
	fs.DurationVar(&p.RepairTMin, "tmin", p.RepairTMin, "SDS-R request backoff minimum")
	fs.DurationVar(&p.RepairTMax, "tmax", p.RepairTMax, "SDS-R backoff maximum")
	fs.IntVar(&p.NumResponseGroups, "groups", p.NumResponseGroups, "SDS-R response groups")
	fs.IntVar(&p.MaxRepairRequests, "repair-requests", p.MaxRepairRequests, "SDS-R repair requests attached to one message")
	fs.DurationVar(&p.RepairSweepInterval, "repair-interval", p.RepairSweepInterval, "SDS-R repair sweep interval")
	repairFlags(fs, p, &policy)
	fs.StringVar(&format, "format", "nim", "wire format: nim or rfc")

	fs.StringVar(&o.sdsr, "sdsr", "both", "run with SDS-R (on), without (off), or both to compare")
	fs.StringVar(&o.sweep, "sweep", "", "vary one parameter: name=a,b,c or name=from:to:step (-sweep help lists them)")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON on stdout")
	fs.StringVar(&o.report, "report", "", "write a Markdown summary and PNG plots to this directory")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(&o.parallel, "parallel", runtime.NumCPU(), "runs at once, each in a process of its own (so each measures its own memory); 1: one after the other in this process")
	fs.IntVar(&cfg.MemSamples, "mem-samples", cfg.MemSamples, "heap samples per run for the peak-memory estimate (each reads the live heap the last GC found; one full GC at the end); 0: retained memory only; -1: none")
	fs.StringVar(&o.bwLosses, "bw-losses", "0,0.1,0.2,0.3,0.4,0.5", "loss rates of the report's bandwidth-against-loss plot (empty: none; a -sweep over loss is used instead)")
	fs.IntVar(&o.bwMessages, "bw-messages", 1000, "messages per run of the bandwidth-against-loss plot")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the runs to this file (go tool pprof; implies -parallel 1)")
	fs.IntVar(&o.childJob, childFlag, -1, "internal: run only this job and print its result as JSON")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sds-sim [flags]\n\nSimulates an SDS group on a lossy broadcast network with the real sds core.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.sweep == "help" {
		fmt.Fprintf(stdout, "-sweep name=a,b,c          the values listed\n"+
			"-sweep name=from:to:step   from to to (included) by step, e.g. -sweep loss=0:0.5:0.1\n"+
			"Durations are in seconds. Names:\n")
		for _, p := range sim.Params {
			unit := ""
			if p.Unit != "" {
				unit = " (" + p.Unit + ")"
			}
			fmt.Fprintf(stdout, "  %-14s %s%s\n", p.Name, p.Doc, unit)
		}
		return nil
	}
	var err error
	if p.OnLostDependencies, err = sds.ParseLostDependencyPolicy(lost); err != nil {
		return fmt.Errorf("-lost: %w", err)
	}
	if err := setPolicy(p, policy); err != nil {
		return err
	}
	if p.WireFormat, err = wire.ParseFormat(format); err != nil {
		return fmt.Errorf("-format: %w", err)
	}
	for _, s := range partitions {
		pt, err := parsePartition(s)
		if err != nil {
			return err
		}
		cfg.Network.Partitions = append(cfg.Network.Partitions, pt)
	}
	for _, s := range outages {
		ot, err := parseOutage(s)
		if err != nil {
			return err
		}
		cfg.Network.Outages = append(cfg.Network.Outages, ot)
	}
	var modes []bool
	switch o.sdsr {
	case "both":
		modes = []bool{true, false}
	case "on":
		modes = []bool{true}
	case "off":
		modes = []bool{false}
	default:
		return fmt.Errorf("-sdsr: want on, off or both, got %q", o.sdsr)
	}
	if o.parallel < 1 || o.cpuProfile != "" {
		o.parallel = 1
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	settings := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { settings[f.Name] = f.Value.String() })

	jobs, sweep, err := plan(cfg, modes, o)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// The simulator allocates fast: collect less often (the memory
		// figures force their own collections), but more often again
		// once the heap nears 8 GiB.
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(8 << 30)
	}
	if o.childJob >= 0 {
		return runChild(jobs, o.childJob, stdout, stderr)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	prog := newProgress(stderr, len(jobs), o.quiet)
	start := time.Now()
	var results []jobResult
	if o.parallel > 1 {
		results = executeChildren(jobs, args, o.parallel, prog)
	} else {
		// The main runs one at a time (they measure memory), then the
		// loss curve's, which do not, on every CPU.
		nMain := 0
		for _, j := range jobs {
			if j.role == roleMain {
				nMain++
			}
		}
		results = append(execute(jobs[:nMain], 0, 1, prog),
			execute(jobs[nMain:], nMain, runtime.NumCPU(), prog)...)
	}
	prog.finish()
	for i, r := range results {
		if r.err != nil {
			return fmt.Errorf("%s: %w", jobs[i].label, r.err)
		}
	}
	out := Output{
		Args: args, Settings: settings, Sweep: sweep,
		WallTime:  sim.Seconds(time.Since(start).Seconds()),
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
	}
	for i, j := range jobs {
		ro := RunOutput{Label: j.label, Value: j.value, Result: results[i].res}
		switch j.role {
		case roleMain:
			out.Runs = append(out.Runs, ro)
		case roleLossCurve:
			out.LossCurve = append(out.LossCurve, ro)
		}
	}
	if sweep != nil && sweep.Param == "loss" {
		out.LossCurve = out.Runs
	}
	if o.report != "" {
		if err := writeReport(o.report, &out); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(&out)
	}
	printSummary(stdout, &out)
	if o.report != "" {
		fmt.Fprintf(stdout, "\nReport: %s\n", reportIndex(o.report))
	}
	return nil
}

// Output is what -json prints.
type Output struct {
	// Args are the command line's arguments.
	Args []string `json:"args"`
	// Settings are the flags the run used, defaults included.
	Settings map[string]string `json:"settings"`
	Sweep    *sim.Sweep        `json:"sweep,omitempty"`
	Runs     []RunOutput       `json:"runs"`
	// LossCurve are the runs behind the report's bandwidth-against-loss
	// plot (the sweep's own runs when it sweeps loss).
	LossCurve []RunOutput `json:"loss_curve,omitempty"`
	WallTime  sim.Seconds `json:"wall_time_s"`
	GoVersion string      `json:"go_version"`
	CPUs      int         `json:"cpus"`
}

// RunOutput is one run.
type RunOutput struct {
	Label string `json:"label"`
	// Value is the swept parameter's value (sweeps and loss curve).
	Value  float64     `json:"value"`
	Result *sim.Result `json:"result"`
}

type role uint8

const (
	roleMain role = iota
	roleLossCurve
)

type job struct {
	label string
	role  role
	value float64
	cfg   sim.Config
}

func modeLabel(sdsr bool) string {
	if sdsr {
		return "with SDS-R"
	}
	return "without SDS-R"
}

// plan lists the runs: each mode, for each sweep value, and the loss curve
// the report plots.
func plan(cfg sim.Config, modes []bool, o options) ([]job, *sim.Sweep, error) {
	var jobs []job
	var sweep *sim.Sweep
	if o.sweep != "" {
		s, err := sim.ParseSweep(o.sweep)
		if err != nil {
			return nil, nil, err
		}
		sweep = &s
		for _, v := range s.Values {
			c, err := s.Apply(cfg, v)
			if err != nil {
				return nil, nil, fmt.Errorf("-sweep %s=%v: %w", s.Param, v, err)
			}
			for _, m := range modes {
				c.SDSR = m
				jobs = append(jobs, job{label: fmt.Sprintf("%s=%v %s", s.Param, v, modeLabel(m)), value: v, cfg: c})
			}
		}
	} else {
		for _, m := range modes {
			c := cfg
			c.SDSR = m
			jobs = append(jobs, job{label: modeLabel(m), value: cfg.Network.Loss, cfg: c})
		}
	}
	if o.report != "" && o.bwLosses != "" && (sweep == nil || sweep.Param != "loss") {
		s, err := sim.ParseSweep("loss=" + o.bwLosses)
		if err != nil {
			return nil, nil, fmt.Errorf("-bw-losses: %w", err)
		}
		base := cfg
		base.Messages = o.bwMessages
		base.MemSamples = -1
		for _, v := range s.Values {
			c, err := s.Apply(base, v)
			if err != nil {
				return nil, nil, fmt.Errorf("-bw-losses: %w", err)
			}
			for _, m := range modes {
				c.SDSR = m
				jobs = append(jobs, job{label: fmt.Sprintf("loss curve: loss=%v %s", v, modeLabel(m)), role: roleLossCurve, value: v, cfg: c})
			}
		}
	}
	return jobs, sweep, nil
}

type jobResult struct {
	res *sim.Result
	err error
}

// execute runs the jobs, parallel at a time, and returns their results in
// order; first is the index of jobs[0] for the progress display.
func execute(jobs []job, first, parallel int, prog *progress) []jobResult {
	results := make([]jobResult, len(jobs))
	forEach(len(jobs), parallel, func(i int) {
		j, n := jobs[i], first+i
		prog.start(n, j.label)
		j.cfg.Progress = func(done, total time.Duration) { prog.update(n, done, total) }
		res, err := sim.Run(j.cfg)
		results[i] = jobResult{res, err}
		prog.done(n, res)
	})
	return results
}

// forEach calls f(0) ... f(n-1), parallel at a time.
func forEach(n, parallel int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func parseKV(s string) (map[string]string, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want key=value,...", s)
		}
		kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return kv, nil
}

// kvField is one key of a key=value,... flag and how its value is read.
type kvField struct {
	key string
	set func(v string) error
}

func durationField(d *time.Duration) func(string) error {
	return func(v string) (err error) {
		*d, err = time.ParseDuration(v)
		return err
	}
}

func intField(n *int) func(string) error {
	return func(v string) error {
		_, err := fmt.Sscan(v, n)
		return err
	}
}

// parseFields reads the key=value,... value s of flag into fields.
func parseFields(flag, s string, fields []kvField) error {
	kv, err := parseKV(s)
	if err != nil {
		return fmt.Errorf("%s %w", flag, err)
	}
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	for k, v := range kv {
		i := slices.Index(keys, k)
		if i < 0 {
			err = fmt.Errorf("unknown key %q (%s)", k, strings.Join(keys, ", "))
		} else {
			err = fields[i].set(v)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", flag, s, err)
		}
	}
	return nil
}

func parsePartition(s string) (sim.Partition, error) {
	pt := sim.Partition{Groups: 2}
	err := parseFields("-partition", s, []kvField{
		{"at", durationField(&pt.At)},
		{"for", durationField(&pt.Duration)},
		{"groups", intField(&pt.Groups)},
	})
	return pt, err
}

func parseOutage(s string) (sim.Outage, error) {
	var o sim.Outage
	err := parseFields("-offline", s, []kvField{
		{"p", intField(&o.Participant)},
		{"at", durationField(&o.At)},
		{"for", durationField(&o.Duration)},
	})
	return o, err
}
