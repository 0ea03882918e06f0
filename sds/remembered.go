package sds

// rememberedIDs is a bounded FIFO set of the ids evicted from a log
// (Config.RememberDelivered), kept as 64-bit hashes (hashID) in a ring
// with a seqIndex: about 16 bytes per id, whatever its length.
//
// A new id whose hash equals a remembered one's is taken for a late copy
// and not delivered. With the hash keyed at random per process, that
// happens with probability at most limit/2^64 per received message: below
// 5.5e-16 at the default 10,000, so a participant receiving a million
// messages a day would meet it once in some five million years.
type rememberedIDs struct {
	limit      int
	ring       []uint64 // hash of seq at ring[seq % len(ring)]
	head, next uint64   // held: [head, next)
	index      seqIndex
}

func newRememberedIDs(limit int) rememberedIDs { return rememberedIDs{limit: limit} }

func (r *rememberedIDs) hashAt(seq uint64) uint64 { return r.ring[seq%uint64(len(r.ring))] }

func (r *rememberedIDs) contains(id string) bool { return r.containsHash(hashID(id)) }

func (r *rememberedIDs) containsHash(h uint64) bool {
	_, ok := r.index.find(h, r.head, func(seq uint64) bool { return r.hashAt(seq) == h })
	return ok
}

// add remembers the id hashing to h, forgetting the oldest when full.
func (r *rememberedIDs) add(h uint64) {
	if r.limit <= 0 || r.containsHash(h) {
		return
	}
	if int(r.next-r.head) == r.limit {
		old := r.head
		r.index.remove(old, r.hashAt(old), r, r.head)
		r.head++
	}
	if int(r.next-r.head) == len(r.ring) {
		r.grow()
	}
	r.ring[r.next%uint64(len(r.ring))] = h
	r.next++
	r.index.insert(r.next-1, h, r, r.head, r.next)
}

// grow doubles the ring, up to limit.
func (r *rememberedIDs) grow() {
	ring := make([]uint64, min(max(2*len(r.ring), 16), r.limit))
	for seq := r.head; seq < r.next; seq++ {
		ring[seq%uint64(len(ring))] = r.hashAt(seq)
	}
	r.ring = ring
}
