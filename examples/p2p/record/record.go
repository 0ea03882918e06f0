// Package record is the JSON-lines output of sds-chat: what it prints, one
// record a line, and what the p2p test reads back. The same file is the
// participant's own record of what it has shown, read again on restart.
package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/libsds-go/libsds/sds"
)

// Kinds of record (Record.Ev).
const (
	Start     = "start"     // the participant runs: Addr, Restored
	Sent      = "sent"      // we wrapped and published Msg; Deps is its causal history
	Delivered = "delivered" // Msg from From was delivered, in causal order
	Acked     = "acked"     // our Msg was acknowledged
	Missing   = "missing"   // Msg waits for Deps
	Repair    = "repair"    // we rebroadcast Msg for the group (SDS-R)
	Resend    = "resend"    // we rebroadcast our unacknowledged Msg (Attempt)
	Failed    = "failed"    // our Msg was never acknowledged
	Lost      = "lost"      // Msg gave up waiting for Deps
	Evicted   = "evicted"   // Msg left the full incoming buffer undelivered
	Backlog   = "backlog"   // the store has been failing
	Error     = "error"     // something went wrong: Err
	Exit      = "exit"      // the participant stopped cleanly: Stats
)

// Record is one line of output.
type Record struct {
	T    int64  `json:"t"` // Unix milliseconds
	Ev   string `json:"ev"`
	Msg  string `json:"msg,omitempty"`
	From string `json:"from,omitempty"`
	// Deps are message ids: the causal history of a sent message, or the
	// missing or lost dependencies of Msg.
	Deps    []string `json:"deps,omitempty"`
	Attempt int      `json:"attempt,omitempty"`
	Bytes   int      `json:"bytes,omitempty"` // content bytes of a sent or delivered message
	// Recovered marks what a restarted participant found in its store but
	// had not printed before it stopped (it stopped between the store's
	// write and the print).
	Recovered bool   `json:"recovered,omitempty"`
	Text      string `json:"text,omitempty"`
	Addr      string `json:"addr,omitempty"`
	ID        string `json:"id,omitempty"`       // the participant (Start)
	Restored  int    `json:"restored,omitempty"` // messages in the log at start
	Err       string `json:"err,omitempty"`
	Stats     *Stats `json:"stats,omitempty"`
}

// Stats are a participant's counters, printed on exit.
type Stats struct {
	Received      int64 `json:"received"`   // gossip messages from peers
	Dropped       int64 `json:"dropped"`    // of those, dropped by the injected loss
	Duplicates    int64 `json:"duplicates"` // unwrapped copies of messages seen before
	Published     int64 `json:"published"`  // messages we published (all kinds)
	PublishedB    int64 `json:"publishedBytes"`
	Syncs         int64 `json:"syncs"` // sync messages among Published
	UnwrapErrors  int64 `json:"unwrapErrors"`
	LogBytes      int64 `json:"logBytes"`      // sds.Manager.LogBytes at exit
	IncomingBytes int64 `json:"incomingBytes"` // sds.Manager.IncomingBytes at exit
	PeakRSSKB     int64 `json:"peakRssKB"`     // VmHWM
	CPUMillis     int64 `json:"cpuMs"`         // user + system
	WallMillis    int64 `json:"wallMs"`
	// SDS is the manager's counters at exit (sds.Manager.Stats); nil
	// with -plain.
	SDS *sds.Counters `json:"sds,omitempty"`
}

// Read parses a JSON-lines stream. A line that does not parse is counted
// in torn and skipped: a process killed during a write leaves at most one,
// as its last line.
func Read(r io.Reader) (recs []Record, torn int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if json.Unmarshal(line, &rec) != nil || rec.Ev == "" {
			torn++
			continue
		}
		recs = append(recs, rec)
	}
	return recs, torn, sc.Err()
}
