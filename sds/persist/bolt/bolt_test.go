package bolt

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/libsds-go/libsds/internal/selfexec"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/persisttest"
	"github.com/libsds-go/libsds/sds/wire"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sds.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	persisttest.Suite{
		New: func(t *testing.T) persist.Backend { return openTemp(t) },
		Reopen: func(t *testing.T, b persist.Backend) persist.Backend {
			s := b.(*Store)
			path := s.Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s2.Close() })
			return s2
		},
	}.Run(t)
}

func TestOpenChecksFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sds.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyFormat, []byte("libsds-persist-bolt/99"))
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if _, err := Open(path, nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("%v", err)
	}
}

func TestOpenIsExclusive(t *testing.T) {
	s := openTemp(t)
	start := time.Now()
	if _, err := Open(s.Path(), &Options{Timeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("a second Store opened the same file")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Open did not time out")
	}
}

func TestChannelsAndSize(t *testing.T) {
	s := openTemp(t)
	for _, ch := range []string{"b", "", "a"} {
		if err := s.SaveRetrievalHint(ch, "m", []byte("h")); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.Channels()
	if err != nil || strings.Join(ids, ",") != ",a,b" {
		t.Fatalf("%q %v", ids, err)
	}
	if n, err := s.Size(); err != nil || n <= 0 {
		t.Fatalf("%d %v", n, err)
	}
}

func TestCorruptHistoryEntryIsReported(t *testing.T) {
	s := openTemp(t)
	if err := s.UpdateHistory("c", &persist.HistoryUpdate{Append: []wire.Message{persisttest.Msg("c", "m", 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		c, _ := channel(tx, "c", false)
		return c.Bucket(bucketHistory).Put(seqKey(1), []byte{0xff})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadChannel("c"); !errors.Is(err, persist.ErrMalformed) {
		t.Fatalf("%v", err)
	}
}

// TestCrashKeepsCommittedOps kills a writer process at random moments: what
// it reported committed must be stored, and the store must load and
// validate.
func TestCrashKeepsCommittedOps(t *testing.T) {
	if os.Getenv("BOLT_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	next := 0
	for round := range 4 {
		cmd := selfexec.Command(t, "-test.run=^TestCrashKeepsCommittedOps$")
		cmd.Env = append(os.Environ(), "BOLT_CRASH_CHILD="+path, "BOLT_CRASH_START="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		committed := -1
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
				committed = n
				if n >= next+20+7*round {
					_ = cmd.Process.Kill()
					break
				}
			}
		}
		_ = cmd.Wait()
		if committed < next {
			t.Fatalf("round %d: child committed nothing", round)
		}
		s, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.LoadChannel("crash")
		if err != nil {
			t.Fatal(err)
		}
		if err := persist.Validate("crash", d, persist.Limits{}); err != nil {
			t.Fatal(err)
		}
		// Op i sends m<i> and acknowledges m<i-1>, so exactly one outgoing
		// record is left: that of the last op that reached the disk. The
		// child may have committed more ops between reporting one and being
		// killed, but never fewer than it reported.
		latest := -1
		for key := range d.Records {
			if id, ok := strings.CutPrefix(key, persist.OutgoingKey("")); ok {
				if latest != -1 {
					t.Fatalf("round %d: more than one outgoing record", round)
				}
				if latest, err = strconv.Atoi(strings.TrimPrefix(id, "m")); err != nil {
					t.Fatalf("round %d: record %q", round, id)
				}
			}
		}
		if latest < committed {
			t.Fatalf("round %d: committed op %d lost; last stored op %d", round, committed, latest)
		}
		last := d.History[len(d.History)-1].MessageID
		if len(d.History) != latest+1 || last != fmt.Sprintf("m%d", latest) {
			t.Fatalf("round %d: history has %d messages ending %q, last stored op %d", round, len(d.History), last, latest)
		}
		next = len(d.History)
		_ = s.Close()
	}
}

func crashChild() {
	path := os.Getenv("BOLT_CRASH_CHILD")
	start, _ := strconv.Atoi(os.Getenv("BOLT_CRASH_START"))
	s, err := Open(path, &Options{Timeout: 10 * time.Second})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	_, w, err := persist.Bootstrap(s, "crash", persist.WriterOptions{})
	if err != nil {
		fmt.Println("bootstrap:", err)
		os.Exit(1)
	}
	for i := start; ; i++ {
		id := fmt.Sprintf("m%d", i)
		msg := persisttest.Msg("crash", id, uint64(i+1))
		var d persist.MetaDelta
		d.PutLamport(uint64(i + 1))
		d.PutOutgoing(&persist.UnacknowledgedMessage{Message: msg})
		if i > 0 {
			d.DeleteOutgoing(fmt.Sprintf("m%d", i-1))
		}
		if err := w.Commit(&d, &persist.HistoryUpdate{Append: []wire.Message{msg}}); err != nil {
			fmt.Println("commit:", err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", i)
	}
}

// Apply is one transaction: when the meta delta is refused (an empty
// record key), the history update given with it is not applied either,
// as persist.Writer relies on (an error means nothing changed).
func TestApplyFailsWhole(t *testing.T) {
	s := openTemp(t)
	var d persist.MetaDelta
	d.PutLamport(3)
	d.Put("", []byte("x"))
	u := &persist.HistoryUpdate{Append: []wire.Message{{MessageID: "m1", HasLamport: true, ChannelID: "c", Content: []byte{1}}}}
	if err := s.Apply("c", &d, u); !errors.Is(err, persist.ErrMalformed) {
		t.Fatalf("Apply with an empty key: %v", err)
	}
	got, err := s.LoadChannel("c")
	if err != nil || len(got.Records) != 0 || len(got.History) != 0 {
		t.Fatalf("after the failed Apply: %+v, %v", got, err)
	}
}
