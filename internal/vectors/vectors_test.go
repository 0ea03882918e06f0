package vectors

import "testing"

func TestLoad(t *testing.T) {
	n, err := LoadNim()
	if err != nil {
		t.Fatal(err)
	}
	if len(n.NimStringHash) == 0 || len(n.Messages) == 0 || len(n.TReq) == 0 || n.Snapshot.ChannelMetaFullHex == "" {
		t.Fatalf("nim vectors incomplete: %d hashes, %d messages", len(n.NimStringHash), len(n.Messages))
	}
	j, err := LoadJS()
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Messages) != 5 || len(j.HashN) == 0 || len(j.Bloom.Probes) == 0 {
		t.Fatalf("js vectors incomplete: %d messages", len(j.Messages))
	}
}
