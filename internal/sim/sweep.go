package sim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sweep is a parameter sweep: Param takes each of Values in turn.
type Sweep struct {
	Param  string    `json:"param"`
	Values []float64 `json:"values"`
}

// Param is a parameter a sweep can vary.
type Param struct {
	Name string
	Doc  string
	// Unit of the values (for axis labels); durations are in seconds.
	Unit  string
	apply func(*Config, float64) error
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

func whole(name string, v float64, least int) (int, error) {
	if v != math.Trunc(v) || v < float64(least) {
		return 0, fmt.Errorf("sim: %s must be a whole number >= %d, got %v", name, least, v)
	}
	return int(v), nil
}

func intParam(name, doc string, least int, set func(*Config, int)) Param {
	return Param{Name: name, Doc: doc, apply: func(c *Config, v float64) error {
		n, err := whole(name, v, least)
		if err == nil {
			set(c, n)
		}
		return err
	}}
}

func durParam(name, doc string, set func(*Config, time.Duration)) Param {
	return Param{Name: name, Doc: doc, Unit: "s", apply: func(c *Config, v float64) error {
		if v < 0 {
			return fmt.Errorf("sim: %s must not be negative, got %v", name, v)
		}
		set(c, seconds(v))
		return nil
	}}
}

func floatParam(name, doc string, set func(*Config, float64)) Param {
	return Param{Name: name, Doc: doc, apply: func(c *Config, v float64) error { set(c, v); return nil }}
}

// Params lists what a sweep can vary, by name.
var Params = []Param{
	floatParam("loss", "probability that one copy is lost", func(c *Config, v float64) { c.Network.Loss = v }),
	intParam("participants", "group size", 2, func(c *Config, n int) { c.Participants = n }),
	intParam("messages", "messages sent by the whole group", 0, func(c *Config, n int) { c.Messages = n }),
	intParam("channels", "channels every participant serves", 1, func(c *Config, n int) { c.Channels = n }),
	floatParam("rate", "messages per second per participant", func(c *Config, v float64) { c.SendRate = v }),
	intParam("size", "content bytes per message", 1, func(c *Config, n int) { c.ContentSize = n }),
	durParam("delay", "base network latency", func(c *Config, d time.Duration) { c.Network.Delay = d }),
	durParam("jitter", "random extra latency, uniform in [0, jitter)", func(c *Config, d time.Duration) { c.Network.Jitter = d }),
	floatParam("reorder", "probability a copy is held back", func(c *Config, v float64) { c.Network.Reorder = v }),
	floatParam("churn", "fraction of participants that go offline once", func(c *Config, v float64) { c.Network.Churn.Fraction = v }),
	intParam("bloom", "bloom filter capacity (ids)", 1, func(c *Config, n int) { c.Protocol.BloomCapacity = n }),
	floatParam("bloom-error", "bloom filter false-positive rate", func(c *Config, v float64) { c.Protocol.BloomErrorRate = v }),
	intParam("full-bloom", "1: messages carry the whole rolling bloom filter (Nim's); 0: the acknowledgement window's", 0, func(c *Config, n int) { c.Protocol.FullBloomFilter = n != 0 }),
	durParam("ack-window", "how long ids stay in the filter messages carry (0: derived from the resend settings)", func(c *Config, d time.Duration) { c.Protocol.AckWindow = d }),
	intParam("history", "causal-history entries per message", 0, func(c *Config, n int) { c.Protocol.MaxCausalHistory = n }),
	intParam("log", "messages kept in each participant's log (MaxMessageHistory)", 1, func(c *Config, n int) { c.Protocol.MaxMessageHistory = n }),
	intParam("remember", "ids of evicted log entries still recognised as delivered (RememberDelivered)", 0, func(c *Config, n int) { c.Protocol.RememberDelivered = n }),
	intParam("groups", "SDS-R response groups", 1, func(c *Config, n int) { c.Protocol.NumResponseGroups = n }),
	durParam("tmin", "SDS-R request backoff minimum", func(c *Config, d time.Duration) { c.Protocol.RepairTMin = d }),
	durParam("tmax", "SDS-R backoff maximum", func(c *Config, d time.Duration) { c.Protocol.RepairTMax = d }),
	durParam("resend", "resend interval", func(c *Config, d time.Duration) {
		c.Protocol.ResendInterval = d
		c.Protocol.PossiblyAckedResendInterval = 2 * d
	}),
	durParam("sync", "sync message interval", func(c *Config, d time.Duration) { c.Protocol.SyncMessageInterval = d }),
	durParam("dep-wait", "how long a message waits for missing dependencies", func(c *Config, d time.Duration) { c.Protocol.MaxDependencyWait = d }),
	durParam("retry", "SDS-R request retry interval", func(c *Config, d time.Duration) { c.Protocol.RepairRetryInterval = d }),
	durParam("response-window", "SDS-R T_resp window (tMax of T_resp)", func(c *Config, d time.Duration) { c.Protocol.RepairResponseWindow = d }),
	durParam("response-grace", "SDS-R wait of responders other than the sender", func(c *Config, d time.Duration) { c.Protocol.RepairResponseGrace = d }),
}

// LookupParam returns the sweepable parameter called name.
func LookupParam(name string) (Param, bool) {
	i := slices.IndexFunc(Params, func(p Param) bool { return p.Name == name })
	if i < 0 {
		return Param{}, false
	}
	return Params[i], true
}

// ParseSweep parses "param=a,b,c" or "param=from:to:step" (to included).
func ParseSweep(spec string) (Sweep, error) {
	name, list, ok := strings.Cut(spec, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.TrimSpace(list) == "" {
		return Sweep{}, fmt.Errorf("sim: sweep %q: want param=a,b,c or param=from:to:step", spec)
	}
	if _, ok := LookupParam(name); !ok {
		names := make([]string, len(Params))
		for i, p := range Params {
			names[i] = p.Name
		}
		return Sweep{}, fmt.Errorf("sim: sweep: unknown parameter %q (one of %s)", name, strings.Join(names, ", "))
	}
	s := Sweep{Param: name}
	if parts := strings.Split(list, ":"); len(parts) == 3 {
		var v [3]float64
		for i, p := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return Sweep{}, fmt.Errorf("sim: sweep %q: %w", spec, err)
			}
			v[i] = f
		}
		from, to, step := v[0], v[1], v[2]
		if !(step > 0) || to < from || (to-from)/step > 1000 {
			return Sweep{}, fmt.Errorf("sim: sweep %q: need from <= to and a positive step giving at most 1000 values", spec)
		}
		for i := 0; ; i++ {
			x := from + float64(i)*step
			if x > to+step*1e-9 {
				break
			}
			s.Values = append(s.Values, math.Round(x*1e9)/1e9)
		}
		return s, nil
	}
	for _, p := range strings.Split(list, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return Sweep{}, fmt.Errorf("sim: sweep %q: %w", spec, err)
		}
		s.Values = append(s.Values, f)
	}
	return s, nil
}

// Apply returns cfg with the sweep's parameter set to v, validated.
func (s Sweep) Apply(cfg Config, v float64) (Config, error) {
	p, ok := LookupParam(s.Param)
	if !ok {
		return cfg, fmt.Errorf("sim: unknown parameter %q", s.Param)
	}
	if err := p.apply(&cfg, v); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}
