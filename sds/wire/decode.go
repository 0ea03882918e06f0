package wire

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/libsds-go/libsds/sds/internal/protofield"
)

// faultErr turns a field fault at offset off into the decoder's error.
func faultErr(f protofield.Fault, where string, off int) error {
	return fmt.Errorf("%w: %s at %s offset %d", ErrMalformed, f, where, off)
}

// role is what a field number means in a format.
type role uint8

const (
	roleUnknown role = iota
	roleMessageID
	roleLamport
	roleHistory
	roleChannelID
	roleContent
	roleBloom
	roleSender
	roleRepair
)

var roleNames = [...]string{
	roleUnknown:   "unknown",
	roleMessageID: "message_id",
	roleLamport:   "lamport_timestamp",
	roleHistory:   "causal_history",
	roleChannelID: "channel_id",
	roleContent:   "content",
	roleBloom:     "bloom_filter",
	roleSender:    "sender_id",
	roleRepair:    "repair_request",
}

func (r role) String() string { return roleNames[r] }

func roleOf(f Format, num uint64) role {
	if f == FormatRFC {
		switch num {
		case rfcSenderID:
			return roleSender
		case rfcMessageID:
			return roleMessageID
		case rfcChannelID:
			return roleChannelID
		case rfcLamport:
			return roleLamport
		case rfcCausalHistory:
			return roleHistory
		case rfcBloomFilter:
			return roleBloom
		case rfcRepairRequest:
			return roleRepair
		case rfcContent:
			return roleContent
		}
		return roleUnknown
	}
	switch num {
	case nimMessageID:
		return roleMessageID
	case nimLamport:
		return roleLamport
	case nimCausalHistory:
		return roleHistory
	case nimChannelID:
		return roleChannelID
	case nimContent:
		return roleContent
	case nimBloomFilter:
		return roleBloom
	case nimSenderID:
		return roleSender
	case nimRepairRequest:
		return roleRepair
	}
	return roleUnknown
}

// detect recognises the format by the wire type of the first field 2.
func detect(b []byte) (Format, error) {
	for i := 0; i < len(b); {
		var fd protofield.Field
		ni, flt := fd.Read(b, i)
		if flt != protofield.OK {
			return FormatNim, faultErr(flt, "message", ni)
		}
		if fd.Num == 2 {
			switch fd.Type {
			case protowire.VarintType:
				return FormatNim, nil
			case protowire.BytesType:
				return FormatRFC, nil
			}
			return FormatNim, fmt.Errorf("%w: field 2 has wire type %d (neither Nim lamport_timestamp nor RFC message_id)", ErrMalformed, fd.Type)
		}
		i = ni
	}
	return FormatNim, nil
}

// entryView is a parsed history entry, pointing into the input.
type entryView struct {
	id, hint, sender []byte
	hasHint          bool
}

type entryFault uint8

const (
	entryOK entryFault = iota
	entryBad
	entryNoID
	entryIDTooLong
	entryHintTooLong
	entrySenderTooLong
)

// parseEntryFields parses p as a HistoryEntry.
func parseEntryFields(p []byte, lim *Limits) (ev entryView, hasID bool, ef entryFault) {
	for i := 0; i < len(p); {
		var fd protofield.Field
		ni, flt := fd.Read(p, i)
		if flt != protofield.OK {
			return ev, false, entryBad
		}
		i = ni
		switch fd.Num {
		case entryMessageID, entryRetrievalHint, entrySenderID:
		default:
			continue
		}
		if fd.Type != protowire.BytesType {
			continue
		}
		switch fd.Num {
		case entryMessageID:
			if len(fd.Data) > lim.MaxIDBytes {
				return ev, false, entryIDTooLong
			}
			ev.id, hasID = fd.Data, true
		case entryRetrievalHint:
			if len(fd.Data) > lim.MaxHintBytes {
				return ev, false, entryHintTooLong
			}
			ev.hint, ev.hasHint = fd.Data, true
		case entrySenderID:
			if len(fd.Data) > lim.MaxIDBytes {
				return ev, false, entrySenderTooLong
			}
			ev.sender = fd.Data
		}
	}
	return ev, hasID, entryOK
}

// parseEntry parses one causal-history or repair-request entry (role r),
// applying the legacy bare-string rule to Nim-format causal history.
func parseEntry(p []byte, f Format, r role, lim *Limits) (entryView, entryFault) {
	ev, hasID, ef := parseEntryFields(p, lim)
	switch ef {
	case entryIDTooLong, entryHintTooLong, entrySenderTooLong:
		return ev, ef
	}
	if f == FormatRFC {
		return ev, ef // proto3: an absent id is the empty id
	}
	if ef == entryOK && hasID {
		return ev, entryOK
	}
	if r != roleHistory {
		if ef == entryOK {
			return entryView{}, entryNoID
		}
		return entryView{}, ef
	}
	// Legacy: the entry is the id itself, written as a bare string.
	if len(p) == 0 {
		return entryView{}, entryNoID
	}
	if !bareID(p) {
		if ef == entryOK {
			return entryView{}, entryNoID
		}
		return entryView{}, ef
	}
	if len(p) > lim.MaxIDBytes {
		return entryView{}, entryIDTooLong
	}
	return entryView{id: p}, entryOK
}

// bareID reports whether p can be a legacy bare-string id: valid UTF-8
// without C0 control characters or DEL. Such bytes never contain 0x0a, the
// only (minimal) tag of a HistoryEntry's field 1, so they can never be read as
// a HistoryEntry with an id, and the two readings cannot be confused.
func bareID(p []byte) bool {
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(p)
}

func entryErr(ef entryFault, r role, idx int, lim *Limits) error {
	switch ef {
	case entryNoID:
		return fmt.Errorf("%w: %s entry %d has no message_id", ErrMissingField, r, idx)
	case entryIDTooLong:
		return fmt.Errorf("%w: %s entry %d message_id longer than %d bytes", ErrLimit, r, idx, lim.MaxIDBytes)
	case entryHintTooLong:
		return fmt.Errorf("%w: %s entry %d retrieval_hint longer than %d bytes", ErrLimit, r, idx, lim.MaxHintBytes)
	case entrySenderTooLong:
		return fmt.Errorf("%w: %s entry %d sender_id longer than %d bytes", ErrLimit, r, idx, lim.MaxIDBytes)
	}
	return fmt.Errorf("%w: %s entry %d is not a valid HistoryEntry", ErrMalformed, r, idx)
}

// scan is what the first pass over a message learns.
type scan struct {
	msgID, channel, content, bloom, sender []byte
	lamport                                uint64
	has                                    uint16 // 1<<role for each role seen
	nHist, nRep                            int
	entryStrBytes, hintBytes               int

	// The first entries parsed, so that the second pass need not parse
	// them again (most messages have fewer).
	cached [cachedEntries]cachedEntry
}

const cachedEntries = 16

type cachedEntry struct {
	ev     entryView
	repair bool
}

func (s *scan) seen(r role) bool { return s.has&(1<<r) != 0 }

// scanMessage validates b in format f, enforces the limits, and records the
// last occurrence of every singular field and the sizes of the entries.
func scanMessage(s *scan, b []byte, f Format, lim *Limits) error {
	for i := 0; i < len(b); {
		var fd protofield.Field
		ni, flt := fd.Read(b, i)
		if flt != protofield.OK {
			return faultErr(flt, "message", ni)
		}
		i = ni
		r := roleOf(f, fd.Num)
		if r == roleUnknown {
			continue
		}
		want := protowire.BytesType
		if r == roleLamport {
			want = protowire.VarintType
		}
		if fd.Type != want {
			continue // as the Nim decoder: a known field of the wrong type is skipped
		}
		s.has |= 1 << r
		switch r {
		case roleMessageID, roleChannelID, roleSender:
			if len(fd.Data) > lim.MaxIDBytes {
				return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrLimit, r, len(fd.Data), lim.MaxIDBytes)
			}
			switch r {
			case roleMessageID:
				s.msgID = fd.Data
			case roleChannelID:
				s.channel = fd.Data
			default:
				s.sender = fd.Data
			}
		case roleLamport:
			s.lamport = fd.V
		case roleContent:
			s.content = fd.Data
		case roleBloom:
			if len(fd.Data) > lim.MaxBloomBytes {
				return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrLimit, r, len(fd.Data), lim.MaxBloomBytes)
			}
			s.bloom = fd.Data
		case roleHistory, roleRepair:
			var idx int
			if r == roleHistory {
				s.nHist++
				if s.nHist > lim.MaxHistoryEntries {
					return fmt.Errorf("%w: more than %d %s entries", ErrLimit, lim.MaxHistoryEntries, r)
				}
				idx = s.nHist - 1
			} else {
				s.nRep++
				if s.nRep > lim.MaxRepairEntries {
					return fmt.Errorf("%w: more than %d %s entries", ErrLimit, lim.MaxRepairEntries, r)
				}
				idx = s.nRep - 1
			}
			ev, ef := parseEntry(fd.Data, f, r, lim)
			if ef != entryOK {
				return entryErr(ef, r, idx, lim)
			}
			s.entryStrBytes += len(ev.id) + len(ev.sender)
			s.hintBytes += len(ev.hint)
			if n := s.nHist + s.nRep - 1; n < cachedEntries {
				s.cached[n] = cachedEntry{ev, r == roleRepair}
			}
		}
	}
	return nil
}

// strArena hands out strings that share one backing array, or that
// intern returns.
type strArena struct {
	sb     strings.Builder
	intern func([]byte) string
}

func (a *strArena) add(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if a.intern != nil {
		return a.intern(p)
	}
	start := a.sb.Len()
	a.sb.Write(p)
	return a.sb.String()[start:]
}

// Decode recognises the format of b (see the package documentation) and
// decodes it. Strings, Content and retrieval hints are copied out of b;
// BloomFilter aliases b. The returned Format is meaningful only when err is
// nil.
func Decode(b []byte, lim Limits) (Message, Format, error) {
	var sc Scanned
	if err := sc.Scan(b, lim); err != nil {
		return Message{}, sc.f, err
	}
	return sc.Message(), sc.f, nil
}

// Scanned is a message validated by Scan and not yet copied out: its ids
// can be looked at without allocating, so a receiver can recognise a
// duplicate before paying for the full decode (Message). Accessors alias the
// scanned buffer, which must not change until the Scanned is done with.
type Scanned struct {
	b   []byte
	f   Format
	lim Limits
	s   scan
	ok  bool // the last Scan succeeded
	// shared, once Share ran, is the message every Message call copies.
	shared *Message
}

// Scan validates b as Decode does (same errors, same limits) and records
// where its fields are. A Scanned is reusable: Scan resets it.
func (sc *Scanned) Scan(b []byte, lim Limits) error {
	*sc = Scanned{b: b, lim: lim.WithDefaults()}
	if len(b) > sc.lim.MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), sc.lim.MaxMessageBytes)
	}
	var err error
	if sc.f, err = detect(b); err != nil {
		return err
	}
	if err := scanMessage(&sc.s, b, sc.f, &sc.lim); err != nil {
		return err
	}
	if err := sc.s.checkRequired(sc.f); err != nil {
		return err
	}
	sc.ok = true
	return nil
}

// Valid reports whether the last Scan succeeded.
func (sc *Scanned) Valid() bool { return sc.ok }

// Limits returns the limits the last Scan checked (defaults filled in).
func (sc *Scanned) Limits() Limits { return sc.lim }

// Bytes returns the scanned buffer.
func (sc *Scanned) Bytes() []byte { return sc.b }

// Format is the wire format Scan recognised.
func (sc *Scanned) Format() Format { return sc.f }

// MessageID, ChannelID, SenderID and Content alias the scanned buffer.
func (sc *Scanned) MessageID() []byte { return sc.s.msgID }
func (sc *Scanned) ChannelID() []byte { return sc.s.channel }
func (sc *Scanned) SenderID() []byte  { return sc.s.sender }
func (sc *Scanned) Content() []byte   { return sc.s.content }

// BloomFilter aliases the bloom_filter field (the last one, if repeated).
func (sc *Scanned) BloomFilter() []byte { return sc.s.bloom }

// HasLamport reports whether the lamport_timestamp field is present.
func (sc *Scanned) HasLamport() bool { return sc.s.seen(roleLamport) }

// Message copies the scanned message out, exactly as Decode returns it.
func (sc *Scanned) Message() Message { return sc.MessageInterned(nil) }

// Shared returns the message Share decoded, or nil; it must not be
// modified.
func (sc *Scanned) Shared() *Message { return sc.shared }

// Share decodes the scanned message once (with intern, as MessageInterned)
// for everyone this Scanned is handed to, such as several managers
// (sds-sim hands each broadcast to 99). From then on Message and
// MessageInterned return it, whatever intern they are given: each call
// gets its own Content, but all share the causal history, the repair
// requests and the strings, which nobody may modify. Call it before
// sharing sc between goroutines; a later Scan undoes it.
func (sc *Scanned) Share(intern func([]byte) string) {
	sc.shared = nil
	if sc.ok {
		m := sc.MessageInterned(intern)
		sc.shared = &m
	}
}

// MessageInterned is Message with its id strings (message, channel and
// sender ids, in the causal history and repair requests too) made by
// intern, which must return a string equal to its argument and must not
// keep or change the argument. nil copies them into one allocation.
func (sc *Scanned) MessageInterned(intern func([]byte) string) Message {
	if sc.shared != nil {
		m := *sc.shared
		m.Content = bytes.Clone(m.Content) // nil stays nil, empty stays empty
		return m
	}
	s, f := &sc.s, sc.f
	var m Message
	sa := strArena{intern: intern}
	if intern == nil {
		sa.sb.Grow(len(s.msgID) + len(s.channel) + len(s.sender) + s.entryStrBytes)
	}
	m.MessageID = sa.add(s.msgID)
	m.ChannelID = sa.add(s.channel)
	m.SenderID = sa.add(s.sender)
	m.LamportTimestamp = s.lamport
	m.HasLamport = s.seen(roleLamport)
	if s.seen(roleContent) {
		if len(s.content) == 0 {
			m.Content = []byte{}
		} else {
			m.Content = append(make([]byte, 0, len(s.content)), s.content...)
		}
	}
	if s.seen(roleBloom) && (f == FormatRFC || len(s.bloom) > 0) {
		m.BloomFilter = s.bloom
	}
	if s.nHist+s.nRep > 0 {
		fillEntries(&m, sc.b, f, &sc.lim, s, &sa)
	}
	return m
}

func (s *scan) checkRequired(f Format) error {
	if f == FormatRFC {
		switch {
		case len(s.msgID) == 0:
			return fmt.Errorf("%w: message_id (RFC field %d) absent or empty", ErrMissingField, rfcMessageID)
		case len(s.channel) == 0:
			return fmt.Errorf("%w: channel_id (RFC field %d) absent or empty", ErrMissingField, rfcChannelID)
		case !s.seen(roleLamport) && len(s.content) == 0:
			return fmt.Errorf("%w: RFC message has neither lamport_timestamp nor content", ErrMissingField)
		}
		return nil
	}
	for _, r := range [...]role{roleMessageID, roleLamport, roleChannelID, roleContent} {
		if !s.seen(r) {
			return fmt.Errorf("%w: %s", ErrMissingField, r)
		}
	}
	return nil
}

// fillEntries is the second pass: it copies the entries validated by
// scanMessage into m, with one allocation for the entries and one for the
// hints.
func fillEntries(m *Message, b []byte, f Format, lim *Limits, s *scan, sa *strArena) {
	all := make([]HistoryEntry, s.nHist+s.nRep)
	hist, rep := all[:s.nHist:s.nHist], all[s.nHist:]
	var hints []byte
	if s.hintBytes > 0 {
		hints = make([]byte, 0, s.hintBytes)
	}
	nh, nr := 0, 0
	put := func(ev *entryView, repair bool) {
		var e *HistoryEntry
		if repair {
			e = &rep[nr]
			nr++
		} else {
			e = &hist[nh]
			nh++
		}
		e.MessageID = sa.add(ev.id)
		e.SenderID = sa.add(ev.sender)
		switch {
		case len(ev.hint) > 0:
			start := len(hints)
			hints = append(hints, ev.hint...)
			e.RetrievalHint = hints[start:len(hints):len(hints)]
		case ev.hasHint && f == FormatRFC:
			e.RetrievalHint = []byte{}
		}
	}
	if len(all) <= cachedEntries {
		for i := range all {
			put(&s.cached[i].ev, s.cached[i].repair)
		}
	} else {
		for i := 0; i < len(b) && nh+nr < len(all); {
			var fd protofield.Field
			ni, _ := fd.Read(b, i) // validated by scanMessage
			i = ni
			r := roleOf(f, fd.Num)
			if (r != roleHistory && r != roleRepair) || fd.Type != protowire.BytesType {
				continue // as scanMessage: an entry field of the wrong type is skipped
			}
			ev, _ := parseEntry(fd.Data, f, r, lim) // validated by scanMessage
			put(&ev, r == roleRepair)
		}
	}
	if s.nHist > 0 {
		m.CausalHistory = hist
	}
	if s.nRep > 0 {
		m.RepairRequest = rep
	}
}

// ChannelID returns the channel id of the encoded message b (either format)
// without decoding the rest, like the Nim extractChannelId: the whole input
// must be well-formed protobuf, and the channel id field present (in the RFC
// format also non-empty). It succeeds whenever Decode does, with the same
// channel id, and also for some messages Decode rejects (a missing required
// field other than the channel id, a bad history entry).
func ChannelID(b []byte, lim Limits) (string, error) {
	return idField(b, lim, nimChannelID, rfcChannelID, "channel_id")
}

// MessageID returns the message id of the encoded message b as ChannelID
// returns its channel id.
func MessageID(b []byte, lim Limits) (string, error) {
	return idField(b, lim, nimMessageID, rfcMessageID, "message_id")
}

// idField returns the last bytes field numbered nimField (rfcField in the
// RFC format) of the whole message b, validating b as ChannelID says.
func idField(b []byte, lim Limits, nimField, rfcField uint64, name string) (string, error) {
	lim = lim.WithDefaults()
	if len(b) > lim.MaxMessageBytes {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), lim.MaxMessageBytes)
	}
	f, err := detect(b)
	if err != nil {
		return "", err
	}
	want := nimField
	if f == FormatRFC {
		want = rfcField
	}
	var id []byte
	found := false
	for i := 0; i < len(b); {
		var fd protofield.Field
		ni, flt := fd.Read(b, i)
		if flt != protofield.OK {
			return "", faultErr(flt, "message", ni)
		}
		i = ni
		if fd.Num != want || fd.Type != protowire.BytesType {
			continue
		}
		if len(fd.Data) > lim.MaxIDBytes {
			return "", fmt.Errorf("%w: %s is %d bytes, limit %d", ErrLimit, name, len(fd.Data), lim.MaxIDBytes)
		}
		id, found = fd.Data, true
	}
	if !found || f == FormatRFC && len(id) == 0 {
		return "", fmt.Errorf("%w: %s (%s field %d)", ErrMissingField, name, f, want)
	}
	return string(id), nil
}
