package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
)

// TestMain lets the test binary stand in for sds-sim when run() starts
// child processes (os.Executable is the test binary).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// small keeps the command's tests quick: 8 participants, a small filter.
var small = []string{"-participants", "8", "-messages", "120", "-rate", "0.2", "-bloom", "500", "-log", "5000",
	"-tmax", "2m", "-dep-wait", "5m", "-mem-samples", "-1", "-quiet"}

func TestJSONAndReport(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	args := append(append([]string(nil), small...), "-json", "-report", dir, "-bw-losses", "0,0.3", "-bw-messages", "60")
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var o Output
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		t.Fatalf("-json output does not parse: %v", err)
	}
	if len(o.Runs) != 2 || !o.Runs[0].Result.SDSR || o.Runs[1].Result.SDSR {
		t.Fatalf("want a run with and one without SDS-R, got %+v", o.Runs)
	}
	if len(o.LossCurve) != 4 {
		t.Errorf("loss curve has %d runs, want 4", len(o.LossCurve))
	}
	if o.Settings["loss"] != "0.2" || o.Settings["participants"] != "8" {
		t.Errorf("settings %v", o.Settings)
	}
	for _, r := range o.Runs {
		if r.Result.Sent != 120 || r.Result.Duplicates != 0 || r.Result.OrderViolations != 0 {
			t.Errorf("%s: sent %d, %d duplicates, %d order violations", r.Label, r.Result.Sent, r.Result.Duplicates, r.Result.OrderViolations)
		}
	}
	for _, f := range []string{fileSummary, fileResults, fileCDF, fileBandwidth, fileRepairs} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".png") && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, fileSummary))
	if b := o.Runs[0].Result.Breakdown; b.Repaired == 0 || b.ByRootCause.All.Request.Mean <= 0 {
		t.Errorf("at 20%% loss, no repaired delivery or no request wait in the breakdown: %+v", b)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"latency_breakdown"`)) {
		t.Error("-json output lacks latency_breakdown")
	}
	for _, want := range []string{"| delivery ratio |", "with SDS-R", "without SDS-R", fileCDF, fileBandwidth, fileRepairs, "## What is measured", "## Where the delay goes", "| request |"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestSweepReport(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	args := append(append([]string(nil), small...), "-sweep", "groups=1,3", "-report", dir, "-bw-losses", "")
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "groups") || strings.Count(out.String(), "\n3 ") != 2 {
		t.Errorf("sweep table:\n%s", out.String())
	}
	// The header names the values swept, not the -groups flag (1).
	if head, _, _ := strings.Cut(out.String(), "\n"); !strings.Contains(head, "swept over 1, 3 response group(s)") ||
		strings.Contains(head, "; 1 response group(s)") {
		t.Errorf("sweep header: %s", head)
	}
	md, _ := os.ReadFile(filepath.Join(dir, fileSummary))
	if !bytes.Contains(md, []byte("## Sweep over groups")) || !bytes.Contains(md, []byte(fileSweep)) {
		t.Errorf("summary:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(dir, fileSweep)); err != nil {
		t.Error(err)
	}
}

// TestNothingSent: a run without messages still reports (empty plots).
func TestNothingSent(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	args := append(append([]string(nil), small...), "-messages", "0", "-report", dir, "-bw-losses", "")
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, fileCDF)); err != nil {
		t.Error(err)
	}
}

func TestFlags(t *testing.T) {
	for _, bad := range [][]string{
		{"-sdsr", "maybe"}, {"-lost", "keep"}, {"-format", "xml"}, {"-partition", "at=1m,for"},
		{"-offline", "p=1,when=2m"}, {"-sweep", "nope=1"}, {"-participants", "1"}, {"extra"},
		{"-policy", "fast"}, {"-retry", "0s"},
	} {
		var out, errOut bytes.Buffer
		if err := run(append(append([]string(nil), small...), bad...), &out, &errOut); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"-sweep", "help"}, &out, &out); err != nil || !strings.Contains(out.String(), "participants") ||
		!strings.Contains(out.String(), "name=a,b,c") || !strings.Contains(out.String(), "name=from:to:step") {
		t.Errorf("-sweep help: %v\n%s", err, out.String())
	}
	pt, err := parsePartition("at=5m,for=2m,groups=3")
	if err != nil || pt.At.Minutes() != 5 || pt.Duration.Minutes() != 2 || pt.Groups != 3 {
		t.Errorf("partition %+v %v", pt, err)
	}
	ot, err := parseOutage("p=3,at=1m,for=30s")
	if err != nil || ot.Participant != 3 || ot.At.Minutes() != 1 || ot.Duration.Seconds() != 30 {
		t.Errorf("outage %+v %v", ot, err)
	}
}

// TestChildrenAgree: runs in child processes give the results the same runs
// give one after the other in this process.
func TestChildrenAgree(t *testing.T) {
	results := func(parallel string) []byte {
		var out, errOut bytes.Buffer
		args := append(append([]string(nil), small...), "-json", "-parallel", parallel, "-loss", "0.3")
		if err := run(args, &out, &errOut); err != nil {
			t.Fatalf("-parallel %s: %v\n%s", parallel, err, errOut.String())
		}
		var o Output
		if err := json.Unmarshal(out.Bytes(), &o); err != nil {
			t.Fatal(err)
		}
		if len(o.Runs) != 2 {
			t.Fatalf("-parallel %s: %d runs", parallel, len(o.Runs))
		}
		for _, r := range o.Runs {
			r.Result.WallTime = 0 // the only figure that depends on the machine
		}
		b, _ := json.Marshal(o.Runs)
		return b
	}
	seq, par := results("1"), results("2")
	if !bytes.Equal(seq, par) {
		t.Errorf("-parallel 1 and 2 disagree:\n%s\n%s", seq, par)
	}
	if !bytes.Contains(seq, []byte(`"repairs"`)) {
		t.Errorf("no results: %s", seq)
	}
}

// TestChildFailure: a child that fails reports its error to the parent.
func TestChildFailure(t *testing.T) {
	// A child told to run a job that does not exist fails; the parent
	// must say so rather than print empty results.
	_, err := runInChild(mustExecutable(t), small, 99, func(done, total time.Duration) {})
	if err == nil || !strings.Contains(err.Error(), "only 2 runs") {
		t.Errorf("child error: %v", err)
	}
}

func mustExecutable(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	return exe
}

// A swept parameter is described by its values, whether or not the setup
// line names it otherwise.
func TestDescribeSweptSetup(t *testing.T) {
	o := &Output{Settings: map[string]string{"loss": "0.2", "participants": "100", "size": "64"}}
	if d := describeSetup(o); !strings.Contains(d, "loss 0.2") {
		t.Errorf("no sweep: %s", d)
	}
	o.Sweep = &sim.Sweep{Param: "loss", Values: []float64{0, 0.25, 0.5}}
	if d := describeSetup(o); strings.Contains(d, "loss 0.2") || !strings.Contains(d, "loss swept over 0, 0.25, 0.5") {
		t.Errorf("loss sweep: %s", d)
	}
	o.Sweep = &sim.Sweep{Param: "size", Values: []float64{16, 256}}
	if d := describeSetup(o); !strings.HasSuffix(d, "; size swept over 16, 256") {
		t.Errorf("size sweep: %s", d)
	}
}

// Axis labels carry no trailing zeros ("500", not "500.00").
func TestPlainTicks(t *testing.T) {
	for _, r := range [][2]float64{{0, 1000}, {0, 1}, {0, 0.05}, {3, 47}} {
		var labels []string
		for _, tk := range (plainTicks{}).Ticks(r[0], r[1]) {
			if tk.Label == "" {
				continue
			}
			labels = append(labels, tk.Label)
			if strings.Contains(tk.Label, ".") && (strings.HasSuffix(tk.Label, "0") || strings.HasSuffix(tk.Label, ".")) {
				t.Errorf("range %v: label %q", r, tk.Label)
			}
		}
		if len(labels) < 2 {
			t.Errorf("range %v: labels %q", r, labels)
		}
	}
	if got := (plainTicks{}).Ticks(0, 1000); got[0].Label != "0" {
		t.Errorf("first label %q, want 0", got[0].Label)
	}
}
