package vectors

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	n, err := LoadNim()
	if err != nil {
		t.Fatal(err)
	}
	if len(n.NimStringHash) == 0 || len(n.Messages) == 0 || len(n.TReq) == 0 || n.Snapshot.ChannelMetaFullHex == "" {
		t.Fatalf("nim vectors incomplete: %d hashes, %d messages", len(n.NimStringHash), len(n.Messages))
	}
	j, err := LoadJS()
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Messages) != 5 || len(j.HashN) == 0 || len(j.Bloom.Probes) == 0 {
		t.Fatalf("js vectors incomplete: %d messages", len(j.Messages))
	}
}

// TestCommittedCopyMatchesShared: data/ is a copy of the project's shared
// vectors; when a shared/vectors directory sits beside this checkout (as
// it does in the project's workspace and CI), every file in it must be in
// data/ byte for byte, so the copy cannot drift from its source unnoticed.
func TestCommittedCopyMatchesShared(t *testing.T) {
	shared := filepath.Join(repoRoot(t), "..", "shared", "vectors")
	names, err := os.ReadDir(shared)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no %s beside this checkout: nothing to compare", shared)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("%s is empty", shared)
	}
	for _, e := range names {
		want, err := os.ReadFile(filepath.Join(shared, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Files.ReadFile("data/" + e.Name())
		if err != nil {
			t.Errorf("%s is not committed in internal/vectors/data: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("internal/vectors/data/%s differs from %s: copy the shared file again", e.Name(), shared)
		}
	}
}

// repoRoot is the directory of the library's go.mod, above the test's
// working directory.
func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, []byte("module github.com/libsds-go/libsds\n")) {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod of the library above %s", wd)
		}
	}
}
