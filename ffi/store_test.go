package ffi

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds"
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
		if err != nil || s == nil || cfg.cfg.Persistence != s {
			t.Fatalf("openStore: %v, %v", s, err)
		}
		m := &manager{store: s, log: zerolog.Nop()}
		m.closeStore()
		m.closeStore()
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
