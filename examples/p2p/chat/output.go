package chat

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/libsds-go/libsds/examples/p2p/record"
)

// output prints records, one write each, from any goroutine.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	file *os.File // nil on stdout
	json bool
}

// journal is what an earlier run of the participant printed to its JSON
// output file.
type journal []record.Record

// openOutput opens opt.Out for appending (stdout if empty) and, for JSON,
// reads what earlier runs wrote there. A run killed while writing may have
// left half a line: a newline ends it, so the next record starts afresh.
func openOutput(opt *Options) (*output, journal, error) {
	if opt.Out == "" {
		return &output{w: os.Stdout, json: opt.JSON}, nil, nil
	}
	f, err := os.OpenFile(opt.Out, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	o := &output{w: f, file: f, json: opt.JSON}
	if !opt.JSON {
		return o, nil, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	recs, _, err := record.Read(strings.NewReader(string(data)))
	return o, recs, err
}

func (o *output) close() {
	if o.file != nil {
		o.file.Close()
	}
}

// emit prints r, stamped with the time, in one write.
func (o *output) emit(r record.Record) {
	r.T = time.Now().UnixMilli()
	var line []byte
	if o.json {
		line, _ = json.Marshal(r)
		line = append(line, '\n')
	} else {
		line = []byte(describe(&r) + "\n")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(line)
}

// describe renders a record for a person.
func describe(r *record.Record) string {
	recovered := ""
	if r.Recovered {
		recovered = " (recovered from the store)"
	}
	text := r.Text
	if text == "" && r.Bytes > 0 {
		text = fmt.Sprintf("<%d bytes>", r.Bytes)
	}
	deps := strings.Join(r.Deps, ", ")
	switch r.Ev {
	case record.Start:
		return fmt.Sprintf("%s: listening on %s; %d messages in the store. Type a line to send it.", r.ID, r.Addr, r.Restored)
	case record.Sent:
		return fmt.Sprintf("you [%s]: %s%s", r.Msg, text, recovered)
	case record.Delivered:
		return fmt.Sprintf("%s [%s]: %s%s", r.From, r.Msg, text, recovered)
	case record.Acked:
		return fmt.Sprintf("  ✓ %s acknowledged%s", r.Msg, recovered)
	case record.Missing:
		return fmt.Sprintf("  … %s waits for %s", r.Msg, deps)
	case record.Repair:
		return fmt.Sprintf("  ⇄ rebroadcast %s, which a peer asked for (SDS-R)", r.Msg)
	case record.Resend:
		return fmt.Sprintf("  ↻ resent %s, unacknowledged (attempt %d)", r.Msg, r.Attempt)
	case record.Failed:
		return fmt.Sprintf("  ! %s was never acknowledged", r.Msg)
	case record.Lost:
		return fmt.Sprintf("  ! %s gave up waiting for %s", r.Msg, deps)
	case record.Evicted:
		return fmt.Sprintf("  ! %s left the full incoming buffer undelivered", r.Msg)
	case record.Backlog:
		return "  ! the store is failing"
	case record.Exit:
		s := r.Stats
		line := fmt.Sprintf("bye: received %d (%d dropped), published %d, peak RSS %d KB", s.Received, s.Dropped, s.Published, s.PeakRSSKB)
		if c := s.SDS; c != nil {
			line += fmt.Sprintf("\nsds: delivered %d, duplicates %d, acknowledged %d, resends %d, failed %d, repairs answered %d, arrived %d, bytes sent %d (bloom %d), received %d",
				c.Delivered, c.Duplicates, c.AcknowledgedByHistory+c.AcknowledgedByBloom, c.Resends, c.Failed,
				c.RepairsAnswered, c.RepairsArrived, c.BytesSent, c.BloomBytesSent, c.BytesReceived)
		}
		return line
	}
	return fmt.Sprintf("  ! %s %s %s", r.Ev, r.Msg, r.Err)
}

// shortText is the content as text when it is short, readable text.
func shortText(b []byte) string {
	if len(b) > 200 || !utf8.Valid(b) {
		return ""
	}
	return string(b)
}

// seqOf returns n for a message id "<participant>-<n>" of participant id.
func seqOf(id, participant string) (int, bool) {
	rest, ok := strings.CutPrefix(id, participant+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// lastSeq is the number of the last message of participant that j says
// was sent.
func (j journal) lastSeq(participant string) int {
	last := 0
	for _, r := range j {
		if n, ok := seqOf(r.Msg, participant); ok && r.Ev == record.Sent && n > last {
			last = n
		}
	}
	return last
}
