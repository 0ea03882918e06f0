package selfexec

import (
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const childEnv = "SELFEXEC_TEST_CHILD"

// TestChild is the child of TestCommandRunsChild: it says it ran.
func TestChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestCommandRunsChild")
	}
	os.Stdout.WriteString("child ran " + os.Getenv(childEnv) + "\n")
}

// The child runs, natively or (under go test -exec, with SDS_TEST_EXEC
// set) through the wrapper, and receives the arguments and environment.
func TestCommandRunsChild(t *testing.T) {
	cmd := Command(t, "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=42")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "child ran 42\n") {
		t.Fatalf("child output: %s", out)
	}
}

func TestCommandThroughWrapper(t *testing.T) {
	t.Setenv(WrapperEnv, "qemu-aarch64  -L /usr/aarch64-linux-gnu")
	got := Command(t, "-test.run=^X$").Args
	want := []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", os.Args[0], "-test.run=^X$"}
	if !slices.Equal(got, want) {
		t.Fatalf("args %q, want %q", got, want)
	}
}

// A file the system cannot execute as a binary is recognised as such; the
// test binary itself is not when it is built for this machine (the one
// /bin/sh is built for: under qemu-user, the emulating host).
func TestNotExecutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foreign.test")
	if err := os.WriteFile(path, []byte("\x7fELF not a binary of this machine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := notExecutable(path); err == nil {
		t.Fatal("an unrunnable file was taken for an executable")
	}
	self, selfOK := elfMachine(t, os.Args[0])
	host, hostOK := elfMachine(t, "/bin/sh")
	if selfOK && hostOK && self == host {
		if err := notExecutable(os.Args[0]); err != nil {
			t.Fatalf("the test binary, built for this machine: %v", err)
		}
	}
}

// elfMachine returns the machine an ELF file is built for; false if path
// is not an ELF file.
func elfMachine(t *testing.T, path string) (elf.Machine, bool) {
	f, err := elf.Open(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return 0, false
	}
	defer f.Close()
	return f.Machine, true
}
