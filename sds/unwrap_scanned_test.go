package sds_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// UnwrapScanned gives what Unwrap gives, message by message, for new,
// buffered, duplicate and sync messages, and for a Scanned that failed or
// was scanned under looser limits than the manager's.
func TestUnwrapScannedMatchesUnwrap(t *testing.T) {
	alice := newTestManager(t, "alice")
	var msgs [][]byte
	for _, id := range []string{"m1", "m2", "m3"} {
		b, err := alice.Wrap("c", id, []byte("hello "+id))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	sync, err := alice.WrapSync("c")
	if err != nil {
		t.Fatal(err)
	}
	// m3 first (buffered, m1 and m2 missing), then m3 again (duplicate of
	// a buffered one), m1, m2 (delivers m3), m1 again, and a sync.
	order := [][]byte{msgs[2], msgs[2], msgs[0], msgs[1], msgs[0], sync}

	// bob unwraps the bytes; bob2 and bob3 get one Scanned, shared
	// (decoded once) after the first of them.
	plain, scanned, scanned2 := newTestManager(t, "bob"), newTestManager(t, "bob"), newTestManager(t, "bob")
	var plainEvents, scannedEvents, scanned2Events []string
	plain.SetEventHandler(func(e sds.Event) { plainEvents = append(plainEvents, e.Kind.String()+":"+e.MessageID) })
	scanned.SetEventHandler(func(e sds.Event) { scannedEvents = append(scannedEvents, e.Kind.String()+":"+e.MessageID) })
	scanned2.SetEventHandler(func(e sds.Event) { scanned2Events = append(scanned2Events, e.Kind.String()+":"+e.MessageID) })
	for i, b := range order {
		want, err1 := plain.Unwrap(b)
		var sc wire.Scanned
		if err := sc.Scan(b, wire.Limits{}); err != nil {
			t.Fatal(err)
		}
		got, err2 := scanned.UnwrapScanned(&sc)
		sc.Share(nil)
		got2, err3 := scanned2.UnwrapScanned(&sc)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("step %d: errors %v, %v, %v", i, err1, err2, err3)
		}
		if !reflect.DeepEqual(want, got) || !reflect.DeepEqual(want, got2) {
			t.Fatalf("step %d:\nUnwrap        %+v\nUnwrapScanned %+v\nshared        %+v", i, want, got, got2)
		}
	}
	if !reflect.DeepEqual(plainEvents, scannedEvents) || !reflect.DeepEqual(plainEvents, scanned2Events) {
		t.Errorf("events differ:\nUnwrap        %v\nUnwrapScanned %v\nshared        %v", plainEvents, scannedEvents, scanned2Events)
	}
	if len(scannedEvents) == 0 {
		t.Fatal("no events")
	}

	// A failed scan is scanned again, with the same error as Unwrap.
	var bad wire.Scanned
	garbage := []byte{0xff, 0xff, 0xff}
	if bad.Scan(garbage, wire.Limits{}) == nil {
		t.Fatal("garbage scanned")
	}
	_, err1 := plain.Unwrap(garbage)
	_, err2 := scanned.UnwrapScanned(&bad)
	if !errors.Is(err2, sds.ErrDecode) || err1.Error() != err2.Error() {
		t.Errorf("failed scan: Unwrap %v, UnwrapScanned %v", err1, err2)
	}

	// Scanned under looser limits than the manager's: its limits apply.
	cfg := sds.DefaultConfig()
	cfg.ParticipantID = "c"
	cfg.Limits.MaxIDBytes = 1
	strict, err := sds.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	var loose wire.Scanned
	if err := loose.Scan(msgs[0], wire.Limits{}); err != nil {
		t.Fatal(err)
	}
	_, err1 = strict.Unwrap(msgs[0])
	_, err2 = strict.UnwrapScanned(&loose)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Errorf("ids over the manager's limit: Unwrap %v, UnwrapScanned %v", err1, err2)
	}
}

// One Scanned, shared or not, may be handed to managers on several
// goroutines at once (run under -race in CI).
func TestUnwrapScannedConcurrently(t *testing.T) {
	alice := newTestManager(t, "alice")
	var msgs [][]byte
	for i := range 20 {
		b, err := alice.Wrap("c", fmt.Sprint("m", i), []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	for _, share := range []bool{false, true} {
		scans := make([]wire.Scanned, len(msgs))
		for i, b := range msgs {
			if err := scans[i].Scan(b, wire.Limits{}); err != nil {
				t.Fatal(err)
			}
			if share {
				scans[i].Share(nil)
			}
		}
		managers := []*sds.Manager{newTestManager(t, "bob"), newTestManager(t, "carol"), newTestManager(t, "dave")}
		var wg sync.WaitGroup
		for _, m := range managers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range scans {
					res, err := m.UnwrapScanned(&scans[i])
					if err != nil || !res.Delivered || string(res.Content) != "hello" {
						t.Errorf("share=%v, message %d: %+v, %v", share, i, res, err)
					}
				}
			}()
		}
		wg.Wait()
		for _, m := range managers {
			if st, _ := m.ChannelState("c"); len(st.MessageHistory) != len(msgs) {
				t.Errorf("share=%v: %d delivered, want %d", share, len(st.MessageHistory), len(msgs))
			}
		}
	}
}
