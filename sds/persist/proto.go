package persist

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// The blobs are protobuf messages written by nim-libp2p's minprotobuf (Nim)
// or by this package. The reader below applies the same rules as sds/wire,
// which are the Nim decoder's: varints (tags, values, lengths) must be
// minimally encoded, groups and wire types 6 and 7 are errors, every field
// must be well formed (unknown ones are skipped whatever their number), of a
// field that should occur once the last occurrence wins, and a known field
// of the wrong wire type is skipped.

// pfield is one field read from a buffer.
type pfield struct {
	num  uint64
	typ  protowire.Type
	v    uint64 // value of a varint field
	data []byte // payload of a length-delimited field (aliases the input)
}

// pvarint reads a minimally encoded varint at b[i:], returning it and the
// offset after it.
func pvarint(b []byte, i int) (uint64, int, error) {
	v, n := protowire.ConsumeVarint(b[i:])
	if n < 0 {
		if protowire.ParseError(n) == io.ErrUnexpectedEOF {
			return 0, i, fmt.Errorf("%w: truncated varint at offset %d", ErrMalformed, i)
		}
		return 0, i, fmt.Errorf("%w: bad varint at offset %d", ErrMalformed, i)
	}
	if n != protowire.SizeVarint(v) {
		return 0, i, fmt.Errorf("%w: over-long varint at offset %d", ErrMalformed, i)
	}
	return v, i + n, nil
}

// next reads the field starting at b[i] (i < len(b)) and returns the offset
// after it.
func (f *pfield) next(b []byte, i int) (int, error) {
	tag, i, err := pvarint(b, i)
	if err != nil {
		return i, err
	}
	f.num, f.typ, f.v, f.data = tag>>3, protowire.Type(tag&7), 0, nil
	switch f.typ {
	case protowire.VarintType:
		if f.v, i, err = pvarint(b, i); err != nil {
			return i, err
		}
	case protowire.Fixed64Type:
		if len(b)-i < 8 {
			return i, fmt.Errorf("%w: truncated fixed64 at offset %d", ErrMalformed, i)
		}
		i += 8
	case protowire.Fixed32Type:
		if len(b)-i < 4 {
			return i, fmt.Errorf("%w: truncated fixed32 at offset %d", ErrMalformed, i)
		}
		i += 4
	case protowire.BytesType:
		var l uint64
		if l, i, err = pvarint(b, i); err != nil {
			return i, err
		}
		if l > uint64(len(b)-i) {
			return i, fmt.Errorf("%w: field %d: length %d past the end at offset %d", ErrMalformed, f.num, l, i)
		}
		end := i + int(l)
		f.data = b[i:end:end]
		i = end
	default:
		return i, fmt.Errorf("%w: unsupported wire type %d at offset %d", ErrMalformed, f.typ, i)
	}
	return i, nil
}

// eachField calls fn for every field of b, in order, stopping at the first
// malformed field or the first error fn returns.
func eachField(b []byte, fn func(f *pfield) error) error {
	var f pfield
	for i := 0; i < len(b); {
		var err error
		if i, err = f.next(b, i); err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

// Encoding helpers.

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, p []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func sizeBytesField(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func sizeVarintField(num protowire.Number, v uint64) int {
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}
