package ffi

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"unsafe"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// The text the Nim library hands its callbacks, byte for byte: results are
// built by its std/json ($ of a JsonNode: no whitespace, keys in insertion
// order) and its wrap result is the wire bytes in decimal joined by commas.

// decimal[b] holds the decimal digits of b followed by a comma in its low
// four bytes (little-endian; unused bytes zero) and the length of digits
// plus comma in its high half.
var decimal = func() (t [256]uint64) {
	for b := range t {
		s := strconv.Itoa(b) + ","
		var w [4]byte
		copy(w[:], s)
		t[b] = uint64(binary.LittleEndian.Uint32(w[:])) | uint64(len(s))<<32
	}
	return t
}()

// commaTextMax bounds the length of commaText(b): up to four bytes per
// input byte, plus slack for the unconditional four-byte stores.
func commaTextMax(n int) int { return 4*n + 4 }

// putCommaText writes b as "10,2,109" into dst, which must hold
// commaTextMax(len(b)) bytes, and returns the length written. Each byte
// costs one table load and one four-byte store (a shorter number's spare
// bytes are overwritten by the next one).
func putCommaText(dst []byte, b []byte) int {
	if len(b) == 0 {
		return 0
	}
	if len(dst) < commaTextMax(len(b)) {
		panic("putCommaText: short buffer")
	}
	p := unsafe.Pointer(unsafe.SliceData(dst))
	n := uintptr(0)
	for _, c := range b {
		e := decimal[c]
		*(*[4]byte)(unsafe.Add(p, n)) = [4]byte{byte(e), byte(e >> 8), byte(e >> 16), byte(e >> 24)}
		n += uintptr(e >> 32)
	}
	return int(n) - 1 // the last comma goes
}

// appendCommaText is putCommaText appending to dst.
func appendCommaText(dst []byte, b []byte) []byte {
	start := len(dst)
	dst = grow(dst, commaTextMax(len(b)))
	n := putCommaText(dst[start:start+commaTextMax(len(b))], b)
	return dst[:start+n]
}

func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}

// appendJSONString appends s quoted as Nim's std/json escapeJson does:
// \n \b \f \t \r \" \\ by name, \v as \u000b, the other control
// characters as \u00XX (upper-case hex), every other byte (DEL, non-ASCII,
// invalid UTF-8) as it is.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		start = i + 1
		switch c {
		case '\n':
			dst = append(dst, `\n`...)
		case '\b':
			dst = append(dst, `\b`...)
		case '\f':
			dst = append(dst, `\f`...)
		case '\t':
			dst = append(dst, `\t`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '"':
			dst = append(dst, `\"`...)
		case '\\':
			dst = append(dst, `\\`...)
		case '\v':
			dst = append(dst, `\u000b`...)
		default:
			const hex = "0123456789ABCDEF"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendBase64String(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendByteArray appends b as a JSON array of numbers, "[104,105]".
func appendByteArray(dst []byte, b []byte) []byte {
	dst = append(dst, '[')
	dst = appendCommaText(dst, b)
	return append(dst, ']')
}

// appendMissingDeps appends the "missingDeps" array of the Nim library:
// each entry's message id and its hint in base64, then its sender id when
// it has one (Nim leaves sender ids out; without one the entry is Nim's
// byte for byte).
func appendMissingDeps(dst []byte, deps []wire.HistoryEntry) []byte {
	dst = append(dst, '[')
	for i, d := range deps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"messageId":`...)
		dst = appendJSONString(dst, d.MessageID)
		dst = append(dst, `,"retrievalHint":`...)
		dst = appendBase64String(dst, d.RetrievalHint)
		if d.SenderID != "" {
			dst = append(dst, `,"senderId":`...)
			dst = appendJSONString(dst, d.SenderID)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendUnwrapJSON appends the result of SdsUnwrapReceivedMessage:
// {"message":[...],"channelId":"...","missingDeps":[...]}.
func appendUnwrapJSON(dst []byte, r *sds.UnwrapResult) []byte {
	dst = append(dst, `{"message":`...)
	dst = appendByteArray(dst, r.Content)
	dst = append(dst, `,"channelId":`...)
	dst = appendJSONString(dst, r.ChannelID)
	dst = append(dst, `,"missingDeps":`...)
	dst = appendMissingDeps(dst, r.MissingDeps)
	return append(dst, '}')
}

// appendEventJSON appends the event payload for e. The Nim library's
// events (message_ready, message_sent, missing_dependencies, periodic_sync,
// repair_ready) are byte for byte what it sends: it serialises
// message_ready and message_sent from objects whose own fields come before
// the inherited eventType, and builds the others by hand with eventType
// first. This library's own events put eventType first too.
func appendEventJSON(dst []byte, e *sds.Event) []byte {
	switch e.Kind {
	case sds.EventMessageReady, sds.EventMessageAcknowledged:
		dst = append(dst, `{"messageId":`...)
		dst = appendJSONString(dst, e.MessageID)
		dst = append(dst, `,"channelId":`...)
		dst = appendJSONString(dst, e.ChannelID)
		dst = append(dst, `,"eventType":`...)
		dst = appendJSONString(dst, e.Kind.String())
		return append(dst, '}')
	case sds.EventMissingDependencies:
		dst = appendEventHead(dst, e)
		dst = append(dst, `,"missingDeps":`...)
		dst = appendMissingDeps(dst, e.MissingDeps)
		return append(dst, '}')
	case sds.EventPeriodicSync:
		return appendPeriodicSyncJSON(dst)
	case sds.EventRepairReady:
		return appendRepairReadyJSON(dst, e.ChannelID, e.Payload)
	case sds.EventMessageResend:
		dst = appendEventHead(dst, e)
		dst = append(dst, `,"attempt":`...)
		dst = strconv.AppendInt(dst, int64(e.Attempt), 10)
		dst = append(dst, `,"message":`...)
		dst = appendBase64String(dst, e.Payload)
		return append(dst, '}')
	case sds.EventDependenciesLost:
		dst = appendEventHead(dst, e)
		dst = append(dst, `,"lost":[`...)
		for i, id := range e.Lost {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, id)
		}
		return append(dst, "]}"...)
	case sds.EventRepairRequest:
		dst = appendEventHead(dst, e)
		dst = append(dst, `,"requested":[`...)
		for i := range e.MissingDeps {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, e.MissingDeps[i].MessageID)
		}
		dst = append(dst, `],"message":`...)
		dst = appendBase64String(dst, e.Payload)
		return append(dst, '}')
	case sds.EventPersistenceBacklog:
		dst = append(dst, `{"eventType":"persistence_backlog","channelId":`...)
		dst = appendJSONString(dst, e.ChannelID)
		return append(dst, '}')
	default: // message_failed, incoming_evicted, and kinds added later
		dst = appendEventHead(dst, e)
		return append(dst, '}')
	}
}

// appendEventHead appends {"eventType":...,"messageId":...,"channelId":...
// without the closing brace.
func appendEventHead(dst []byte, e *sds.Event) []byte {
	dst = append(dst, `{"eventType":`...)
	dst = appendJSONString(dst, e.Kind.String())
	dst = append(dst, `,"messageId":`...)
	dst = appendJSONString(dst, e.MessageID)
	dst = append(dst, `,"channelId":`...)
	dst = appendJSONString(dst, e.ChannelID)
	return dst
}

// appendPeriodicSyncJSON appends {"eventType":"periodic_sync"}.
func appendPeriodicSyncJSON(dst []byte) []byte {
	return append(dst, `{"eventType":"periodic_sync"}`...)
}

// appendRepairReadyJSON appends
// {"eventType":"repair_ready","channelId":"c1","message":"<base64>"}.
func appendRepairReadyJSON(dst []byte, channelID string, wireBytes []byte) []byte {
	dst = append(dst, `{"eventType":"repair_ready","channelId":`...)
	dst = appendJSONString(dst, channelID)
	dst = append(dst, `,"message":`...)
	dst = appendBase64String(dst, wireBytes)
	return append(dst, '}')
}
