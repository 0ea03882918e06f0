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
	v := vectors.Must(t, vectors.LoadNim)
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

// After Share, every Message call returns the one decoded message: equal
// to a fresh decode, sharing its causal history, with its own Content.
func TestShare(t *testing.T) {
	v := vectors.Must(t, vectors.LoadNim)
	shared := 0
	for _, tc := range v.Messages {
		var sc Scanned
		if err := sc.Scan(vectors.Hex(tc.WireHex), Limits{}); err != nil {
			t.Fatal(err)
		}
		fresh := sc.Message()
		if sc.Shared() != nil {
			t.Fatal("Shared before Share")
		}
		sc.Share(nil)
		if sh := sc.Shared(); sh == nil || !reflect.DeepEqual(*sh, fresh) {
			t.Fatalf("%s: Shared() = %+v", tc.Description, sh)
		}
		a, b := sc.Message(), sc.MessageInterned(func(p []byte) string { t.Fatal("intern called after Share"); return "" })
		if !reflect.DeepEqual(a, fresh) || !reflect.DeepEqual(b, fresh) {
			t.Fatalf("%s: shared %+v, fresh %+v", tc.Description, a, fresh)
		}
		if len(a.Content) > 0 && &a.Content[0] == &b.Content[0] {
			t.Fatalf("%s: two calls share Content", tc.Description)
		}
		if len(a.CausalHistory) > 0 {
			if &a.CausalHistory[0] != &b.CausalHistory[0] {
				t.Fatalf("%s: causal history decoded twice", tc.Description)
			}
			shared++
		}
		if err := sc.Scan([]byte{0xff}, Limits{}); err == nil {
			t.Fatal("garbage scanned")
		}
		sc.Share(nil)
		if sc.shared != nil {
			t.Fatal("Share kept a message after a failed Scan")
		}
	}
	if shared == 0 {
		t.Fatal("no vector has a causal history")
	}
}
