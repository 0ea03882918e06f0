package sds

import "hash/maphash"

// idSeed keys the hashes of ids kept in memory (seqIndex, rememberedIDs):
// chosen at random per process, so a peer cannot craft ids that collide.
var idSeed = maphash.MakeSeed()

func hashID(id string) uint64 { return maphash.String(idSeed, id) }

// seqIndex finds the elements of a FIFO (the log, the remembered ids) by
// hash. The FIFO numbers its elements with consecutive sequence numbers
// and keeps their keys; the index is an open-addressing table (linear
// probing, load at most 1/2) of 4-byte slots holding the low 31 bits of a
// sequence number, so it costs about 8 bytes per element. A FIFO never
// holds 2^31 elements at once, so those bits and the oldest sequence
// number held give the whole one back.
type seqIndex struct {
	slots []uint32 // 0: empty; else seqUsed | seq&seqMask
	n     int
}

const (
	seqUsed = 1 << 31
	seqMask = seqUsed - 1
)

// seqKeys is what an index reads from its FIFO.
type seqKeys interface {
	// hashAt is the hash of the key at seq (a held element).
	hashAt(seq uint64) uint64
}

// seqAt turns a slot back into a sequence number, given the oldest held.
func seqAt(slot uint32, oldest uint64) uint64 {
	return oldest + uint64((slot-uint32(oldest))&seqMask)
}

// find returns the sequence number of the element with hash h for which
// match is true; oldest is the oldest held.
func (x *seqIndex) find(h, oldest uint64, match func(seq uint64) bool) (uint64, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; x.slots[i] != 0; i = (i + 1) & mask {
		if seq := seqAt(x.slots[i], oldest); match(seq) {
			return seq, true
		}
	}
	return 0, false
}

// insert adds seq, whose key hashes to h; oldest and next bound what the
// FIFO holds (seq included), for a table that must grow.
func (x *seqIndex) insert(seq, h uint64, keys seqKeys, oldest, next uint64) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow(keys, oldest, next, seq)
	}
	x.put(uint32(seq)&seqMask|seqUsed, h)
	x.n++
}

func (x *seqIndex) put(slot uint32, h uint64) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot
}

// grow doubles the table and places again every held element but skip
// (which the caller is inserting).
func (x *seqIndex) grow(keys seqKeys, oldest, next, skip uint64) {
	x.slots = make([]uint32, max(16, 2*len(x.slots)))
	for seq := oldest; seq < next; seq++ {
		if seq != skip {
			x.put(uint32(seq)&seqMask|seqUsed, keys.hashAt(seq))
		}
	}
}

// remove deletes seq, whose key hashes to h, moving back the elements
// after it in its run so that no probe stops early (no tombstones).
func (x *seqIndex) remove(seq, h uint64, keys seqKeys, oldest uint64) {
	mask := uint64(len(x.slots) - 1)
	want := uint32(seq)&seqMask | seqUsed
	i := h & mask
	for x.slots[i] != want {
		if x.slots[i] == 0 {
			return // not held
		}
		i = (i + 1) & mask
	}
	x.n--
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := keys.hashAt(seqAt(x.slots[j], oldest)) & mask
		// The element at j may move to the hole at i unless its home lies
		// cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
}

// reset empties the index, keeping nothing.
func (x *seqIndex) reset() { *x = seqIndex{} }
