package sds_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds"
)

// The README says near the top what a message costs on the wire: a 5-byte
// message after 100 messages each way between two peers with the default
// settings, and with FullBloomFilter (Nim's fixed filter). The figures
// must be what Wrap gives.
func TestREADMEMessageCost(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, full := range []bool{false, true} {
		size := sizeAfterExchange(t, func(c *sds.Config) { c.FullBloomFilter = full })
		if want := thousands(size) + " bytes"; !strings.Contains(text, want) {
			t.Errorf("README does not say %q (a 5-byte message after 100 each way, FullBloomFilter %v)", want, full)
		}
	}
}

// sizeAfterExchange returns the wire size of a 5-byte message that alice
// wraps after she and bob exchanged 100 messages each way.
func sizeAfterExchange(t *testing.T, configure func(*sds.Config)) int {
	t.Helper()
	peers := make([]*sds.Manager, 2)
	for i, name := range []string{"alice", "bob"} {
		cfg := sds.DefaultConfig()
		cfg.ParticipantID = name
		configure(&cfg)
		m, err := sds.NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		peers[i] = m
	}
	for i := 0; i < 100; i++ {
		for from, m := range peers {
			b, err := m.Wrap("room", fmt.Sprintf("m-%d-%d", from, i), []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := peers[1-from].Unwrap(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := peers[0].Wrap("room", "last", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// thousands formats n with commas: 18796 -> "18,796".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
