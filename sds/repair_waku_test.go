package sds_test

import (
	"fmt"
	"testing"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// TestJSRepairTimingVectors checks the @waku/sds formulas against every
// row that package computed.
func TestJSRepairTimingVectors(t *testing.T) {
	v, err := vectors.LoadJSRepair()
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	checkRepairVectors(t, jsFormulas, v.TReq, v.TResp, v.ResponseGroup)
}

// A manager schedules its SDS-R requests and answers with the formulas of
// the wire format it sends: Nim's in the Nim format, @waku/sds's in the
// RFC format. The ids are chosen where the two disagree, so a manager
// using the other format's formulas fails.
func TestRepairFormulasFollowWireFormat(t *testing.T) {
	const groups = 4
	cfg := sds.DefaultConfig()
	nimRules(&cfg) // nimManager's timers
	// Messages whose response group the two formulas decide differently.
	var answerJS, answerNim string
	for i := 0; answerJS == "" || answerNim == ""; i++ {
		id := fmt.Sprintf("r%d", i)
		js, nim := sds.JSIsInResponseGroup("bob", "alice", id, groups), sds.IsInResponseGroup("bob", "alice", id, groups)
		switch {
		case js && !nim && answerJS == "":
			answerJS = id
		case nim && !js && answerNim == "":
			answerNim = id
		}
	}
	if sds.JSComputeTReq("bob", "m1", cfg.RepairTMin, cfg.RepairTMax) == sds.ComputeTReq("bob", "m1", cfg.RepairTMin, cfg.RepairTMax) {
		t.Fatal("the formulas agree on T_req for m1: pick another id")
	}
	for _, tc := range []struct {
		format wire.Format
		f      repairFormulas
	}{{wire.FormatNim, nimFormulas}, {wire.FormatRFC, jsFormulas}} {
		t.Run(fmt.Sprint(tc.format), func(t *testing.T) {
			bob, _, clk := nimManager(t, func(c *sds.Config) {
				c.ParticipantID, c.WireFormat, c.NumResponseGroups = "bob", tc.format, groups
			})
			start := clk.Now()
			// alice's m2 names m1, which bob lacks: a request at T_req.
			nimUnwrap(t, bob, sdsrMessage("ch", "m2", "alice", 2, []byte("two"), []wire.HistoryEntry{entry("m1", "alice")}, nil))
			want := start.Add(tc.f.tReq("bob", "m1", cfg.RepairTMin, cfg.RepairTMax))
			if got := repairDue(t, nimState(t, bob, "ch").RepairRequests, "m1"); !got.Equal(want) {
				t.Errorf("request for m1 due %v, want %v", got, want)
			}
			// carol asks for two of alice's messages bob has: he answers
			// the one his response group covers, at T_resp.
			for i, id := range []string{answerJS, answerNim} {
				nimUnwrap(t, bob, sdsrMessage("ch", id, "alice", uint64(10+i), []byte("x"), nil, nil))
			}
			nimUnwrap(t, bob, sdsrMessage("ch", "c1", "carol", 20, []byte("ask"), nil,
				[]wire.HistoryEntry{entry(answerJS, "alice"), entry(answerNim, "alice")}))
			responses := nimState(t, bob, "ch").RepairResponses
			for _, id := range []string{answerJS, answerNim} {
				if in := tc.f.inGroup("bob", "alice", id, groups); hasRepair(responses, id) != in {
					t.Errorf("answers %s: %v, want %v", id, hasRepair(responses, id), in)
				} else if in {
					if got, want := repairDue(t, responses, id), start.Add(tc.f.tResp("bob", "alice", id, cfg.RepairTMax)); !got.Equal(want) {
						t.Errorf("answer to %s due %v, want %v", id, got, want)
					}
				}
			}
		})
	}
}
