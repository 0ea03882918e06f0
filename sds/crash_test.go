package sds_test

// Crash test: a child process (this test binary, re-executed) runs a
// send/receive workload against the embedded bolt store and is killed with
// SIGKILL at random moments; after every kill the parent checks the store.
//
// The child reports on stdout, one line per write(2) (atomic on a pipe),
// what it saw: the ids its events named (written by the event handler, so
// after the operation's writes were handed to the store), the ids each
// operation returned and the Lamport clock of each message it wrapped. The parent reads the lines as they
// come and kills the child after a random number of them (sometimes before
// the first, so during the load), then reads what was left in the pipe.
// It then checks, on the raw store and through a manager restarted on it:
//   - the state is self-consistent: it passes persist.Validate (no message
//     both waiting and delivered, the clock not behind any stored message),
//     every outgoing message is in the log (no orphan), every buffered
//     message waits for exactly what is absent from the log and met set
//     (no dangling or stale entry), no repair request names a present id;
//   - nothing reported was lost: every id sent or delivered is in the log,
//     every id held for dependencies is still held or since delivered or
//     marked met, every id marked met is in the met set, no acknowledged
//     or failed id is back in the outgoing buffer, and the Lamport clock is
//     at least the largest ever reported;
//   - a manager restarted on the store holds the same log, outgoing buffer
//     and clock.
// The next child resumes from the store. Kills and timing are reported
// with -v.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/selfexec"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/bolt"
	"github.com/libsds-go/libsds/sds/wire"
)

const (
	crashDirEnv = "SDS_CRASH_DIR"
	crashRunEnv = "SDS_CRASH_RUN"
	crashChan   = "c"
	crashRuns   = 80
	crashMaxOps = 5000 // a child not killed by then stops by itself
)

// crashConfig returns alice's configuration over the store in dir, opened
// (the caller closes it after the manager).
func crashConfig(dir string, clk sds.Clock) (sds.Config, *bolt.Store, error) {
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = "alice"
	cfg.Clock = clk
	cfg.MaxMessageHistory = 100_000 // never evicts here: every reported id stays checkable
	cfg.MaxCausalHistory = 3
	cfg.ResendInterval = 2 * time.Second
	cfg.MaxResendAttempts = 2
	cfg.RepairTMin, cfg.RepairTMax = time.Second, 5*time.Second
	cfg.MaxDependencyWait = 20 * time.Second
	store, err := bolt.Open(filepath.Join(dir, "store.db"), &bolt.Options{Limits: cfg.PersistLimits()})
	if err != nil {
		return cfg, nil, err
	}
	cfg.Persistence = store
	return cfg, store, nil
}

// TestCrashChild is the child's workload; it runs only when
// TestCrashRecovery re-executes the test binary.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child of TestCrashRecovery")
	}
	run, _ := strconv.Atoi(os.Getenv(crashRunEnv))
	say := func(format string, args ...any) {
		os.Stdout.Write([]byte("crash: " + fmt.Sprintf(format, args...) + "\n")) // one write(2)
	}
	fail := func(err error) {
		say("error %v", err)
		os.Exit(3)
	}
	// Each run's clock starts an hour after the previous one's.
	clk := sds.NewManualClock(nimStart.Add(time.Duration(run) * time.Hour))
	acfg, _, err := crashConfig(dir, clk) // the store stays open until the kill
	if err != nil {
		fail(err)
	}
	alice, err := sds.NewManager(acfg)
	if err != nil {
		fail(err)
	}
	alice.SetEventHandler(func(e sds.Event) {
		switch e.Kind {
		case sds.EventMessageReady:
			say("ready %s", e.MessageID)
		case sds.EventMessageAcknowledged:
			say("acked %s", e.MessageID)
		case sds.EventMessageFailed:
			say("failed %s", e.MessageID)
		}
	})
	bcfg := sds.DefaultConfig()
	bcfg.ParticipantID, bcfg.Clock, bcfg.MaxCausalHistory = "bob", clk, 3
	bob, err := sds.NewManager(bcfg)
	if err != nil {
		fail(err)
	}
	if err := alice.EnsureChannel(crashChan); err != nil {
		fail(err)
	}
	say("start %d", run)
	// The clock as a wrapped message carries it (reading the whole
	// ChannelState after every operation would cost what the state holds).
	lamportOf := func(w []byte) {
		msg, _, err := wire.Decode(w, wire.Limits{})
		if err != nil {
			fail(err)
		}
		say("lamport %d", msg.LamportTimestamp)
	}
	r := rand.New(rand.NewPCG(uint64(run), 99))
	var toAlice [][]byte
	var bobIDs []string
	for i := range crashMaxOps {
		switch k := r.IntN(8); {
		case k < 2:
			id := fmt.Sprintf("a%d-%d", run, i)
			w, err := alice.Wrap(crashChan, id, []byte("x"))
			if err != nil {
				fail(err)
			}
			say("sent %s", id)
			lamportOf(w)
			if r.IntN(5) > 0 {
				// Bob takes what it lacks as met (it joined late), so it
				// delivers and acknowledges alice's messages.
				res, err := bob.Unwrap(w)
				if err != nil {
					fail(err)
				}
				var missing []string
				for _, d := range res.MissingDeps {
					missing = append(missing, d.MessageID)
				}
				if len(missing) > 0 {
					bob.MarkDependenciesMet(crashChan, missing)
				}
			}
		case k < 4:
			id := fmt.Sprintf("b%d-%d", run, i)
			w, err := bob.Wrap(crashChan, id, []byte("y"))
			if err != nil {
				fail(err)
			}
			bobIDs = append(bobIDs, id)
			if r.IntN(5) > 0 {
				toAlice = append(toAlice, w)
			}
		case k < 6 && len(toAlice) > 0:
			j := r.IntN(len(toAlice))
			res, err := alice.Unwrap(toAlice[j])
			if err != nil {
				fail(err)
			}
			toAlice = slices.Delete(toAlice, j, j+1)
			if !res.Delivered && !res.Duplicate {
				say("held %s", res.MessageID)
			}
		case k < 7:
			clk.Advance(700 * time.Millisecond)
			alice.Sweep()
			alice.RepairSweep()
		default:
			if len(bobIDs) > 0 && r.IntN(2) == 0 {
				id := bobIDs[r.IntN(len(bobIDs))]
				if err := alice.MarkDependenciesMet(crashChan, []string{id}); err != nil {
					fail(err)
				}
				say("met %s", id)
			} else if w, err := alice.WrapSync(crashChan); err != nil {
				fail(err)
			} else {
				lamportOf(w)
			}
		}
		say("op %d", i)
		if f := alice.PersistenceStats().WriteFailures; f > 0 {
			fail(fmt.Errorf("%d writes failed", f))
		}
	}
	say("done")
	os.Exit(0)
}

// crashReport accumulates what the children reported, over all runs.
type crashReport struct {
	sent, ready, held, met, gone map[string]bool // gone: acknowledged or failed
	lamport                      uint64
	lines                        int
}

func (r *crashReport) add(t *testing.T, line string) {
	kind, arg, _ := strings.Cut(strings.TrimPrefix(line, "crash: "), " ")
	r.lines++
	switch kind {
	case "sent":
		r.sent[arg] = true
	case "ready":
		r.ready[arg] = true
	case "held":
		r.held[arg] = true
	case "met":
		r.met[arg] = true
	case "acked", "failed":
		r.gone[arg] = true
	case "lamport":
		v, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		r.lamport = max(r.lamport, v)
	case "start", "done", "op":
	case "error":
		t.Fatalf("child: %s", arg)
	default:
		t.Fatalf("bad line %q", line)
	}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: re-executes the test binary")
	}
	dir := t.TempDir()
	rep := &crashReport{sent: map[string]bool{}, ready: map[string]bool{}, held: map[string]bool{}, met: map[string]bool{}, gone: map[string]bool{}}
	r := rand.New(rand.NewPCG(1, 2))
	began := time.Now()
	kills, killedEarly, ops := 0, 0, 0
	for run := range crashRuns {
		cmd := selfexec.Command(t, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		after := r.IntN(300) // lines to read before the kill; 0: at once (during startup or the load)
		if after < 8 {
			after = 0
		}
		killed := false
		kill := func() {
			if !killed {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		if after == 0 {
			kill()
			killedEarly++
		}
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "crash: ") {
				continue
			}
			rep.add(t, line)
			if strings.HasPrefix(line, "crash: op ") {
				ops++
			}
			if n++; n == after {
				kill() // the child carries on until the signal lands
			}
		}
		err = cmd.Wait()
		if killed {
			kills++
		} else if err != nil {
			t.Fatalf("run %d: child: %v", run, err)
		}
		checkCrashStore(t, dir, rep, run)
	}
	t.Logf("%d runs, %d killed (%d at once), %d operations completed, %d lines; %v",
		crashRuns, kills, killedEarly, ops, rep.lines, time.Since(began).Round(time.Millisecond))
	if kills < 50 {
		t.Fatalf("only %d kills", kills)
	}
	if len(rep.ready) == 0 || len(rep.held) == 0 || len(rep.gone) == 0 || len(rep.met) == 0 {
		t.Fatalf("workload too thin: %d ready, %d held, %d acked/failed, %d met", len(rep.ready), len(rep.held), len(rep.gone), len(rep.met))
	}
}

// checkCrashStore checks the store after a child died.
func checkCrashStore(t *testing.T, dir string, rep *crashReport, run int) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after run %d: %s", run, fmt.Sprintf(format, args...))
	}
	path := filepath.Join(dir, "store.db")
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) && run == 0 {
			return // killed before it created the file
		}
		fail("%v", err)
	}
	s, err := bolt.Open(path, nil)
	if err != nil {
		fail("open: %v", err)
	}
	d, err := s.LoadChannel(crashChan)
	s.Close()
	if err != nil {
		fail("load: %v", err)
	}
	if err := persist.Validate(crashChan, d, persist.Limits{}); err != nil {
		fail("%v", err)
	}
	meta, err := persist.DecodeRecords(d.Records, persist.Limits{})
	if err != nil {
		fail("%v", err)
	}
	metRecs, err := persist.DecodeMetRecords(d.Records, persist.Limits{})
	if err != nil {
		fail("%v", err)
	}
	hist, met, out, in := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var histIDs, outIDs []string
	for _, m := range d.History {
		hist[m.MessageID] = true
		histIDs = append(histIDs, m.MessageID)
	}
	for _, r := range metRecs {
		met[r.ID] = true
	}
	present := func(id string) bool { return hist[id] || met[id] }
	for _, u := range meta.Outgoing {
		id := u.Message.MessageID
		out[id] = true
		outIDs = append(outIDs, id)
		if !hist[id] {
			fail("outgoing %q is not in the log", id)
		}
		if rep.gone[id] {
			fail("outgoing %q was reported acknowledged or failed", id)
		}
	}
	for _, m := range meta.Incoming {
		id := m.Message.MessageID
		in[id] = true
		if present(id) {
			fail("incoming %q is present", id)
		}
		var want []string
		for _, dep := range m.Message.CausalHistory {
			if dep.MessageID != id && !present(dep.MessageID) && !slices.Contains(want, dep.MessageID) {
				want = append(want, dep.MessageID)
			}
		}
		if len(want) == 0 || !slices.Equal(want, m.MissingDeps) {
			fail("incoming %q stored as waiting for %q, should wait for %q", id, m.MissingDeps, want)
		}
	}
	for _, kv := range meta.OutgoingRepair {
		if present(kv.MessageID) {
			fail("repair request for present %q", kv.MessageID)
		}
	}
	for id := range rep.sent {
		if !hist[id] {
			fail("sent %q lost from the log", id)
		}
	}
	for id := range rep.ready {
		if !hist[id] {
			fail("delivered %q lost from the log", id)
		}
	}
	for id := range rep.held {
		if !in[id] && !present(id) {
			fail("held %q lost", id)
		}
	}
	for id := range rep.met {
		if !present(id) {
			fail("met %q lost", id)
		}
	}
	if meta.Lamport < rep.lamport {
		fail("Lamport clock went back: stored %d, reported %d", meta.Lamport, rep.lamport)
	}

	// A manager restarted on the store sees the same.
	cfg, store, err := crashConfig(dir, sds.NewManualClock(nimStart))
	if err != nil {
		fail("%v", err)
	}
	defer store.Close()
	m, err := sds.NewManager(cfg)
	if err != nil {
		fail("%v", err)
	}
	defer m.Close()
	if err := m.EnsureChannel(crashChan); err != nil {
		fail("%v", err)
	}
	st, _ := m.ChannelState(crashChan)
	if !slices.Equal(st.MessageHistory, histIDs) || !slices.Equal(nimOutgoingIDs(st), outIDs) ||
		st.LamportTimestamp != meta.Lamport || len(st.Incoming) != len(meta.Incoming) {
		fail("restarted manager differs from the store")
	}
	if err := m.Close(); err != nil {
		fail("%v", err)
	}
}
