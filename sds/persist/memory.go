package persist

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/libsds-go/libsds/sds/wire"
)

// Op names a Backend operation, for fault injection and call counts.
type Op string

// Backend operations.
const (
	OpSaveChannelMeta   Op = "SaveChannelMeta"
	OpUpdateHistory     Op = "UpdateHistory"
	OpApply             Op = "Apply"
	OpLoadChannel       Op = "LoadChannel"
	OpDropChannel       Op = "DropChannel"
	OpSaveRetrievalHint Op = "SaveRetrievalHint"
	OpLoadMessage       Op = "LoadMessage" // MessageLoader
	OpHistoryIDs        Op = "HistoryIDs"  // MessageLoader
)

func (op Op) write() bool { return op != OpLoadChannel && op != OpLoadMessage && op != OpHistoryIDs }

// Memory is an in-memory Backend (and Batcher, and MessageLoader) for tests, with fault
// injection. History messages are kept in their Nim encoding, as a durable
// backend keeps them. Safe for concurrent use.
type Memory struct {
	mu       sync.Mutex
	channels map[string]*memChannel

	failNext int
	failRate float64
	rng      *rand.Rand
	failOps  map[Op]bool
	calls    map[Op]int
	failed   map[Op]int
}

type memChannel struct {
	records map[string][]byte
	seq     uint64
	hist    map[uint64][]byte // seq → Nim-encoded message
	index   map[string]uint64 // id → seq
	hints   map[string][]byte
}

var (
	_ Backend       = (*Memory)(nil)
	_ Batcher       = (*Memory)(nil)
	_ MessageLoader = (*Memory)(nil)
)

// NewMemory returns an empty Memory backend.
func NewMemory() *Memory {
	return &Memory{
		channels: make(map[string]*memChannel),
		failOps:  make(map[Op]bool),
		calls:    make(map[Op]int),
		failed:   make(map[Op]int),
	}
}

// FailNextWrites makes the next n writes (every operation but LoadChannel)
// fail with ErrInjected, changing nothing.
func (m *Memory) FailNextWrites(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failNext = n
}

// FailWriteFraction makes each write fail with probability p (0 turns it
// off), drawn from a generator seeded with seed.
func (m *Memory) FailWriteFraction(p float64, seed uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failRate = p
	m.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// SetFailing makes every call of op fail (on true) until turned off, like
// the Nim in-memory test backend's failingOps.
func (m *Memory) SetFailing(op Op, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failOps[op] = on
}

// Calls returns how many times op was called (failed calls included).
func (m *Memory) Calls(op Op) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[op]
}

// Failed returns how many calls of op failed by injection.
func (m *Memory) Failed(op Op) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed[op]
}

// enter counts a call and decides whether to fail it. m.mu is held.
func (m *Memory) enter(op Op) error {
	m.calls[op]++
	fail := m.failOps[op]
	if !fail && op.write() {
		switch {
		case m.failNext > 0:
			m.failNext--
			fail = true
		case m.failRate > 0 && m.rng.Float64() < m.failRate:
			fail = true
		}
	}
	if fail {
		m.failed[op]++
		return fmt.Errorf("%w: %s", ErrInjected, op)
	}
	return nil
}

func (m *Memory) channel(id string) *memChannel {
	c := m.channels[id]
	if c == nil {
		c = &memChannel{
			records: make(map[string][]byte),
			hist:    make(map[uint64][]byte),
			index:   make(map[string]uint64),
			hints:   make(map[string][]byte),
		}
		m.channels[id] = c
	}
	return c
}

// SaveChannelMeta implements Backend.
func (m *Memory) SaveChannelMeta(channelID string, d *MetaDelta) error {
	return m.write(OpSaveChannelMeta, func() { m.saveMeta(channelID, d) })
}

// write runs op's change under the lock, unless op is made to fail.
func (m *Memory) write(op Op, change func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(op); err != nil {
		return err
	}
	change()
	return nil
}

func (m *Memory) saveMeta(channelID string, d *MetaDelta) {
	if d.IsEmpty() {
		return
	}
	d.ApplyTo(m.channel(channelID).records)
}

// UpdateHistory implements Backend.
func (m *Memory) UpdateHistory(channelID string, u *HistoryUpdate) error {
	return m.write(OpUpdateHistory, func() { m.updateHistory(channelID, u) })
}

func (m *Memory) updateHistory(channelID string, u *HistoryUpdate) {
	if u.IsEmpty() {
		return
	}
	c := m.channel(channelID)
	for i := range u.Append {
		msg := &u.Append[i]
		if old, ok := c.index[msg.MessageID]; ok {
			delete(c.hist, old)
		}
		c.seq++
		c.hist[c.seq] = msg.Marshal(wire.FormatNim)
		c.index[msg.MessageID] = c.seq
	}
	for _, id := range u.Evict {
		if s, ok := c.index[id]; ok {
			delete(c.hist, s)
			delete(c.index, id)
		}
		delete(c.hints, id)
	}
}

// Apply implements Batcher.
func (m *Memory) Apply(channelID string, d *MetaDelta, u *HistoryUpdate) error {
	return m.write(OpApply, func() {
		m.saveMeta(channelID, d)
		m.updateHistory(channelID, u)
	})
}

// LoadChannel implements Backend.
func (m *Memory) LoadChannel(channelID string) (*ChannelData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(OpLoadChannel); err != nil {
		return nil, err
	}
	d := &ChannelData{Records: map[string][]byte{}, Hints: map[string][]byte{}}
	c := m.channels[channelID]
	if c == nil {
		return d, nil
	}
	for k, v := range c.records {
		d.Records[k] = bytes.Clone(v)
	}
	for k, v := range c.hints {
		d.Hints[k] = bytes.Clone(v)
	}
	lim := Limits{}.norm()
	for _, s := range slices.Sorted(maps.Keys(c.hist)) {
		msg, err := decodeMessage(c.hist[s], &lim, "stored history message")
		if err != nil {
			return nil, err
		}
		d.History = append(d.History, msg)
	}
	return d, nil
}

// LoadMessage implements MessageLoader.
func (m *Memory) LoadMessage(channelID, messageID string) (wire.Message, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(OpLoadMessage); err != nil {
		return wire.Message{}, false, err
	}
	c := m.channels[channelID]
	if c == nil {
		return wire.Message{}, false, nil
	}
	s, ok := c.index[messageID]
	if !ok {
		return wire.Message{}, false, nil
	}
	lim := Limits{}.norm()
	msg, err := decodeMessage(c.hist[s], &lim, "stored history message")
	return msg, err == nil, err
}

// HistoryIDs implements MessageLoader.
func (m *Memory) HistoryIDs(channelID string, fn func(string) bool) error {
	m.mu.Lock()
	if err := m.enter(OpHistoryIDs); err != nil {
		m.mu.Unlock()
		return err
	}
	var ids []string
	if c := m.channels[channelID]; c != nil {
		ids = slices.SortedFunc(maps.Keys(c.index), func(a, b string) int { return cmp.Compare(c.index[a], c.index[b]) })
	}
	m.mu.Unlock() // fn may be slow; it must not call m, but the next operation may run
	for _, id := range ids {
		if !fn(id) {
			break
		}
	}
	return nil
}

// DropChannel implements Backend.
func (m *Memory) DropChannel(channelID string) error {
	return m.write(OpDropChannel, func() { delete(m.channels, channelID) })
}

// SaveRetrievalHint implements Backend.
func (m *Memory) SaveRetrievalHint(channelID, messageID string, hint []byte) error {
	return m.write(OpSaveRetrievalHint, func() {
		if len(hint) == 0 {
			if c := m.channels[channelID]; c != nil {
				delete(c.hints, messageID)
			}
			return
		}
		m.channel(channelID).hints[messageID] = bytes.Clone(hint)
	})
}

// Channels returns the ids of the channels holding any state, sorted.
func (m *Memory) Channels() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, c := range m.channels {
		if len(c.records)+len(c.hist)+len(c.hints) > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
