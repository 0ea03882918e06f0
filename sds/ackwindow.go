package sds

import (
	"math"
	"time"

	"github.com/libsds-go/libsds/sds/bloom"
)

// compactFilter is a channel's filter in the Nim wire format unless
// Config.FullBloomFilter is set: the Nim rolling filter, kept exactly as
// before, plus the acknowledgement window, the ids added within the last
// Config.EffectiveAckWindow. A message carries the window's filter (a
// Nim filter sized for the error rate at the window's count), or the
// rolling filter when that one would be smaller.
//
// A received filter is only used to acknowledge the receiver's own
// unacknowledged messages, and a peer stops waiting for those after the
// window (see EffectiveAckWindow): older ids acknowledge nothing.
//
// The rolling filter's bits (18.8 KB at the defaults) are only needed in
// a burst, and its ring of ids determines them (bloom.Rolling): they are
// released while the window's filter serves, rebuilt when a burst first
// needs them, kept up to date while it lasts, and released again once
// the window needs at most half as many bits, so a window hovering near
// that size does not rebuild them per message.
type compactFilter struct {
	rolling *bloom.Rolling
	window  *bloom.Window
	clock   Clock
	epoch   time.Time // window times are offsets from it (monotonic with SystemClock)
	span    time.Duration
}

func newCompactFilter(r *bloom.Rolling, cfg *Config) (*compactFilter, error) {
	w, err := bloom.NewWindow(cfg.BloomErrorRate, r.MaxCapacity())
	if err != nil {
		return nil, err
	}
	r.ReleaseFilter() // kept when the ring cannot rebuild it (bloom.Rolling)
	return &compactFilter{rolling: r, window: w, clock: cfg.Clock, epoch: cfg.Clock.Now(), span: cfg.EffectiveAckWindow()}, nil
}

func (f *compactFilter) now() int64 { return int64(f.clock.Now().Sub(f.epoch)) }

func (f *compactFilter) add(id string, k bloom.Key) {
	f.rolling.AddKey(id, k)
	f.window.Add(k, f.now())
}

func (f *compactFilter) appendWire(dst []byte) []byte {
	f.expire()
	if w := f.window.Filter(f.rolling.Params().MBits); w != nil {
		f.releaseUnneeded()
		return w.AppendSerialized(dst)
	}
	return f.rolling.Filter().AppendSerialized(dst) // a burst: the window needs as much
}

// releaseUnneeded releases the rolling filter's bits once the window
// needs at most half as many (see compactFilter). It does not build the
// window's filter: when that is rebuilt decides its size, and so the
// bytes sent.
func (f *compactFilter) releaseUnneeded() {
	if !f.rolling.Released() && 2*f.window.MinBits() <= f.rolling.Params().MBits {
		f.rolling.ReleaseFilter()
	}
}

func (f *compactFilter) expire() {
	now := f.now()
	cutoff := now - int64(f.span)
	if cutoff > now { // overflowed: nothing is that old
		cutoff = math.MinInt64
	}
	f.window.Expire(cutoff)
}

func (f *compactFilter) reset() {
	f.rolling.Reset()
	f.rolling.ReleaseFilter()
	f.window.Reset()
}

// clean also expires the window, so an idle channel releases it, and
// the rolling filter's bits after a burst.
func (f *compactFilter) clean() {
	f.rolling.Clean()
	f.expire()
	f.releaseUnneeded()
}

// EffectiveAckWindow is AckWindow, or when that is 0 the longest a peer
// with this configuration waits for an acknowledgement of a message,
// counted from when it sent it: it resends up to MaxResendAttempts times,
// each when the resend interval has passed (found by a buffer sweep, up
// to BufferSweepInterval later), and gives up one interval after the last
// resend: (MaxResendAttempts + 1) × (interval + BufferSweepInterval). The
// interval is ResendInterval, or the longer of it and
// PossiblyAckedResendInterval when BloomAckThreshold > 1 (only then can a
// message be "possibly acknowledged"). We receive a message no earlier
// than it was sent, so an id kept for that long after its receipt covers
// every moment its sender may still be waiting, resends and delivery
// delays included. The Nim libsds (resend counted, not sent) stops
// waiting within the same bound.
func (c Config) EffectiveAckWindow() time.Duration {
	if c.AckWindow > 0 {
		return c.AckWindow
	}
	interval := c.ResendInterval
	if c.BloomAckThreshold > 1 {
		interval = max(interval, c.PossiblyAckedResendInterval)
	}
	per := interval + c.BufferSweepInterval
	rounds := int64(c.MaxResendAttempts) + 1
	if per <= 0 || rounds <= 0 || per > math.MaxInt64/time.Duration(rounds) {
		return math.MaxInt64 // overflow: every id stays until the window's count outgrows the full filter
	}
	return time.Duration(rounds) * per
}
