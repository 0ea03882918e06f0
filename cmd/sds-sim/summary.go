package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/libsds-go/libsds/internal/sim"
)

// table is a header row and data rows.
type table struct {
	head []string
	rows [][]string
}

func kb(b float64) string { return fmt.Sprintf("%.1f", b/1000) }

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

func sec(s sim.Seconds) string { return fmt.Sprintf("%.1f", float64(s)) }

func memKB(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(b)/1000)
}

// compareTable puts runs side by side, one column each.
func compareTable(runs []RunOutput) table {
	t := table{head: []string{"metric"}}
	for _, r := range runs {
		t.head = append(t.head, r.Label)
	}
	row := func(name string, f func(*sim.Result) string) {
		cells := []string{name}
		for _, r := range runs {
			cells = append(cells, f(r.Result))
		}
		t.rows = append(t.rows, cells)
	}
	row("delivery ratio", func(r *sim.Result) string { return pct(r.DeliveryRatio) })
	row("deliveries missing at the end", func(r *sim.Result) string { return fmt.Sprintf("%d of %d", r.Missing, r.Expected) })
	row("messages someone never got", func(r *sim.Result) string { return fmt.Sprintf("%d of %d", r.MessagesIncomplete, r.Sent) })
	row("latency p50 (s)", func(r *sim.Result) string { return sec(r.Latency.P50) })
	row("latency p90 (s)", func(r *sim.Result) string { return sec(r.Latency.P90) })
	row("latency p99 (s)", func(r *sim.Result) string { return sec(r.Latency.P99) })
	row("latency max (s)", func(r *sim.Result) string { return sec(r.Latency.Max) })
	row("resends", func(r *sim.Result) string { return fmt.Sprint(r.Resends) })
	row("repairs broadcast", func(r *sim.Result) string { return fmt.Sprint(r.Repairs) })
	row("repair requests sent", func(r *sim.Result) string { return fmt.Sprint(r.RepairRequests) })
	row("sync messages", func(r *sim.Result) string { return fmt.Sprint(r.Syncs) })
	row("request syncs (repair_request)", func(r *sim.Result) string { return fmt.Sprint(r.RequestSyncs) })
	row("dependencies given up (ids)", func(r *sim.Result) string { return fmt.Sprint(r.LostIDs) })
	row("duplicate deliveries", func(r *sim.Result) string { return fmt.Sprint(r.Duplicates) })
	row("causal-order violations", func(r *sim.Result) string { return fmt.Sprint(r.OrderViolations) })
	row("wire KB per delivered message", func(r *sim.Result) string { return kb(r.Traffic.PerDelivered) })
	row("  of which bloom filter KB", func(r *sim.Result) string {
		share := 0.0
		if r.Traffic.Wire > 0 {
			share = float64(r.Traffic.WireBloom) / float64(r.Traffic.Wire)
		}
		return fmt.Sprintf("%s (%.0f%%)", kb(r.Traffic.BloomPerDelivered), 100*share)
	})
	row("peak heap per participant (KB)", func(r *sim.Result) string { return memKB(r.Memory.PeakPerParticipant) })
	row("heap per participant at end (KB)", func(r *sim.Result) string { return memKB(r.Memory.RetainedPerParticipant) })
	row("messages held per participant (KB)", func(r *sim.Result) string { return memKB(r.Memory.PeakHeldPerParticipant) })
	row("virtual time (s)", func(r *sim.Result) string {
		s := sec(r.VirtualTime)
		if !r.Quiesced {
			s += " (drain limit)"
		}
		return s
	})
	row("wall time (s)", func(r *sim.Result) string { return sec(r.WallTime) })
	return t
}

// sweepTable has one row per run of a sweep.
func sweepTable(param string, runs []RunOutput) table {
	t := table{head: []string{param, "SDS-R", "delivery", "missing", "p50 s", "p99 s", "max s",
		"repairs", "requests", "resends", "wire KB/deliv.", "bloom KB/deliv.", "dup. deliv.", "wall s"}}
	for _, r := range runs {
		x := r.Result
		on := "off"
		if x.SDSR {
			on = "on"
		}
		t.rows = append(t.rows, []string{
			fmt.Sprint(r.Value), on, pct(x.DeliveryRatio), fmt.Sprint(x.Missing),
			sec(x.Latency.P50), sec(x.Latency.P99), sec(x.Latency.Max),
			fmt.Sprint(x.Repairs), fmt.Sprint(x.RepairRequests), fmt.Sprint(x.Resends),
			kb(x.Traffic.PerDelivered), kb(x.Traffic.BloomPerDelivered), fmt.Sprint(x.Duplicates), sec(x.WallTime),
		})
	}
	return t
}

func (t table) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.head, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func (t table) markdown(w io.Writer) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(t.head, " | "))
	seps := make([]string, len(t.head))
	for i := range seps {
		seps[i] = "---"
		if i > 0 {
			seps[i] = "---:"
		}
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(seps, " | "))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

// setupFormat and setupKeys describe a run's settings (flag names).
const setupFormat = "%s participants, %s messages at %s msg/s each on %s channel(s); loss %s, delay %s + jitter %s; bloom %s ids at %s, history %s, log %s; SDS-R policy %s, T_min %s, T_max %s, %s response group(s); seed %s"

var setupKeys = []string{"participants", "messages", "rate", "channels", "loss", "delay", "jitter",
	"bloom", "bloom-error", "history", "log", "policy", "tmin", "tmax", "groups", "seed"}

// describeSetup names the settings of the runs. A swept parameter shows
// the values it took, not the flag the sweep overrode.
func describeSetup(o *Output) string {
	s := o.Settings
	swept := ""
	if o.Sweep != nil {
		vals := make([]string, len(o.Sweep.Values))
		for i, v := range o.Sweep.Values {
			vals[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		swept = "swept over " + strings.Join(vals, ", ")
		s = maps.Clone(s)
		s[o.Sweep.Param] = swept
	}
	args := make([]any, len(setupKeys))
	for i, k := range setupKeys {
		args[i] = s[k]
	}
	text := fmt.Sprintf(setupFormat, args...)
	if o.Sweep != nil && !slices.Contains(setupKeys, o.Sweep.Param) {
		text += "; " + o.Sweep.Param + " " + swept
	}
	return text
}

func printSummary(w io.Writer, o *Output) {
	fmt.Fprintln(w, describeSetup(o))
	fmt.Fprintln(w)
	if o.Sweep != nil {
		sweepTable(o.Sweep.Param, o.Runs).text(w)
	} else {
		compareTable(o.Runs).text(w)
		if hasBreakdown(o.Runs) {
			fmt.Fprintln(w, "\nWhere the delayed deliveries' time went (-report explains):")
			breakdownTable(o.Runs).text(w)
		}
	}
	fmt.Fprintf(w, "\nTotal wall time %.1f s.\n", float64(o.WallTime))
}
