// Package prom exports one SDS manager's metrics (sds.Manager.Stats) to
// Prometheus: a prometheus.Collector with standard names, such as
// sds_messages_delivered_total{channel="room"}.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(prom.New(manager.Stats, prom.Options{PerChannel: true}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// With Options.PerChannel every series has a channel label: one series
// per channel the manager holds, and, for counters and the histogram,
// channel="" for what belongs to no channel held now (ephemeral
// messages, failed unwraps, channels removed). Without it (hosts with many
// channels) each metric is one series, the manager's total.
//
// This package is a Go module of its own, so that the library's module
// does not depend on Prometheus.
package prom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/libsds-go/libsds/sds"
)

// Options choose what the collector exports.
type Options struct {
	// PerChannel labels every series with its channel (see the package
	// documentation).
	PerChannel bool
	// ConstLabels are added to every series (e.g. the participant).
	ConstLabels prometheus.Labels
}

// Collector reads a manager's Stats at each scrape.
type Collector struct {
	stats      func() sds.Stats
	perChannel bool
	counters   map[string]*prometheus.Desc // by metric name
	gauges     []*prometheus.Desc          // as gaugeSpecs
	channels   *prometheus.Desc
	wait       *prometheus.Desc
}

// New returns a collector of what stats (a manager's Stats method, e.g.
// manager.Stats or, through bindings/sds, rm.Manager().Stats) reports.
func New(stats func() sds.Stats, opts Options) *Collector {
	c := &Collector{stats: stats, perChannel: opts.PerChannel, counters: make(map[string]*prometheus.Desc)}
	var chanLabel []string
	if opts.PerChannel {
		chanLabel = []string{"channel"}
	}
	desc := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(append([]string(nil), chanLabel...), extra...), opts.ConstLabels)
	}
	for _, s := range counterSpecs {
		if c.counters[s.name] == nil {
			var extra []string
			if s.label != "" {
				extra = []string{s.label}
			}
			c.counters[s.name] = desc(s.name, s.help, extra...)
		}
	}
	for _, s := range gaugeSpecs {
		c.gauges = append(c.gauges, desc(s.name, s.help))
	}
	c.wait = desc("sds_incoming_wait_seconds",
		"How long received messages waited in the incoming buffer for their dependencies before delivery.")
	c.channels = prometheus.NewDesc("sds_channels", "Channels the manager holds.", nil, opts.ConstLabels)
	return c
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d
	}
	for _, d := range c.gauges {
		ch <- d
	}
	ch <- c.wait
	ch <- c.channels
}

// Collect reads the manager's Stats once and sends its figures.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(c.channels, prometheus.GaugeValue, float64(st.Channels))
	if !c.perChannel {
		c.collectOne(ch, &st.Counters, &st.Gauges, &st.IncomingWait)
		return
	}
	rest, restWait := st.Counters, st.IncomingWait
	restWait.Counts = append([]uint64(nil), restWait.Counts...)
	for i := range st.PerChannel {
		pc := &st.PerChannel[i]
		c.collectOne(ch, &pc.Counters, &pc.Gauges, &pc.IncomingWait, pc.ChannelID)
		subtract(&rest, &pc.Counters, &restWait, &pc.IncomingWait)
	}
	c.collectCounters(ch, &rest, "")
	c.collectWait(ch, &restWait, "")
}

// collectOne sends one series of every metric, with label values lv.
func (c *Collector) collectOne(ch chan<- prometheus.Metric, cs *sds.Counters, g *sds.Gauges, h *sds.Histogram, lv ...string) {
	c.collectCounters(ch, cs, lv...)
	for i, s := range gaugeSpecs {
		ch <- prometheus.MustNewConstMetric(c.gauges[i], prometheus.GaugeValue, float64(s.get(g)), lv...)
	}
	c.collectWait(ch, h, lv...)
}

func (c *Collector) collectCounters(ch chan<- prometheus.Metric, cs *sds.Counters, lv ...string) {
	for _, s := range counterSpecs {
		labels := lv
		if s.label != "" {
			labels = append(append([]string(nil), lv...), s.value)
		}
		ch <- prometheus.MustNewConstMetric(c.counters[s.name], prometheus.CounterValue, float64(s.get(cs)), labels...)
	}
}

// collectWait sends the histogram, its counts made cumulative.
func (c *Collector) collectWait(ch chan<- prometheus.Metric, h *sds.Histogram, lv ...string) {
	buckets := make(map[float64]uint64, len(h.BucketsSeconds))
	var sum uint64
	for i, le := range h.BucketsSeconds {
		sum += h.Counts[i]
		buckets[le] = sum
	}
	ch <- prometheus.MustNewConstHistogram(c.wait, h.Count, max(h.SumSeconds, 0), buckets, lv...)
}

// subtract takes a channel's figures out of the rest.
func subtract(rest, cs *sds.Counters, restWait, h *sds.Histogram) {
	for _, s := range counterSpecs {
		*s.field(rest) -= s.get(cs)
	}
	for i := range restWait.Counts {
		restWait.Counts[i] -= h.Counts[i]
	}
	restWait.Count -= h.Count
	restWait.SumSeconds -= h.SumSeconds
}
