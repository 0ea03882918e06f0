package sds

// ghosts keeps what references in bodies need of evicted entries (their id
// and sender) while a held entry refers to them: a queue by sequence
// number, from the oldest such entry to the newest evicted. An entry is
// evicted before every entry referring to it (its history names it, so it
// was delivered first), which makes the queue short: about
// MaxCausalHistory entries, at most the entries the log holds.
type ghosts struct {
	ring     []ghost // seq at ring[(start + seq - base) % len(ring)]
	start, n int
	base     uint64 // sequence number of the oldest kept
}

type ghost struct {
	id, sender string
	until      uint64 // the last entry referring to it; 0: none
}

// push appends evicted entry seq (the one after the newest pushed, or the
// first), then drops the oldest no held entry refers to any more: those
// referred to at most up to seq.
func (g *ghosts) push(seq uint64, gh ghost) {
	if g.n == 0 {
		if gh.until == 0 {
			return // nothing to keep, nor to keep it for
		}
		g.base = seq
	}
	if g.n == len(g.ring) {
		ring := make([]ghost, max(2*len(g.ring), 16))
		for i := 0; i < g.n; i++ {
			ring[i] = *g.at(g.base + uint64(i))
		}
		g.ring, g.start = ring, 0
	}
	g.n++
	*g.at(seq) = gh
	for g.n > 0 && g.at(g.base).until <= seq {
		*g.at(g.base) = ghost{}
		g.start = (g.start + 1) % len(g.ring)
		g.base++
		g.n--
	}
	if g.n == 0 && len(g.ring) > 64 {
		*g = ghosts{} // a burst of far references is over: give the memory back
	}
}

func (g *ghosts) at(seq uint64) *ghost {
	return &g.ring[(g.start+int(seq-g.base))%len(g.ring)]
}

// get returns the ghost of seq, which a held entry refers to.
func (g *ghosts) get(seq uint64) ghost {
	if seq < g.base || seq-g.base >= uint64(g.n) {
		panic("sds: log entry body refers to a forgotten entry")
	}
	return *g.at(seq)
}
