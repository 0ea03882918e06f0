package main

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/libsds-go/libsds/internal/sim"
)

var (
	colorOn    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // with SDS-R
	colorOff   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // without
	colorThird = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colorFour  = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	dashed     = []vg.Length{vg.Points(5), vg.Points(3)}
)

func modeColor(sdsr bool) color.Color {
	if sdsr {
		return colorOn
	}
	return colorOff
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// plainTicks are gonum's default ticks labelled without trailing zeros:
// "500" and "0", not "500.00" and "0.00".
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if strings.Contains(t.Label, ".") && !strings.ContainsAny(t.Label, "eE") {
			ticks[i].Label = strings.TrimSuffix(strings.TrimRight(t.Label, "0"), ".")
		}
	}
	return ticks
}

func peak(counts []int) int {
	if len(counts) == 0 {
		return 0
	}
	return slices.Max(counts)
}

// legendRoom raises p's Y maximum so that a legend of rows entries at the
// top sits above the curves (whose maximum is dataMax) instead of on them.
func legendRoom(p *plot.Plot, dataMax float64, rows int) {
	if dataMax > 0 {
		p.Y.Max = dataMax * (1 + 0.12*float64(rows))
	}
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dash []vg.Length, points bool) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	l.Dashes = dash
	p.Add(l)
	if points {
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.Color = c
		s.Radius = vg.Points(2.5)
		p.Add(s)
	}
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

// latencyCDF plots, for each run, the share of all expected deliveries
// made within a latency: the curve ends at the delivery ratio.
func latencyCDF(runs []RunOutput, path string) error {
	p := newPlot("Send-to-delivery latency", "latency (s, log scale)", "share of expected deliveries done")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1.02
	p.Legend.Top = true
	p.Legend.Left = true
	// A log axis needs a positive range, even with nothing delivered.
	p.X.Min, p.X.Max = 0.01, 1
	for _, r := range runs {
		if n := len(r.Result.CDF); n > 0 {
			p.X.Max = math.Max(p.X.Max, r.Result.CDF[n-1])
		}
	}
	for _, r := range runs {
		res := r.Result
		if len(res.CDF) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(res.CDF))
		for i, v := range res.CDF {
			xys[i].X = math.Max(v, 0.01)
			xys[i].Y = float64(i) / float64(len(res.CDF)-1) * res.DeliveryRatio
		}
		if err := addLine(p, fmt.Sprintf("%s (%.1f%% delivered)", r.Label, 100*res.DeliveryRatio), xys, modeColor(res.SDSR), nil, false); err != nil {
			return err
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// byMode splits runs by SDS-R on/off, each sorted by Value.
func byMode(runs []RunOutput) map[bool][]RunOutput {
	m := map[bool][]RunOutput{}
	for _, r := range runs {
		m[r.Result.SDSR] = append(m[r.Result.SDSR], r)
	}
	for _, rs := range m {
		slices.SortStableFunc(rs, func(a, b RunOutput) int {
			return cmp.Compare(a.Value, b.Value)
		})
	}
	return m
}

func curve(rs []RunOutput, y func(*sim.Result) float64) plotter.XYs {
	xys := make(plotter.XYs, len(rs))
	for i, r := range rs {
		xys[i] = plotter.XY{X: r.Value, Y: y(r.Result)}
	}
	return xys
}

// bandwidthVsLoss plots wire bytes per delivered message against loss.
func bandwidthVsLoss(runs []RunOutput, path string) error {
	p := newPlot("Bandwidth per delivered message", "loss rate", "wire KB per delivered message")
	p.Legend.Left = true
	p.Y.Min = 0
	for _, sdsr := range []bool{true, false} {
		rs := byMode(runs)[sdsr]
		if len(rs) == 0 {
			continue
		}
		total := curve(rs, func(r *sim.Result) float64 { return r.Traffic.PerDelivered / 1000 })
		bloom := curve(rs, func(r *sim.Result) float64 { return r.Traffic.BloomPerDelivered / 1000 })
		if err := addLine(p, modeLabel(sdsr)+": all bytes", total, modeColor(sdsr), nil, true); err != nil {
			return err
		}
		if err := addLine(p, modeLabel(sdsr)+": bloom filters", bloom, modeColor(sdsr), dashed, true); err != nil {
			return err
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func series(counts []int, bin float64) plotter.XYs {
	xys := make(plotter.XYs, len(counts))
	for i, c := range counts {
		xys[i] = plotter.XY{X: (float64(i) + 0.5) * bin / 60, Y: float64(c)}
	}
	return xys
}

// repairsOverTime plots SDS-R's work and resends over virtual time, and
// below it the deliveries, for each run.
func repairsOverTime(runs []RunOutput, path string) error {
	if len(runs) == 0 {
		return nil
	}
	bin := float64(runs[0].Result.Series.BinWidth)
	per := fmt.Sprintf("per %g s", bin)
	top := newPlot("Repairs, repair requests and resends over time", "virtual time (min)", "broadcasts "+per)
	bottom := newPlot("Deliveries over time", "virtual time (min)", "deliveries "+per)
	topMax, bottomMax, topRows := 0, 0, 0
	for _, r := range runs {
		s := r.Result.Series
		c := modeColor(r.Result.SDSR)
		if r.Result.SDSR {
			if err := addLine(top, "repairs ("+r.Label+")", series(s.Repairs, bin), colorOn, nil, false); err != nil {
				return err
			}
			if err := addLine(top, "repair requests ("+r.Label+")", series(s.RepairRequests, bin), colorThird, nil, false); err != nil {
				return err
			}
		}
		if err := addLine(top, "resends ("+r.Label+")", series(s.Resends, bin), colorFour, dashOf(r.Result.SDSR), false); err != nil {
			return err
		}
		if err := addLine(bottom, r.Label, series(s.Deliveries, bin), c, nil, false); err != nil {
			return err
		}
		topMax, topRows = max(topMax, peak(s.Resends)), topRows+1
		if r.Result.SDSR {
			topMax, topRows = max(topMax, peak(s.Repairs), peak(s.RepairRequests)), topRows+2
		}
		bottomMax = max(bottomMax, peak(s.Deliveries))
	}
	top.Y.Min, bottom.Y.Min = 0, 0
	legendRoom(top, float64(topMax), topRows)
	legendRoom(bottom, float64(bottomMax), len(runs))
	return saveTiles(path, 9*vg.Inch, 8*vg.Inch, 2, 1, []*plot.Plot{top, bottom})
}

func dashOf(sdsr bool) []vg.Length {
	if sdsr {
		return nil
	}
	return dashed
}

// sweepPlot compares the modes across a sweep in four panels.
func sweepPlot(param, unit string, runs []RunOutput, path string) error {
	x := param
	if unit != "" {
		x += " (" + unit + ")"
	}
	panels := []struct {
		title, y string
		f        func(*sim.Result) float64
	}{
		{"Delivery ratio", "% of expected deliveries", func(r *sim.Result) float64 { return 100 * r.DeliveryRatio }},
		{"Latency p50 (solid) and p99 (dashed)", "seconds", nil},
		{"Bandwidth per delivered message", "wire KB (dashed: bloom filters)", nil},
		{"Repairs and resends per message sent", "broadcasts per message", func(r *sim.Result) float64 {
			if r.Sent == 0 {
				return 0
			}
			return float64(r.Repairs+r.Resends) / float64(r.Sent)
		}},
	}
	modes := byMode(runs)
	var plots []*plot.Plot
	for i, pn := range panels {
		p := newPlot(pn.title, x, pn.y)
		p.Legend.Left = true
		if i == 0 {
			p.Legend.Top = false // the curves start at the top
		}
		for _, sdsr := range []bool{true, false} {
			rs := modes[sdsr]
			if len(rs) == 0 {
				continue
			}
			c := modeColor(sdsr)
			var err error
			switch i {
			case 1:
				if err = addLine(p, modeLabel(sdsr), curve(rs, func(r *sim.Result) float64 { return float64(r.Latency.P50) }), c, nil, true); err == nil {
					err = addLine(p, "", curve(rs, func(r *sim.Result) float64 { return float64(r.Latency.P99) }), c, dashed, true)
				}
			case 2:
				if err = addLine(p, modeLabel(sdsr), curve(rs, func(r *sim.Result) float64 { return r.Traffic.PerDelivered / 1000 }), c, nil, true); err == nil {
					err = addLine(p, "", curve(rs, func(r *sim.Result) float64 { return r.Traffic.BloomPerDelivered / 1000 }), c, dashed, true)
				}
			default:
				err = addLine(p, modeLabel(sdsr), curve(rs, pn.f), c, nil, true)
			}
			if err != nil {
				return err
			}
		}
		p.Y.Min = 0
		plots = append(plots, p)
	}
	return saveTiles(path, 12*vg.Inch, 9*vg.Inch, 2, 2, plots)
}

// saveTiles draws plots in a rows×cols grid into one PNG.
func saveTiles(path string, w, h vg.Length, rows, cols int, plots []*plot.Plot) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	grid := make([][]*plot.Plot, rows)
	for r := range rows {
		grid[r] = make([]*plot.Plot, cols)
		for c := range cols {
			if i := r*cols + c; i < len(plots) {
				grid[r][c] = plots[i]
			}
		}
	}
	canvases := plot.Align(grid, tiles, dc)
	for r := range rows {
		for c := range cols {
			if grid[r][c] != nil {
				grid[r][c].Draw(canvases[r][c])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
