package sds_test

import (
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds"
)

// repairFormulas are the SDS-R formulas peers of one wire format share.
type repairFormulas struct {
	tReq    func(pid, mid string, tMin, tMax time.Duration) time.Duration
	tResp   func(pid, sender, mid string, tMax time.Duration) time.Duration
	inGroup func(pid, sender, mid string, groups int) bool
}

var (
	nimFormulas = repairFormulas{sds.ComputeTReq, sds.ComputeTResp, sds.IsInResponseGroup}
	jsFormulas  = repairFormulas{sds.JSComputeTReq, sds.JSComputeTResp, sds.JSIsInResponseGroup}
)

// checkRepairVectors checks f against every row a peer library produced.
// Where that library threw (a zero range), f must give the documented
// fallback instead: tMin for T_req, 0 for T_resp.
func checkRepairVectors(t *testing.T, f repairFormulas, tReq []vectors.TReqRow, tResp []vectors.TRespRow, groups []vectors.ResponseGroupRow) {
	t.Helper()
	if len(tReq) == 0 || len(tResp) == 0 || len(groups) == 0 {
		t.Fatalf("vectors incomplete: %d t_req, %d t_resp, %d response_group rows", len(tReq), len(tResp), len(groups))
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	for i, r := range tReq {
		want := ms(r.TReqMs)
		if r.Error != "" {
			want = ms(r.TMinMs)
		}
		if got := f.tReq(r.ParticipantID, r.MessageID, ms(r.TMinMs), ms(r.TMaxMs)); got != want {
			t.Errorf("t_req[%d] (%q, %q, %d, %d) = %v, want %v", i, r.ParticipantID, r.MessageID, r.TMinMs, r.TMaxMs, got, want)
		}
	}
	for i, r := range tResp {
		want := ms(r.TRespMs)
		if r.Error != "" {
			want = 0
		}
		if got := f.tResp(r.ParticipantID, r.SenderID, r.MessageID, ms(r.TMaxMs)); got != want {
			t.Errorf("t_resp[%d] (%q, %q, %q, %d) = %v, want %v", i, r.ParticipantID, r.SenderID, r.MessageID, r.TMaxMs, got, want)
		}
	}
	for i, r := range groups {
		if got := f.inGroup(r.ParticipantID, r.SenderID, r.MessageID, r.NumGroups); got != r.InGroup {
			t.Errorf("response_group[%d] (%q, %q, %q, %d) = %v, want %v", i, r.ParticipantID, r.SenderID, r.MessageID, r.NumGroups, got, r.InGroup)
		}
	}
	t.Logf("%d t_req, %d t_resp, %d response_group rows", len(tReq), len(tResp), len(groups))
}

// TestRepairTimingVectors checks T_req, T_resp and response-group
// membership against every row the Nim library produced.
func TestRepairTimingVectors(t *testing.T) {
	v := vectors.Must(t, vectors.LoadNim)
	checkRepairVectors(t, nimFormulas, v.TReq, v.TResp, v.ResponseGroup)
}
