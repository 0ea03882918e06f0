package prom

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/libsds-go/libsds/sds"
)

func newManager(t *testing.T, clk sds.Clock, id string) *sds.Manager {
	t.Helper()
	cfg := sds.DefaultConfig()
	cfg.ParticipantID, cfg.Clock = id, clk
	m, err := sds.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// exchange drives bob through a known exchange: a1 is late by 3 s, so a2
// waits for it; a1 arrives twice; junk fails to unwrap; bob wraps one
// message on a channel he then removes. It returns the wire bytes bob
// received on "room".
func exchange(t *testing.T) (bob *sds.Manager, received int) {
	clk := sds.NewManualClock(time.Unix(1_700_000_000, 0))
	alice, bob := newManager(t, clk, "alice"), newManager(t, clk, "bob")
	w1, err1 := alice.Wrap("room", "a1", []byte("one"))
	w2, err2 := alice.Wrap("room", "a2", []byte("two"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i, w := range [][]byte{w2, w1, w1} {
		if i == 1 {
			clk.Advance(3 * time.Second)
		}
		if _, err := bob.Unwrap(w); err != nil {
			t.Fatal(err)
		}
		received += len(w)
	}
	if _, err := bob.Unwrap([]byte("junk")); err == nil {
		t.Fatal("junk unwrapped")
	}
	if _, err := bob.Wrap("gone", "b1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := bob.RemoveChannel("gone"); err != nil {
		t.Fatal(err)
	}
	return bob, received
}

// serve registers c and serves it through promhttp on 127.0.0.1.
func serve(t *testing.T, c prometheus.Collector) string {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("served at %s", srv.URL)
	}
	http.DefaultClient.Timeout = 10 * time.Second
	return srv.URL
}

const help = `# HELP sds_channels Channels the manager holds.
# TYPE sds_channels gauge
# HELP sds_messages_delivered_total Messages delivered in causal order.
# TYPE sds_messages_delivered_total counter
# HELP sds_messages_duplicate_total Content messages received again.
# TYPE sds_messages_duplicate_total counter
# HELP sds_messages_received_total Messages unwrapped, by kind.
# TYPE sds_messages_received_total counter
# HELP sds_messages_wrapped_total Messages this participant made, by kind.
# TYPE sds_messages_wrapped_total counter
# HELP sds_received_bytes_total Wire bytes of the messages unwrapped.
# TYPE sds_received_bytes_total counter
# HELP sds_unwrap_errors_total Unwraps that failed: undecodable, over a limit, or refused.
# TYPE sds_unwrap_errors_total counter
# HELP sds_log_entries Messages in the local logs.
# TYPE sds_log_entries gauge
# HELP sds_incoming_wait_seconds How long received messages waited in the incoming buffer for their dependencies before delivery.
# TYPE sds_incoming_wait_seconds histogram
`

var scraped = []string{"sds_channels", "sds_messages_delivered_total", "sds_messages_duplicate_total",
	"sds_messages_received_total", "sds_messages_wrapped_total", "sds_received_bytes_total",
	"sds_unwrap_errors_total", "sds_log_entries", "sds_incoming_wait_seconds"}

// waitBuckets is the incoming-wait histogram of one wait of 3 s.
func waitBuckets(labels string) string {
	var b strings.Builder
	for _, le := range sds.IncomingWaitBuckets() {
		n := 0
		if le >= 3 {
			n = 1
		}
		fmt.Fprintf(&b, "sds_incoming_wait_seconds_bucket{%sle=\"%g\"} %d\n", labels, le, n)
	}
	fmt.Fprintf(&b, "sds_incoming_wait_seconds_bucket{%sle=\"+Inf\"} 1\n", labels)
	fmt.Fprintf(&b, "sds_incoming_wait_seconds_sum{%s} 3\nsds_incoming_wait_seconds_count{%[1]s} 1\n", strings.TrimSuffix(labels, ","))
	return b.String()
}

// Per channel: the channel's series, and channel="" for what belongs to
// no channel held now (the failed unwrap, the removed channel's wrap).
func TestScrapePerChannel(t *testing.T) {
	bob, received := exchange(t)
	url := serve(t, New(bob.Stats, Options{PerChannel: true}))
	want := help + fmt.Sprintf(`sds_channels 1
sds_messages_delivered_total{channel=""} 0
sds_messages_delivered_total{channel="room"} 2
sds_messages_duplicate_total{channel=""} 0
sds_messages_duplicate_total{channel="room"} 1
sds_messages_received_total{channel="",kind="content"} 0
sds_messages_received_total{channel="",kind="ephemeral"} 0
sds_messages_received_total{channel="",kind="sync"} 0
sds_messages_received_total{channel="room",kind="content"} 3
sds_messages_received_total{channel="room",kind="ephemeral"} 0
sds_messages_received_total{channel="room",kind="sync"} 0
sds_messages_wrapped_total{channel="",kind="content"} 1
sds_messages_wrapped_total{channel="",kind="ephemeral"} 0
sds_messages_wrapped_total{channel="",kind="sync"} 0
sds_messages_wrapped_total{channel="room",kind="content"} 0
sds_messages_wrapped_total{channel="room",kind="ephemeral"} 0
sds_messages_wrapped_total{channel="room",kind="sync"} 0
sds_received_bytes_total{channel=""} 0
sds_received_bytes_total{channel="room"} %d
sds_unwrap_errors_total{channel=""} 1
sds_unwrap_errors_total{channel="room"} 0
sds_log_entries{channel="room"} 2
`, received) + waitBuckets(`channel="room",`) + strings.ReplaceAll(waitBuckets(`channel="",`), "} 1", "} 0")
	want = strings.Replace(want, `sds_incoming_wait_seconds_sum{channel=""} 3`, `sds_incoming_wait_seconds_sum{channel=""} 0`, 1)
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(want), scraped...); err != nil {
		t.Error(err)
	}
}

// Without the channel label: one series per metric, the manager's total.
func TestScrapeTotals(t *testing.T) {
	bob, received := exchange(t)
	url := serve(t, New(bob.Stats, Options{ConstLabels: prometheus.Labels{"participant": "bob"}}))
	want := help + fmt.Sprintf(`sds_channels{participant="bob"} 1
sds_messages_delivered_total{participant="bob"} 2
sds_messages_duplicate_total{participant="bob"} 1
sds_messages_received_total{kind="content",participant="bob"} 3
sds_messages_received_total{kind="ephemeral",participant="bob"} 0
sds_messages_received_total{kind="sync",participant="bob"} 0
sds_messages_wrapped_total{kind="content",participant="bob"} 1
sds_messages_wrapped_total{kind="ephemeral",participant="bob"} 0
sds_messages_wrapped_total{kind="sync",participant="bob"} 0
sds_received_bytes_total{participant="bob"} %d
sds_unwrap_errors_total{participant="bob"} 1
sds_log_entries{participant="bob"} 2
`, received) + waitBuckets(`participant="bob",`)
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(want), scraped...); err != nil {
		t.Error(err)
	}
}

// The names follow Prometheus's conventions (promlint).
func TestLint(t *testing.T) {
	bob, _ := exchange(t)
	for _, per := range []bool{false, true} {
		problems, err := testutil.CollectAndLint(New(bob.Stats, Options{PerChannel: per}))
		if err != nil || len(problems) > 0 {
			t.Errorf("per channel %v: %v %+v", per, err, problems)
		}
	}
}

// Every counter and gauge of the core is exported, each once.
func TestEveryFigureExported(t *testing.T) {
	var c sds.Counters
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(i + 1))
	}
	seen := map[uint64]bool{}
	for _, s := range counterSpecs {
		seen[s.get(&c)] = true
	}
	if len(seen) != v.NumField() || len(counterSpecs) != v.NumField() {
		t.Errorf("%d counter specs cover %d of the %d counters", len(counterSpecs), len(seen), v.NumField())
	}
	var g sds.Gauges
	gv := reflect.ValueOf(&g).Elem()
	for i := range gv.NumField() {
		gv.Field(i).SetInt(int64(i + 1))
	}
	seenG := map[int64]bool{}
	for _, s := range gaugeSpecs {
		seenG[s.get(&g)] = true
	}
	if len(seenG) != gv.NumField() || len(gaugeSpecs) != gv.NumField() {
		t.Errorf("%d gauge specs cover %d of the %d gauges", len(gaugeSpecs), len(seenG), gv.NumField())
	}
}
