package ffi

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist/bolt"
)

// The storePath store: opened with the configuration's limits as the
// core's backend, closed by closeStore (once; the file can then be opened
// again), and a store that cannot be opened is an sds.ErrPersistence.
func TestStorePath(t *testing.T) {
	st, err := parseConfig([]byte(`{"storePath":"` + filepath.Join(t.TempDir(), "x.db") + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second open finds the file free again
		cfg := st
		s, err := cfg.openStore()
		if b, ok := s.(*bolt.Store); err != nil || !ok || cfg.cfg.Persistence != b {
			t.Fatalf("openStore: %v, %v", s, err)
		}
		m := &manager{store: s, log: zerolog.Nop()}
		if err := m.closeStore(); err != nil {
			t.Fatal(err)
		}
		if err := m.closeStore(); err != nil {
			t.Fatal(err)
		}
		if m.store != nil {
			t.Fatal("store kept after closeStore")
		}
	}
	none := defaultSettings()
	if s, err := none.openStore(); s != nil || err != nil || none.cfg.Persistence != nil {
		t.Fatalf("no storePath: %v, %v", s, err)
	}
	bad := defaultSettings()
	bad.storePath = filepath.Join(t.TempDir(), "missing", "x.db")
	if _, err := bad.openStore(); !errors.Is(err, sds.ErrPersistence) {
		t.Fatalf("unopenable store: %v", err)
	}
}

// failingCloser is a store whose Close fails; it records whether the
// manager over it was closed first.
type failingCloser struct {
	core      *sds.Manager
	afterCore *bool
}

func (f failingCloser) Close() error {
	_, err := f.core.Wrap("c", "m", []byte("x"))
	*f.afterCore = errors.Is(err, sds.ErrClosed)
	return errors.New("disk gone")
}

// A store that fails to close is reported by shutdown as lost state (the
// C host sees RET_ERR from SdsCleanupReliabilityManager and sds_destroy);
// it is closed after the core, and only once.
func TestShutdownReportsStoreCloseFailure(t *testing.T) {
	core, err := sds.NewManager(sds.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var afterCore bool
	m := &manager{core: core, store: failingCloser{core, &afterCore}, log: zerolog.Nop()}
	m.refs.Store(1)
	err = m.shutdown()
	if !errors.Is(err, sds.ErrPersistence) || !strings.Contains(err.Error(), "close store: disk gone") {
		t.Fatalf("shutdown: %v", err)
	}
	if !afterCore {
		t.Error("store closed before the manager over it")
	}
	if m.store != nil {
		t.Error("store kept after shutdown")
	}
}
