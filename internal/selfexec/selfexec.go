// Package selfexec starts the running test binary again, as a child
// process, for the tests that kill such children (the crash tests). It
// works under an exec wrapper as well: `go test -exec qemu-aarch64` runs
// an arm64 test binary on another machine through an emulator, and the
// binary's own re-exec would fail there with "exec format error" unless
// it goes through the same wrapper, named in SDS_TEST_EXEC.
package selfexec

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// WrapperEnv names the environment variable holding the exec wrapper the
// test binary runs under, as given to go test -exec ("qemu-aarch64 -L
// /usr/aarch64-linux-gnu"; split on spaces). Empty: the binary runs
// natively.
const WrapperEnv = "SDS_TEST_EXEC"

// Command returns the command running this test binary with args, through
// the wrapper WrapperEnv names if any. With no wrapper named and a binary
// this machine cannot execute, it skips the test, saying why.
func Command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	if wrapper := strings.Fields(os.Getenv(WrapperEnv)); len(wrapper) > 0 {
		return exec.Command(wrapper[0], slices.Concat(wrapper[1:], []string{os.Args[0]}, args)...)
	}
	if err := selfNotExecutable(); err != nil {
		t.Skipf("re-executing the test binary: %v; it cannot run natively here, and %s names no exec wrapper to run it through", err, WrapperEnv)
	}
	return exec.Command(os.Args[0], args...)
}

var selfNotExecutable = sync.OnceValue(func() error { return notExecutable(os.Args[0]) })

// notExecutable returns the error of running the test binary at path
// (running no test) if the system refused it as a binary of another
// kind (ENOEXEC), and nil otherwise.
func notExecutable(path string) error {
	err := exec.Command(path, "-test.run=^$").Run()
	if errors.Is(err, syscall.ENOEXEC) {
		return err
	}
	return nil
}
