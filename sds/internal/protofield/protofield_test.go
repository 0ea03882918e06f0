package protofield

import (
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Every rule of the Nim decoder that sds/wire and sds/persist rely on.
func TestReadRules(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		fault     Fault
		num       uint64
		typ       protowire.Type
		v         uint64
		data      string
	}{
		{"varint", "0805", OK, 1, protowire.VarintType, 5, ""},
		{"bytes", "12026869", OK, 2, protowire.BytesType, 0, "hi"},
		{"two-byte tag", "a00107", OK, 20, protowire.VarintType, 7, ""},
		{"fixed32 skipped", "1d01020304", OK, 3, protowire.Fixed32Type, 0, ""},
		{"fixed64 skipped", "210102030405060708", OK, 4, protowire.Fixed64Type, 0, ""},
		{"over-long tag", "8800", Overlong, 0, 0, 0, ""},
		{"over-long value", "088000", Overlong, 0, 0, 0, ""},
		{"over-long length", "128000", Overlong, 0, 0, 0, ""},
		{"unterminated varint", "0880", Truncated, 0, 0, 0, ""},
		{"overflowing varint", "08ffffffffffffffffff7f", BadVarint, 0, 0, 0, ""},
		{"length past the end", "120568", Truncated, 0, 0, 0, ""},
		{"short fixed32", "1d0102", Truncated, 0, 0, 0, ""},
		{"short fixed64", "2101020304", Truncated, 0, 0, 0, ""},
		{"group", "0b", WireType, 0, 0, 0, ""},
		{"wire type 6", "0e", WireType, 0, 0, 0, ""},
		{"wire type 7", "0f", WireType, 0, 0, 0, ""},
	} {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		var f Field
		end, flt := f.Read(b, 0)
		if flt != c.fault {
			t.Errorf("%s: fault %v, want %v", c.name, flt, c.fault)
			continue
		}
		if flt != OK {
			continue
		}
		if end != len(b) || f.Num != c.num || f.Type != c.typ || f.V != c.v || string(f.Data) != c.data {
			t.Errorf("%s: end %d, field %+v", c.name, end, f)
		}
		if cap(f.Data) != len(f.Data) {
			t.Errorf("%s: payload capacity %d past its length", c.name, cap(f.Data))
		}
	}
}

func TestVarint(t *testing.T) {
	if v, n, f := Varint([]byte{0xac, 0x02, 0xff}); v != 300 || n != 2 || f != OK {
		t.Errorf("300: %d %d %v", v, n, f)
	}
	if _, _, f := Varint([]byte{0x80, 0x00}); f != Overlong {
		t.Errorf("over-long: %v", f)
	}
	if _, _, f := Varint(nil); f != Truncated {
		t.Errorf("empty: %v", f)
	}
}

// The appenders write what Read reads back, and the sizes match them.
func TestAppendRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 200)
	b := AppendVarint(nil, 1, 300)
	b = AppendString(b, 2, long)
	b = AppendBytes(b, 300, []byte("z"))
	if want := SizeVarint(1, 300) + SizeBytes(2, len(long)) + SizeBytes(300, 1); len(b) != want {
		t.Fatalf("%d bytes, sizes say %d", len(b), want)
	}
	var got []Field
	for i := 0; i < len(b); {
		var f Field
		var flt Fault
		if i, flt = f.Read(b, i); flt != OK {
			t.Fatal(flt)
		}
		got = append(got, f)
	}
	if len(got) != 3 || got[0].V != 300 || string(got[1].Data) != long || got[2].Num != 300 || string(got[2].Data) != "z" {
		t.Fatalf("%+v", got)
	}
}
