package wire

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// fault says what is wrong with the bytes at some offset. Faults are turned
// into errors only at the top level, so that probing a causal-history entry
// (legacy rule) costs no allocation when it fails.
type fault uint8

const (
	faultNone fault = iota
	faultTruncated
	faultVarint   // unterminated or overflowing varint
	faultOverlong // varint not minimally encoded
	faultWireType // group or undefined wire type
)

func (f fault) String() string {
	switch f {
	case faultTruncated:
		return "truncated field"
	case faultVarint:
		return "bad varint"
	case faultOverlong:
		return "over-long varint"
	case faultWireType:
		return "unsupported wire type"
	}
	return "ok"
}

func faultErr(f fault, where string, off int) error {
	return fmt.Errorf("%w: %s at %s offset %d", ErrMalformed, f, where, off)
}

// field is one field read from a buffer.
type field struct {
	num  uint64
	typ  protowire.Type
	v    uint64 // value of a varint field
	data []byte // payload of a length-delimited field, capacity capped
}

// varint reads a minimally encoded varint at b[i] and returns it and the
// offset after it, or a negative offset -fault. (next inlines the one-byte
// case.)
func varint(b []byte, i int) (uint64, int) {
	v, n := protowire.ConsumeVarint(b[i:])
	if n < 0 {
		if protowire.ParseError(n) == io.ErrUnexpectedEOF {
			return 0, -int(faultTruncated)
		}
		return 0, -int(faultVarint)
	}
	if n != protowire.SizeVarint(v) {
		return 0, -int(faultOverlong)
	}
	return v, i + n
}

// read reads the field starting at b[i] (i < len(b)) into fd and returns
// the offset after it. fd.v is set only for a varint field, fd.data only for
// a length-delimited one. The field number is not checked: any number is a
// (possibly unknown) field, as in the Nim decoder.
func (fd *field) read(b []byte, i int) (int, fault) {
	var tag uint64
	if c := b[i]; c < 0x80 {
		tag, i = uint64(c), i+1
	} else {
		var j int
		if tag, j = varint(b, i); j < 0 {
			return i, fault(-j)
		}
		i = j
	}
	fd.num, fd.typ = tag>>3, protowire.Type(tag&7)
	switch fd.typ {
	case protowire.VarintType:
		var j int
		if fd.v, j = varint(b, i); j < 0 {
			return i, fault(-j)
		}
		i = j
	case protowire.Fixed64Type:
		if len(b)-i < 8 {
			return i, faultTruncated
		}
		i += 8
	case protowire.Fixed32Type:
		if len(b)-i < 4 {
			return i, faultTruncated
		}
		i += 4
	case protowire.BytesType:
		var l uint64
		if i < len(b) && b[i] < 0x80 {
			l, i = uint64(b[i]), i+1
		} else {
			var j int
			if l, j = varint(b, i); j < 0 {
				return i, fault(-j)
			}
			i = j
		}
		if l > uint64(len(b)-i) {
			return i, faultTruncated
		}
		end := i + int(l)
		fd.data = b[i:end:end]
		i = end
	default:
		return i, faultWireType
	}
	return i, faultNone
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
		var fd field
		ni, flt := fd.read(b, i)
		if flt != faultNone {
			return FormatNim, faultErr(flt, "message", ni)
		}
		if fd.num == 2 {
			switch fd.typ {
			case protowire.VarintType:
				return FormatNim, nil
			case protowire.BytesType:
				return FormatRFC, nil
			}
			return FormatNim, fmt.Errorf("%w: field 2 has wire type %d (neither Nim lamport_timestamp nor RFC message_id)", ErrMalformed, fd.typ)
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
		var fd field
		ni, flt := fd.read(p, i)
		if flt != faultNone {
			return ev, false, entryBad
		}
		i = ni
		switch fd.num {
		case entryMessageID, entryRetrievalHint, entrySenderID:
		default:
			continue
		}
		if fd.typ != protowire.BytesType {
			continue
		}
		switch fd.num {
		case entryMessageID:
			if len(fd.data) > lim.MaxIDBytes {
				return ev, false, entryIDTooLong
			}
			ev.id, hasID = fd.data, true
		case entryRetrievalHint:
			if len(fd.data) > lim.MaxHintBytes {
				return ev, false, entryHintTooLong
			}
			ev.hint, ev.hasHint = fd.data, true
		case entrySenderID:
			if len(fd.data) > lim.MaxIDBytes {
				return ev, false, entrySenderTooLong
			}
			ev.sender = fd.data
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
		var fd field
		ni, flt := fd.read(b, i)
		if flt != faultNone {
			return faultErr(flt, "message", ni)
		}
		i = ni
		r := roleOf(f, fd.num)
		if r == roleUnknown {
			continue
		}
		want := protowire.BytesType
		if r == roleLamport {
			want = protowire.VarintType
		}
		if fd.typ != want {
			continue // as the Nim decoder: a known field of the wrong type is skipped
		}
		s.has |= 1 << r
		switch r {
		case roleMessageID, roleChannelID, roleSender:
			if len(fd.data) > lim.MaxIDBytes {
				return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrLimit, r, len(fd.data), lim.MaxIDBytes)
			}
			switch r {
			case roleMessageID:
				s.msgID = fd.data
			case roleChannelID:
				s.channel = fd.data
			default:
				s.sender = fd.data
			}
		case roleLamport:
			s.lamport = fd.v
		case roleContent:
			s.content = fd.data
		case roleBloom:
			if len(fd.data) > lim.MaxBloomBytes {
				return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrLimit, r, len(fd.data), lim.MaxBloomBytes)
			}
			s.bloom = fd.data
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
			ev, ef := parseEntry(fd.data, f, r, lim)
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
			var fd field
			ni, _ := fd.read(b, i) // validated by scanMessage
			i = ni
			r := roleOf(f, fd.num)
			if r != roleHistory && r != roleRepair {
				continue
			}
			ev, _ := parseEntry(fd.data, f, r, lim) // validated by scanMessage
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
	lim = lim.WithDefaults()
	if len(b) > lim.MaxMessageBytes {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), lim.MaxMessageBytes)
	}
	f, err := detect(b)
	if err != nil {
		return "", err
	}
	var want uint64 = nimChannelID
	if f == FormatRFC {
		want = rfcChannelID
	}
	var ch []byte
	found := false
	for i := 0; i < len(b); {
		var fd field
		ni, flt := fd.read(b, i)
		if flt != faultNone {
			return "", faultErr(flt, "message", ni)
		}
		i = ni
		if fd.num != want {
			continue
		}
		if fd.typ != protowire.BytesType {
			continue
		}
		if len(fd.data) > lim.MaxIDBytes {
			return "", fmt.Errorf("%w: channel_id is %d bytes, limit %d", ErrLimit, len(fd.data), lim.MaxIDBytes)
		}
		ch, found = fd.data, true
	}
	if !found || f == FormatRFC && len(ch) == 0 {
		return "", fmt.Errorf("%w: channel_id (%s field %d)", ErrMissingField, f, want)
	}
	return string(ch), nil
}
