package capitest

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/libsds-go/libsds/ffi/cborabi"
	"github.com/libsds-go/libsds/sds"
)

// statsOf reads SdsGetStats's JSON.
func statsOf(t *testing.T, m *Manager) (sds.Stats, string) {
	t.Helper()
	res := m.Stats()
	if res.Ret != RetOK || res.Calls != 1 || res.CbRet != RetOK {
		t.Fatalf("SdsGetStats: %+v", res)
	}
	var st sds.Stats
	dec := json.NewDecoder(strings.NewReader(res.Msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("SdsGetStats: %v: %s", err, res.Msg)
	}
	return st, res.Msg
}

// A known exchange through the C ABI moves the counters SdsGetStats
// reports by known amounts, and the JSON's keys are the ones
// include/libsds.h documents.
func TestStatsThroughCABI(t *testing.T) {
	a, b := newManager(t, `{"participantId":"alice"}`), newManager(t, `{"participantId":"bob"}`)
	defer cleanup(t, a)
	defer cleanup(t, b)
	var sent, received int
	for _, id := range []string{"m1", "m2"} {
		w, ret, msg := a.WrapBinary([]byte("content"), id, "c")
		if ret != RetOK {
			t.Fatal(msg)
		}
		sent += len(w)
		if id == "m2" { // m1 is lost
			if _, ret, msg := b.UnwrapBinary(w); ret != RetOK {
				t.Fatal(msg)
			}
			received += len(w)
		}
	}
	if _, ret, _ := b.UnwrapBinary([]byte("junk")); ret != RetErr {
		t.Fatal("junk unwrapped")
	}
	sa, _ := statsOf(t, a)
	sb, text := statsOf(t, b)
	if c := sa.Counters; c.WrappedContent != 2 || c.BytesSent != uint64(sent) || c.BloomBytesSent == 0 || sa.Gauges.Outgoing != 2 {
		t.Errorf("alice: %+v", sa)
	}
	if c := sb.Counters; c.ReceivedContent != 1 || c.UnwrapErrors != 1 || c.MissingDependencyReports != 1 ||
		c.Delivered != 0 || c.BytesReceived != uint64(received) || sb.Gauges.Incoming != 1 || sb.Gauges.RepairRequestsPending != 1 {
		t.Errorf("bob: %+v", sb)
	}
	if sb.Channels != 1 || len(sb.PerChannel) != 1 || sb.PerChannel[0].ChannelID != "c" ||
		sb.PerChannel[0].Counters.ReceivedContent != 1 || len(sb.IncomingWait.Counts) != len(sds.IncomingWaitBuckets())+1 {
		t.Errorf("bob's channels: %+v", sb)
	}
	checkDocumented(t, text)

	// The CBOR generation answers the same figures under the same keys.
	ctx := uintptr(b.Ctx())
	res := CborCall(CborStats, ctx, []byte{0xa0})
	if res.Ret != RetOK || res.CbRet != RetOK {
		t.Fatalf("sds_get_stats: %+v %s", res, res.Msg)
	}
	var fromCBOR, fromJSON any
	if err := cbor.Unmarshal(res.Msg, &fromCBOR); err != nil {
		t.Fatal(err)
	}
	_, text = statsOf(t, b)
	if err := json.Unmarshal([]byte(text), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if c, j := normalize(fromCBOR), normalize(fromJSON); !reflect.DeepEqual(c, j) {
		t.Errorf("sds_get_stats and SdsGetStats differ:\n%v\n%v", c, j)
	}
	if res := CborCall(CborStats, ctx, []byte{0x80}); res.Ret != RetOK || res.CbRet != RetErr ||
		!strings.HasPrefix(string(res.Msg), "CBOR decode failed for "+cborabi.TypeStats+": ") {
		t.Errorf("bad request: %+v %s", res, res.Msg)
	}
}

// normalize turns decoded JSON or CBOR into comparable values: numbers
// as float64, maps keyed by string.
func normalize(v any) any {
	switch x := v.(type) {
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			out[k.(string)] = normalize(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// checkDocumented fails for each key of the stats JSON that the
// SdsGetStats comment of include/libsds.h does not name.
func checkDocumented(t *testing.T, text string) {
	t.Helper()
	header, err := os.ReadFile("../../include/libsds.h")
	if err != nil {
		t.Fatal(err)
	}
	h := string(header)
	start, end := strings.Index(h, "/* ---- Metrics"), strings.Index(h, "int SdsGetStats(")
	if start < 0 || end < start {
		t.Fatal("no SdsGetStats documentation in include/libsds.h")
	}
	doc := h[start:end]
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([a-zA-Z]+)":`).FindAllStringSubmatch(text, -1) {
		keys[m[1]] = true
	}
	if len(keys) < 50 {
		t.Fatalf("only %d keys in %s", len(keys), text)
	}
	for k := range keys {
		if !strings.Contains(doc, `"`+k+`"`) {
			t.Errorf("SdsGetStats key %q is not documented in include/libsds.h", k)
		}
	}
}
