package persist

import "hash/maphash"

// knownIDs is a set of message ids kept as 64-bit hashes (keyed at random
// per process), in an open-addressing table (linear probing, load at most
// 1/2): 8 to 16 bytes per id, whatever its length, where a map of strings
// would also keep every id alive. Two ids hashing alike make one look held
// when only the other is (a needless eviction is written, harmless), or,
// once one is noted gone, the other look absent (an eviction is not
// written and the message stays stored until the channel next loads and
// trims its history); with a few thousand ids per channel, odds below
// 1e-12. A nil *knownIDs is an unknown set: every id may be held.
type knownIDs struct {
	slots []uint64 // 0: empty
	n     int
}

var knownSeed = maphash.MakeSeed()

func knownHash(id string) uint64 { return maphash.String(knownSeed, id) | 1 } // never 0

// has reports whether id may be held.
func (k *knownIDs) has(id string) bool {
	if k == nil {
		return true
	}
	_, ok := k.find(knownHash(id))
	return ok
}

func (k *knownIDs) find(h uint64) (int, bool) {
	if k.n == 0 {
		return 0, false
	}
	mask := uint64(len(k.slots) - 1)
	for i := h & mask; k.slots[i] != 0; i = (i + 1) & mask {
		if k.slots[i] == h {
			return int(i), true
		}
	}
	return 0, false
}

// note records that id is held, or not.
func (k *knownIDs) note(id string, present bool) {
	if k == nil {
		return
	}
	h := knownHash(id)
	i, ok := k.find(h)
	switch {
	case present && !ok:
		if 2*(k.n+1) > len(k.slots) {
			k.resize(max(16, 2*len(k.slots)))
		}
		k.put(h)
		k.n++
	case !present && ok:
		k.remove(i)
	}
}

func (k *knownIDs) put(h uint64) {
	mask := uint64(len(k.slots) - 1)
	i := h & mask
	for k.slots[i] != 0 {
		i = (i + 1) & mask
	}
	k.slots[i] = h
}

func (k *knownIDs) resize(size int) {
	old := k.slots
	k.slots = make([]uint64, size)
	for _, h := range old {
		if h != 0 {
			k.put(h)
		}
	}
}

// remove empties slot i, moving back the hashes after it in its run so
// that no probe stops early.
func (k *knownIDs) remove(i int) {
	mask := len(k.slots) - 1
	k.n--
	for j := (i + 1) & mask; k.slots[j] != 0; j = (j + 1) & mask {
		home := int(k.slots[j] & uint64(mask))
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			k.slots[i] = k.slots[j]
			i = j
		}
	}
	k.slots[i] = 0
	if len(k.slots) > 64 && 8*k.n < len(k.slots) {
		k.resize(len(k.slots) / 2) // a channel that shrank gives the memory back
	}
}
