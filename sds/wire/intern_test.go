package wire

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/libsds-go/libsds/internal/vectors"
)

// MessageInterned decodes what Message does, and every id string it
// returns is the interning function's.
func TestMessageInterned(t *testing.T) {
	v, err := vectors.LoadNim()
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{}
	intern := func(b []byte) string {
		if s, ok := table[string(b)]; ok {
			return s
		}
		s := string(b)
		table[s] = s
		return s
	}
	isInterned := func(what, s string) {
		t.Helper()
		if s != "" && unsafe.StringData(s) != unsafe.StringData(table[s]) {
			t.Errorf("%s %q is not the interned string", what, s)
		}
	}
	entries := 0
	for _, tc := range v.Messages {
		var sc Scanned
		if err := sc.Scan(vectors.Hex(tc.WireHex), Limits{}); err != nil {
			t.Fatalf("%s: %v", tc.Description, err)
		}
		plain, got := sc.Message(), sc.MessageInterned(intern)
		if !reflect.DeepEqual(plain, got) {
			t.Fatalf("%s: interned %+v, copied %+v", tc.Description, got, plain)
		}
		isInterned("message id", got.MessageID)
		isInterned("channel id", got.ChannelID)
		isInterned("sender id", got.SenderID)
		for _, h := range append(got.CausalHistory, got.RepairRequest...) {
			isInterned("history id", h.MessageID)
			isInterned("history sender", h.SenderID)
			entries++
		}
	}
	if entries == 0 {
		t.Fatal("the vectors have no causal-history or repair entries")
	}
}
