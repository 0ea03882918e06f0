package sds_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds"
)

// The README says near the top what a message costs on the wire with the
// default settings, and what 1,000-id filters cost: the figures must be
// what Wrap gives.
func TestREADMEMessageCost(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, capacity := range []int{sds.DefaultConfig().BloomCapacity, 1000} {
		cfg := sds.DefaultConfig()
		cfg.BloomCapacity = capacity
		m, err := sds.NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Wrap("room", "m1", []byte("hello"))
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := thousands(len(b)) + " bytes"; !strings.Contains(text, want) {
			t.Errorf("README does not say %q (a 5-byte message, bloom capacity %d)", want, capacity)
		}
	}
}

// thousands formats n with commas: 18796 -> "18,796".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
