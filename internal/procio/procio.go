// Package procio reads this process's I/O counters, for benchmarks that
// report what a store wrote.
package procio

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Written returns the bytes this process has passed to write calls
// (/proc/self/io wchar); ok is false where that is not available.
func Written() (n int64, ok bool) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, found := strings.CutPrefix(sc.Text(), "wchar: "); found {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
