package main

import (
	"fmt"
	"io"

	"github.com/libsds-go/libsds/internal/sim"
)

// breakdownTable shows where the delayed deliveries' time went, per run:
// the mean of each phase and its share of their summed latency, by the
// message's own moments and by the root cause's (sim.Breakdown), over all
// delayed deliveries and over the slowest tenth of all deliveries.
func breakdownTable(runs []RunOutput) table {
	t := table{head: []string{"phase (mean s, share)"}}
	for _, r := range runs {
		t.head = append(t.head, r.Label+": own", "root cause", "root cause, slowest 10%")
	}
	cell := func(p *sim.Phase) string {
		return fmt.Sprintf("%.2f (%.0f%%)", float64(p.Mean), 100*p.Share)
	}
	var names []string
	var zero sim.PhaseSet
	for _, n := range zero.Phases() {
		names = append(names, n.Name)
	}
	for i, name := range names {
		if i == len(names)-1 {
			name = "causal wait / given up"
		}
		row := []string{name}
		for _, r := range runs {
			b := &r.Result.Breakdown
			for _, set := range []*sim.PhaseSet{&b.Own.All, &b.ByRootCause.All, &b.ByRootCause.Slowest} {
				row = append(row, cell(set.Phases()[i].Phase))
			}
		}
		t.rows = append(t.rows, row)
	}
	counts := []string{"deliveries (repaired)"}
	for _, r := range runs {
		b := &r.Result.Breakdown
		counts = append(counts, fmt.Sprintf("%d (%d)", b.Delayed, b.Repaired), fmt.Sprint(b.ByRootCause.All.Count), fmt.Sprint(b.ByRootCause.Slowest.Count))
	}
	t.rows = append(t.rows, counts)
	return t
}

// hasBreakdown reports whether any run had delayed deliveries.
func hasBreakdown(runs []RunOutput) bool {
	for _, r := range runs {
		if r.Result.Breakdown.Delayed > 0 {
			return true
		}
	}
	return false
}

// writeBreakdown writes the report's section on where the delay goes.
func writeBreakdown(w io.Writer, runs []RunOutput) {
	if !hasBreakdown(runs) {
		return
	}
	fmt.Fprint(w, "## Where the delay goes\n\n"+
		"Delayed deliveries are those not made as the message's first broadcast arrived: that copy was lost, or the message waited for others. "+
		"Each one's latency is cut where the message it waited for was first detected missing (named by a received message or sync), "+
		"where the last repair request for it before the answer was broadcast, where the copy that reached the participant first was broadcast (the answer), "+
		"and where that copy arrived; the rest is waiting after the arrival. "+
		"**Own** uses the delivered message's own moments, so waiting behind other messages is causal wait. "+
		"**Root cause** follows the dependency delivered last back to the message whose arrival released the delivery and uses that message's moments: "+
		"the wait left then is behind dependencies given up after -dep-wait (or not explained by an arrival).\n\n")
	breakdownTable(runs).markdown(w)
	fmt.Fprintln(w)
}
