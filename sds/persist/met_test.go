package persist

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestMetRecords(t *testing.T) {
	if metKey("x") != "Mx" {
		t.Fatal("met key encoding changed: it is part of the stored format")
	}
	if k, id, err := parseKey(metKey("a\x00b"), 0); err != nil || k != kindMet || id != "a\x00b" || k.String() != "met" {
		t.Fatalf("parseKey: %v %q %v", k, id, err)
	}
	u := UnacknowledgedMessage{Message: mkMsg("m1", 1, nil)}
	var d MetaDelta
	d.PutLamport(7)
	d.PutOutgoing(&u)
	d.PutMet(&MetRecord{ID: "late", Seq: 9, InFilter: true})
	d.PutMet(&MetRecord{ID: "early", Seq: 2})
	d.PutMet(&MetRecord{ID: "tie", Seq: 2})
	recs := d.Puts

	got, err := DecodeMetRecords(recs, Limits{})
	want := []MetRecord{{ID: "early", Seq: 2}, {ID: "tie", Seq: 2}, {ID: "late", Seq: 9, InFilter: true}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeMetRecords = %+v, %v", got, err)
	}
	// The Nim views leave the met records out.
	meta, err := DecodeRecords(recs, Limits{})
	if err != nil || meta.Lamport != 7 || len(meta.Outgoing) != 1 {
		t.Fatalf("DecodeRecords: %+v %v", meta, err)
	}
	nimOnly := map[string][]byte{LamportKey: recs[LamportKey], OutgoingKey("m1"): recs[OutgoingKey("m1")]}
	a, err := assembleChannelMeta(recs, Limits{})
	b, _ := assembleChannelMeta(nimOnly, Limits{})
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("assembleChannelMeta includes met records: %v", err)
	}
	ea, err := ExportNim(&ChannelData{Records: recs}, Limits{})
	eb, _ := ExportNim(&ChannelData{Records: nimOnly}, Limits{})
	if err != nil || !bytes.Equal(ea, eb) {
		t.Fatalf("ExportNim includes met records: %v", err)
	}
	if err := Validate("chan", &ChannelData{Records: recs}, Limits{}); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var del MetaDelta
	del.PutMet(&MetRecord{ID: "x", Seq: 1})
	del.DeleteMet("x")
	if del.Len() != 1 || del.Deletes[metKey("x")] != struct{}{} {
		t.Fatalf("DeleteMet: %+v", del)
	}

	for name, v := range map[string][]byte{
		"no seq":  {},
		"garbage": {0xff},
		"flag only": func() []byte {
			r := (&MetRecord{Seq: 1, InFilter: true}).marshal()
			return r[2:]
		}(),
	} {
		bad := map[string][]byte{metKey("x"): v}
		if _, err := DecodeMetRecords(bad, Limits{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeMetRecords: %v", name, err)
		}
		if err := Validate("chan", &ChannelData{Records: bad}, Limits{}); !errors.Is(err, ErrContract) {
			t.Errorf("%s: Validate: %v", name, err)
		}
	}
}
