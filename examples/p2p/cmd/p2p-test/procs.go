package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/libsds-go/libsds/examples/p2p/record"
)

// proc is one sds-chat participant, possibly over several runs (a restart
// appends to the same output file and store).
type proc struct {
	id     string
	args   []string // without -peer
	once   []string // more arguments for the first run only
	out    string   // its JSON-lines output
	stderr string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current run exited
	runs   int
	ending bool // the current run is expected to end: we stop it, or it crashes on purpose
}

// start runs the participant again, dialing peers. Each run is its own
// process group, killed with the test (Pdeathsig) if the test dies.
func (p *proc) start(chat string, peers []string) error {
	args := append([]string(nil), p.args...)
	if p.runs == 0 {
		args = append(args, p.once...)
	}
	for _, a := range peers {
		args = append(args, "-peer", a)
	}
	errf, err := os.OpenFile(p.stderr, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(chat, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, errf, errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		errf.Close()
		return err
	}
	p.cmd, p.done, p.ending = cmd, make(chan struct{}), p.runs == 0 && len(p.once) > 0
	p.runs++
	go func() { _ = cmd.Wait(); errf.Close(); close(p.done) }()
	return nil
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the run's process group.
func (p *proc) signal(sig syscall.Signal) {
	if p.running() {
		p.ending = true
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// records reads everything the participant printed so far.
func (p *proc) records() (recs []record.Record, torn int, err error) {
	f, err := os.Open(p.out)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, 0, nil
		}
		return nil, 0, err
	}
	defer f.Close()
	return record.Read(f)
}

// waitStarted waits for the current run's start record; it returns the
// participant's address.
func (p *proc) waitStarted(ctx context.Context) (string, error) {
	for {
		recs, _, err := p.records()
		if err != nil {
			return "", err
		}
		n, addr := 0, ""
		for _, r := range recs {
			if r.Ev == record.Start {
				n, addr = n+1, r.Addr
			}
		}
		if n == p.runs {
			return addr, nil
		}
		if !p.running() {
			return "", fmt.Errorf("%s exited before starting (see %s)", p.id, p.stderr)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s did not start: %w", p.id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
