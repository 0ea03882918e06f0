package sds_test

import (
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

func formatManager(t *testing.T, participant string, format wire.Format, causal int) (*sds.Manager, *[]sds.Event) {
	t.Helper()
	m := startManager(t, participant, sds.NewManualClock(time.Unix(1_800_000_000, 0)), func(c *sds.Config) {
		c.WireFormat, c.MaxCausalHistory = format, causal
	})
	var events []sds.Event
	m.SetEventHandler(func(e sds.Event) { events = append(events, e) })
	return m, &events
}

func acked(events []sds.Event, id string) bool {
	for _, e := range events {
		if e.Kind == sds.EventMessageAcknowledged && e.MessageID == id {
			return true
		}
	}
	return false
}

// Messages the TypeScript implementation sent are received by a manager
// that itself sends the Nim format.
func TestReceiveTypeScriptMessages(t *testing.T) {
	js := vectors.Must(t, vectors.LoadJS)
	m, events := formatManager(t, "bob", wire.FormatNim, 10)
	for _, v := range js.Messages {
		res, err := m.Unwrap(vectors.Hex(v.WireHex))
		if err != nil {
			t.Fatalf("%s %s: %v", v.Kind, v.MessageID, err)
		}
		if res.Format != wire.FormatRFC {
			t.Errorf("%s: format %v, want rfc", v.MessageID, res.Format)
		}
		switch v.Kind {
		case "content":
			if res.Kind != sds.KindRegular || !res.Delivered || string(res.Content) != v.Payload || res.SenderID != "alice" {
				t.Errorf("content %s: %+v", v.MessageID, res)
			}
		case "sync":
			if res.Kind != sds.KindSync || res.Delivered || len(res.Content) != 0 {
				t.Errorf("sync: %+v", res)
			}
		case "ephemeral":
			if res.Kind != sds.KindEphemeral || !res.Delivered || string(res.Content) != v.Payload {
				t.Errorf("ephemeral: %+v", res)
			}
		}
	}
	st, _ := m.ChannelState("chan")
	var want []string
	for _, v := range js.Messages {
		if v.Kind == "content" {
			want = append(want, v.MessageID)
		}
	}
	if len(st.MessageHistory) != len(want) || len(st.Incoming) != 0 {
		t.Fatalf("log %v incoming %v, want exactly the content messages %v", st.MessageHistory, st.Incoming, want)
	}
	for i := range want {
		if st.MessageHistory[i] != want[i] {
			t.Fatalf("log %v, want %v", st.MessageHistory, want)
		}
	}
	ready := 0
	for _, e := range *events {
		if e.Kind == sds.EventMessageReady {
			ready++
		}
	}
	if ready != len(want) {
		t.Errorf("%d message_ready events, want %d (sync and ephemeral are not logged)", ready, len(want))
	}
}

// Acknowledgement by bloom filter works in both directions between a
// manager sending the RFC format and one sending the Nim format, as long
// as both use the same filter parameters. Causal history is off so only
// the filters can acknowledge.
func TestBloomAcknowledgementAcrossFormats(t *testing.T) {
	rfc, rfcEvents := formatManager(t, "alice", wire.FormatRFC, 0)
	nim, nimEvents := formatManager(t, "bob", wire.FormatNim, 0)

	a1, err := rfc.Wrap("c", "a1", []byte("from rfc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, f, err := wire.Decode(a1, wire.DefaultLimits()); err != nil || f != wire.FormatRFC {
		t.Fatalf("rfc manager sent format %v (%v)", f, err)
	}
	b1, err := nim.Wrap("c", "b1", []byte("from nim"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := nim.Unwrap(a1); err != nil || !res.Delivered {
		t.Fatalf("nim receiving rfc: %+v %v", res, err)
	}
	if res, err := rfc.Unwrap(b1); err != nil || !res.Delivered {
		t.Fatalf("rfc receiving nim: %+v %v", res, err)
	}
	if acked(*rfcEvents, "a1") || acked(*nimEvents, "b1") {
		t.Fatal("acknowledged before any filter could contain the message")
	}

	// Each now sends a filter holding the other's message.
	b2, _ := nim.Wrap("c", "b2", []byte("nim again"))
	a2, _ := rfc.Wrap("c", "a2", []byte("rfc again"))
	if _, err := rfc.Unwrap(b2); err != nil {
		t.Fatal(err)
	}
	if !acked(*rfcEvents, "a1") {
		t.Error("a Nim-format filter did not acknowledge the RFC sender's message")
	}
	if _, err := nim.Unwrap(a2); err != nil {
		t.Fatal(err)
	}
	if !acked(*nimEvents, "b1") {
		t.Error("an RFC-format filter did not acknowledge the Nim sender's message")
	}
	if acked(*rfcEvents, "a2") || acked(*nimEvents, "b2") {
		t.Error("a message was acknowledged by a filter sent before it")
	}
}

// An RFC filter sized differently from ours is ignored, not misread.
func TestIncompatibleRFCFilterIgnored(t *testing.T) {
	small := sds.DefaultConfig()
	small.WireFormat = wire.FormatRFC
	small.BloomCapacity = 100
	small.MaxCausalHistory = 0
	small.Clock = sds.NewManualClock(time.Unix(1_800_000_000, 0))
	peer, err := sds.NewManager(small)
	if err != nil {
		t.Fatal(err)
	}
	me, events := formatManager(t, "bob", wire.FormatNim, 0)
	mine, _ := me.Wrap("c", "mine", []byte("x"))
	if _, err := peer.Unwrap(mine); err != nil {
		t.Fatal(err)
	}
	reply, _ := peer.Wrap("c", "reply", []byte("y"))
	res, err := me.Unwrap(reply)
	if err != nil || !res.Delivered {
		t.Fatalf("%+v %v", res, err)
	}
	if acked(*events, "mine") {
		t.Error("acknowledged through a filter of the wrong size")
	}
}
