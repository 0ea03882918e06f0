package persist

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds/internal/protofield"
)

// The blobs are protobuf messages written by nim-libp2p's minprotobuf (Nim)
// or by this package, read under the same rules as sds/wire
// (sds/internal/protofield): of a field that should occur once the last
// occurrence wins, and a known field of the wrong wire type is skipped.

// eachField calls fn for every field of b, in order, stopping at the first
// malformed field or the first error fn returns.
func eachField(b []byte, fn func(f *protofield.Field) error) error {
	for i := 0; i < len(b); {
		var f protofield.Field
		ni, flt := f.Read(b, i)
		if flt != protofield.OK {
			return fmt.Errorf("%w: %s at offset %d", ErrMalformed, flt, ni)
		}
		if err := fn(&f); err != nil {
			return err
		}
		i = ni
	}
	return nil
}

// eachBytesField is eachField over the length-delimited fields only (the
// others are skipped, as a known field of the wrong type is).
func eachBytesField(b []byte, fn func(f *protofield.Field) error) error {
	return eachField(b, func(f *protofield.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		return fn(f)
	})
}
