package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// tight limits make the fuzzer reach every limit check with small inputs.
var tight = Limits{
	MaxMessageBytes:   4096,
	MaxIDBytes:        16,
	MaxHintBytes:      16,
	MaxHistoryEntries: 3,
	MaxRepairEntries:  2,
	MaxBloomBytes:     64,
}

func fuzzSeeds(f *testing.F) {
	for _, m := range []Message{sample(), base()} {
		f.Add(m.Marshal(FormatNim))
		f.Add(m.Marshal(FormatRFC))
	}
}

// FuzzDecode: Decode never panics; whatever it accepts re-encodes in the
// same format to bytes that decode to an equal Message (and re-encode to the
// same bytes), and ChannelID and MessageID agree with it.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = Decode(data, tight)
		m, format, err := Decode(data, Limits{})
		if err != nil {
			return
		}
		ch, err := ChannelID(data, Limits{})
		if err != nil || ch != m.ChannelID {
			t.Fatalf("ChannelID = %q, %v; Decode said %q", ch, err, m.ChannelID)
		}
		if id, err := MessageID(data, Limits{}); err != nil || id != m.MessageID {
			t.Fatalf("MessageID = %q, %v; Decode said %q", id, err, m.MessageID)
		}
		enc := m.Append(nil, format)
		if len(enc) != m.EncodedLen(format) {
			t.Fatalf("EncodedLen %d, encoded %d bytes", m.EncodedLen(format), len(enc))
		}
		m2, format2, err := Decode(enc, Limits{})
		if err != nil {
			t.Fatalf("re-decode: %v\ninput %x\nencoded %x", err, data, enc)
		}
		if format2 != format {
			t.Fatalf("format %v became %v", format, format2)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", m, m2)
		}
		if enc2 := m2.Marshal(format); !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding not stable:\n%x\n%x", enc, enc2)
		}
	})
}

// FuzzChannelID: ChannelID and MessageID never panic and agree with Decode.
func FuzzChannelID(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ChannelID(data, tight)
		_, _ = MessageID(data, tight)
		ch, err := ChannelID(data, Limits{})
		id, ierr := MessageID(data, Limits{})
		m, _, derr := Decode(data, Limits{})
		if derr == nil && (err != nil || ch != m.ChannelID || ierr != nil || id != m.MessageID) {
			t.Fatalf("ChannelID = %q, %v, MessageID = %q, %v; Decode said %q, %q", ch, err, id, ierr, m.ChannelID, m.MessageID)
		}
	})
}
