// Package bolt is the embedded durable persist.Backend: one file, written
// in transactions by go.etcd.io/bbolt (a copy-on-write B+tree; a transaction
// that returned nil has been fsynced, so the state survives a crash or power
// loss from then on).
//
// # Layout
//
//	bucket "meta"      key "format" = "libsds-persist-bolt/1" (checked on Open)
//	bucket "channels"
//	  bucket "c"+channelID           one per channel ("c" allows the empty id)
//	    bucket "r"   record key → record value (persist.MetaDelta keys)
//	    bucket "h"   8-byte big-endian sequence → Nim wire encoding of a message
//	    bucket "x"   "k"+message id → its 8-byte sequence in "h"
//	    bucket "t"   "k"+message id → retrieval hint
//
// The history is ordered by a sequence (the "h" bucket's own, monotonically
// increasing and persisted), so loading walks "h" in key order, appending
// takes the next sequence, and evicting is two deletes found through "x".
// ("k" prefixes ids because bbolt keys cannot be empty.) A write touches
// only the pages of the keys it changes: its cost follows the operation,
// not the size of the channel.
//
// Every Backend call is one bbolt transaction (Apply: the meta delta and
// the history update together); a transaction that fails is rolled back, so
// an error means nothing changed, as persist.Writer relies on. (The one
// exception bbolt shares with every store that fsyncs: if the final fsync
// itself fails, the kernel may still write the pages later. A machine whose
// fsync fails has a failing disk.)
package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// Format is the layout version stored in the file.
const Format = "libsds-persist-bolt/1"

var (
	bucketMeta     = []byte("meta")
	bucketChannels = []byte("channels")
	keyFormat      = []byte("format")
	bucketRecords  = []byte("r")
	bucketHistory  = []byte("h")
	bucketIndex    = []byte("x")
	bucketHints    = []byte("t")
)

// historyFillPercent is the history bucket's bbolt FillPercent (its
// maximum; not stored in the file, so it applies to existing files too).
const historyFillPercent = 1.0

// ErrFormat: the file was written with another layout version.
var ErrFormat = errors.New("bolt: unsupported store format")

// Store is a persist.Backend, persist.Batcher and persist.MessageLoader in
// one bbolt file. Safe for concurrent use; writes are serialised by bbolt,
// reads run beside them.
type Store struct {
	db  *bbolt.DB
	lim persist.Limits
}

var (
	_ persist.Backend       = (*Store)(nil)
	_ persist.Batcher       = (*Store)(nil)
	_ persist.MessageLoader = (*Store)(nil)
)

// Options configures Open. The zero value is the safe default.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another
	// process (or Store) before failing. Default 1s.
	Timeout time.Duration
	// NoSync skips the fsync of each transaction: faster, and a crash may
	// lose or corrupt recent writes. Only for tests and throwaway data.
	NoSync bool
	// Limits bound decoding the stored messages on load.
	Limits persist.Limits
}

// Open opens (creating it if needed, mode 0600) the store at path. For a
// manager, pass it as sds.Config.Persistence with Options.Limits set to
// the configuration's PersistLimits(), and Close it after the manager's
// Close: the manager never closes its backend.
func Open(path string, opt *Options) (*Store, error) {
	if opt == nil {
		opt = &Options{}
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      timeout,
		NoSync:       opt.NoSync,
		FreelistType: bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch f := m.Get(keyFormat); {
		case f == nil:
			if err := m.Put(keyFormat, []byte(Format)); err != nil {
				return err
			}
		case string(f) != Format:
			return fmt.Errorf("%w: %s has %q, this library reads %q", ErrFormat, path, f, Format)
		}
		_, err = tx.CreateBucketIfNotExists(bucketChannels)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db, lim: opt.Limits}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Size returns the file's size in bytes.
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.db.Path())
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func channelKey(id string) []byte { return append([]byte{'c'}, id...) }

func idKey(id string) []byte { return append([]byte{'k'}, id...) }

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// channel returns the channel's bucket, creating it (and its sub-buckets)
// when create is set; nil when it does not exist.
func channel(tx *bbolt.Tx, id string, create bool) (*bbolt.Bucket, error) {
	chans := tx.Bucket(bucketChannels)
	if chans == nil {
		return nil, fmt.Errorf("bolt: bucket %q missing", bucketChannels)
	}
	if !create {
		return chans.Bucket(channelKey(id)), nil
	}
	c, err := chans.CreateBucketIfNotExists(channelKey(id))
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bucketRecords, bucketHistory, bucketIndex, bucketHints} {
		if _, err := c.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// saveMeta and updateHistory write a delta and an update that are not
// empty (callers skip empty ones).
func saveMeta(tx *bbolt.Tx, channelID string, d *persist.MetaDelta) error {
	c, err := channel(tx, channelID, true)
	if err != nil {
		return err
	}
	r := c.Bucket(bucketRecords)
	for k, v := range d.Puts {
		if k == "" {
			return fmt.Errorf("%w: empty record key", persist.ErrMalformed)
		}
		if v == nil {
			v = []byte{}
		}
		if err := r.Put([]byte(k), v); err != nil {
			return err
		}
	}
	for k := range d.Deletes {
		if k == "" {
			continue
		}
		if err := r.Delete([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

func updateHistory(tx *bbolt.Tx, channelID string, u *persist.HistoryUpdate) error {
	c, err := channel(tx, channelID, true)
	if err != nil {
		return err
	}
	h, x, t := c.Bucket(bucketHistory), c.Bucket(bucketIndex), c.Bucket(bucketHints)
	// Sequences only grow, so a split-off leaf is never inserted into
	// again: split it full, not half full (bbolt's default). Messages under
	// ~1 KB then take a third fewer pages, on disk and in the map bbolt's
	// free list keeps in memory of every page it reused since Open.
	h.FillPercent = historyFillPercent
	for i := range u.Append {
		m := &u.Append[i]
		ik := idKey(m.MessageID)
		if old := x.Get(ik); old != nil {
			if err := h.Delete(old); err != nil {
				return err
			}
		}
		n, err := h.NextSequence()
		if err != nil {
			return err
		}
		sk := seqKey(n)
		// bbolt keeps a reference to a value until the transaction
		// commits, so each message gets its own buffer.
		if err := h.Put(sk, m.Marshal(wire.FormatNim)); err != nil {
			return err
		}
		if err := x.Put(ik, sk); err != nil {
			return err
		}
	}
	for _, id := range u.Evict {
		ik := idKey(id)
		if sk := x.Get(ik); sk != nil {
			if err := h.Delete(sk); err != nil {
				return err
			}
			if err := x.Delete(ik); err != nil {
				return err
			}
		}
		if err := t.Delete(ik); err != nil {
			return err
		}
	}
	return nil
}

// SaveChannelMeta implements persist.Backend.
func (s *Store) SaveChannelMeta(channelID string, d *persist.MetaDelta) error {
	if d.IsEmpty() {
		return nil
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return saveMeta(tx, channelID, d) })
}

// UpdateHistory implements persist.Backend.
func (s *Store) UpdateHistory(channelID string, u *persist.HistoryUpdate) error {
	if u.IsEmpty() {
		return nil
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return updateHistory(tx, channelID, u) })
}

// Apply implements persist.Batcher: both writes in one transaction.
func (s *Store) Apply(channelID string, d *persist.MetaDelta, u *persist.HistoryUpdate) error {
	if d.IsEmpty() && u.IsEmpty() {
		return nil
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		if !d.IsEmpty() {
			if err := saveMeta(tx, channelID, d); err != nil {
				return err
			}
		}
		if u.IsEmpty() {
			return nil
		}
		return updateHistory(tx, channelID, u)
	})
}

// LoadChannel implements persist.Backend.
func (s *Store) LoadChannel(channelID string) (*persist.ChannelData, error) {
	d := &persist.ChannelData{Records: map[string][]byte{}, Hints: map[string][]byte{}}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c, err := channel(tx, channelID, false)
		if c == nil || err != nil {
			return err
		}
		// Values live in the memory map only during the transaction:
		// everything is copied out (decoding copies the messages).
		if err := c.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			d.Records[string(k)] = bytes.Clone(v)
			return nil
		}); err != nil {
			return err
		}
		if err := c.Bucket(bucketHints).ForEach(func(k, v []byte) error {
			if len(k) == 0 || k[0] != 'k' {
				return fmt.Errorf("%w: hint key %q", persist.ErrMalformed, k)
			}
			d.Hints[string(k[1:])] = bytes.Clone(v)
			return nil
		}); err != nil {
			return err
		}
		return c.Bucket(bucketHistory).ForEach(func(k, v []byte) error {
			m, err := persist.DecodeMessage(v, s.lim)
			if err != nil {
				return fmt.Errorf("history entry %x: %w", k, err)
			}
			d.History = append(d.History, m)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: load channel %q: %w", channelID, err)
	}
	return d, nil
}

// LoadMessage implements persist.MessageLoader: two lookups ("x", then
// "h") in one read transaction, and the decoding of one message.
func (s *Store) LoadMessage(channelID, messageID string) (msg wire.Message, ok bool, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		c, err := channel(tx, channelID, false)
		if c == nil || err != nil {
			return err
		}
		seq := c.Bucket(bucketIndex).Get(idKey(messageID))
		if seq == nil {
			return nil
		}
		v := c.Bucket(bucketHistory).Get(seq)
		if v == nil {
			return fmt.Errorf("%w: index names sequence %x, absent from the history", persist.ErrMalformed, seq)
		}
		msg, err = persist.DecodeMessage(v, s.lim) // copies out of the memory map
		ok = err == nil
		return err
	})
	if err != nil {
		return wire.Message{}, false, fmt.Errorf("bolt: load message %q of channel %q: %w", messageID, channelID, err)
	}
	return msg, ok, nil
}

// HistoryIDs implements persist.MessageLoader: one read transaction over
// "h", reading each message's id field alone.
func (s *Store) HistoryIDs(channelID string, fn func(string) bool) error {
	err := s.db.View(func(tx *bbolt.Tx) error {
		c, err := channel(tx, channelID, false)
		if c == nil || err != nil {
			return err
		}
		cur := c.Bucket(bucketHistory).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			id, err := wire.MessageID(v, s.lim.Wire) // a copy, out of the memory map
			if err != nil {
				return fmt.Errorf("%w: history entry %x: %w", persist.ErrMalformed, k, err)
			}
			if !fn(id) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt: history ids of channel %q: %w", channelID, err)
	}
	return nil
}

// DropChannel implements persist.Backend.
func (s *Store) DropChannel(channelID string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		err := tx.Bucket(bucketChannels).DeleteBucket(channelKey(channelID))
		if errors.Is(err, bbolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// SaveRetrievalHint implements persist.Backend.
func (s *Store) SaveRetrievalHint(channelID, messageID string, hint []byte) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if len(hint) == 0 {
			c, err := channel(tx, channelID, false)
			if c == nil || err != nil {
				return err
			}
			return c.Bucket(bucketHints).Delete(idKey(messageID))
		}
		c, err := channel(tx, channelID, true)
		if err != nil {
			return err
		}
		return c.Bucket(bucketHints).Put(idKey(messageID), bytes.Clone(hint))
	})
}

// Channels returns the ids of the stored channels, in byte order.
func (s *Store) Channels() ([]string, error) {
	var ids []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketChannels).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k[1:]))
			return nil
		})
	})
	return ids, err
}
