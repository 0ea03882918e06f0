package sds_test

import (
	"slices"
	"testing"

	"github.com/libsds-go/libsds/sds"
)

// COMPATIBILITY P2: an arrival is delivered first, then everything it
// unblocks in (Lamport timestamp, message id) order, whatever order the
// waiting messages came in; one that a release unblocks in turn takes its
// (Lamport, id) place among those still queued.
func TestCascadeReleasesInLamportIDOrder(t *testing.T) {
	m, rec, _ := nimManager(t, nil)
	root := entry("root", "bob")
	for _, b := range [][]byte{
		peer("x9", 9, "bob", root),
		peer("b5", 5, "bob", root),
		peer("c5", 5, "carol", root), // equal Lamport values: by id
		peer("a5", 5, "dave", root),
		peer("z3", 3, "bob", root),
		peer("w7", 7, "bob", entry("z3", "bob")), // ready once z3 is out
		peer("e4", 4, "bob", entry("x9", "bob")), // ready only after x9
	} {
		if res := nimUnwrap(t, m, b); res.Delivered {
			t.Fatalf("%s delivered before its dependency", res.MessageID)
		}
	}
	rec.reset()
	nimUnwrap(t, m, peer("root", 1, "bob"))
	got := rec.ids(sds.EventMessageReady)
	want := []string{"root", "z3", "a5", "b5", "c5", "w7", "x9", "e4"}
	if !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
}
