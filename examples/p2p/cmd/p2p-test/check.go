package main

import (
	"fmt"
	"sort"

	"github.com/libsds-go/libsds/examples/p2p/record"
)

// view is what one participant's output says, over all its runs.
type view struct {
	id        string
	runs      int
	torn      int
	sent      []record.Record
	delivered []string // in delivery order, across runs
	acked     map[string]int
	count     map[string]int // records by kind
	recovered int
	exits     []*record.Stats
	// from the first message sent to the last delivered (Unix ms)
	firstSent, lastDelivered int64
	problems                 []record.Record // failed, lost, evicted, backlog, error
}

func viewOf(id string, recs []record.Record, torn int) *view {
	v := &view{id: id, torn: torn, acked: map[string]int{}, count: map[string]int{}}
	for _, r := range recs {
		v.count[r.Ev]++
		if r.Recovered {
			v.recovered++
		}
		switch r.Ev {
		case record.Start:
			v.runs++
		case record.Sent:
			v.sent = append(v.sent, r)
			if v.firstSent == 0 {
				v.firstSent = r.T
			}
		case record.Delivered:
			v.delivered = append(v.delivered, r.Msg)
			v.lastDelivered = r.T
		case record.Acked:
			v.acked[r.Msg]++
		case record.Exit:
			v.exits = append(v.exits, r.Stats)
		case record.Failed, record.Lost, record.Evicted, record.Backlog, record.Error:
			v.problems = append(v.problems, r)
		}
	}
	return v
}

// complete reports whether v delivered every message the others sent
// (want of them) and has every message of its own acknowledged.
func (v *view) complete(want int, others int) bool {
	if len(v.delivered) < others*want || len(v.sent) < want {
		return false
	}
	for _, s := range v.sent {
		if v.acked[s.Msg] == 0 {
			return false
		}
	}
	return true
}

// checks is the verdict: every failed promise, in words.
type checks struct{ failures []string }

func (c *checks) fail(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// verify checks the participants' outputs against the promises of SDS:
// every message sent once, delivered exactly once everywhere else, in
// causal order, every message acknowledged to its sender, nothing failed
// or lost, and every participant ended cleanly within the memory bound.
func verify(views []*view, perSender int, rssLimitKB int64) *checks {
	c := &checks{}
	deps := map[string][]string{} // message → its causal history
	sender := map[string]string{}
	for _, v := range views {
		if len(v.sent) != perSender {
			c.fail("%s printed %d sent messages, want %d", v.id, len(v.sent), perSender)
		}
		for _, s := range v.sent {
			if _, dup := sender[s.Msg]; dup {
				c.fail("%s: %s sent twice", v.id, s.Msg)
			}
			sender[s.Msg], deps[s.Msg] = v.id, s.Deps
			if n := v.acked[s.Msg]; n != 1 {
				c.fail("%s: %s acknowledged %d times, want once", v.id, s.Msg, n)
			}
		}
	}
	repairs, resends := 0, 0
	for _, v := range views {
		verifyDeliveries(c, v, sender, deps)
		verifyEnd(c, v, rssLimitKB)
		repairs += v.count[record.Repair]
		resends += v.count[record.Resend]
	}
	if repairs == 0 || resends == 0 {
		c.fail("SDS-R repairs (%d) and resends (%d) were not both used", repairs, resends)
	}
	return c
}

// verifyCrash: the participant that crashed right after storing message
// crashed printed it on restart, recovered from its store.
func verifyCrash(c *checks, v *view, crashed string) {
	for _, s := range v.sent {
		if s.Msg == crashed {
			if !s.Recovered {
				c.fail("%s: %s, stored but not printed when it crashed, printed without being recovered", v.id, crashed)
			}
			return
		}
	}
	c.fail("%s: %s, stored when it crashed, never printed", v.id, crashed)
}

// verifyDeliveries: v delivered each message of the others once, none of
// its own or unknown, each after its dependencies.
func verifyDeliveries(c *checks, v *view, sender map[string]string, deps map[string][]string) {
	seen := map[string]bool{}
	for _, id := range v.delivered {
		switch from, ok := sender[id]; {
		case !ok:
			c.fail("%s delivered %s, which nobody sent", v.id, id)
		case from == v.id:
			c.fail("%s delivered its own %s", v.id, id)
		case seen[id]:
			c.fail("%s delivered %s twice", v.id, id)
		}
		for _, d := range deps[id] {
			if !seen[d] && sender[d] != v.id {
				c.fail("%s delivered %s before its dependency %s", v.id, id, d)
			}
		}
		seen[id] = true
	}
	var missing []string
	for id, from := range sender {
		if from != v.id && !seen[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		c.fail("%s never delivered %d messages: %v", v.id, len(missing), head(missing, 10))
	}
}

// verifyEnd: nothing failed or was lost, every run ended cleanly (a
// killed run ends without an exit record and may leave one torn line),
// and no run exceeded the memory bound.
func verifyEnd(c *checks, v *view, rssLimitKB int64) {
	for _, p := range v.problems {
		c.fail("%s: %s %s %v %s", v.id, p.Ev, p.Msg, p.Deps, p.Err)
	}
	killed := v.runs - 1
	if len(v.exits) != 1 {
		c.fail("%s: %d exit records over %d runs (%d killed), want 1", v.id, len(v.exits), v.runs, killed)
	}
	if v.torn > killed {
		c.fail("%s: %d unreadable lines, more than its %d killed runs explain", v.id, v.torn, killed)
	}
	for _, s := range v.exits {
		if s.PeakRSSKB > rssLimitKB {
			c.fail("%s: peak RSS %d KB, above the bound of %d KB", v.id, s.PeakRSSKB, rssLimitKB)
		}
		if s.UnwrapErrors > 0 {
			c.fail("%s: %d messages failed to unwrap", v.id, s.UnwrapErrors)
		}
		agreeWithStats(c, v.id, s)
	}
}

// agreeWithStats checks the manager's counters printed at exit against
// what sds-chat counted itself: every gossip message not dropped was
// unwrapped once, and every message the manager made (sync messages and
// the request syncs among them) was published.
func agreeWithStats(c *checks, id string, s *record.Stats) {
	m := s.SDS
	if m == nil {
		c.fail("%s: no SDS counters in the exit record", id)
		return
	}
	unwrapped := int64(m.ReceivedContent + m.ReceivedSync + m.ReceivedEphemeral + m.UnwrapErrors)
	if unwrapped != s.Received-s.Dropped || int64(m.Duplicates) != s.Duplicates ||
		int64(m.UnwrapErrors) != s.UnwrapErrors || int64(m.WrappedSync+m.RepairRequestSyncs) != s.Syncs ||
		int64(m.BytesSent) != s.PublishedB {
		c.fail("%s: the manager's counters %+v disagree with sds-chat's %+v", id, *m, *s)
	}
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}
