package persist

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds/wire"
)

func TestKeys(t *testing.T) {
	binID := string([]byte{0, 'O', 0xff, '/', 'L'})
	for _, c := range []struct {
		key  string
		kind recordKind
		id   string
	}{
		{LamportKey, kindLamport, ""},
		{OutgoingKey("m1"), kindOutgoing, "m1"},
		{IncomingKey(binID), kindIncoming, binID},
		{OutgoingRepairKey(""), kindOutgoingRepair, ""},
		{IncomingRepairKey("L"), kindIncomingRepair, "L"},
	} {
		k, id, err := parseKey(c.key, 0)
		if err != nil || k != c.kind || id != c.id {
			t.Errorf("parseKey(%q) = %v %q %v", c.key, k, id, err)
		}
	}
	if OutgoingKey("x") != "Ox" || IncomingKey("x") != "Ix" || OutgoingRepairKey("x") != "Qx" || IncomingRepairKey("x") != "Px" || LamportKey != "L" {
		t.Fatal("key encoding changed: it is part of the stored format")
	}
	for _, bad := range []string{"", "Lx", "Z1", "o1"} {
		if _, _, err := parseKey(bad, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseKey(%q): %v", bad, err)
		}
	}
	if _, _, err := parseKey(OutgoingKey(strings.Repeat("a", 1025)), 0); !errors.Is(err, ErrLimit) {
		t.Errorf("long id: %v", err)
	}
	if _, _, err := parseKey(OutgoingKey(strings.Repeat("a", 1024)), 0); err != nil {
		t.Errorf("1024-byte id: %v", err)
	}
	for _, k := range []recordKind{kindLamport, kindOutgoing, kindIncoming, kindOutgoingRepair, kindIncomingRepair, 'z'} {
		if k.String() == "" {
			t.Errorf("%d has no name", k)
		}
	}
}

func TestLamportRecord(t *testing.T) {
	for _, v := range []uint64{0, 1, 1234, 1<<63 - 1, 1<<64 - 1} {
		got, err := decodeLamport(encodeLamport(v))
		if err != nil || got != v {
			t.Errorf("%d: %d %v", v, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {0x80}, {0x80, 0x00}, {0x01, 0x02}} {
		if _, err := decodeLamport(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v", bad, err)
		}
	}
}

// The snapshot vector splits into records and assembles back byte for byte:
// this is how state moves between the Nim library and this one.
func TestVectorSplitAssemble(t *testing.T) {
	n := snapshotVectors(t)
	for _, h := range []string{n.Snapshot.ChannelMetaEmptyHex, n.Snapshot.ChannelMetaFullHex} {
		blob := vectors.Hex(h)
		recs, err := splitChannelMeta(blob, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := assembleChannelMeta(recs, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, blob) {
			t.Fatalf("assembled\n %x\nwant\n %x", got, blob)
		}
	}
	recs, _ := splitChannelMeta(vectors.Hex(n.Snapshot.ChannelMetaFullHex), Limits{})
	var keys []string
	for k := range recs {
		keys = append(keys, k)
	}
	want := map[string]bool{"L": true, "Oout1": true, "Iin1": true, "Qgap1": true, "Ph1": true}
	if len(keys) != len(want) {
		t.Fatalf("keys %q", keys)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected key %q", k)
		}
	}
	// The typed path gives the same records.
	typed, err := recordsOf(vecFullMeta())
	if err != nil || !reflect.DeepEqual(typed, recs) {
		t.Fatalf("recordsOf differs from the split: %v", err)
	}
	m, err := DecodeRecords(recs, Limits{})
	if err != nil || !bytes.Equal(m.Marshal(), vectors.Hex(n.Snapshot.ChannelMetaFullHex)) {
		t.Fatalf("DecodeRecords: %v", err)
	}

	data := vectors.Hex(n.Snapshot.ChannelDataHex)
	cd, err := ImportNim(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cd.Records, recs) || len(cd.History) != 2 {
		t.Fatalf("import: %+v", cd)
	}
	exp, err := ExportNim(cd, Limits{})
	if err != nil || !bytes.Equal(exp, data) {
		t.Fatalf("export\n %x\nwant\n %x\n%v", exp, data, err)
	}
}

// Assembly orders the outgoing buffer in send order and the others by id,
// whatever order the records come in.
func TestAssembleOrder(t *testing.T) {
	m := &ChannelMeta{Lamport: 500}
	for _, c := range []struct {
		id string
		ts uint64
	}{{"zz", 10}, {"aa", 30}, {"mm", 20}, {"ab", 30}} {
		m.Outgoing = append(m.Outgoing, UnacknowledgedMessage{Message: mkMsg(c.id, c.ts, nil)})
	}
	for _, id := range []string{"y", "b", "x"} {
		m.Incoming = append(m.Incoming, IncomingMessage{Message: mkMsg(id, 1, nil), MissingDeps: []string{"d"}})
		m.OutgoingRepair = append(m.OutgoingRepair, OutgoingRepairKV{MessageID: id, Entry: OutgoingRepairEntry{HistEntry: mkHistEntry(id)}})
		m.IncomingRepair = append(m.IncomingRepair, IncomingRepairKV{MessageID: id, Entry: IncomingRepairEntry{HistEntry: mkHistEntry(id), CachedMessage: []byte{}}})
	}
	recs, err := recordsOf(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeRecords(recs, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var outIDs, inIDs, orIDs, irIDs []string
	for _, u := range d.Outgoing {
		outIDs = append(outIDs, u.Message.MessageID)
	}
	for i := range d.Incoming {
		inIDs = append(inIDs, d.Incoming[i].Message.MessageID)
		orIDs = append(orIDs, d.OutgoingRepair[i].MessageID)
		irIDs = append(irIDs, d.IncomingRepair[i].MessageID)
	}
	if !reflect.DeepEqual(outIDs, []string{"zz", "mm", "aa", "ab"}) {
		t.Fatalf("outgoing order %q", outIDs)
	}
	for _, ids := range [][]string{inIDs, orIDs, irIDs} {
		if !reflect.DeepEqual(ids, []string{"b", "x", "y"}) {
			t.Fatalf("order %q", ids)
		}
	}
	blob, err := assembleChannelMeta(recs, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob, d.Marshal()) {
		t.Fatal("assembled blob differs from the decoded records' encoding")
	}
}

func TestRecordsRejected(t *testing.T) {
	u := UnacknowledgedMessage{Message: mkMsg("m1", 1, nil)}
	kv := OutgoingRepairKV{MessageID: "g", Entry: OutgoingRepairEntry{HistEntry: mkHistEntry("other")}}
	for name, recs := range map[string]map[string][]byte{
		"key names another id":          {OutgoingKey("m2"): u.marshal()},
		"kind holds another record":     {IncomingKey("g"): kv.marshal()},
		"repair entry names another id": {OutgoingRepairKey("g"): kv.marshal()},
		"unknown kind":                  {"X": {}},
		"bad lamport":                   {LamportKey: {0xff}},
		"garbage record":                {OutgoingKey("m1"): {0xff}},
	} {
		if _, err := DecodeRecords(recs, Limits{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeRecords: %v", name, err)
		}
		if _, err := assembleChannelMeta(recs, Limits{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Assemble: %v", name, err)
		}
		if err := Validate("chan", &ChannelData{Records: recs}, Limits{}); !errors.Is(err, ErrContract) {
			t.Errorf("%s: Validate: %v", name, err)
		}
	}
	// A Nim blob with two entries of one buffer for the same id cannot be
	// split into records.
	dup := &ChannelMeta{Outgoing: []UnacknowledgedMessage{u, u}}
	if _, err := splitChannelMeta(dup.Marshal(), Limits{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := recordsOf(dup); !errors.Is(err, ErrMalformed) {
		t.Fatalf("duplicate recordsOf: %v", err)
	}
	bad := &ChannelMeta{OutgoingRepair: []OutgoingRepairKV{kv}}
	if _, err := splitChannelMeta(bad.Marshal(), Limits{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("mismatched repair: %v", err)
	}
	if _, err := recordsOf(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("mismatched repair recordsOf: %v", err)
	}
}

func TestMetaDeltaLatestWins(t *testing.T) {
	var d MetaDelta
	if !d.IsEmpty() || (*MetaDelta)(nil).Len() != 0 {
		t.Fatal("zero delta not empty")
	}
	d.Put("a", []byte("1"))
	d.Delete("a") // delete after put: delete wins
	d.Delete("b")
	d.Put("b", []byte("2")) // put after delete: put wins
	d.Put("c", nil)
	if _, ok := d.Puts["a"]; ok {
		t.Fatal("put a survived its delete")
	}
	if _, ok := d.Deletes["a"]; !ok {
		t.Fatal("delete a lost")
	}
	if string(d.Puts["b"]) != "2" || len(d.Deletes) != 1 {
		t.Fatalf("%+v", d)
	}
	if v, ok := d.Puts["c"]; !ok || v == nil {
		t.Fatal("a nil value is stored as empty")
	}
	var later MetaDelta
	later.Put("a", []byte("3"))
	later.Delete("b")
	d.Merge(&later)
	d.Merge(nil)
	if string(d.Puts["a"]) != "3" || len(d.Deletes) != 1 || d.Len() != 3 {
		t.Fatalf("%+v", d)
	}
	if _, ok := d.Deletes["b"]; !ok {
		t.Fatal("merge lost delete b")
	}

	var typed MetaDelta
	typed.PutLamport(9)
	u := UnacknowledgedMessage{Message: mkMsg("o", 9, nil)}
	typed.PutOutgoing(&u)
	in := IncomingMessage{Message: mkMsg("i", 1, nil)}
	typed.PutIncoming(&in)
	or := OutgoingRepairKV{MessageID: "q", Entry: OutgoingRepairEntry{HistEntry: mkHistEntry("q")}}
	typed.PutOutgoingRepair(&or)
	ir := IncomingRepairKV{MessageID: "p", Entry: IncomingRepairEntry{HistEntry: mkHistEntry("p"), CachedMessage: []byte{}}}
	typed.PutIncomingRepair(&ir)
	m, err := DecodeRecords(typed.Puts, Limits{})
	if err != nil || m.Lamport != 9 || len(m.Outgoing)+len(m.Incoming)+len(m.OutgoingRepair)+len(m.IncomingRepair) != 4 {
		t.Fatalf("%+v %v", m, err)
	}
	typed.DeleteOutgoing("o")
	typed.DeleteIncoming("i")
	typed.DeleteOutgoingRepair("q")
	typed.DeleteIncomingRepair("p")
	if len(typed.Puts) != 1 || len(typed.Deletes) != 4 {
		t.Fatalf("%+v", typed)
	}
}

func TestHistoryUpdateBuilder(t *testing.T) {
	var u HistoryUpdate
	u.AppendMessage(mkMsg("a", 1, nil))
	u.AppendMessage(mkMsg("b", 2, nil))
	u.EvictID("a")                        // evict after append: the append is cancelled
	u.EvictID("old")                      //
	u.AppendMessage(mkMsg("old", 3, nil)) // append after evict: the evict is cancelled
	u.AppendMessage(mkMsg("b", 4, nil))   // re-append moves to the end
	var ids []string
	for _, m := range u.Append {
		ids = append(ids, m.MessageID)
	}
	if !reflect.DeepEqual(ids, []string{"old", "b"}) || !reflect.DeepEqual(u.Evict, []string{"a"}) || u.Append[1].LamportTimestamp != 4 {
		t.Fatalf("%q %q", ids, u.Evict)
	}
}

func TestValidate(t *testing.T) {
	const ch = "chan"
	good := func() *ChannelData {
		var d MetaDelta
		d.PutLamport(100)
		u := UnacknowledgedMessage{Message: mkMsg("sent", 90, nil)}
		d.PutOutgoing(&u)
		in := IncomingMessage{Message: mkMsg("waiting", 95, nil), MissingDeps: []string{"gap", "h1"}}
		d.PutIncoming(&in)
		return &ChannelData{
			Records: d.Puts,
			History: []wire.Message{mkMsg("h1", 10, nil), mkMsg("sent", 90, nil), mkMsg("h0", 5, nil)},
		}
	}
	if err := Validate(ch, good(), Limits{}); err != nil {
		t.Fatalf("good data refused: %v", err)
	}
	if err := Validate(ch, nil, Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := Validate(ch, &ChannelData{}, Limits{}); err != nil {
		t.Fatal(err)
	}
	for name, spoil := range map[string]func(d *ChannelData){
		"duplicate in history": func(d *ChannelData) { d.History = append(d.History, mkMsg("h1", 10, nil)) },
		"other channel":        func(d *ChannelData) { d.History[0].ChannelID = "other" },
		"history ahead of clock": func(d *ChannelData) {
			d.History = append(d.History, mkMsg("new", 101, nil))
		},
		"outgoing ahead of clock": func(d *ChannelData) {
			u := UnacknowledgedMessage{Message: mkMsg("x", 200, nil)}
			d.Records[OutgoingKey("x")] = u.marshal()
		},
		"buffered and delivered": func(d *ChannelData) { d.History = append(d.History, mkMsg("waiting", 95, nil)) },
		"record under wrong key": func(d *ChannelData) {
			d.Records[OutgoingKey("y")] = d.Records[OutgoingKey("sent")]
		},
		"outgoing of other channel": func(d *ChannelData) {
			m := mkMsg("x", 1, nil)
			m.ChannelID = "other"
			u := UnacknowledgedMessage{Message: m}
			d.Records[OutgoingKey("x")] = u.marshal()
		},
		"incoming of other channel": func(d *ChannelData) {
			m := mkMsg("x", 1, nil)
			m.ChannelID = "other"
			in := IncomingMessage{Message: m}
			d.Records[IncomingKey("x")] = in.marshal()
		},
	} {
		d := good()
		spoil(d)
		err := Validate(ch, d, Limits{})
		if !errors.Is(err, ErrContract) || !IsContract(err) {
			t.Errorf("%s: %v", name, err)
		} else if !strings.Contains(err.Error(), `"chan"`) {
			t.Errorf("%s: error does not name the channel: %v", name, err)
		}
	}
	// The clock is compared with timestamps capped at MaxInt64, as the
	// manager caps its clock.
	d := good()
	var md MetaDelta
	md.PutLamport(1<<63 - 1)
	d.Records[LamportKey] = md.Puts[LamportKey]
	d.History = append(d.History, mkMsg("far", 1<<64-1, nil))
	if err := Validate(ch, d, Limits{}); err != nil {
		t.Fatal(err)
	}
}

// The snapshot vector is a codec sample, not a real channel state: its
// "in1" is both buffered and delivered, which Validate refuses.
func TestValidateFlagsVectorSample(t *testing.T) {
	cd, err := ImportNim(vectors.Hex(snapshotVectors(t).Snapshot.ChannelDataHex), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate("c1", cd, Limits{}); !errors.Is(err, ErrContract) || !strings.Contains(err.Error(), `"in1"`) {
		t.Fatalf("%v", err)
	}
	delete(cd.Records, IncomingKey("in1"))
	if err := Validate("c1", cd, Limits{}); err != nil {
		t.Fatal(err)
	}
}
