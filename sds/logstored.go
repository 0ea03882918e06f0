package sds

import "slices"

// storedLog is what a log whose messages the store holds keeps of their
// ids (issue #19): those of its newest entries, which a wrap names in its
// causal history, as strings; the others only as hashes, in the entries.
// When it evicts one of those, or lists them (ChannelState), it reads the
// ids back in history order from the store's Writer, which holds the
// same messages in the same order, and takes each entry's id by hash.
type storedLog struct {
	keepIDs    int      // the newest entries whose ids stay (Config.MaxCausalHistory)
	recent     []string // ids of entries [recentBase, next)
	recentBase uint64
	oldIDs     []string      // read back for evictions, oldest first
	history    storedHistory // the channel's store Writer
	// missedIDs counts ids the store did not give back (an eviction it
	// then keeps until the next load trims it; an id ChannelState leaves
	// out), readErr the last failure to read them: commit logs both.
	missedIDs int
	readErr   error
}

// storedHistory reads the ids of the stored history back
// (persist.Writer).
type storedHistory interface {
	OldestHistoryIDs(n int) ([]string, error)
}

// oldIDBatch ids are read back at once for evictions: one store read per
// oldIDBatch evictions, for about 1 KB per channel.
const oldIDBatch = 16

// keepRecent notes the id of entry seq, being added; the log keeps id as
// it is when own is set, else its own copy.
func (l *messageLog) keepRecent(seq uint64, id string, own bool) {
	if !own {
		id = keepID(l.senders.intern, id)
	}
	if len(l.recent) == 0 {
		l.recentBase = seq
	}
	l.recent = append(l.recent, id)
}

// forgetIDs keeps the ids of the newest keepIDs entries only. Called once
// the operation's appends are with the Writer, which then gives them back.
func (l *messageLog) forgetIDs() {
	drop := len(l.recent) - l.keepIDs
	if !l.stored || drop <= 0 {
		return
	}
	if cap(l.recent) > 2*l.keepIDs+16 { // a load or a cascade grew it: give that back
		l.recent = slices.Clone(l.recent[drop:])
	} else {
		n := copy(l.recent, l.recent[drop:])
		clear(l.recent[n:])
		l.recent = l.recent[:n]
	}
	l.recentBase += uint64(drop)
}

// storedID returns the id of entry seq, the oldest, which only the store
// has.
func (l *messageLog) storedID(seq uint64) (string, bool) {
	h := l.entry(seq).hash
	id, rest, ok := matchID(h, l.oldIDs)
	if !ok {
		id, rest, ok = matchID(h, l.readStoredIDs(oldIDBatch))
	}
	if !ok {
		l.oldIDs = nil
		l.missedIDs++
		return "", false
	}
	l.oldIDs = rest
	return id, true
}

// matchID returns the first of ids that hashes to h, and the ids after it.
func matchID(h uint64, ids []string) (string, []string, bool) {
	for i, id := range ids {
		if hashID(id) == h {
			return id, ids[i+1:], true
		}
	}
	return "", ids, false
}

// readStoredIDs returns the ids of the oldest n stored messages the
// operation has not evicted yet (those it did are not with the Writer
// yet); nil if the read failed.
func (l *messageLog) readStoredIDs(n int) []string {
	if l.history == nil {
		return nil
	}
	var evicted []string
	if l.track != nil {
		evicted = l.track.evicts
	}
	ids, err := l.history.OldestHistoryIDs(n + len(evicted))
	if err != nil {
		l.readErr = err
		return nil
	}
	if len(evicted) > 0 {
		gone := make(map[string]struct{}, len(evicted))
		for _, id := range evicted {
			gone[id] = struct{}{}
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { _, ok := gone[id]; return ok })
	}
	keep := min(n, len(ids))
	clear(ids[keep:])
	return slices.Clip(ids[:keep])
}
