package sds

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/libsds-go/libsds/sds/wire"
)

// SDS-R timing as @waku/sds 0.0.8 computes it (PROTOCOL.md §4.1), used by
// a manager that sends the RFC wire format: a group mixing it with js-waku
// peers must agree on when requests go out and who answers them. S(x) is
// the first 8 bytes of SHA-256 of x, big-endian; the arithmetic is exact,
// as with JavaScript's BigInt. Durations are whole milliseconds. Checked
// against internal/vectors/data/js_sdsr_vectors.json, produced by the
// package itself.

func jsHash(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}

// JSComputeTReq is @waku/sds's request backoff:
// S(participantID + messageID) mod (tMax - tMin) + tMin. When the range is
// not positive it is tMin (where @waku/sds throws).
func JSComputeTReq(participantID, messageID string, tMin, tMax time.Duration) time.Duration {
	minMs := tMin.Milliseconds()
	span := tMax.Milliseconds() - minMs
	if span <= 0 {
		return tMin
	}
	off := jsHash(participantID+messageID) % uint64(span)
	return time.Duration(minMs+int64(off)) * time.Millisecond
}

// JSComputeTResp is @waku/sds's response backoff:
// ((S(participantID) xor S(senderID)) * S(messageID)) mod tMax, the
// product taken whole (128 bits); 0 for the original sender, and 0 when
// tMax is not positive (where @waku/sds throws).
func JSComputeTResp(participantID, senderID, messageID string, tMax time.Duration) time.Duration {
	maxMs := tMax.Milliseconds()
	if maxMs <= 0 {
		return 0
	}
	m := uint64(maxMs)
	hi, lo := bits.Mul64(jsHash(participantID)^jsHash(senderID), jsHash(messageID))
	_, rem := bits.Div64(hi%m, lo, m) // (hi·2⁶⁴ + lo) mod m
	return time.Duration(rem) * time.Millisecond
}

// JSIsInResponseGroup is @waku/sds's response group: never without a
// sender id, always when numGroups <= 1, else when
// S(participantID + messageID) mod numGroups equals
// S(senderID + messageID) mod numGroups.
func JSIsInResponseGroup(participantID, senderID, messageID string, numGroups int) bool {
	if senderID == "" {
		return false
	}
	if numGroups <= 1 {
		return true
	}
	n := uint64(numGroups)
	return jsHash(participantID+messageID)%n == jsHash(senderID+messageID)%n
}

// The formulas of the manager's wire format: the peers it talks to, Nim
// libsds or @waku/sds, compute the same.

func (m *Manager) repairTReq(messageID string) time.Duration {
	if m.cfg.WireFormat == wire.FormatRFC {
		return JSComputeTReq(m.cfg.ParticipantID, messageID, m.cfg.RepairTMin, m.cfg.RepairTMax)
	}
	return ComputeTReq(m.cfg.ParticipantID, messageID, m.cfg.RepairTMin, m.cfg.RepairTMax)
}

// repairTResp is T_resp over tMax: RepairTMax, or the RepairPrompt
// policy's RepairResponseWindow.
func (m *Manager) repairTResp(senderID, messageID string, tMax time.Duration) time.Duration {
	if m.cfg.WireFormat == wire.FormatRFC {
		return JSComputeTResp(m.cfg.ParticipantID, senderID, messageID, tMax)
	}
	return ComputeTResp(m.cfg.ParticipantID, senderID, messageID, tMax)
}

func (m *Manager) repairInGroup(senderID, messageID string) bool {
	if m.cfg.WireFormat == wire.FormatRFC {
		return JSIsInResponseGroup(m.cfg.ParticipantID, senderID, messageID, m.cfg.NumResponseGroups)
	}
	return IsInResponseGroup(m.cfg.ParticipantID, senderID, messageID, m.cfg.NumResponseGroups)
}
