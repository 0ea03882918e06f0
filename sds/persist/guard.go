package persist

import (
	"errors"
	"fmt"

	"github.com/libsds-go/libsds/sds/wire"
)

// ErrPanic: a backend method panicked; Guard turned the panic into this
// error (with the panic value in its text).
var ErrPanic = errors.New("persist: backend panicked")

// Guard returns b with every method made panic-safe: a panic inside one
// becomes an ErrPanic error from it, which the manager treats like any
// other failure of that method (a failed write is kept and retried, a
// failed load or drop is returned). Without it a panicking backend would
// unwind through the manager with a channel's lock held, and every later
// operation on that channel would wait forever. The result is a Batcher
// exactly when b is one, and lists its channels (Channels) when b can.
// Guard(nil) is nil.
func Guard(b Backend) Backend {
	if b == nil {
		return nil
	}
	if _, ok := b.(guarded); ok {
		return b
	}
	g := guardedBackend{b}
	if _, ok := b.(Batcher); ok {
		return guardedBatcher{g}
	}
	return g
}

type guarded interface{ guarded() }

type guardedBackend struct{ b Backend }

func (guardedBackend) guarded() {}

func recovered(op string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", ErrPanic, op, r)
	}
}

func (g guardedBackend) SaveChannelMeta(channelID string, d *MetaDelta) (err error) {
	defer recovered("SaveChannelMeta", &err)
	return g.b.SaveChannelMeta(channelID, d)
}

func (g guardedBackend) UpdateHistory(channelID string, u *HistoryUpdate) (err error) {
	defer recovered("UpdateHistory", &err)
	return g.b.UpdateHistory(channelID, u)
}

func (g guardedBackend) LoadChannel(channelID string) (d *ChannelData, err error) {
	defer recovered("LoadChannel", &err)
	return g.b.LoadChannel(channelID)
}

func (g guardedBackend) DropChannel(channelID string) (err error) {
	defer recovered("DropChannel", &err)
	return g.b.DropChannel(channelID)
}

func (g guardedBackend) SaveRetrievalHint(channelID, messageID string, hint []byte) (err error) {
	defer recovered("SaveRetrievalHint", &err)
	return g.b.SaveRetrievalHint(channelID, messageID, hint)
}

// Channels lists the stored channels when the backend can (nil, nil when
// it cannot tell).
func (g guardedBackend) Channels() (ids []string, err error) {
	defer recovered("Channels", &err)
	switch b := g.b.(type) {
	case interface{ Channels() ([]string, error) }:
		return b.Channels()
	case interface{ Channels() []string }:
		return b.Channels(), nil
	}
	return nil, nil
}

// MessageLoaderOf returns b's MessageLoader, or nil when b has none. For a
// backend from Guard, it is the guarded backend's, made panic-safe.
func MessageLoaderOf(b Backend) MessageLoader {
	switch g := b.(type) {
	case guardedBackend:
		return g.loader()
	case guardedBatcher:
		return g.loader()
	case MessageLoader:
		return g
	}
	return nil
}

func (g guardedBackend) loader() MessageLoader {
	if _, ok := g.b.(MessageLoader); !ok {
		return nil
	}
	return guardedLoader(g)
}

type guardedLoader guardedBackend

func (g guardedLoader) LoadMessage(channelID, messageID string) (msg wire.Message, ok bool, err error) {
	defer recovered("LoadMessage", &err)
	return g.b.(MessageLoader).LoadMessage(channelID, messageID)
}

func (g guardedLoader) HistoryIDs(channelID string, fn func(string) bool) (err error) {
	defer recovered("HistoryIDs", &err)
	return g.b.(MessageLoader).HistoryIDs(channelID, fn)
}

type guardedBatcher struct{ guardedBackend }

func (g guardedBatcher) Apply(channelID string, d *MetaDelta, u *HistoryUpdate) (err error) {
	defer recovered("Apply", &err)
	return g.b.(Batcher).Apply(channelID, d, u)
}
