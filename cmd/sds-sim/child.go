package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
)

// Runs in parallel go to child processes: the same executable with the same
// arguments plus -child-job N. Each child plans the same jobs, runs job N
// alone - so its memory figures are its own heap's - reports progress on
// stderr and prints the result as JSON on stdout. Runs are deterministic
// for a seed, so a child's result is the one the parent would compute.
const (
	childFlag     = "child-job"
	childEnv      = "SDS_SIM_CHILD" // set in children (tests use it to act as the command)
	progressToken = "sds-sim-progress"
)

// runChild runs jobs[i] and writes its result to stdout.
func runChild(jobs []job, i int, stdout, stderr io.Writer) error {
	if i >= len(jobs) {
		return fmt.Errorf("-%s %d: only %d runs", childFlag, i, len(jobs))
	}
	cfg := jobs[i].cfg
	last := int64(-1)
	cfg.Progress = func(done, total time.Duration) {
		if total <= 0 {
			return
		}
		if v := int64(float64(done) / float64(total) * permille); v != last {
			last = v
			fmt.Fprintf(stderr, "%s %d %d\n", progressToken, done, total)
		}
	}
	res, err := sim.Run(cfg)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// executeChildren runs every job in a child process, parallel at a time,
// and returns the results in order.
func executeChildren(jobs []job, args []string, parallel int, prog *progress) []jobResult {
	exe, err := os.Executable()
	results := make([]jobResult, len(jobs))
	if err != nil {
		for i := range results {
			results[i].err = err
		}
		return results
	}
	forEach(len(jobs), parallel, func(i int) {
		prog.start(i, jobs[i].label)
		res, err := runInChild(exe, args, i, func(done, total time.Duration) { prog.update(i, done, total) })
		results[i] = jobResult{res, err}
		prog.done(i, res)
	})
	return results
}

func runInChild(exe string, args []string, i int, progress func(done, total time.Duration)) (*sim.Result, error) {
	cmd := exec.Command(exe, append(append([]string(nil), args...), "-"+childFlag, strconv.Itoa(i))...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var errText strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		line := sc.Text()
		var done, total time.Duration
		if _, err := fmt.Sscanf(line, progressToken+" %d %d", &done, &total); err == nil {
			progress(done, total)
			continue
		}
		errText.WriteString(line)
		errText.WriteByte('\n')
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("child run: %w: %s", err, strings.TrimSpace(errText.String()))
	}
	var res sim.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("child run: result: %w", err)
	}
	return &res, nil
}
