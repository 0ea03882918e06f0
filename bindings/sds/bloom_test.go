package sds

import (
	"fmt"
	"testing"
	"time"

	core "github.com/libsds-go/libsds/sds"
)

// Config.FullBloomFilter is the core's switch: by default a message
// carries the acknowledgement window's filter, with it Nim's whole one.
func TestBloomFilterSwitch(t *testing.T) {
	clk := core.NewManualClock(time.Unix(1_700_000_000, 0))
	size := func(full bool) int {
		edit := func(c *Config) { c.FullBloomFilter = full }
		a, b := newClocked(t, clk, edit), newClocked(t, clk, edit)
		for i := range 100 {
			if _, err := b.UnwrapReceivedMessage(wrap(t, a, "room", fmt.Sprint("a-", i), "a chat line")); err != nil {
				t.Fatal(err)
			}
			if _, err := a.UnwrapReceivedMessage(wrap(t, b, "room", fmt.Sprint("b-", i), "a chat line")); err != nil {
				t.Fatal(err)
			}
		}
		return len(wrap(t, a, "room", "next", "a chat line"))
	}
	if n := size(false); n > 2000 {
		t.Errorf("default: %d bytes after 100 messages each way, want at most 2,000", n)
	}
	if n := size(true); n < 18000 {
		t.Errorf("FullBloomFilter: %d bytes, want Nim's 18.8 KB filter", n)
	}
}
