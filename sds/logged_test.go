package sds_test

import (
	"bytes"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// A message restored into the incoming buffer is delivered after a restart
// without the new manager's host having seen its Unwrap: LoggedMessage,
// called from the handler, gives its content and sender.
func TestLoggedMessageAfterRestart(t *testing.T) {
	mem, clk := persist.NewMemory(), sds.NewManualClock(nimStart)
	m1, _ := persistentManager(t, mem, clk, nil)
	nimUnwrap(t, m1, peer("b", 20, "bob", wire.HistoryEntry{MessageID: "a", SenderID: "carol"}))
	mustClose(t, m1)

	m2, _ := persistentManager(t, mem, clk, nil)
	type shown struct {
		id, sender string
		content    []byte
		deps       int
	}
	var got []shown
	m2.SetEventHandler(func(e sds.Event) {
		if e.Kind != sds.EventMessageReady {
			return
		}
		msg, ok := m2.LoggedMessage(e.ChannelID, e.MessageID)
		if !ok {
			t.Errorf("LoggedMessage(%q) not found in its message_ready handler", e.MessageID)
			return
		}
		got = append(got, shown{msg.MessageID, msg.SenderID, msg.Content, len(msg.CausalHistory)})
	})
	nimUnwrap(t, m2, peer("a", 10, "carol"))
	if len(got) != 2 || got[0].id != "a" || got[1].id != "b" {
		t.Fatalf("delivered %+v, want a then b", got)
	}
	if got[1].sender != "bob" || !bytes.Equal(got[1].content, []byte("c-b")) || got[1].deps != 1 {
		t.Fatalf("restored message read back as %+v", got[1])
	}
}

// The copy is the caller's; unknown channels and messages, and messages
// still waiting, are not found.
func TestLoggedMessageCopyAndMisses(t *testing.T) {
	m, _, _ := nimManagerWithChannel(t)
	nimUnwrap(t, m, peer("a", 10, "carol"))
	nimUnwrap(t, m, peer("w", 30, "carol", wire.HistoryEntry{MessageID: "never"}))
	msg, ok := m.LoggedMessage(pChan, "a")
	if !ok || string(msg.Content) != "c-a" || msg.LamportTimestamp != 10 || msg.BloomFilter != nil {
		t.Fatalf("LoggedMessage(a) = %+v, %v", msg, ok)
	}
	msg.Content[0] = 'X'
	if again, _ := m.LoggedMessage(pChan, "a"); string(again.Content) != "c-a" {
		t.Fatalf("changing a returned copy changed the log: %q", again.Content)
	}
	for _, q := range [][2]string{{pChan, "w"}, {pChan, "never"}, {"other", "a"}} {
		if _, ok := m.LoggedMessage(q[0], q[1]); ok {
			t.Errorf("LoggedMessage(%q, %q) found", q[0], q[1])
		}
	}
}
