package persist

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds/internal/protofield"
	"github.com/libsds-go/libsds/sds/wire"
)

func snapshotVectors(t testing.TB) *vectors.Nim {
	t.Helper()
	n := vectors.Must(t, vectors.LoadNim)
	return n
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The records the snapshot vectors describe (see their note).
func vecOut1() wire.Message {
	return wire.Message{
		MessageID: "out1", LamportTimestamp: 100, HasLamport: true,
		CausalHistory: []wire.HistoryEntry{{MessageID: "h1"}},
		ChannelID:     "c1", Content: []byte("a"),
		BloomFilter: mustHex("0a082100000000200000100a18a08d0620032832"),
		SenderID:    "me",
	}
}

func vecIn1() wire.Message {
	return wire.Message{
		MessageID: "in1", LamportTimestamp: 200, HasLamport: true,
		CausalHistory: []wire.HistoryEntry{{MessageID: "gap1"}, {MessageID: "gap2"}},
		ChannelID:     "c1", Content: []byte("b"),
		SenderID: "peer",
	}
}

func vecFullMeta() *ChannelMeta {
	out1 := vecOut1()
	return &ChannelMeta{
		SchemaVersion: SchemaVersion,
		Lamport:       1234,
		Outgoing:      []UnacknowledgedMessage{{Message: out1, SendTimeMs: 1700000000123, ResendAttempts: 2}},
		Incoming:      []IncomingMessage{{Message: vecIn1(), MissingDeps: []string{"gap1"}}},
		OutgoingRepair: []OutgoingRepairKV{{MessageID: "gap1", Entry: OutgoingRepairEntry{
			HistEntry: wire.HistoryEntry{MessageID: "gap1", SenderID: "peer"}, MinTimeRepairReqMs: 1700000030000,
		}}},
		IncomingRepair: []IncomingRepairKV{{MessageID: "h1", Entry: IncomingRepairEntry{
			HistEntry:     wire.HistoryEntry{MessageID: "h1", SenderID: "x"},
			CachedMessage: out1.Marshal(wire.FormatNim), MinTimeRepairRespMs: 1700000060500,
		}}},
	}
}

// messagesEqual compares messages as the Nim format carries them.
func messagesEqual(a, b *wire.Message) bool {
	return bytes.Equal(a.Marshal(wire.FormatNim), b.Marshal(wire.FormatNim))
}

func TestVectorChannelMetaEmpty(t *testing.T) {
	want := vectors.Hex(snapshotVectors(t).Snapshot.ChannelMetaEmptyHex)
	if got := (&ChannelMeta{}).Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("empty meta = %x, want %x", got, want)
	}
	m, err := decodeChannelMeta(want, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != SchemaVersion || m.Lamport != 0 || len(m.Outgoing)+len(m.Incoming)+len(m.OutgoingRepair)+len(m.IncomingRepair) != 0 {
		t.Fatalf("decoded %+v", m)
	}
}

func TestVectorChannelMetaFull(t *testing.T) {
	want := vectors.Hex(snapshotVectors(t).Snapshot.ChannelMetaFullHex)
	built := vecFullMeta()
	if got := built.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("full meta built from the note:\n got %x\nwant %x", got, want)
	}
	m, err := decodeChannelMeta(want, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("decode+encode:\n got %x\nwant %x", got, want)
	}
	// Field by field, as the note says.
	if m.Lamport != 1234 || len(m.Outgoing) != 1 || len(m.Incoming) != 1 || len(m.OutgoingRepair) != 1 || len(m.IncomingRepair) != 1 {
		t.Fatalf("decoded %+v", m)
	}
	u := m.Outgoing[0]
	if u.Message.MessageID != "out1" || u.SendTimeMs != 1700000000123 || u.ResendAttempts != 2 {
		t.Fatalf("outgoing %+v", u)
	}
	if in := m.Incoming[0]; in.Message.MessageID != "in1" || !reflect.DeepEqual(in.MissingDeps, []string{"gap1"}) {
		t.Fatalf("incoming %+v", in)
	}
	if r := m.OutgoingRepair[0]; r.MessageID != "gap1" || r.Entry.HistEntry.SenderID != "peer" || r.Entry.MinTimeRepairReqMs != 1700000030000 {
		t.Fatalf("outgoing repair %+v", r)
	}
	r := m.IncomingRepair[0]
	if r.MessageID != "h1" || r.Entry.HistEntry.SenderID != "x" || r.Entry.MinTimeRepairRespMs != 1700000060500 {
		t.Fatalf("incoming repair %+v", r)
	}
	out1 := vecOut1()
	if !bytes.Equal(r.Entry.CachedMessage, out1.Marshal(wire.FormatNim)) {
		t.Fatalf("cached message %x", r.Entry.CachedMessage)
	}
	if !messagesEqual(&u.Message, &out1) {
		t.Fatalf("out1 decoded as %+v", u.Message)
	}
	// Decoding copies: the result survives the input being overwritten.
	in := bytes.Clone(want)
	m2, err := decodeChannelMeta(in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	clear(in)
	if got := m2.Marshal(); !bytes.Equal(got, want) {
		t.Fatal("decoded meta aliases its input")
	}
}

func TestVectorChannelData(t *testing.T) {
	want := vectors.Hex(snapshotVectors(t).Snapshot.ChannelDataHex)
	built := &nimChannelData{Meta: *vecFullMeta(), History: []wire.Message{vecOut1(), vecIn1()}}
	if got := built.marshal(); !bytes.Equal(got, want) {
		t.Fatalf("channel data built from the note:\n got %x\nwant %x", got, want)
	}
	d, err := decodeNimChannelData(want, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.History) != 2 || d.History[0].MessageID != "out1" || d.History[1].MessageID != "in1" {
		t.Fatalf("history %+v", d.History)
	}
	if got := d.marshal(); !bytes.Equal(got, want) {
		t.Fatalf("decode+encode:\n got %x\nwant %x", got, want)
	}
}

func TestVectorHistoryUpdate(t *testing.T) {
	want := vectors.Hex(snapshotVectors(t).Snapshot.HistoryUpdateHex)
	built := &HistoryUpdate{Append: []wire.Message{vecOut1()}, Evict: []string{"old1", "old2"}}
	if got := built.marshal(); !bytes.Equal(got, want) {
		t.Fatalf("history update built from the note:\n got %x\nwant %x", got, want)
	}
	u, err := decodeHistoryUpdate(want, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Append) != 1 || u.Append[0].MessageID != "out1" || !reflect.DeepEqual(u.Evict, []string{"old1", "old2"}) {
		t.Fatalf("decoded %+v", u)
	}
	if got := u.marshal(); !bytes.Equal(got, want) {
		t.Fatalf("decode+encode:\n got %x\nwant %x", got, want)
	}
}

// Ports of the Nim tests/test_snapshot_codec.nim scenarios.

func mkMsg(id string, ts uint64, content []byte) wire.Message {
	if content == nil {
		content = []byte{}
	}
	return wire.Message{MessageID: id, LamportTimestamp: ts, HasLamport: true, ChannelID: "chan", Content: content, SenderID: "alice"}
}

func mkHistEntry(id string) wire.HistoryEntry {
	return wire.HistoryEntry{MessageID: id, SenderID: "alice"}
}

func roundTripMeta(t *testing.T, m *ChannelMeta) *ChannelMeta {
	t.Helper()
	b := m.Marshal()
	d, err := decodeChannelMeta(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Marshal(), b) {
		t.Fatal("re-encoding differs")
	}
	return d
}

func TestMetaEmptyRoundTrip(t *testing.T) {
	d := roundTripMeta(t, &ChannelMeta{SchemaVersion: SchemaVersion})
	if d.SchemaVersion != SchemaVersion || d.Lamport != 0 || len(d.Outgoing)+len(d.Incoming)+len(d.OutgoingRepair)+len(d.IncomingRepair) != 0 {
		t.Fatalf("%+v", d)
	}
}

func TestMetaSingleOutgoing(t *testing.T) {
	m := &ChannelMeta{Lamport: 42, Outgoing: []UnacknowledgedMessage{{
		Message: mkMsg("m1", 42, []byte{1, 2, 3}), SendTimeMs: 1_700_000_000_000, ResendAttempts: 2,
	}}}
	d := roundTripMeta(t, m)
	u := d.Outgoing[0]
	if d.Lamport != 42 || len(d.Outgoing) != 1 || u.Message.MessageID != "m1" ||
		!bytes.Equal(u.Message.Content, []byte{1, 2, 3}) || u.ResendAttempts != 2 || u.SendTimeMs/1000 != 1_700_000_000 {
		t.Fatalf("%+v", d)
	}
}

func TestMetaIncomingWithDeps(t *testing.T) {
	m := &ChannelMeta{Incoming: []IncomingMessage{{Message: mkMsg("m2", 1, nil), MissingDeps: []string{"dep1", "dep2"}}}}
	d := roundTripMeta(t, m)
	if len(d.Incoming) != 1 || d.Incoming[0].Message.MessageID != "m2" || !reflect.DeepEqual(d.Incoming[0].MissingDeps, []string{"dep1", "dep2"}) {
		t.Fatalf("%+v", d.Incoming)
	}
}

func TestMetaRepairBuffers(t *testing.T) {
	m := &ChannelMeta{
		OutgoingRepair: []OutgoingRepairKV{{MessageID: "missing1", Entry: OutgoingRepairEntry{HistEntry: mkHistEntry("missing1"), MinTimeRepairReqMs: 1_700_000_100_000}}},
		IncomingRepair: []IncomingRepairKV{{MessageID: "requested1", Entry: IncomingRepairEntry{HistEntry: mkHistEntry("requested1"), CachedMessage: []byte{9, 8, 7, 6}, MinTimeRepairRespMs: 1_700_000_200_000}}},
	}
	d := roundTripMeta(t, m)
	if !reflect.DeepEqual(d.OutgoingRepair, m.OutgoingRepair) || !reflect.DeepEqual(d.IncomingRepair, m.IncomingRepair) {
		t.Fatalf("%+v\n%+v", d.OutgoingRepair, d.IncomingRepair)
	}
}

// fullBuffer is the Nim "fully-populated meta" case: several entries in
// every buffer.
func fullBuffer() *ChannelMeta {
	m := &ChannelMeta{Lamport: 999}
	for i := range 5 {
		m.Outgoing = append(m.Outgoing, UnacknowledgedMessage{
			Message: mkMsg("o"+string(rune('0'+i)), uint64(i), []byte{byte(i)}), SendTimeMs: int64(1_700_000_000+i) * 1000, ResendAttempts: uint32(i),
		})
	}
	for i := range 3 {
		m.Incoming = append(m.Incoming, IncomingMessage{Message: mkMsg("i"+string(rune('0'+i)), uint64(100+i), nil), MissingDeps: []string{"dep" + string(rune('0'+i))}})
	}
	for i := range 4 {
		id := "or" + string(rune('0'+i))
		m.OutgoingRepair = append(m.OutgoingRepair, OutgoingRepairKV{MessageID: id, Entry: OutgoingRepairEntry{HistEntry: mkHistEntry(id), MinTimeRepairReqMs: int64(1_700_000_300+i) * 1000}})
	}
	for i := range 2 {
		id := "ir" + string(rune('0'+i))
		m.IncomingRepair = append(m.IncomingRepair, IncomingRepairKV{MessageID: id, Entry: IncomingRepairEntry{HistEntry: mkHistEntry(id), CachedMessage: []byte{byte(i), byte(i + 1)}, MinTimeRepairRespMs: int64(1_700_000_400+i) * 1000}})
	}
	return m
}

func TestMetaFullBuffer(t *testing.T) {
	d := roundTripMeta(t, fullBuffer())
	if d.Lamport != 999 || len(d.Outgoing) != 5 || len(d.Incoming) != 3 || len(d.OutgoingRepair) != 4 || len(d.IncomingRepair) != 2 {
		t.Fatalf("%+v", d)
	}
	if d.Outgoing[4].Message.MessageID != "o4" || d.Outgoing[4].ResendAttempts != 4 || d.OutgoingRepair[3].MessageID != "or3" ||
		!bytes.Equal(d.IncomingRepair[1].Entry.CachedMessage, []byte{1, 2}) {
		t.Fatalf("%+v", d)
	}
}

func TestMetaRepairHeavy(t *testing.T) {
	m := &ChannelMeta{Lamport: 7}
	for i := range 200 {
		id := string(rune('A'+i%26)) + string(rune('a'+i/26))
		cached := mkMsg(id, uint64(i), bytes.Repeat([]byte{byte(i)}, 100))
		m.OutgoingRepair = append(m.OutgoingRepair, OutgoingRepairKV{MessageID: "g" + id, Entry: OutgoingRepairEntry{
			HistEntry: wire.HistoryEntry{MessageID: "g" + id, RetrievalHint: []byte("hint-" + id), SenderID: "s"}, MinTimeRepairReqMs: int64(i),
		}})
		m.IncomingRepair = append(m.IncomingRepair, IncomingRepairKV{MessageID: id, Entry: IncomingRepairEntry{
			HistEntry: mkHistEntry(id), CachedMessage: cached.Marshal(wire.FormatNim), MinTimeRepairRespMs: -int64(i), // pre-1970 still round-trips
		}})
	}
	d := roundTripMeta(t, m)
	if !reflect.DeepEqual(d.OutgoingRepair, m.OutgoingRepair) || !reflect.DeepEqual(d.IncomingRepair, m.IncomingRepair) {
		t.Fatal("repair buffers differ after the round trip")
	}
}

func TestMetaRejectsUnknownSchemaVersion(t *testing.T) {
	for _, v := range []uint32{2, 999, 0xffffffff} {
		b := (&ChannelMeta{SchemaVersion: v, Lamport: 5}).Marshal()
		_, err := decodeChannelMeta(b, Limits{})
		if !errors.Is(err, ErrSchemaVersion) {
			t.Fatalf("version %d: err %v, want ErrSchemaVersion", v, err)
		}
		if _, err := splitChannelMeta(b, Limits{}); !errors.Is(err, ErrSchemaVersion) {
			t.Fatalf("split, version %d: err %v", v, err)
		}
		nd := protofield.AppendBytes(nil, 1, b)
		if _, err := decodeNimChannelData(nd, Limits{}); !errors.Is(err, ErrSchemaVersion) {
			t.Fatalf("channel data, version %d: err %v", v, err)
		}
		if _, err := ImportNim(nd, Limits{}); !errors.Is(err, ErrSchemaVersion) {
			t.Fatalf("import, version %d: err %v", v, err)
		}
	}
	// Version 0 written explicitly (not the zero-value default) is refused too.
	b := protofield.AppendVarint(protofield.AppendVarint(nil, 1, 0), 2, 0)
	if _, err := decodeChannelMeta(b, Limits{}); !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("version 0: %v", err)
	}
}

func TestChannelDataEmptyAndOrder(t *testing.T) {
	b := (&nimChannelData{}).marshal()
	d, err := decodeNimChannelData(b, Limits{})
	if err != nil || d.Meta.SchemaVersion != SchemaVersion || len(d.History) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
	in := &nimChannelData{Meta: ChannelMeta{Lamport: 17}, History: []wire.Message{mkMsg("h1", 1, nil), mkMsg("h2", 2, nil), mkMsg("h3", 3, nil)}}
	d, err = decodeNimChannelData(in.marshal(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Meta.Lamport != 17 || len(d.History) != 3 || d.History[0].MessageID != "h1" || d.History[1].MessageID != "h2" || d.History[2].MessageID != "h3" {
		t.Fatalf("%+v", d)
	}
}

func TestHistoryUpdateVariants(t *testing.T) {
	if !(&HistoryUpdate{}).IsEmpty() || !(*HistoryUpdate)(nil).IsEmpty() {
		t.Fatal("empty update not empty")
	}
	if n := len((&HistoryUpdate{}).marshal()); n != 0 {
		t.Fatalf("empty update encodes to %d bytes", n)
	}
	for name, u := range map[string]*HistoryUpdate{
		"append-only": {Append: []wire.Message{mkMsg("a1", 1, nil), mkMsg("a2", 2, nil)}},
		"evict-only":  {Evict: []string{"e1", "e2", "e3"}},
		"mixed":       {Append: []wire.Message{mkMsg("new", 1, nil)}, Evict: []string{"old1", "old2"}},
	} {
		d, err := decodeHistoryUpdate(u.marshal(), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(d.Append) != len(u.Append) || !reflect.DeepEqual(d.Evict, u.Evict) && len(u.Evict) > 0 {
			t.Fatalf("%s: %+v", name, d)
		}
		for i := range u.Append {
			if !messagesEqual(&d.Append[i], &u.Append[i]) {
				t.Fatalf("%s: append %d differs", name, i)
			}
		}
	}
}

func TestDecodeRequiredFields(t *testing.T) {
	msg := mkMsg("m", 1, nil)
	mb := msg.Marshal(wire.FormatNim)
	cases := map[string]struct {
		b   []byte
		dec func([]byte) error
	}{
		"meta without version":     {protofield.AppendVarint(nil, 2, 1), func(b []byte) error { _, err := decodeChannelMeta(b, Limits{}); return err }},
		"meta without lamport":     {protofield.AppendVarint(nil, 1, 1), func(b []byte) error { _, err := decodeChannelMeta(b, Limits{}); return err }},
		"unacked without message":  {protofield.AppendVarint(nil, 2, 1), func(b []byte) error { _, err := decodeUnacked(b, normed(Limits{})); return err }},
		"unacked without sendTime": {protofield.AppendBytes(nil, 1, mb), func(b []byte) error { _, err := decodeUnacked(b, normed(Limits{})); return err }},
		"unacked with RFC message": {protofield.AppendVarint(protofield.AppendBytes(nil, 1, msg.Marshal(wire.FormatRFC)), 2, 1), func(b []byte) error { _, err := decodeUnacked(b, normed(Limits{})); return err }},
		"incoming without message": {protofield.AppendString(nil, 2, "d"), func(b []byte) error { _, err := decodeIncoming(b, normed(Limits{})); return err }},
		"out repair without entry": {protofield.AppendString(nil, 1, "x"), func(b []byte) error { _, err := decodeOutRepair(b, normed(Limits{})); return err }},
		"out repair entry without time": {protofield.AppendBytes(protofield.AppendString(nil, 1, "x"), 2, protofield.AppendBytes(nil, 1, protofield.AppendString(nil, 1, "x"))),
			func(b []byte) error { _, err := decodeOutRepair(b, normed(Limits{})); return err }},
		"out repair hist entry without id": {protofield.AppendBytes(protofield.AppendString(nil, 1, "x"), 2, protofield.AppendVarint(protofield.AppendBytes(nil, 1, protofield.AppendString(nil, 3, "s")), 2, 1)),
			func(b []byte) error { _, err := decodeOutRepair(b, normed(Limits{})); return err }},
		"in repair without cached": {protofield.AppendBytes(protofield.AppendString(nil, 1, "x"), 2, protofield.AppendVarint(protofield.AppendBytes(nil, 1, protofield.AppendString(nil, 1, "x")), 3, 1)),
			func(b []byte) error { _, err := decodeInRepair(b, normed(Limits{})); return err }},
		"channel data without meta":  {protofield.AppendBytes(nil, 2, mb), func(b []byte) error { _, err := decodeNimChannelData(b, Limits{}); return err }},
		"history update bad message": {protofield.AppendBytes(nil, 1, []byte{0x0a}), func(b []byte) error { _, err := decodeHistoryUpdate(b, Limits{}); return err }},
		"over-long varint":           {[]byte{0x88, 0x00, 0x01}, func(b []byte) error { _, err := decodeChannelMeta(b, Limits{}); return err }},
		"group":                      {[]byte{0x0b}, func(b []byte) error { _, err := decodeChannelMeta(b, Limits{}); return err }},
		"truncated":                  {[]byte{0x1a, 0x05, 0x00}, func(b []byte) error { _, err := decodeChannelMeta(b, Limits{}); return err }},
	}
	for name, c := range cases {
		if err := c.dec(c.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	// Unknown fields are skipped, a known field of the wrong wire type is
	// skipped, and the last occurrence of a single field wins, as in Nim.
	b := protofield.AppendVarint(nil, 1, 1)
	b = protofield.AppendVarint(b, 2, 5)
	b = protofield.AppendString(b, 2, "wrong type")
	b = protofield.AppendVarint(b, 99, 1)
	b = protofield.AppendVarint(b, 2, 6)
	b = protofield.AppendVarint(b, 3, 1) // buffer entry with the wrong wire type
	m, err := decodeChannelMeta(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Lamport != 6 || len(m.Outgoing) != 0 {
		t.Fatalf("%+v", m)
	}
	// Repeated missing dependencies form a set.
	in := IncomingMessage{Message: mkMsg("m", 1, nil), MissingDeps: []string{"a", "b", "a"}}
	got, err := decodeIncoming(in.marshal(), normed(Limits{}))
	if err != nil || !reflect.DeepEqual(got.MissingDeps, []string{"a", "b"}) {
		t.Fatalf("%v %v", got.MissingDeps, err)
	}
}

func TestDecodeLimits(t *testing.T) {
	lim := Limits{MaxBlobBytes: 64, MaxRecordBytes: 64, MaxMissingDeps: 2, MaxEntries: 2, Wire: wire.Limits{MaxIDBytes: 4, MaxHintBytes: 4}}
	big := fullBuffer().Marshal()
	if _, err := decodeChannelMeta(big, lim); !errors.Is(err, ErrLimit) {
		t.Fatalf("blob size: %v", err)
	}
	lim.MaxBlobBytes = 1 << 20
	if _, err := decodeChannelMeta(big, lim); !errors.Is(err, ErrLimit) {
		t.Fatalf("entries: %v", err)
	}
	in := IncomingMessage{Message: mkMsg("m", 1, nil), MissingDeps: []string{"a", "b", "c"}}
	if _, err := decodeIncoming(in.marshal(), normed(lim)); !errors.Is(err, ErrLimit) {
		t.Fatalf("deps: %v", err)
	}
	in.MissingDeps = []string{"toolong"}
	if _, err := decodeIncoming(in.marshal(), normed(lim)); !errors.Is(err, ErrLimit) {
		t.Fatalf("dep id: %v", err)
	}
	kv := OutgoingRepairKV{MessageID: "x", Entry: OutgoingRepairEntry{HistEntry: wire.HistoryEntry{MessageID: "x", RetrievalHint: []byte("longhint")}}}
	if _, err := decodeOutRepair(kv.marshal(), normed(lim)); !errors.Is(err, ErrLimit) {
		t.Fatalf("hint: %v", err)
	}
	u := UnacknowledgedMessage{Message: mkMsg("m", 1, make([]byte, 100))}
	if _, err := decodeUnacked(u.marshal(), normed(lim)); !errors.Is(err, ErrLimit) {
		t.Fatalf("record size: %v", err)
	}
	hu := &HistoryUpdate{Evict: []string{"a", "b", "c"}}
	if _, err := decodeHistoryUpdate(hu.marshal(), lim); !errors.Is(err, ErrLimit) {
		t.Fatalf("evictions: %v", err)
	}
	d := &nimChannelData{History: []wire.Message{mkMsg("a", 1, nil), mkMsg("b", 1, nil), mkMsg("c", 1, nil)}}
	if _, err := decodeNimChannelData(d.marshal(), lim); !errors.Is(err, ErrLimit) {
		t.Fatalf("history: %v", err)
	}
	// Embedded messages obey the wire limits.
	lim = Limits{Wire: wire.Limits{MaxMessageBytes: 16}}
	u = UnacknowledgedMessage{Message: mkMsg("m", 1, make([]byte, 100))}
	if _, err := decodeUnacked(u.marshal(), normed(lim)); !errors.Is(err, ErrLimit) || !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("wire limit: %v", err)
	}
}

func TestResendAttemptsOverflow(t *testing.T) {
	msg := mkMsg("m", 1, nil)
	b := protofield.AppendBytes(nil, 1, msg.Marshal(wire.FormatNim))
	b = protofield.AppendVarint(b, 2, 1)
	b = protofield.AppendVarint(b, 3, 1<<32)
	if _, err := decodeUnacked(b, normed(Limits{})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v", err)
	}
}

// A nested record's length is written after the record: around each
// varint size boundary the encoding is the one protowire's length-first
// encoder gives, and it decodes back.
func TestAppendNestedLengths(t *testing.T) {
	for _, n := range []int{0, 100, 127, 128, 16383, 16384, 1 << 21} {
		u := UnacknowledgedMessage{Message: wire.Message{
			MessageID: "m", HasLamport: true, LamportTimestamp: 1, ChannelID: "c",
			Content: bytes.Repeat([]byte{7}, n),
		}}
		m := &ChannelMeta{Lamport: 1, Outgoing: []UnacknowledgedMessage{u}}
		want := protowire.AppendVarint(nil, protowire.EncodeTag(1, protowire.VarintType))
		want = protowire.AppendVarint(want, uint64(SchemaVersion))
		want = protowire.AppendVarint(want, protowire.EncodeTag(2, protowire.VarintType))
		want = protowire.AppendVarint(want, 1)
		want = protowire.AppendTag(want, 3, protowire.BytesType)
		want = protowire.AppendBytes(want, u.marshal())
		got := m.Marshal()
		if !bytes.Equal(got, want) {
			t.Fatalf("content %d: encoding differs from the length-first one", n)
		}
		if _, err := decodeChannelMeta(got, Limits{Wire: wire.Limits{MaxMessageBytes: 4 << 20}, MaxRecordBytes: 8 << 20}); err != nil {
			t.Fatalf("content %d: %v", n, err)
		}
	}
}

// normed returns l with its defaults filled in, as the decoders take it.
func normed(l Limits) *Limits {
	l = l.norm()
	return &l
}
