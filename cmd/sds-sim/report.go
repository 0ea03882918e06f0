package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
)

const (
	fileSummary   = "summary.md"
	fileResults   = "results.json"
	fileCDF       = "latency_cdf.png"
	fileBandwidth = "bandwidth_vs_loss.png"
	fileRepairs   = "repairs_over_time.png"
	fileSweep     = "sweep.png"
)

func reportIndex(dir string) string { return filepath.Join(dir, fileSummary) }

// writeReport writes the Markdown summary, the plots and the JSON results
// into dir.
func writeReport(dir string, o *Output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md bytes.Buffer
	w := &md
	fmt.Fprintf(w, "# SDS simulation\n\n%s.\n\n", describeSetup(o))
	fmt.Fprintf(w, "Command: `sds-sim %s`\n\n", strings.Join(o.Args, " "))
	fmt.Fprintf(w, "Each participant runs the real `sds` core (one `sds.Manager`) under a virtual clock; "+
		"the network loses, delays and reorders each copy of a broadcast independently. "+
		"SDS-R is off when participants have no ParticipantID. Simulated in %.1f s (%s, %d CPUs). "+
		"All results are also in [%s](%s).\n\n", float64(o.WallTime), o.GoVersion, o.CPUs, fileResults, fileResults)

	if o.Sweep != nil {
		p, _ := sim.LookupParam(o.Sweep.Param)
		fmt.Fprintf(w, "## Sweep over %s (%s)\n\n", o.Sweep.Param, p.Doc)
		sweepTable(o.Sweep.Param, o.Runs).markdown(w)
		if err := sweepPlot(o.Sweep.Param, p.Unit, o.Runs, filepath.Join(dir, fileSweep)); err != nil {
			return err
		}
		fmt.Fprintf(w, "\n![sweep](%s)\n\n", fileSweep)
	} else {
		fmt.Fprintf(w, "## Results\n\n")
		compareTable(o.Runs).markdown(w)
		fmt.Fprintln(w)
		for _, line := range observations(o) {
			fmt.Fprintf(w, "- %s\n", line)
		}
		fmt.Fprintln(w)
		writeBreakdown(w, o.Runs)
	}

	latRuns := o.Runs
	if o.Sweep != nil {
		latRuns = nil // one CDF per sweep point would be unreadable: plot the last point
		for _, r := range o.Runs {
			if r.Value == o.Sweep.Values[len(o.Sweep.Values)-1] {
				latRuns = append(latRuns, r)
			}
		}
	}
	fmt.Fprintf(w, "## Latency\n\nShare of all expected deliveries (every message to every other participant) made within a given time of the message's first broadcast. A curve ends at its delivery ratio: what is missing never arrived.")
	if o.Sweep != nil && len(latRuns) > 0 {
		fmt.Fprintf(w, " Shown for %s=%v.", o.Sweep.Param, latRuns[0].Value)
	}
	fmt.Fprintf(w, "\n\n![latency CDF](%s)\n\n", fileCDF)
	if err := latencyCDF(latRuns, filepath.Join(dir, fileCDF)); err != nil {
		return err
	}

	if len(o.LossCurve) > 0 {
		fmt.Fprintf(w, "## Bandwidth against loss\n\nBytes put on the wire (one copy per receiver for every broadcast: content, syncs while messages are sent, resends, repairs; lost copies included) divided by the deliveries made. Dashed: the bloom filters' part.")
		if o.Sweep == nil || o.Sweep.Param != "loss" {
			fmt.Fprintf(w, " Separate runs of %s messages each, otherwise as above.", o.Settings["bw-messages"])
			bw, _ := strconv.Atoi(o.Settings["bw-messages"])
			logN, _ := strconv.Atoi(o.Settings["log"])
			if bw <= logN {
				fmt.Fprintf(w, " Caution: with no more messages than -log (%d), no participant's log rolls over in these runs, so a message stays available for repair throughout: their delivery ratios can be better than a longer run's.", logN)
			}
		}
		fmt.Fprintf(w, "\n\n![bandwidth against loss](%s)\n\n", fileBandwidth)
		if err := bandwidthVsLoss(o.LossCurve, filepath.Join(dir, fileBandwidth)); err != nil {
			return err
		}
		t := table{head: []string{"loss", "SDS-R", "delivery", "wire KB/deliv.", "bloom KB/deliv.", "repairs", "p99 s"}}
		for _, r := range o.LossCurve {
			x := r.Result
			on := "off"
			if x.SDSR {
				on = "on"
			}
			t.rows = append(t.rows, []string{strconv.FormatFloat(r.Value, 'g', -1, 64), on, pct(x.DeliveryRatio),
				kb(x.Traffic.PerDelivered), kb(x.Traffic.BloomPerDelivered), fmt.Sprint(x.Repairs), sec(x.Latency.P99)})
		}
		t.markdown(w)
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Repairs over time\n\nBroadcasts per %g s of virtual time: SDS-R repairs and the repair requests carried by messages, resends of unacknowledged messages; below, deliveries.", float64(latRuns[0].Result.Series.BinWidth))
	if o.Sweep != nil {
		fmt.Fprintf(w, " Shown for %s=%v.", o.Sweep.Param, latRuns[0].Value)
	}
	fmt.Fprintf(w, "\n\n![repairs over time](%s)\n\n", fileRepairs)
	if err := repairsOverTime(latRuns, filepath.Join(dir, fileRepairs)); err != nil {
		return err
	}

	fmt.Fprint(w, `## What is measured

- **Delivery ratio**: deliveries (EventMessageReady, each participant and message once) over sent messages × (participants − 1). **Missing**: the deliveries not made when the run ended, which is once nothing was left to do (no copy in flight but syncs, every buffer empty, for two sync intervals) or at the drain limit.
- **Latency**: from a message's first broadcast to its delivery, over all deliveries, in virtual time.
- **Resends** (EventMessageResend), **repairs** (EventRepairReady) and **sync messages** are broadcasts; **repair requests** count the request entries that messages carried.
- **Wire bytes**: every broadcast puts one copy per other participant on the wire (none while its sender is offline), lost or not. Per delivered message: all of them but the sync messages sent after the last content message (an idle group's background cost, which grows with the drain rather than with what is delivered), divided by the deliveries. The bloom filter share counts the bloom_filter field, tag and length included.
- **Duplicate deliveries** and **causal-order violations** are checked on every delivery: a message's causal history comes from its wire bytes, and every dependency must have been delivered before (or given up as lost by that participant).
- **Memory**: `+memoryMethod(o)+`
`)
	if err := os.WriteFile(filepath.Join(dir, fileSummary), md.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, fileResults), append(js, '\n'), 0o644)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func memoryMethod(o *Output) string {
	for _, r := range o.Runs {
		if r.Result.Memory.Method != "" {
			return r.Result.Memory.Method + ". Heap only (the live heap as Go's GC counts it); the simulator's tables are estimated from their capacities."
		}
	}
	return "not measured (runs in parallel share one heap)."
}

// observations points out what the numbers say about the parameters.
func observations(o *Output) []string {
	var out []string
	s := o.Settings
	var on, off *sim.Result
	for _, r := range o.Runs {
		if r.Result.SDSR {
			on = r.Result
		} else {
			off = r.Result
		}
	}
	if on != nil && off != nil {
		out = append(out, fmt.Sprintf("SDS-R raised the delivery ratio from %s to %s and moved the median latency from %.1f s to %.1f s (p99 %.1f s to %.1f s), for %d repair broadcasts (%.2f per message sent) and %.1f instead of %.1f wire KB per delivered message.",
			pct(off.DeliveryRatio), pct(on.DeliveryRatio), float64(off.Latency.P50), float64(on.Latency.P50),
			float64(off.Latency.P99), float64(on.Latency.P99), on.Repairs, float64(on.Repairs)/max(1, float64(on.Sent)),
			on.Traffic.PerDelivered/1000, off.Traffic.PerDelivered/1000))
	}
	if off != nil && off.Loss > 0 && off.LostIDs > 0 {
		out = append(out, fmt.Sprintf("Without SDS-R nothing repairs a lost copy: the receiver holds back every later message that depends on it, directly or through others, until -dep-wait (%s) gives up on it (%d ids given up). That is why the median latency without SDS-R is close to -dep-wait.",
			s["dep-wait"], off.LostIDs))
	}
	for _, r := range []*sim.Result{on, off} {
		if r == nil || r.Duplicates == 0 {
			continue
		}
		rate, _ := strconv.ParseFloat(s["rate"], 64)
		groupRate := rate * float64(r.Participants) / float64(r.Channels)
		logN, _ := strconv.Atoi(s["log"])
		tmax, _ := time.ParseDuration(s["tmax"])
		out = append(out, fmt.Sprintf("%s: %d deliveries were repeats. A participant recognises a message only while it is in its log of -log %d messages, about %.0f s of traffic at %.1f messages/s per channel. A repair or resend that arrives later is delivered again, and a repair request for a message that every holder has dropped from its log goes unanswered. SDS-R can take up to 2 × T_max (%s) from noticing a gap to the repair, so size the log for it: -log %.0f or more here (channel rate × 2 × T_max), or lower -tmax.",
			capital(modeLabel(r.SDSR)), r.Duplicates, logN, float64(logN)/groupRate, groupRate, 2*tmax, math.Ceil(groupRate*2*tmax.Seconds())))
	}
	if on != nil && on.Repairs > 0 {
		missedAtSend := on.Traffic.ByKind["content"].Lost
		if missedAtSend > 0 {
			out = append(out, fmt.Sprintf("With SDS-R, %.2f repair broadcasts were made per content copy lost on the way (%d repairs, %d copies lost); each repair goes to the whole group. More response groups (-groups) make fewer participants answer each request.",
				float64(on.Repairs)/float64(missedAtSend), on.Repairs, missedAtSend))
		}
	}
	for _, r := range []*sim.Result{on, off} {
		if r != nil && !r.Quiesced {
			out = append(out, fmt.Sprintf("%s: the run stopped at the drain limit (-drain %s) with work left; a longer drain may deliver more.", capital(modeLabel(r.SDSR)), s["drain"]))
		}
	}
	return out
}
