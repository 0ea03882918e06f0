package sim_test

import (
	"slices"
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/sim"
)

func TestParseSweep(t *testing.T) {
	for spec, want := range map[string][]float64{
		"loss=0:0.5:0.1":           {0, 0.1, 0.2, 0.3, 0.4, 0.5},
		"participants=10,100,1000": {10, 100, 1000},
		"tmax = 60, 300":           {60, 300},
		"groups=1:4:1":             {1, 2, 3, 4},
		"loss=0.2":                 {0.2},
		"rate=0.05:0.2:0.05":       {0.05, 0.1, 0.15, 0.2},
	} {
		s, err := sim.ParseSweep(spec)
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		if !slices.Equal(s.Values, want) {
			t.Errorf("%s: values %v, want %v", spec, s.Values, want)
		}
	}
	for _, bad := range []string{"", "loss", "loss=", "nope=1,2", "loss=a,b", "loss=0:1:0", "loss=1:0:0.1", "loss=0:1:x"} {
		if _, err := sim.ParseSweep(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSweepApply(t *testing.T) {
	base := sim.DefaultConfig()
	for spec, check := range map[string]func(sim.Config) bool{
		"loss=0.3":        func(c sim.Config) bool { return c.Network.Loss == 0.3 },
		"participants=17": func(c sim.Config) bool { return c.Participants == 17 },
		"tmax=120":        func(c sim.Config) bool { return c.Protocol.RepairTMax == 2*time.Minute },
		"groups=4":        func(c sim.Config) bool { return c.Protocol.NumResponseGroups == 4 },
		"log=5000":        func(c sim.Config) bool { return c.Protocol.MaxMessageHistory == 5000 },
		"resend=30": func(c sim.Config) bool {
			return c.Protocol.ResendInterval == 30*time.Second && c.Protocol.PossiblyAckedResendInterval == time.Minute
		},
		"churn=0.1": func(c sim.Config) bool { return c.Network.Churn.Fraction == 0.1 },
	} {
		s, err := sim.ParseSweep(spec)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Apply(base, s.Values[0])
		if err != nil {
			t.Errorf("%s: %v", spec, err)
		} else if !check(c) {
			t.Errorf("%s: not applied", spec)
		}
	}
	if base.Network.Loss != 0 || base.Participants != 100 {
		t.Error("Apply changed its argument")
	}
	for _, bad := range []string{"participants=1.5", "participants=1", "loss=2", "history=5000", "tmin=-1"} {
		s, err := sim.ParseSweep(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(base, s.Values[0]); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
