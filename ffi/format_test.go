package ffi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// commaReference is the Nim library's formatting, spelled out:
// wrappedMessage.mapIt($it).join(",").
func commaReference(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprint(c)
	}
	return strings.Join(parts, ",")
}

func TestCommaText(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := [][]byte{nil, {0}, {255}, {9, 10, 99, 100}, all}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 200; n += 7 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		cases = append(cases, b)
	}
	for _, b := range cases {
		want := commaReference(b)
		if got := string(appendCommaText(nil, b)); got != want {
			t.Fatalf("appendCommaText(%v) = %q, want %q", b, got, want)
		}
		// putCommaText into an exactly sized buffer (the stores past the
		// end land in the slack).
		dst := make([]byte, commaTextMax(len(b)))
		if n := putCommaText(dst, b); string(dst[:n]) != want {
			t.Fatalf("putCommaText(%v) = %q, want %q", b, dst[:n], want)
		}
		if got := string(appendCommaText([]byte("x"), b)); got != "x"+want {
			t.Fatalf("appendCommaText after a prefix = %q", got)
		}
	}
}

// nimEscape is Nim's std/json escapeJsonUnquoted, transcribed from its
// source: case per byte.
func nimEscape(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			out.WriteString(`\n`)
		case c == '\b':
			out.WriteString(`\b`)
		case c == '\f':
			out.WriteString(`\f`)
		case c == '\t':
			out.WriteString(`\t`)
		case c == '\v':
			out.WriteString(`\u000b`)
		case c == '\r':
			out.WriteString(`\r`)
		case c == '"':
			out.WriteString(`\"`)
		case c <= 7:
			fmt.Fprintf(&out, `\u000%d`, c)
		case c >= 14 && c <= 31:
			fmt.Fprintf(&out, `\u00%02X`, c)
		case c == '\\':
			out.WriteString(`\\`)
		default:
			out.WriteByte(c)
		}
	}
	return `"` + out.String() + `"`
}

func TestJSONStringEscapesAsNim(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := "a" + string([]byte{byte(c)}) + "z"
		if got, want := string(appendJSONString(nil, s)), nimEscape(s); got != want {
			t.Errorf("byte %#x: got %s, want %s", c, got, want)
		}
	}
	s := "\x00\x01\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x1f \"\\/\x7f\u00e9\xff"
	if got, want := string(appendJSONString(nil, s)), nimEscape(s); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := string(appendJSONString(nil, "")); got != `""` {
		t.Errorf("empty: %s", got)
	}
}

func TestUnwrapJSON(t *testing.T) {
	r := sds.UnwrapResult{
		ChannelID: "c1",
		Content:   []byte("hi"),
		MissingDeps: []wire.HistoryEntry{
			{MessageID: "m0", RetrievalHint: []byte{1, 2, 'h', 'i', 'n', 't'}, SenderID: "alice"},
			{MessageID: "m\"1"},
		},
	}
	// An entry with a sender says so after Nim's keys; one without is Nim's.
	want := `{"message":[104,105],"channelId":"c1","missingDeps":[{"messageId":"m0","retrievalHint":"AQJoaW50","senderId":"alice"},{"messageId":"m\"1","retrievalHint":""}]}`
	if got := string(appendUnwrapJSON(nil, &r)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	empty := `{"message":[],"channelId":"","missingDeps":[]}`
	if got := string(appendUnwrapJSON(nil, &sds.UnwrapResult{})); got != empty {
		t.Errorf("got %s, want %s", got, empty)
	}
	// sds-go-bindings' types read it.
	var parsed struct {
		Message     *[]byte `json:"message"`
		MissingDeps *[]struct {
			MessageID     string `json:"messageId"`
			RetrievalHint []byte `json:"retrievalHint"`
		} `json:"missingDeps"`
		ChannelID *string `json:"channelId"`
	}
	if err := json.Unmarshal([]byte(want), &parsed); err != nil {
		t.Fatal(err)
	}
	if string(*parsed.Message) != "hi" || *parsed.ChannelID != "c1" || string((*parsed.MissingDeps)[0].RetrievalHint) != "\x01\x02hint" {
		t.Errorf("parsed %+v", parsed)
	}
}

func TestEventJSON(t *testing.T) {
	cases := []struct {
		e    sds.Event
		want string
	}{
		{sds.Event{Kind: sds.EventMessageReady, ChannelID: "c1", MessageID: "m1"},
			`{"messageId":"m1","channelId":"c1","eventType":"message_ready"}`},
		{sds.Event{Kind: sds.EventMessageAcknowledged, ChannelID: "c1", MessageID: "m1"},
			`{"messageId":"m1","channelId":"c1","eventType":"message_sent"}`},
		{sds.Event{Kind: sds.EventMissingDependencies, ChannelID: "c1", MessageID: "m2",
			MissingDeps: []wire.HistoryEntry{{MessageID: "m1", RetrievalHint: []byte("x")}, {MessageID: "m0"}}},
			`{"eventType":"missing_dependencies","messageId":"m2","channelId":"c1","missingDeps":[{"messageId":"m1","retrievalHint":"eA=="},{"messageId":"m0","retrievalHint":""}]}`},
		{sds.Event{Kind: sds.EventMissingDependencies, ChannelID: "c1", MessageID: "m2",
			MissingDeps: []wire.HistoryEntry{{MessageID: "m1", SenderID: "alice"}}},
			`{"eventType":"missing_dependencies","messageId":"m2","channelId":"c1","missingDeps":[{"messageId":"m1","retrievalHint":"","senderId":"alice"}]}`},
		{sds.Event{Kind: sds.EventMissingDependencies, ChannelID: "c\n", MessageID: "m\t"},
			`{"eventType":"missing_dependencies","messageId":"m\t","channelId":"c\n","missingDeps":[]}`},
		// Nim's periodic_sync and repair_ready (no messageId there).
		{sds.Event{Kind: sds.EventPeriodicSync}, `{"eventType":"periodic_sync"}`},
		{sds.Event{Kind: sds.EventRepairReady, ChannelID: "c1", MessageID: "m1", Payload: []byte{10, 2, 'm', '1'}},
			`{"eventType":"repair_ready","channelId":"c1","message":"CgJtMQ=="}`},
		// This library's own events.
		{sds.Event{Kind: sds.EventMessageResend, ChannelID: "c1", MessageID: "m1", Attempt: 2, Payload: []byte{1}},
			`{"eventType":"message_resend","messageId":"m1","channelId":"c1","attempt":2,"message":"AQ=="}`},
		{sds.Event{Kind: sds.EventRepairRequest, ChannelID: "c1", MessageID: "sync-1", Payload: []byte{1},
			MissingDeps: []wire.HistoryEntry{{MessageID: "m1"}, {MessageID: `m"`}}},
			`{"eventType":"repair_request","messageId":"sync-1","channelId":"c1","requested":["m1","m\""],"message":"AQ=="}`},
		{sds.Event{Kind: sds.EventMessageFailed, ChannelID: "c1", MessageID: "m1"},
			`{"eventType":"message_failed","messageId":"m1","channelId":"c1"}`},
		{sds.Event{Kind: sds.EventDependenciesLost, ChannelID: "c1", MessageID: "m3", Lost: []string{"m1", "m\"2"}},
			`{"eventType":"dependencies_lost","messageId":"m3","channelId":"c1","lost":["m1","m\"2"]}`},
		{sds.Event{Kind: sds.EventDependenciesLost, ChannelID: "c1", MessageID: "m3"},
			`{"eventType":"dependencies_lost","messageId":"m3","channelId":"c1","lost":[]}`},
		{sds.Event{Kind: sds.EventIncomingEvicted, ChannelID: "c1", MessageID: "m4"},
			`{"eventType":"incoming_evicted","messageId":"m4","channelId":"c1"}`},
		{sds.Event{Kind: sds.EventPersistenceBacklog, ChannelID: "c1"},
			`{"eventType":"persistence_backlog","channelId":"c1"}`},
	}
	for _, c := range cases {
		if got := string(appendEventJSON(nil, &c.e)); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	if got := string(appendPeriodicSyncJSON(nil)); got != `{"eventType":"periodic_sync"}` {
		t.Errorf("periodic_sync: %s", got)
	}
	want := `{"eventType":"repair_ready","channelId":"c1","message":"CgJtMQ=="}`
	if got := string(appendRepairReadyJSON(nil, "c1", []byte{10, 2, 'm', '1'})); got != want {
		t.Errorf("repair_ready: got %s, want %s", got, want)
	}
}

func BenchmarkCommaText(b *testing.B) {
	src := make([]byte, 18_800)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(rng.UintN(256))
	}
	dst := make([]byte, commaTextMax(len(src)))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		putCommaText(dst, src)
	}
}
