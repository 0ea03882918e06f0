package cborabi

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// The expected bytes below are written out by hand from the rules in the
// package comment (nim-cbor-serialization's writer: definite map, keys in
// declaration order, shortest integers, byte strings for seq[byte]).
// tx is a text string head plus its bytes, bs a byte string.
func tx(s string) string { return head(3, len(s)) + hex.EncodeToString([]byte(s)) }
func bs(b []byte) string { return head(2, len(b)) + hex.EncodeToString(b) }

func head(major, n int) string {
	switch {
	case n < 24:
		return hex.EncodeToString([]byte{byte(major<<5 | n)})
	case n < 256:
		return hex.EncodeToString([]byte{byte(major<<5 | 24), byte(n)})
	case n < 65536:
		return hex.EncodeToString([]byte{byte(major<<5 | 25), byte(n >> 8), byte(n)})
	}
	return hex.EncodeToString([]byte{byte(major<<5 | 26), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func check(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s:\n got %x\nwant %s", name, got, want)
	}
}

func TestNimGoldenBytes(t *testing.T) {
	// nim-ffi's own pinned vectors (tests/unit/test_wire_compat.nim),
	// re-encoded with our options, prove the settings agree with it.
	type wireSimple struct {
		Name string `cbor:"name"`
	}
	check(t, "WireSimple", Marshal(wireSimple{"abc"}), "a1646e616d6563616263")
	type wireWithInt struct {
		Message string `cbor:"message"`
		DelayMs int    `cbor:"delayMs"`
	}
	check(t, "WireWithInt", Marshal(wireWithInt{"hi", 200}), "a2676d65737361676562686967"+"64656c61794d7318c8")
	type wireWithVector struct {
		Items []string `cbor:"items"`
	}
	check(t, "empty seq", Marshal(wireWithVector{}), "a1656974656d7380")
	check(t, "seq", Marshal(wireWithVector{[]string{"a", "bb", "ccc"}}), "a1656974656d7383616162626263636363")
	type wireWithBytes struct {
		Blob []byte `cbor:"blob"`
	}
	check(t, "empty bytes", Marshal(wireWithBytes{}), "a164626c6f6240")
	check(t, "empty string result", EncodeText(""), "60")
}

func TestResponses(t *testing.T) {
	check(t, "wrap", EncodeWrap([]byte{10, 2, 109}), "a1"+tx("message")+"430a026d")
	check(t, "wrap empty", EncodeWrap(nil), "a1"+tx("message")+"40")
	big := bytes.Repeat([]byte{7}, 300)
	check(t, "wrap 300", EncodeWrap(big), "a1"+tx("message")+"59012c"+strings.Repeat("07", 300))

	r := sds.UnwrapResult{Content: []byte("hi"), ChannelID: "c1"}
	check(t, "unwrap no deps", EncodeUnwrap(&r),
		"a3"+tx("message")+bs([]byte("hi"))+tx("channelId")+tx("c1")+tx("missingDeps")+"80")
	// A sender id follows Nim's keys; without one the entry is Nim's.
	r.MissingDeps = []wire.HistoryEntry{{MessageID: "m0", RetrievalHint: []byte{1, 2}, SenderID: "alice"}, {MessageID: "m1"}}
	check(t, "unwrap deps", EncodeUnwrap(&r),
		"a3"+tx("message")+bs([]byte("hi"))+tx("channelId")+tx("c1")+tx("missingDeps")+"82"+
			"a3"+tx("messageId")+tx("m0")+tx("retrievalHint")+"420102"+tx("senderId")+tx("alice")+
			"a2"+tx("messageId")+tx("m1")+tx("retrievalHint")+"40")
	check(t, "context", EncodeText("140737488355328"), "6f"+hex.EncodeToString([]byte("140737488355328")))
}

func TestWrapResponseHead(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, 1 << 20} {
		w := bytes.Repeat([]byte{3}, n)
		if got := append(WrapResponseHead(n), w...); !bytes.Equal(got, EncodeWrap(w)) {
			t.Errorf("n=%d: head %x differs from the encoder's", n, WrapResponseHead(n))
		}
	}
}

func TestEvents(t *testing.T) {
	env := func(name, payload string) string { return "a2" + tx("eventType") + tx(name) + tx("payload") + payload }
	msg := "a2" + tx("messageId") + tx("m1") + tx("channelId") + tx("c1")
	for _, k := range []sds.EventKind{sds.EventMessageReady, sds.EventMessageAcknowledged, sds.EventMessageFailed, sds.EventIncomingEvicted} {
		check(t, k.String(), EncodeEvent(&sds.Event{Kind: k, MessageID: "m1", ChannelID: "c1"}), env(k.String(), msg))
	}
	check(t, "message_sent name", EncodeEvent(&sds.Event{Kind: sds.EventMessageAcknowledged}),
		env("message_sent", "a2"+tx("messageId")+"60"+tx("channelId")+"60"))
	check(t, "missing_dependencies", EncodeEvent(&sds.Event{Kind: sds.EventMissingDependencies, MessageID: "m2", ChannelID: "c1",
		MissingDeps: []wire.HistoryEntry{{MessageID: "m1", RetrievalHint: []byte("h")}}}),
		env("missing_dependencies", "a3"+tx("messageId")+tx("m2")+tx("channelId")+tx("c1")+tx("missingDeps")+"81"+
			"a2"+tx("messageId")+tx("m1")+tx("retrievalHint")+bs([]byte("h"))))
	check(t, "periodic_sync", EncodeEvent(&sds.Event{Kind: sds.EventPeriodicSync}),
		env("periodic_sync", "a1"+tx("placeholder")+"f4"))
	check(t, "repair_ready", EncodeEvent(&sds.Event{Kind: sds.EventRepairReady, ChannelID: "c1", Payload: []byte{1}}),
		env("repair_ready", "a2"+tx("message")+"4101"+tx("channelId")+tx("c1")))
	check(t, "message_resend", EncodeEvent(&sds.Event{Kind: sds.EventMessageResend, MessageID: "m1", ChannelID: "c1", Attempt: 25, Payload: []byte{9}}),
		env("message_resend", "a4"+tx("messageId")+tx("m1")+tx("channelId")+tx("c1")+tx("attempt")+"1819"+tx("message")+"4109"))
	check(t, "repair_request", EncodeEvent(&sds.Event{Kind: sds.EventRepairRequest, MessageID: "s", ChannelID: "c1",
		MissingDeps: []wire.HistoryEntry{{MessageID: "m1"}}, Payload: []byte{9}}),
		env("repair_request", "a4"+tx("messageId")+tx("s")+tx("channelId")+tx("c1")+tx("requested")+"81"+tx("m1")+tx("message")+"4109"))
	check(t, "dependencies_lost", EncodeEvent(&sds.Event{Kind: sds.EventDependenciesLost, MessageID: "m2", ChannelID: "c1", Lost: []string{"m1"}}),
		env("dependencies_lost", "a3"+tx("messageId")+tx("m2")+tx("channelId")+tx("c1")+tx("lost")+"81"+tx("m1")))
	check(t, "persistence_backlog", EncodeEvent(&sds.Event{Kind: sds.EventPersistenceBacklog, ChannelID: "c1"}),
		env("persistence_backlog", "a1"+tx("channelId")+tx("c1")))
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeRequests(t *testing.T) {
	// What the Go wrapper of that generation (sds-go-bindings, fxamacker)
	// and nim-ffi's own encoder send.
	var w WrapEnvelope
	in := "a1" + tx("req") + "a3" + tx("message") + bs([]byte("hi")) + tx("messageId") + tx("m1") + tx("channelId") + tx("c1")
	if err := Decode(unhex(in), &w); err != nil || string(w.Req.Message) != "hi" || w.Req.MessageID != "m1" || w.Req.ChannelID != "c1" {
		t.Fatalf("wrap: %v %+v", err, w)
	}
	// Indefinite lengths and keys in another order are read as Nim reads them.
	w = WrapEnvelope{}
	in = "bf" + tx("req") + "bf" + tx("channelId") + "7f" + tx("c") + tx("1") + "ff" + tx("message") + "5f" + bs([]byte("h")) + bs([]byte("i")) + "ff" + "ff" + "ff"
	if err := Decode(unhex(in), &w); err != nil || string(w.Req.Message) != "hi" || w.Req.ChannelID != "c1" {
		t.Fatalf("indefinite: %v %+v", err, w)
	}
	// Missing fields keep their zero value.
	w = WrapEnvelope{}
	if err := Decode(unhex("a0"), &w); err != nil || w.Req.MessageID != "" {
		t.Fatalf("empty map: %v", err)
	}
	var u UnitRequest
	for _, ok := range []string{"a0", "a1" + tx("_placeholder") + "00"} {
		if err := Decode(unhex(ok), &u); err != nil {
			t.Errorf("unit %s: %v", ok, err)
		}
	}
	var m MarkDependenciesEnvelope
	in = "a1" + tx("req") + "a2" + tx("messageIds") + "82" + tx("a") + tx("b") + tx("channelId") + tx("c1")
	if err := Decode(unhex(in), &m); err != nil || len(m.Req.MessageIDs) != 2 || m.Req.MessageIDs[1] != "b" {
		t.Fatalf("mark: %v %+v", err, m)
	}
	var h HintProviderEnvelope
	in = "a1" + tx("req") + "a2" + tx("callbackAddr") + "1b00007fffdeadbeef" + tx("userDataAddr") + "01"
	if err := Decode(unhex(in), &h); err != nil || h.Req.CallbackAddr != 0x7fffdeadbeef || h.Req.UserDataAddr != 1 {
		t.Fatalf("hint: %v %+v", err, h)
	}
	// Invalid UTF-8 in a text string is kept, as Nim keeps it.
	w = WrapEnvelope{}
	if err := Decode(unhex("a1"+tx("req")+"a1"+tx("messageId")+"62ff00"), &w); err != nil || w.Req.MessageID != "\xff\x00" {
		t.Fatalf("utf8: %v %q", err, w.Req.MessageID)
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("81", 40) + "00"
	for name, in := range map[string]string{
		"empty":              "",
		"not a map":          "f6",
		"array":              "80",
		"unknown key":        "a1" + tx("request") + "a0",
		"unknown inner key":  "a1" + tx("req") + "a1" + tx("messageID") + tx("m"),
		"case differs":       "a1" + tx("Req") + "a0",
		"bytes for text":     "a1" + tx("req") + "a1" + tx("messageId") + bs([]byte("m")),
		"text for bytes":     "a1" + tx("req") + "a1" + tx("message") + tx("m"),
		"int for text":       "a1" + tx("req") + "a1" + tx("channelId") + "01",
		"tag":                "a1" + tx("req") + "a1" + tx("channelId") + "c0" + tx("c"),
		"truncated":          "a1" + tx("req") + "a1" + tx("message") + "45010203",
		"trailing data":      "a000",
		"too deep":           "a1" + tx("req") + "a1" + tx("channelId") + deep,
		"huge length":        "a1" + tx("req") + "a1" + tx("message") + "5b00000000ffffffff",
		"huge array":         "a1" + tx("req") + "a1" + tx("messageIds") + "9b00000000ffffffff",
		"not well formed":    "a1" + tx("req") + "ff",
		"repeated key":       "a2" + tx("req") + "a0" + tx("req") + "a0",
		"repeated inner key": "a1" + tx("req") + "a2" + tx("channelId") + tx("a") + tx("channelId") + tx("b"),
	} {
		var w struct {
			Req struct {
				Message    []byte   `cbor:"message"`
				MessageID  string   `cbor:"messageId"`
				ChannelID  string   `cbor:"channelId"`
				MessageIDs []string `cbor:"messageIds"`
			} `cbor:"req"`
		}
		if err := Decode(unhex(in), &w); err == nil {
			t.Errorf("%s: decoded %x without error", name, unhex(in))
		} else if strings.HasPrefix(err.Error(), "cbor: ") {
			t.Errorf("%s: error keeps the library prefix: %v", name, err)
		}
	}
	var h HintProviderEnvelope
	if err := Decode(unhex("a1"+tx("req")+"a1"+tx("callbackAddr")+"20"), &h); err == nil {
		t.Error("negative address decoded")
	}
	var u UnitRequest
	if err := Decode(unhex("a1"+tx("_placeholder")+"190100"), &u); err == nil {
		t.Error("placeholder 256 fits a uint8")
	}
}

// FuzzDecodeRequest feeds arbitrary bytes to every request type: decoding
// must never panic, and what decodes must re-encode and decode to the same
// value (the encoder and decoder agree).
func FuzzDecodeRequest(f *testing.F) {
	f.Add(unhex("a1" + tx("req") + "a3" + tx("message") + bs([]byte("hi")) + tx("messageId") + tx("m1") + tx("channelId") + tx("c1")))
	f.Add(unhex("a1" + tx("req") + "a2" + tx("messageIds") + "82" + tx("a") + tx("b") + tx("channelId") + tx("c1")))
	f.Add(unhex("a1" + tx("req") + "a2" + tx("callbackAddr") + "1b00007fffdeadbeef" + tx("userDataAddr") + "01"))
	f.Add(unhex("a1" + tx("_placeholder") + "00"))
	f.Add(unhex("bf" + tx("req") + "bf" + tx("message") + "5f" + bs([]byte("h")) + "ff" + "ff" + "ff"))
	f.Add(unhex("a1" + tx("config") + "a1" + tx("participantId") + tx("alice")))
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, data, &WrapEnvelope{}, func() any { return &WrapEnvelope{} })
		roundTrip(t, data, &UnwrapEnvelope{}, func() any { return &UnwrapEnvelope{} })
		roundTrip(t, data, &MarkDependenciesEnvelope{}, func() any { return &MarkDependenciesEnvelope{} })
		roundTrip(t, data, &HintProviderEnvelope{}, func() any { return &HintProviderEnvelope{} })
		roundTrip(t, data, &SyncEnvelope{}, func() any { return &SyncEnvelope{} })
		roundTrip(t, data, &UnitRequest{}, func() any { return &UnitRequest{} })
		var anyMap map[string]any
		_ = Decode(data, &anyMap)
	})
}

func roundTrip(t *testing.T, data []byte, v any, fresh func() any) {
	if Decode(data, v) != nil {
		return
	}
	enc := Marshal(v)
	w := fresh()
	if err := Decode(enc, w); err != nil {
		t.Fatalf("re-decoding %x (from %x): %v", enc, data, err)
	}
	if again := Marshal(w); !bytes.Equal(again, enc) {
		t.Fatalf("round trip changed %x into %x", enc, again)
	}
}

// The CBOR layer's own cost per call for a wire message of the default
// size (~19 KB, mostly the bloom filter): decoding a request, encoding a
// result.
func BenchmarkDecodeUnwrapRequest(b *testing.B) {
	req := Marshal(UnwrapEnvelope{Req: UnwrapRequest{Message: bytes.Repeat([]byte{0xa5}, 19000)}})
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		var r UnwrapEnvelope
		if err := Decode(req, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeWrapResponse(b *testing.B) {
	w := bytes.Repeat([]byte{0xa5}, 19000)
	b.SetBytes(int64(len(w)))
	b.ReportAllocs()
	for b.Loop() {
		EncodeWrap(w)
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	e := sds.Event{Kind: sds.EventMessageReady, MessageID: "0123456789abcdef", ChannelID: "room"}
	b.ReportAllocs()
	for b.Loop() {
		EncodeEvent(&e)
	}
}
