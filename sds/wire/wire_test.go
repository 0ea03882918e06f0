package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/internal/vectors"
)

func entriesFromVectors(es []vectors.HistoryEntry) []HistoryEntry {
	if len(es) == 0 {
		return nil
	}
	out := make([]HistoryEntry, len(es))
	for i, e := range es {
		out[i] = HistoryEntry{MessageID: e.MessageID, SenderID: e.SenderID}
		if h := vectors.Hex(e.RetrievalHintHex); len(h) > 0 {
			out[i].RetrievalHint = h
		}
	}
	return out
}

func TestNimMessages(t *testing.T) {
	v := vectors.Must(t, vectors.LoadNim)
	if len(v.Messages) == 0 {
		t.Fatal("no messages in vectors")
	}
	for _, tc := range v.Messages {
		t.Run(tc.Description, func(t *testing.T) {
			want := vectors.Hex(tc.WireHex)
			m := Message{
				MessageID:        tc.MessageID,
				LamportTimestamp: tc.LamportTimestamp,
				HasLamport:       true,
				CausalHistory:    entriesFromVectors(tc.CausalHistory),
				ChannelID:        tc.ChannelID,
				Content:          vectors.Hex(tc.ContentHex),
				SenderID:         tc.SenderID,
				RepairRequest:    entriesFromVectors(tc.RepairRequest),
			}
			if bf := vectors.Hex(tc.BloomFilterHex); len(bf) > 0 {
				m.BloomFilter = bf
			}
			if got := m.Marshal(FormatNim); !bytes.Equal(got, want) {
				t.Fatalf("Marshal:\n got %x\nwant %x", got, want)
			}
			if n := m.EncodedLen(FormatNim); n != len(want) {
				t.Fatalf("EncodedLen = %d, want %d", n, len(want))
			}
			prefix := []byte("prefix")
			if got := m.Append(prefix, FormatNim); !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("Append with prefix: got %x", got)
			}
			got, f, err := Decode(want, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if f != FormatNim {
				t.Fatalf("format = %v, want nim", f)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("Decode:\n got %+v\nwant %+v", got, m)
			}
			ch, err := ChannelID(want, Limits{})
			if err != nil || ch != tc.ChannelID {
				t.Fatalf("ChannelID = %q, %v; want %q", ch, err, tc.ChannelID)
			}
			if id, err := MessageID(want, Limits{}); err != nil || id != tc.MessageID {
				t.Fatalf("MessageID = %q, %v; want %q", id, err, tc.MessageID)
			}
		})
	}
}

const legacyCase = "legacy causal history as bare string"

func TestNimDecodeCases(t *testing.T) {
	v := vectors.Must(t, vectors.LoadNim)
	sawLegacy := false
	for _, tc := range v.DecodeCases {
		t.Run(tc.Description, func(t *testing.T) {
			in := vectors.Hex(tc.InputHex)
			wantOK := tc.OK
			wantIDs := tc.CausalHistoryIDs
			wantMsgID, wantLamport, wantContent := tc.MessageID, tc.LamportTimestamp, tc.ContentHex
			if tc.Description == legacyCase {
				// PROTOCOL §1: we accept the bare string as an id with no hint.
				sawLegacy = true
				if tc.OK {
					t.Fatal("vectors changed: the Nim decoder now accepts the legacy case")
				}
				wantOK = true
				wantIDs = []string{"legacy-id"}
				wantMsgID, wantLamport, wantContent = "m1", 1, "78"
				tc.ChannelID = "c1"
			}
			m, f, err := Decode(in, Limits{})
			if (err == nil) != wantOK {
				t.Fatalf("Decode err = %v, want ok=%v", err, wantOK)
			}
			ch, cerr := ChannelID(in, Limits{})
			if (cerr == nil) != tc.ChannelIDOK {
				t.Fatalf("ChannelID err = %v, want ok=%v", cerr, tc.ChannelIDOK)
			}
			if !wantOK {
				for _, e := range []error{ErrMalformed, ErrMissingField} {
					if errors.Is(err, e) {
						return
					}
				}
				t.Fatalf("unexpected error kind: %v", err)
			}
			if f != FormatNim || !m.HasLamport {
				t.Fatalf("format %v HasLamport %v", f, m.HasLamport)
			}
			if m.MessageID != wantMsgID || m.LamportTimestamp != wantLamport || hex.EncodeToString(m.Content) != wantContent {
				t.Fatalf("got id %q lamport %d content %x", m.MessageID, m.LamportTimestamp, m.Content)
			}
			if tc.ChannelIDOK && (m.ChannelID != tc.ChannelID || ch != tc.ChannelID) {
				t.Fatalf("channel %q / ChannelID %q, want %q", m.ChannelID, ch, tc.ChannelID)
			}
			var ids []string
			for _, e := range m.CausalHistory {
				ids = append(ids, e.MessageID)
				if e.RetrievalHint != nil || e.SenderID != "" {
					t.Fatalf("entry %+v: want no hint and no sender", e)
				}
			}
			if strings.Join(ids, ",") != strings.Join(wantIDs, ",") {
				t.Fatalf("causal history %q, want %q", ids, wantIDs)
			}
		})
	}
	if !sawLegacy {
		t.Fatalf("decode case %q not found", legacyCase)
	}
}

func TestJSMessages(t *testing.T) {
	v := vectors.Must(t, vectors.LoadJS)
	kinds := map[string]int{}
	for i, tc := range v.Messages {
		kinds[tc.Kind]++
		t.Run(strconv.Itoa(i)+"-"+tc.Kind, func(t *testing.T) {
			in := vectors.Hex(tc.WireHex)
			m, f, err := Decode(in, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if f != FormatRFC {
				t.Fatalf("format = %v, want rfc", f)
			}
			if got := m.Marshal(FormatRFC); !bytes.Equal(got, in) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", got, in)
			}
			if n := m.EncodedLen(FormatRFC); n != len(in) {
				t.Fatalf("EncodedLen = %d, want %d", n, len(in))
			}
			if m.MessageID != tc.MessageID || m.ChannelID != "chan" || m.SenderID != "alice" {
				t.Fatalf("ids: %q %q %q", m.MessageID, m.ChannelID, m.SenderID)
			}
			if ch, err := ChannelID(in, Limits{}); err != nil || ch != "chan" {
				t.Fatalf("ChannelID = %q, %v", ch, err)
			}
			if tc.LamportTimestamp != "" {
				want, err := strconv.ParseUint(tc.LamportTimestamp, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				if !m.HasLamport || m.LamportTimestamp != want {
					t.Fatalf("lamport %v %d, want %d", m.HasLamport, m.LamportTimestamp, want)
				}
			}
			switch tc.Kind {
			case "content":
				if string(m.Content) != tc.Payload || !m.HasLamport || m.BloomFilter == nil {
					t.Fatalf("content message: %q lamport %v bloom %d", m.Content, m.HasLamport, len(m.BloomFilter))
				}
			case "sync":
				if m.Content != nil || !m.HasLamport || len(m.CausalHistory) == 0 || m.BloomFilter == nil {
					t.Fatalf("sync message: content %v lamport %v history %d", m.Content, m.HasLamport, len(m.CausalHistory))
				}
			case "ephemeral":
				if string(m.Content) != tc.Payload || m.HasLamport || m.CausalHistory != nil || m.BloomFilter != nil {
					t.Fatalf("ephemeral message: %+v", m)
				}
			default:
				t.Fatalf("unknown kind %q", tc.Kind)
			}
			for _, e := range m.CausalHistory {
				if e.SenderID != "alice" || e.RetrievalHint != nil || len(e.MessageID) != 64 {
					t.Fatalf("history entry %+v", e)
				}
			}
			// The same message survives the Nim format too.
			n, nf, err := Decode(m.Marshal(FormatNim), Limits{})
			if err != nil || nf != FormatNim || n.MessageID != m.MessageID || !bytes.Equal(n.Content, m.Content) ||
				len(n.CausalHistory) != len(m.CausalHistory) || !bytes.Equal(n.BloomFilter, m.BloomFilter) {
				t.Fatalf("via Nim format: %v %v", nf, err)
			}
		})
	}
	if kinds["content"] == 0 || kinds["sync"] == 0 || kinds["ephemeral"] == 0 {
		t.Fatalf("kinds %v", kinds)
	}
}

func TestFormatString(t *testing.T) {
	if FormatNim.String() != "nim" || FormatRFC.String() != "rfc" || Format(7).String() != "Format(7)" {
		t.Fatal(FormatNim, FormatRFC, Format(7))
	}
}

func TestDefaultLimits(t *testing.T) {
	if (Limits{}).WithDefaults() != DefaultLimits() {
		t.Fatal("zero Limits does not mean the defaults")
	}
	if (Limits{MaxIDBytes: -1}).WithDefaults() != DefaultLimits() {
		t.Fatal("negative Limits do not mean the defaults")
	}
	l := Limits{MaxIDBytes: 5}.WithDefaults()
	if l.MaxIDBytes != 5 || l.MaxMessageBytes != DefaultMaxMessageBytes {
		t.Fatal(l)
	}
}

// sample returns a message using every field.
func sample() Message {
	return Message{
		MessageID:        "msg-1",
		LamportTimestamp: 1234567,
		HasLamport:       true,
		CausalHistory: []HistoryEntry{
			{MessageID: "h1", RetrievalHint: []byte{1, 2, 3}, SenderID: "alice"},
			{MessageID: "h2"},
		},
		ChannelID:     "chan",
		Content:       []byte("payload"),
		BloomFilter:   []byte{9, 9, 9},
		SenderID:      "bob",
		RepairRequest: []HistoryEntry{{MessageID: "r1", SenderID: "carol"}},
	}
}

var formats = []Format{FormatNim, FormatRFC}

func TestRoundTripBothFormats(t *testing.T) {
	for _, f := range formats {
		m := sample()
		b := m.Marshal(f)
		got, gf, err := Decode(b, Limits{})
		if err != nil || gf != f {
			t.Fatalf("%v: %v %v", f, gf, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%v:\n got %+v\nwant %+v", f, got, m)
		}
	}
}

func TestRFCAbsentVersusEmpty(t *testing.T) {
	// Sync message with empty (present) content, empty hint, empty bloom.
	m := Message{
		MessageID: "s", ChannelID: "c", LamportTimestamp: 5, HasLamport: true,
		Content: []byte{}, BloomFilter: []byte{},
		CausalHistory: []HistoryEntry{{MessageID: "x", RetrievalHint: []byte{}}},
	}
	b := m.Marshal(FormatRFC)
	if !bytes.Contains(b, []byte{0xa2, 0x01, 0x00}) || !bytes.Contains(b, []byte{0x62, 0x00}) {
		t.Fatalf("empty content / bloom not written: %x", b)
	}
	got, _, err := Decode(b, Limits{})
	if err != nil || !reflect.DeepEqual(got, m) || got.Content == nil || got.BloomFilter == nil || got.CausalHistory[0].RetrievalHint == nil {
		t.Fatalf("%+v %v", got, err)
	}
	// Absent ones stay absent.
	m.Content, m.BloomFilter, m.CausalHistory[0].RetrievalHint = nil, nil, nil
	b = m.Marshal(FormatRFC)
	got, _, err = Decode(b, Limits{})
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("%+v %v", got, err)
	}
	// Ephemeral: no lamport.
	m = Message{MessageID: "e", ChannelID: "c", Content: []byte("x"), LamportTimestamp: 99}
	b = m.Marshal(FormatRFC)
	if want := "1201651a0163a2010178"; hex.EncodeToString(b) != want {
		t.Fatalf("ephemeral %x, want %s", b, want)
	}
	got, _, err = Decode(b, Limits{})
	if err != nil || got.HasLamport || got.LamportTimestamp != 0 {
		t.Fatalf("%+v %v", got, err)
	}
	// The Nim format always writes lamport, content and bloom filter.
	m = Message{MessageID: "e", ChannelID: "c", LamportTimestamp: 3}
	if got, want := hex.EncodeToString(m.Marshal(FormatNim)), "0a0165100322016 32a003200"; got != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("nim %s, want %s", got, want)
	}
}

func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestMalformed(t *testing.T) {
	base := "0a026d31 1001 220263 31 2a0178" // m1, lamport 1, channel c1, content x
	if _, _, err := Decode(hx(base), Limits{}); err != nil {
		t.Fatalf("base: %v", err)
	}
	cases := []struct {
		name, in string
		want     error
	}{
		{"over-long lamport", "0a026d31 108100 22026331 2a0178", ErrMalformed},
		{"over-long length", "0a82006d31 1001 22026331 2a0178", ErrMalformed},
		{"over-long tag", "8a00026d31 1001 22026331 2a0178", ErrMalformed},
		{"varint overflow", base + "08ffffffffffffffffff02", ErrMalformed},
		{"varint unterminated", base + "08ffff", ErrMalformed},
		{"group start", base + "0b", ErrMalformed},
		{"group end", base + "0c", ErrMalformed},
		{"wire type 6", base + "0e", ErrMalformed},
		{"huge claimed length", base + "32ffffffffffffffff7f", ErrMalformed},
		{"length past end", base + "3205aabb", ErrMalformed},
		{"fixed64 truncated", base + "09aabbcc", ErrMalformed},
		{"fixed32 truncated", base + "0daabb", ErrMalformed},
		{"channel as varint (skipped, so missing)", "0a026d31 1001 2001 2a0178", ErrMissingField},
		{"field 2 fixed32", "0a026d31 1501020304 22026331 2a0178", ErrMalformed},
		{"history entry id as varint (skipped, so missing)", "0a026d31 1001 1a020801 22026331 2a0178", ErrMissingField},
		{"empty history entry", "0a026d31 1001 1a00 22026331 2a0178", ErrMissingField},
		{"history entry without id", "0a026d31 1001 1a03120101 22026331 2a0178", ErrMissingField},
		{"bare id not UTF-8", "0a026d31 1001 1a02ff80 22026331 2a0178", ErrMalformed},
		{"repair entry bare string", "0a026d31 1001 22026331 2a0178 6a02 6869", ErrMissingField},
		{"bare id with control char", "0a026d31 1001 1a03 61 0962 22026331 2a0178", ErrMalformed},
		{"bare id with DEL", "0a026d31 1001 1a03 61 7f62 22026331 2a0178", ErrMalformed},
		{"no field 2", "0a026d31 22026331 2a0178", ErrMissingField},
		{"rfc without channel", "0a0161 12026d31 5001", ErrMissingField},
		{"rfc empty message id", "0a0161 1200 1a0163 5001", ErrMissingField},
		{"rfc no lamport no content", "12026d31 1a0163", ErrMissingField},
		{"rfc no lamport empty content", "12026d31 1a0163 a20100", ErrMissingField},
		{"rfc lamport as bytes (skipped, so missing)", "12026d31 1a0163 5200", ErrMissingField},
		{"rfc entry malformed", "12026d31 1a0163 5001 5a01ff", ErrMalformed},
	}
	for _, tc := range cases {
		_, _, err := Decode(hx(tc.in), Limits{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A known field with the wrong wire type is skipped, as the Nim decoder
// does: a second lamport_timestamp written as bytes leaves the first.
func TestWrongWireTypeSkipped(t *testing.T) {
	m, _, err := Decode(hx("0a026d31 1001 220263 31 2a0178 1200 3a0101"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.LamportTimestamp != 1 || m.MessageID != "m1" || m.SenderID != "\x01" {
		t.Fatalf("%+v", m)
	}
}

func TestLenientDecoding(t *testing.T) {
	// Unknown fields of every supported wire type are skipped; duplicated
	// singular fields: the last wins; field number 0 and huge numbers are
	// unknown fields, as in the Nim decoder.
	in := hx("0a0178 0a026d31 1005 1001 22017a 22026331 2a0179 2a0178 3201aa 3200" +
		"b80601 f9060102030405060708 fd0601020304 fa060161 0001 f8ffffffffffffffff0101" +
		"1a0c0a026869 120101 1a016b 2001") // entry: id "hi", hint 01, sender "k", unknown varint
	m, f, err := Decode(in, Limits{})
	if err != nil || f != FormatNim {
		t.Fatalf("%v %v", f, err)
	}
	want := Message{
		MessageID: "m1", LamportTimestamp: 1, HasLamport: true, ChannelID: "c1", Content: []byte("x"),
		CausalHistory: []HistoryEntry{{MessageID: "hi", RetrievalHint: []byte{1}, SenderID: "k"}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("\n got %+v\nwant %+v", m, want)
	}
	// Empty content and channel are present fields in the Nim format.
	m, _, err = Decode(hx("0a00 1000 2200 2a00"), Limits{})
	if err != nil || m.Content == nil || len(m.Content) != 0 || m.BloomFilter != nil {
		t.Fatalf("%+v %v", m, err)
	}
	if ch, err := ChannelID(hx("0a00 1000 2200 2a00"), Limits{}); err != nil || ch != "" {
		t.Fatalf("ChannelID %q %v", ch, err)
	}
}

func TestLegacyBareStrings(t *testing.T) {
	// Mixed: a legacy bare id, a real entry, a bare id that could be misread
	// only if it started with 0x0a.
	m := Message{MessageID: "m", ChannelID: "c", HasLamport: true, LamportTimestamp: 1, Content: []byte{}}
	b := m.Marshal(FormatNim)
	for _, id := range []string{"legacy-id", "0123456789abcdef", "éèà"} {
		b = append(b, 0x1a, byte(len(id)))
		b = append(b, id...)
	}
	b = append(b, hx("1a040a02 7031")...)
	got, _, err := Decode(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got.CausalHistory {
		ids = append(ids, e.MessageID)
	}
	if strings.Join(ids, ",") != "legacy-id,0123456789abcdef,éèà,p1" {
		t.Fatalf("ids %q", ids)
	}
	// Bare ids obey MaxIDBytes.
	long := strings.Repeat("a", 20)
	b = append(m.Marshal(FormatNim), 0x1a, 20)
	b = append(b, long...)
	if _, _, err := Decode(b, Limits{MaxIDBytes: 19}); !errors.Is(err, ErrLimit) {
		t.Fatalf("err %v", err)
	}
	if _, _, err := Decode(b, Limits{MaxIDBytes: 20}); err != nil {
		t.Fatalf("err %v", err)
	}
	// RFC entries get no legacy treatment.
	r := Message{MessageID: "m", ChannelID: "c", HasLamport: true}
	rb := append(r.Marshal(FormatRFC), 0x5a, 3, 'a', 'b', 'c')
	if _, _, err := Decode(rb, Limits{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("rfc bare entry: %v", err)
	}
}

func TestDecodeCopiesInput(t *testing.T) {
	for _, f := range formats {
		m := sample()
		b := m.Marshal(f)
		got, _, err := Decode(b, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		bloomBefore := append([]byte(nil), got.BloomFilter...)
		for i := range b {
			b[i] = 0xee
		}
		got.BloomFilter = bloomBefore // the only field that aliases b
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%v: decoded fields changed with the input: %+v", f, got)
		}
		// Capacities are capped: appending to one field never clobbers another.
		s2 := sample()
		got2, _, _ := Decode(s2.Marshal(f), Limits{})
		if cap(got2.Content) != len(got2.Content) || cap(got2.BloomFilter) != len(got2.BloomFilter) ||
			cap(got2.CausalHistory[0].RetrievalHint) != len(got2.CausalHistory[0].RetrievalHint) ||
			cap(got2.CausalHistory) != len(got2.CausalHistory) {
			t.Fatalf("%v: uncapped slice", f)
		}
	}
}

func TestAllocations(t *testing.T) {
	m := sample()
	for _, f := range formats {
		buf := make([]byte, 0, m.EncodedLen(f))
		if n := testing.AllocsPerRun(100, func() { buf = m.Append(buf[:0], f) }); n != 0 {
			t.Errorf("%v: Append into a large enough buffer: %v allocs", f, n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = m.Append(nil, f) }); n != 1 {
			t.Errorf("%v: Append(nil): %v allocs", f, n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = m.Marshal(f) }); n != 1 {
			t.Errorf("%v: Marshal: %v allocs", f, n)
		}
		b := m.Marshal(f)
		// strings, content, hints, entries
		if n := testing.AllocsPerRun(100, func() { _, _, _ = Decode(b, Limits{}) }); n > 4 {
			t.Errorf("%v: Decode: %v allocs", f, n)
		}
	}
}

// limitCase builds, for a limit value n, a message that needs exactly n.
type limitCase struct {
	name  string
	set   func(l *Limits, n int)
	build func(n int) Message
	kind  error
}

func entries(n int) []HistoryEntry {
	es := make([]HistoryEntry, n)
	for i := range es {
		es[i].MessageID = "e" + strconv.Itoa(i)
	}
	return es
}

func base() Message {
	return Message{MessageID: "m", ChannelID: "c", HasLamport: true, LamportTimestamp: 1, Content: []byte("x")}
}

var limitCases = []limitCase{
	{"message id", func(l *Limits, n int) { l.MaxIDBytes = n },
		func(n int) Message { m := base(); m.MessageID = strings.Repeat("i", n); return m }, ErrLimit},
	{"channel id", func(l *Limits, n int) { l.MaxIDBytes = n },
		func(n int) Message { m := base(); m.ChannelID = strings.Repeat("c", n); return m }, ErrLimit},
	{"sender id", func(l *Limits, n int) { l.MaxIDBytes = n },
		func(n int) Message { m := base(); m.SenderID = strings.Repeat("s", n); return m }, ErrLimit},
	{"entry id", func(l *Limits, n int) { l.MaxIDBytes = n },
		func(n int) Message {
			m := base()
			m.CausalHistory = []HistoryEntry{{MessageID: strings.Repeat("e", n)}}
			return m
		}, ErrLimit},
	{"entry sender", func(l *Limits, n int) { l.MaxIDBytes = n },
		func(n int) Message {
			m := base()
			m.RepairRequest = []HistoryEntry{{MessageID: "r", SenderID: strings.Repeat("s", n)}}
			return m
		}, ErrLimit},
	{"hint", func(l *Limits, n int) { l.MaxHintBytes = n },
		func(n int) Message {
			m := base()
			m.CausalHistory = []HistoryEntry{{MessageID: "h", RetrievalHint: bytes.Repeat([]byte{7}, n)}}
			return m
		}, ErrLimit},
	{"history entries", func(l *Limits, n int) { l.MaxHistoryEntries = n },
		func(n int) Message { m := base(); m.CausalHistory = entries(n); return m }, ErrLimit},
	{"repair entries", func(l *Limits, n int) { l.MaxRepairEntries = n },
		func(n int) Message { m := base(); m.RepairRequest = entries(n); return m }, ErrLimit},
	{"bloom", func(l *Limits, n int) { l.MaxBloomBytes = n },
		func(n int) Message { m := base(); m.BloomFilter = bytes.Repeat([]byte{1}, n); return m }, ErrLimit},
	{"whole message", func(l *Limits, n int) { l.MaxMessageBytes = n },
		func(n int) Message { m := base(); m.Content = bytes.Repeat([]byte{1}, n); return m }, ErrTooLarge},
}

func TestLimits(t *testing.T) {
	for _, lc := range limitCases {
		for _, f := range formats {
			const n = 300
			var lim Limits
			lc.set(&lim, n)
			m := lc.build(n)
			b := m.Marshal(f)
			if lc.name == "whole message" {
				lim.MaxMessageBytes = len(b)
			}
			if _, _, err := Decode(b, lim); err != nil {
				t.Errorf("%s/%v: at the limit: %v", lc.name, f, err)
			}
			lc.set(&lim, n-1)
			if lc.name == "whole message" {
				lim.MaxMessageBytes = len(b) - 1
			}
			if _, _, err := Decode(b, lim); !errors.Is(err, lc.kind) {
				t.Errorf("%s/%v: over the limit: err = %v, want %v", lc.name, f, err, lc.kind)
			}
			_, cerr := ChannelID(b, lim)
			switch lc.name {
			case "channel id", "whole message":
				if !errors.Is(cerr, lc.kind) {
					t.Errorf("%s/%v: ChannelID over the limit: %v", lc.name, f, cerr)
				}
			default:
				if cerr != nil {
					t.Errorf("%s/%v: ChannelID: %v", lc.name, f, cerr)
				}
			}
		}
	}
}

func TestTooLargeCheckedFirst(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xff}, 100)
	if _, _, err := Decode(garbage, Limits{MaxMessageBytes: 99}); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if _, err := ChannelID(garbage, Limits{MaxMessageBytes: 99}); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	big := make([]byte, DefaultMaxMessageBytes+1)
	if _, _, err := Decode(big, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestEntryCountBailsEarly(t *testing.T) {
	// Entries past the limit are not parsed: a malformed entry after the
	// limit-crossing one is never seen.
	m := base()
	m.CausalHistory = entries(3)
	b := append(m.Marshal(FormatNim), 0x1a, 0x02, 0xff, 0xff)
	if _, _, err := Decode(b, Limits{MaxHistoryEntries: 2}); !errors.Is(err, ErrLimit) {
		t.Fatal(err)
	}
}

func TestChannelIDFormats(t *testing.T) {
	m := sample()
	for _, f := range formats {
		ch, err := ChannelID(m.Marshal(f), Limits{})
		if err != nil || ch != "chan" {
			t.Fatalf("%v: %q %v", f, ch, err)
		}
	}
	// RFC: absent channel id.
	r := Message{MessageID: "m", HasLamport: true}
	if _, err := ChannelID(r.Marshal(FormatRFC), Limits{}); !errors.Is(err, ErrMissingField) {
		t.Fatal(err)
	}
	// Channel id with the wrong wire type: skipped as Nim does, so absent.
	if _, err := ChannelID(hx("0a0161 1001 2001"), Limits{}); !errors.Is(err, ErrMissingField) {
		t.Fatal(err)
	}
	// Last occurrence wins.
	if ch, err := ChannelID(hx("0a0161 1001 220178 220179"), Limits{}); err != nil || ch != "y" {
		t.Fatal(ch, err)
	}
}

func TestManyEntries(t *testing.T) {
	// More entries than the first pass caches, interleaved, with and without
	// hints (an empty RFC hint included).
	for _, f := range formats {
		for _, n := range []int{cachedEntries - 2, cachedEntries + 5} {
			m := base()
			m.CausalHistory = entries(n)
			m.RepairRequest = entries(3)
			for i := range m.CausalHistory {
				if i%3 == 0 {
					m.CausalHistory[i].RetrievalHint = []byte{byte(i), 1}
				}
				if i%4 == 0 {
					m.CausalHistory[i].SenderID = "s" + strconv.Itoa(i)
				}
			}
			if f == FormatRFC {
				m.RepairRequest[1].RetrievalHint = []byte{}
			}
			m.RepairRequest[2].RetrievalHint = []byte("hint")
			b := m.Marshal(f)
			got, _, err := Decode(b, Limits{})
			if err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("%v/%d: %v\n got %+v\nwant %+v", f, n, err, got, m)
			}
			// History and repair fields written as varints are skipped in
			// both passes (a fuzzed message once crashed the second).
			histNum, repNum := uint64(nimCausalHistory), uint64(nimRepairRequest)
			if f == FormatRFC {
				histNum, repNum = rfcCausalHistory, rfcRepairRequest
			}
			var wrongTypes []byte
			for _, num := range []uint64{histNum, repNum} {
				wrongTypes = protowire.AppendVarint(protowire.AppendTag(wrongTypes, protowire.Number(num), protowire.VarintType), 7)
			}
			wrongTypes = append(wrongTypes, b...)
			got, _, err = Decode(wrongTypes, Limits{})
			if err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("%v/%d with entries of the wrong type: %v\n got %+v\nwant %+v", f, n, err, got, m)
			}
			var tagRepair byte = 0x6a
			one := append([]byte{tagRepair, 3, 0x0a, 1, 'z'}, b...) // a repair entry first
			got, _, err = Decode(one, Limits{})
			if err != nil || got.RepairRequest[0].MessageID != "z" || len(got.RepairRequest) != 4 ||
				!reflect.DeepEqual(got.CausalHistory, m.CausalHistory) {
				t.Fatalf("%v/%d interleaved: %v %+v", f, n, err, got.RepairRequest)
			}
		}
	}
}
