package ffi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// FuzzParseConfig: parseConfig never panics; what it accepts is a valid
// core configuration a manager can be built from; text that is not a JSON
// object, or has a key that is not one of the documented ones (exact case,
// nested "limits" too), is refused; and every integer key it accepted is
// applied as given.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"", "{}", " { } ", "[]", "null", `{"participantId":"p"}`, `{"PARTICIPANTID":"p"}`,
		`{"participantId":"p","wireFormat":"rfc","logLevel":"off","bloomFilterCapacity":5000,"bloomFilterErrorRate":0.01,"bloomAckThreshold":2,"maxMessageHistory":500,"maxCausalHistory":3,"resendIntervalMs":1500,"maxResendAttempts":0,"syncMessageIntervalMs":2000,"bufferSweepIntervalMs":3000,"repairTMinMs":0,"repairTMaxMs":4000,"numResponseGroups":2,"maxRepairRequests":0,"repairSweepIntervalMs":5000,"maxContentSize":100,"possiblyAckedResendIntervalMs":7,"maxDependencyWaitMs":8,"onLostDependencies":"drop","maxIncomingBuffer":9,"maxPendingRepairs":10,"rememberDelivered":15,"persistMaxPending":16,"limits":{"maxMessageBytes":1000,"maxIdBytes":10,"maxHintBytes":11,"maxHistoryEntries":12,"maxRepairEntries":13,"maxBloomBytes":14}}`,
		`{"resendIntervalMs":9223372036854775807}`, `{"bloomFilterErrorRate":1e-300}`, `{"limits":{"maxIdBytes":0}}`,
		`{"limits":{"MaxIdBytes":1}}`, `{"maxMessageHistory":1}{}`, `{"participantId":"\u0000\ud800"}`,
		`{"bloomFilterCapacity":1e3}`, `{"maxCausalHistory":-1}`, `{"participantId":"a","participantId":"b"}`,
	} {
		f.Add([]byte(s))
	}
	keys := jsonKeys(reflect.TypeOf(jsonConfig{}))
	limitKeys := jsonKeys(reflect.TypeOf(jsonLimits{}))
	f.Fuzz(func(t *testing.T, text []byte) {
		st, err := parseConfig(text)
		cfg := st.cfg
		if len(bytes.TrimSpace(text)) == 0 {
			if err != nil {
				t.Fatalf("empty text refused: %v", err)
			}
			return
		}
		var obj map[string]json.RawMessage
		refErr := json.Unmarshal(text, &obj)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if refErr != nil || obj == nil {
			t.Fatalf("accepted text encoding/json does not read as an object: %v", refErr)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		m, err := sds.NewManager(cfg) // the store (storePath) is not opened here
		if err != nil {
			t.Fatalf("accepted configuration NewManager refuses: %v", err)
		}
		m.Close()
		for k, v := range obj {
			if _, ok := keys[k]; !ok {
				t.Fatalf("accepted unknown key %q", k)
			}
			if k == "limits" && string(bytes.TrimSpace(v)) != "null" {
				var lim map[string]json.RawMessage
				if json.Unmarshal(v, &lim) != nil {
					t.Fatalf("accepted limits %s", v)
				}
				for lk := range lim {
					if _, ok := limitKeys[lk]; !ok {
						t.Fatalf("accepted unknown key limits.%q", lk)
					}
				}
			}
		}
		// Integer keys are applied as given (duplicates: the last wins, as
		// in encoding/json).
		for key, got := range map[string]int{
			"maxMessageHistory": cfg.MaxMessageHistory, "maxCausalHistory": cfg.MaxCausalHistory,
			"maxIncomingBuffer": cfg.MaxIncomingBuffer, "maxPendingRepairs": cfg.MaxPendingRepairs,
			"maxContentSize": cfg.MaxContentSize, "bloomFilterCapacity": cfg.BloomCapacity,
			"rememberDelivered": cfg.RememberDelivered, "maxResendAttempts": cfg.MaxResendAttempts,
		} {
			raw, ok := obj[key]
			if !ok || string(bytes.TrimSpace(raw)) == "null" {
				continue
			}
			var want int
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("accepted %s = %s: %v", key, raw, err)
			}
			if got != want {
				t.Fatalf("%s = %s, applied %d", key, raw, got)
			}
		}
	})
}

func jsonKeys(t reflect.Type) map[string]struct{} {
	out := map[string]struct{}{}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[tag] = struct{}{}
	}
	return out
}

// FuzzUnwrapJSON: the unwrap result text equals, byte for byte, the same
// object built from the references (strconv for the byte array, the
// escape reference for strings, encoding/base64 for hints), after any
// prefix already in the buffer; it is valid JSON that encoding/json reads
// back to the same values (strings compared when they are valid UTF-8,
// which is all JSON can carry).
func FuzzUnwrapJSON(f *testing.F) {
	f.Add([]byte("hi"), "c1", "m0", []byte("hint"), "m1", []byte(nil), uint8(0))
	f.Add([]byte{}, "", "", []byte{}, "\x00\"\\\n\x7f\xff", []byte{0, 255}, uint8(3))
	f.Add([]byte{0, 9, 10, 99, 100, 255}, "ch\u2028\u00e9", "\x1f\x0b", []byte(nil), "x", []byte("y"), uint8(200))
	f.Fuzz(func(t *testing.T, content []byte, channel, dep1 string, hint1 []byte, dep2 string, hint2 []byte, prefix uint8) {
		res := sds.UnwrapResult{ChannelID: channel, Content: content}
		if dep1 != "" {
			res.MissingDeps = append(res.MissingDeps, wire.HistoryEntry{MessageID: dep1, RetrievalHint: hint1, SenderID: "s"})
		}
		if dep2 != "" {
			res.MissingDeps = append(res.MissingDeps, wire.HistoryEntry{MessageID: dep2, RetrievalHint: hint2})
		}
		pre := bytes.Repeat([]byte{'#'}, int(prefix%17))
		dst := append(make([]byte, 0, len(pre)+int(prefix%5)), pre...)
		out := appendUnwrapJSON(dst, &res)
		if !bytes.HasPrefix(out, pre) {
			t.Fatal("the prefix was overwritten")
		}
		out = out[len(pre):]

		nums := make([]string, len(content))
		for i, c := range content {
			nums[i] = strconv.Itoa(int(c))
		}
		var want strings.Builder
		want.WriteString(`{"message":[` + strings.Join(nums, ",") + `],"channelId":` + nimEscape(channel) + `,"missingDeps":[`)
		for i, d := range res.MissingDeps {
			if i > 0 {
				want.WriteByte(',')
			}
			want.WriteString(`{"messageId":` + nimEscape(d.MessageID) + `,"retrievalHint":"` + base64.StdEncoding.EncodeToString(d.RetrievalHint) + `"`)
			if d.SenderID != "" {
				want.WriteString(`,"senderId":` + nimEscape(d.SenderID))
			}
			want.WriteString("}")
		}
		want.WriteString("]}")
		if string(out) != want.String() {
			t.Fatalf("unwrap JSON\n got %q\nwant %q", out, want.String())
		}
		if string(appendCommaText(nil, content)) != strings.Join(nums, ",") {
			t.Fatalf("comma text %q", appendCommaText(nil, content))
		}

		var back struct {
			Message     []int  `json:"message"`
			ChannelID   string `json:"channelId"`
			MissingDeps []struct {
				MessageID     string `json:"messageId"`
				RetrievalHint []byte `json:"retrievalHint"` // base64
			} `json:"missingDeps"`
		}
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("not JSON: %v\n%q", err, out)
		}
		if len(back.Message) != len(content) {
			t.Fatalf("message has %d bytes, want %d", len(back.Message), len(content))
		}
		for i, v := range back.Message {
			if v != int(content[i]) {
				t.Fatalf("message[%d] = %d, want %d", i, v, content[i])
			}
		}
		if utf8.ValidString(channel) && back.ChannelID != channel {
			t.Fatalf("channelId %q, want %q", back.ChannelID, channel)
		}
		if len(back.MissingDeps) != len(res.MissingDeps) {
			t.Fatalf("%d missing deps, want %d", len(back.MissingDeps), len(res.MissingDeps))
		}
		for i, d := range back.MissingDeps {
			w := res.MissingDeps[i]
			if utf8.ValidString(w.MessageID) && d.MessageID != w.MessageID {
				t.Fatalf("dep %d id %q, want %q", i, d.MessageID, w.MessageID)
			}
			if !bytes.Equal(d.RetrievalHint, w.RetrievalHint) {
				t.Fatalf("dep %d hint %x, want %x", i, d.RetrievalHint, w.RetrievalHint)
			}
		}
	})
}

// FuzzEventJSON: every event kind's text is valid JSON whose fields read
// back (encoding/json) to the event's values.
func FuzzEventJSON(f *testing.F) {
	f.Add(uint8(1), "c", "m", []byte("payload"), 3, "lost")
	f.Add(uint8(3), "\x00", "\"", []byte{}, -1, "\xff")
	f.Fuzz(func(t *testing.T, kind uint8, channel, id string, payload []byte, attempt int, lost string) {
		e := sds.Event{
			Kind: sds.EventKind(kind % 12), ChannelID: channel, MessageID: id, Payload: payload, Attempt: attempt,
			Lost: []string{lost, id}, MissingDeps: []wire.HistoryEntry{{MessageID: lost, RetrievalHint: payload}},
		}
		out := appendEventJSON(nil, &e)
		var back map[string]any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%v: not JSON: %v\n%q", e.Kind, err, out)
		}
		if back["eventType"] != e.Kind.String() {
			t.Fatalf("eventType %v, want %v", back["eventType"], e.Kind)
		}
		valid := utf8.ValidString(channel) && utf8.ValidString(id) && utf8.ValidString(lost)
		if c, ok := back["channelId"]; ok && valid && c != channel {
			t.Fatalf("channelId %q, want %q", c, channel)
		}
		if m, ok := back["messageId"]; ok && valid && m != id {
			t.Fatalf("messageId %q, want %q", m, id)
		}
		if msg, ok := back["message"].(string); ok {
			if b, err := base64.StdEncoding.DecodeString(msg); err != nil || !bytes.Equal(b, payload) {
				t.Fatalf("message %q does not decode to the payload: %v", msg, err)
			}
		}
		if a, ok := back["attempt"].(float64); ok && int(a) != attempt && attempt < 1<<53 && attempt > -(1<<53) {
			t.Fatalf("attempt %v, want %d", a, attempt)
		}
	})
}
