package sds

import (
	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds/bloom"
	"github.com/libsds-go/libsds/sds/wire"
)

// localFilter is a channel's own rolling bloom filter, in the encoding of
// the wire format the manager sends.
type localFilter interface {
	add(id string, k bloom.Key)
	appendWire(dst []byte) []byte
	reset()
	// clean rolls the filter over if it holds too many ids (Nim's
	// cleanBloomFilter); add already does so, so this is a cheap no-op
	// unless that ever changes.
	clean()
}

func newLocalFilter(cfg *Config) (localFilter, error) {
	r, err := bloom.NewRollingKeys(cfg.BloomCapacity, cfg.BloomErrorRate) // ids of its own would keep the callers' strings alive
	if err != nil {
		return nil, err
	}
	if cfg.WireFormat == wire.FormatNim {
		if cfg.FullBloomFilter {
			return nimFilter{r}, nil
		}
		return newCompactFilter(r, cfg)
	}
	f, err := bloom.NewRFC(cfg.BloomCapacity, cfg.BloomErrorRate)
	if err != nil {
		return nil, err
	}
	return &rfcFilter{ids: r, bits: f}, nil
}

// nimFilter is the Nim rolling filter, serialized with its parameters.
type nimFilter struct{ r *bloom.Rolling }

func (f nimFilter) add(id string, k bloom.Key)   { f.r.AddKey(id, k) }
func (f nimFilter) appendWire(dst []byte) []byte { return f.r.Filter().AppendSerialized(dst) }
func (f nimFilter) reset()                       { f.r.Reset() }
func (f nimFilter) clean()                       { f.r.Clean() }

// rfcFilter keeps the RFC filter at its fixed size (peers assume it) and
// follows the Nim rolling filter to roll over at the same points, keeping
// the RFC keys of the ids that filter holds (oldest first) to rebuild.
type rfcFilter struct {
	ids  *bloom.Rolling
	keys []bloom.RFCKey
	bits *bloom.RFCFilter
}

func (f *rfcFilter) add(id string, k bloom.Key) {
	before := f.ids.Len()
	f.ids.AddKey(id, k)
	rk := bloom.RFCKeyOf(id)
	f.keys = append(f.keys, rk)
	if f.ids.Len() > before {
		f.bits.AddKey(rk)
		return
	}
	// Rolled over: keep the keys of the ids kept (in a fresh slice, so the
	// dropped ones' memory goes) and rebuild from them.
	f.keys = append([]bloom.RFCKey(nil), f.keys[len(f.keys)-f.ids.Len():]...)
	f.bits.Reset()
	for _, kept := range f.keys {
		f.bits.AddKey(kept)
	}
}
func (f *rfcFilter) appendWire(dst []byte) []byte { return f.bits.AppendBytes(dst) }
func (f *rfcFilter) reset()                       { f.ids.Reset(); f.keys = nil; f.bits.Reset() }
func (f *rfcFilter) clean()                       {} // add rolls over, rebuilding bits

// receivedFilter is a peer's filter decoded from a message.
type receivedFilter interface {
	contains(s *outSlot) bool
	// containsID tests id, whose hashes p caches.
	containsID(id string, p *bloom.Probe) bool
}

type nimReceived struct{ f *bloom.Filter }

func (r nimReceived) contains(s *outSlot) bool                 { return r.f.ContainsProbe(&s.probe) }
func (r nimReceived) containsID(_ string, p *bloom.Probe) bool { return r.f.ContainsProbe(p) }

type rfcReceived struct{ f *bloom.RFCFilter }

func (r rfcReceived) contains(s *outSlot) bool                  { return r.f.Contains(s.e.msg.MessageID) }
func (r rfcReceived) containsID(id string, _ *bloom.Probe) bool { return r.f.Contains(id) }

// decodeReceived decodes a peer's filter into the channel's reusable
// scratch filter (valid until the next call). It returns nil for an absent
// or invalid filter: an invalid one is treated as absent (PROTOCOL.md §2).
func (c *channel) decodeReceived(b []byte, format wire.Format, cfg *Config, log *zerolog.Logger) receivedFilter {
	if len(b) == 0 {
		return nil
	}
	if format == wire.FormatRFC {
		if c.peerRFC == nil {
			f, err := bloom.NewRFC(cfg.BloomCapacity, cfg.BloomErrorRate)
			if err != nil {
				return nil
			}
			c.peerRFC = f
		}
		if err := c.peerRFC.SetBytes(b); err != nil {
			log.Debug().Err(err).Str("channel", c.id).Msg("ignoring received RFC bloom filter")
			return nil
		}
		return rfcReceived{c.peerRFC}
	}
	if c.peerNim == nil {
		c.peerNim = new(bloom.Filter)
	}
	f := c.peerNim
	if len(b) > c.peerKeep {
		// Far larger than a filter of our size (up to bloom.MaxFilterBytes):
		// decoded once, not kept as the channel's scratch, so peers cannot
		// make every channel hold a megabyte.
		f = new(bloom.Filter)
	}
	if err := f.UnmarshalBinary(b); err != nil {
		log.Debug().Err(err).Str("channel", c.id).Msg("ignoring received bloom filter")
		return nil
	}
	return nimReceived{f}
}
