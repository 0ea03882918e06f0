package chat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// run starts the periodic tasks once opt.WaitPeers peers joined (or
// opt.WaitTimeout passed), then sends: the script, or the lines typed on
// stdin. After a script it
// keeps the participant running (answering repairs, acknowledging) until
// ctx ends; on stdin, until stdin ends too.
func (n *node) run(ctx context.Context, stdin io.Reader) error {
	// The periodic tasks start with a sweep, which resends what a previous
	// run left unacknowledged: once there are peers to hear it.
	n.net.waitPeers(ctx, n.opt.WaitPeers, n.opt.WaitTimeout)
	if n.m != nil {
		if err := n.m.StartPeriodicTasks(); err != nil {
			return err
		}
	}
	if !n.opt.scripted() {
		return n.chat(ctx, stdin)
	}
	msgs, err := n.script()
	if err != nil {
		return err
	}
	var tick <-chan time.Time
	if n.opt.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / n.opt.Rate))
		defer t.Stop()
		tick = t.C
	}
	for ; n.nextSeq <= len(msgs); n.nextSeq++ {
		if tick != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-tick:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := n.send(n.nextSeq, msgs[n.nextSeq-1]); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// script returns the scripted messages, numbered from 1.
func (n *node) script() ([][]byte, error) {
	var lines []string
	if n.opt.MessagesFile != "" {
		b, err := os.ReadFile(n.opt.MessagesFile)
		if err != nil {
			return nil, err
		}
		lines = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	} else {
		for i := 1; i <= n.opt.Count; i++ {
			lines = append(lines, fmt.Sprintf("message %d from %s", i, n.opt.ID))
		}
	}
	msgs := make([][]byte, len(lines))
	for i, l := range lines {
		msg := []byte(l)
		switch {
		case i+1 == n.opt.Large:
			msg = pad(msg, n.opt.SDS.MaxContentSize)
		case len(msg) < n.opt.Size:
			msg = pad(msg, n.opt.Size)
		}
		msgs[i] = msg
	}
	return msgs, nil
}

func pad(b []byte, size int) []byte {
	if len(b) >= size {
		return b[:size]
	}
	return append(b, bytes.Repeat([]byte{'.'}, size-len(b))...)
}

// chat sends each line typed on stdin until it ends or ctx does.
func (n *node) chat(ctx context.Context, stdin io.Reader) error {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if strings.TrimSpace(l) == "" {
				continue
			}
			if err := n.send(n.nextSeq, []byte(l)); err != nil {
				n.fail("send", err)
				continue
			}
			n.nextSeq++
		}
	}
}

// A message without SDS (Options.Plain) is its id, a newline, the content.
func joinPlain(id string, content []byte) []byte {
	return append([]byte(id+"\n"), content...)
}

func splitPlain(b []byte) (id string, content []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return "", b
	}
	return string(b[:i]), b[i+1:]
}
