// Package protofield reads and writes protobuf fields under the rules the
// Nim decoder (nim-libp2p's minprotobuf) applies, for the SDS messages of
// sds/wire and the stored records of sds/persist: varints (tags, values,
// lengths) must be minimally encoded, groups and wire types 6 and 7 are
// errors, and every field must be well formed whatever its number (unknown
// fields are skipped by the callers, as is a known one of the wrong type).
package protofield

import (
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// Fault says what is wrong with the bytes at some offset. Callers turn it
// into their own error only when they report it, so a failed probe costs
// no allocation.
type Fault uint8

const (
	OK        Fault = iota
	Truncated       // a field, length or varint runs past the end
	BadVarint       // unterminated or overflowing varint
	Overlong        // varint not minimally encoded
	WireType        // group or undefined wire type
)

func (f Fault) String() string {
	switch f {
	case Truncated:
		return "truncated field"
	case BadVarint:
		return "bad varint"
	case Overlong:
		return "over-long varint"
	case WireType:
		return "unsupported wire type"
	}
	return "ok"
}

// Field is one field read from a buffer.
type Field struct {
	Num  uint64
	Type protowire.Type
	V    uint64 // value of a varint field
	Data []byte // payload of a length-delimited field, capacity capped
}

// varint reads a minimally encoded varint at b[i] and returns it and the
// offset after it, or a negative offset -fault.
func varint(b []byte, i int) (uint64, int) {
	v, n := protowire.ConsumeVarint(b[i:])
	if n < 0 {
		if protowire.ParseError(n) == io.ErrUnexpectedEOF {
			return 0, -int(Truncated)
		}
		return 0, -int(BadVarint)
	}
	if n != protowire.SizeVarint(v) {
		return 0, -int(Overlong)
	}
	return v, i + n
}

// Varint reads the minimally encoded varint at the start of b and returns
// it and its length.
func Varint(b []byte) (uint64, int, Fault) {
	v, n := varint(b, 0)
	if n < 0 {
		return 0, 0, Fault(-n)
	}
	return v, n, OK
}

// Read reads the field starting at b[i] (i < len(b)) into fd and returns
// the offset after it, or the offset of the fault. fd.V is set only for a
// varint field, fd.Data only for a length-delimited one. The field number
// is not checked: any number is a (possibly unknown) field. One-byte tags
// and lengths, the common case, take a shortcut.
func (fd *Field) Read(b []byte, i int) (int, Fault) {
	var tag uint64
	if c := b[i]; c < 0x80 {
		tag, i = uint64(c), i+1
	} else {
		var j int
		if tag, j = varint(b, i); j < 0 {
			return i, Fault(-j)
		}
		i = j
	}
	fd.Num, fd.Type = tag>>3, protowire.Type(tag&7)
	switch fd.Type {
	case protowire.VarintType:
		var j int
		if fd.V, j = varint(b, i); j < 0 {
			return i, Fault(-j)
		}
		i = j
	case protowire.Fixed64Type:
		if len(b)-i < 8 {
			return i, Truncated
		}
		i += 8
	case protowire.Fixed32Type:
		if len(b)-i < 4 {
			return i, Truncated
		}
		i += 4
	case protowire.BytesType:
		var l uint64
		if i < len(b) && b[i] < 0x80 {
			l, i = uint64(b[i]), i+1
		} else {
			var j int
			if l, j = varint(b, i); j < 0 {
				return i, Fault(-j)
			}
			i = j
		}
		if l > uint64(len(b)-i) {
			return i, Truncated
		}
		end := i + int(l)
		fd.Data = b[i:end:end]
		i = end
	default:
		return i, WireType
	}
	return i, OK
}

// SizeBytes is the size of a length-delimited field with an n-byte
// payload.
func SizeBytes(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// SizeVarint is the size of a varint field.
func SizeVarint(num protowire.Number, v uint64) int {
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

// AppendVarint appends a varint field.
func AppendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// AppendBytes appends a length-delimited field holding p.
func AppendBytes(b []byte, num protowire.Number, p []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}

// AppendString appends a length-delimited field holding s.
func AppendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}
