// Package persisttest checks persist.Backend implementations against the
// contract: RunBackendTests is the conformance suite every backend passes,
// and Model is the contract's reference semantics.
package persisttest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Model is the reference semantics of persist.Backend, kept as simple as
// possible (slices, linear searches). Its operations never fail. Not safe
// for concurrent use.
type Model struct {
	channels map[string]*modelChannel
}

type modelChannel struct {
	records map[string][]byte
	history []wire.Message // oldest first
	hints   map[string][]byte
}

// NewModel returns an empty model.
func NewModel() *Model { return &Model{channels: make(map[string]*modelChannel)} }

func (m *Model) channel(id string) *modelChannel {
	c := m.channels[id]
	if c == nil {
		c = &modelChannel{records: map[string][]byte{}, hints: map[string][]byte{}}
		m.channels[id] = c
	}
	return c
}

// SaveChannelMeta applies d.
func (m *Model) SaveChannelMeta(channelID string, d *persist.MetaDelta) {
	if d.IsEmpty() {
		return
	}
	d.ApplyTo(m.channel(channelID).records)
}

// UpdateHistory applies u: appends in order (a present id is replaced and
// moves to the end), then evictions (which remove the id's hint too).
func (m *Model) UpdateHistory(channelID string, u *persist.HistoryUpdate) {
	if u.IsEmpty() {
		return
	}
	c := m.channel(channelID)
	remove := func(id string) {
		c.history = slices.DeleteFunc(c.history, func(x wire.Message) bool { return x.MessageID == id })
	}
	for _, msg := range u.Append {
		remove(msg.MessageID)
		c.history = append(c.history, nimCopy(&msg))
	}
	for _, id := range u.Evict {
		remove(id)
		delete(c.hints, id)
	}
}

// Apply applies d then u.
func (m *Model) Apply(channelID string, d *persist.MetaDelta, u *persist.HistoryUpdate) {
	m.SaveChannelMeta(channelID, d)
	m.UpdateHistory(channelID, u)
}

// nimCopy returns a deep copy of m holding what the Nim encoding keeps, as
// a backend stores it.
func nimCopy(m *wire.Message) wire.Message {
	c, err := persist.DecodeMessage(m.Marshal(wire.FormatNim), persist.Limits{})
	if err != nil {
		panic(fmt.Sprintf("persisttest: model cannot store message %q: %v", m.MessageID, err))
	}
	return c
}

// DropChannel forgets the channel.
func (m *Model) DropChannel(channelID string) { delete(m.channels, channelID) }

// SaveRetrievalHint stores (or, when empty, removes) a hint.
func (m *Model) SaveRetrievalHint(channelID, messageID string, hint []byte) {
	if len(hint) == 0 {
		if c := m.channels[channelID]; c != nil {
			delete(c.hints, messageID)
		}
		return
	}
	m.channel(channelID).hints[messageID] = bytes.Clone(hint)
}

// Load returns what LoadChannel must return for channelID.
func (m *Model) Load(channelID string) *persist.ChannelData {
	d := &persist.ChannelData{Records: map[string][]byte{}, Hints: map[string][]byte{}}
	c := m.channels[channelID]
	if c == nil {
		return d
	}
	for k, v := range c.records {
		d.Records[k] = bytes.Clone(v)
	}
	for k, v := range c.hints {
		d.Hints[k] = bytes.Clone(v)
	}
	for i := range c.history {
		d.History = append(d.History, nimCopy(&c.history[i]))
	}
	return d
}

// Channels returns the ids of the channels holding anything, sorted.
func (m *Model) Channels() []string {
	empty := func(id string) bool {
		c := m.channels[id]
		return len(c.records)+len(c.history)+len(c.hints) == 0
	}
	return slices.DeleteFunc(slices.Sorted(maps.Keys(m.channels)), empty)
}

// Diff describes how got differs from want ("" when they are equal):
// records and hints as maps of bytes, the history in order, messages
// compared by their Nim encodings. nil equals empty.
func Diff(got, want *persist.ChannelData) string {
	if got == nil {
		got = &persist.ChannelData{}
	}
	if want == nil {
		want = &persist.ChannelData{}
	}
	if s := mapDiff("record", got.Records, want.Records); s != "" {
		return s
	}
	if s := mapDiff("hint", got.Hints, want.Hints); s != "" {
		return s
	}
	ids := func(h []wire.Message) []string {
		out := make([]string, len(h))
		for i := range h {
			out[i] = h[i].MessageID
		}
		return out
	}
	if len(got.History) != len(want.History) {
		return fmt.Sprintf("history has %d messages %q, want %d %q", len(got.History), ids(got.History), len(want.History), ids(want.History))
	}
	for i := range got.History {
		g, w := got.History[i].Marshal(wire.FormatNim), want.History[i].Marshal(wire.FormatNim)
		if !bytes.Equal(g, w) {
			return fmt.Sprintf("history[%d] is %q, want %q (order %q, want %q)", i, got.History[i].MessageID, want.History[i].MessageID, ids(got.History), ids(want.History))
		}
	}
	return ""
}

func mapDiff(what string, got, want map[string][]byte) string {
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			return fmt.Sprintf("%s %q missing", what, k)
		}
		if !bytes.Equal(g, want[k]) {
			return fmt.Sprintf("%s %q = %x, want %x", what, k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("unexpected %s %q", what, k)
		}
	}
	return ""
}
