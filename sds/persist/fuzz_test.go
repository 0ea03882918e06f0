package persist

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/libsds-go/libsds/sds/wire"
)

// tight limits let the fuzzer reach every limit check with small inputs.
var tightLimits = Limits{
	Wire:           wire.Limits{MaxMessageBytes: 4096, MaxIDBytes: 16, MaxHintBytes: 16, MaxHistoryEntries: 3, MaxRepairEntries: 2, MaxBloomBytes: 64},
	MaxBlobBytes:   8192,
	MaxRecordBytes: 4096,
	MaxMissingDeps: 3,
	MaxEntries:     4,
}

// roundTrip decodes data without limits; what decodes must decode again,
// equal, from its own encoding. ok is false where data does not decode.
func roundTrip[T any](t *testing.T, data []byte, decode func([]byte, Limits) (T, error), encode func(T) []byte) (v T, ok bool) {
	t.Helper()
	v, err := decode(data, Limits{})
	if err != nil {
		return v, false
	}
	v2, err := decode(encode(v), Limits{})
	if err != nil || !reflect.DeepEqual(v, v2) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, v, v2)
	}
	return v, true
}

// FuzzDecodeChannelMeta: decoding never panics; what decodes re-encodes to
// bytes that decode to the same meta and re-encode identically; splitting
// into records and assembling them back gives the same meta up to buffer
// order.
func FuzzDecodeChannelMeta(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeChannelMeta(data, tightLimits)
		_, _ = splitChannelMeta(data, tightLimits)
		m, err := decodeChannelMeta(data, Limits{})
		if err != nil {
			return
		}
		enc := m.Marshal()
		m2, err := decodeChannelMeta(enc, Limits{})
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", m, m2)
		}
		if !bytes.Equal(m2.Marshal(), enc) {
			t.Fatal("re-encoding not stable")
		}
		recs, err := splitChannelMeta(data, Limits{})
		if err != nil {
			return // duplicate ids or mismatched repair keys
		}
		asm, err := assembleChannelMeta(recs, Limits{})
		if err != nil {
			t.Fatalf("assemble of split records: %v", err)
		}
		m3, err := decodeChannelMeta(asm, Limits{})
		if err != nil {
			t.Fatalf("decode assembled: %v", err)
		}
		if len(m3.Outgoing) != len(m.Outgoing) || len(m3.Incoming) != len(m.Incoming) ||
			len(m3.OutgoingRepair) != len(m.OutgoingRepair) || len(m3.IncomingRepair) != len(m.IncomingRepair) || m3.Lamport != m.Lamport {
			t.Fatalf("assembled meta differs:\n%+v\n%+v", m, m3)
		}
		back, err := DecodeRecords(recs, Limits{})
		if err != nil || !reflect.DeepEqual(back, m3) {
			t.Fatalf("DecodeRecords differs from the assembled blob: %v\n%+v\n%+v", err, back, m3)
		}
	})
}

// FuzzDecodeNimChannelData: decoding and importing never panic, and agree.
func FuzzDecodeNimChannelData(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeNimChannelData(data, tightLimits)
		_, _ = ImportNim(data, tightLimits)
		d, ok := roundTrip(t, data, decodeNimChannelData, (*nimChannelData).marshal)
		if !ok {
			return
		}
		cd, err := ImportNim(data, Limits{})
		if err != nil {
			return
		}
		exp, err := ExportNim(cd, Limits{})
		if err != nil {
			t.Fatalf("export of import: %v", err)
		}
		d3, err := decodeNimChannelData(exp, Limits{})
		if err != nil || len(d3.History) != len(d.History) {
			t.Fatalf("re-decode export: %v", err)
		}
	})
}

// FuzzDecodeHistoryUpdate: decoding never panics and round-trips.
func FuzzDecodeHistoryUpdate(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeHistoryUpdate(data, tightLimits)
		roundTrip(t, data, decodeHistoryUpdate, (*HistoryUpdate).marshal)
	})
}

// FuzzDecodeRecord: a single record under an arbitrary key never panics
// DecodeRecords, assembleChannelMeta or Validate; what decodes goes back to
// the same records through recordsOf.
func FuzzDecodeRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		recs := map[string][]byte{key: value}
		_, _ = DecodeRecords(recs, tightLimits)
		_, _ = assembleChannelMeta(recs, tightLimits)
		_ = Validate("c", &ChannelData{Records: recs}, tightLimits)
		m, err := DecodeRecords(recs, Limits{})
		if err != nil {
			return
		}
		back, err := recordsOf(m)
		if err != nil {
			t.Fatalf("recordsOf: %v", err)
		}
		m2, err := DecodeRecords(back, Limits{})
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("records round trip: %v\n%+v\n%+v", err, m, m2)
		}
	})
}

// TestWriteFuzzCorpus writes the committed seed corpora (testdata/fuzz/...)
// when PERSIST_WRITE_CORPUS=1; otherwise it is skipped.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("PERSIST_WRITE_CORPUS") != "1" {
		t.Skip("set PERSIST_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	n := snapshotVectors(t)
	full := mustHexVec(n.Snapshot.ChannelMetaFullHex)
	empty := mustHexVec(n.Snapshot.ChannelMetaEmptyHex)
	data := mustHexVec(n.Snapshot.ChannelDataHex)
	hu := mustHexVec(n.Snapshot.HistoryUpdateHex)
	fb := fullBuffer().Marshal()
	v2 := (&ChannelMeta{SchemaVersion: 2, Lamport: 1}).Marshal()
	write := func(target, name string, args ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				s += "[]byte(" + strconv.Quote(string(v)) + ")\n"
			case string:
				s += "string(" + strconv.Quote(v) + ")\n"
			default:
				t.Fatalf("type %T", a)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzDecodeChannelMeta", "vector-empty", empty)
	write("FuzzDecodeChannelMeta", "vector-full", full)
	write("FuzzDecodeChannelMeta", "full-buffer", fb)
	write("FuzzDecodeChannelMeta", "schema-version-2", v2)
	write("FuzzDecodeChannelMeta", "truncated-full", full[:len(full)-3])
	write("FuzzDecodeChannelMeta", "empty-input", []byte{})
	write("FuzzDecodeNimChannelData", "vector", data)
	write("FuzzDecodeNimChannelData", "empty-meta", (&nimChannelData{}).marshal())
	write("FuzzDecodeNimChannelData", "truncated", data[:len(data)/2])
	write("FuzzDecodeHistoryUpdate", "vector", hu)
	write("FuzzDecodeHistoryUpdate", "evict-only", (&HistoryUpdate{Evict: []string{"e1", "e2"}}).marshal())
	write("FuzzDecodeHistoryUpdate", "bad-message", []byte{0x0a, 0x01, 0x0a})
	recs, err := splitChannelMeta(full, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for k, v := range recs {
		kind, _, _ := parseKey(k, 0)
		write("FuzzDecodeRecord", fmt.Sprintf("vector-%s", kind), k, v)
		i++
	}
	write("FuzzDecodeRecord", "mismatched-key", OutgoingKey("other"), recs[OutgoingKey("out1")])
	write("FuzzDecodeRecord", "unknown-kind", "Zx", []byte{1})
	write("FuzzDecodeRecord", "overlong-lamport", LamportKey, []byte{0x80, 0x00})
}

func mustHexVec(s string) []byte { return mustHex(s) }
