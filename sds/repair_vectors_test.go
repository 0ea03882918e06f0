package sds_test

import (
	"testing"
	"time"

	"github.com/libsds-go/libsds/internal/vectors"
	"github.com/libsds-go/libsds/sds"
)

// TestRepairTimingVectors checks T_req, T_resp and response-group
// membership against every row the Nim library produced.
func TestRepairTimingVectors(t *testing.T) {
	v, err := vectors.LoadNim()
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	if len(v.TReq) == 0 || len(v.TResp) == 0 || len(v.ResponseGroup) == 0 {
		t.Fatalf("vectors incomplete: %d t_req, %d t_resp, %d response_group rows", len(v.TReq), len(v.TResp), len(v.ResponseGroup))
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	for i, r := range v.TReq {
		if got := sds.ComputeTReq(r.ParticipantID, r.MessageID, ms(r.TMinMs), ms(r.TMaxMs)); got != ms(r.TReqMs) {
			t.Errorf("t_req[%d] (%q, %q, %d, %d) = %v, want %dms", i, r.ParticipantID, r.MessageID, r.TMinMs, r.TMaxMs, got, r.TReqMs)
		}
	}
	for i, r := range v.TResp {
		if got := sds.ComputeTResp(r.ParticipantID, r.SenderID, r.MessageID, ms(r.TMaxMs)); got != ms(r.TRespMs) {
			t.Errorf("t_resp[%d] (%q, %q, %q, %d) = %v, want %dms", i, r.ParticipantID, r.SenderID, r.MessageID, r.TMaxMs, got, r.TRespMs)
		}
	}
	for i, r := range v.ResponseGroup {
		if got := sds.IsInResponseGroup(r.ParticipantID, r.SenderID, r.MessageID, r.NumGroups); got != r.InGroup {
			t.Errorf("response_group[%d] (%q, %q, %q, %d) = %v, want %v", i, r.ParticipantID, r.SenderID, r.MessageID, r.NumGroups, got, r.InGroup)
		}
	}
	t.Logf("%d t_req, %d t_resp, %d response_group rows", len(v.TReq), len(v.TResp), len(v.ResponseGroup))
}
