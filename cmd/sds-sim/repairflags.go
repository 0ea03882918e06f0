package main

import (
	"flag"
	"fmt"

	"github.com/libsds-go/libsds/sds"
)

// repairFlags adds the flags of the SDS-R policy (sds.RepairPolicy and its
// settings); setPolicy applies -policy after parsing.
func repairFlags(fs *flag.FlagSet, p *sds.Config, policy *string) {
	fs.StringVar(policy, "policy", p.RepairPolicy.String(), "SDS-R policy: prompt (this library's) or rfc (the RFC's and Nim's)")
	fs.BoolVar(&p.RepairRequestSync, "request-sync", p.RepairRequestSync, "broadcast a due SDS-R request at once in a sync message of its own")
	fs.DurationVar(&p.RepairRetryInterval, "retry", p.RepairRetryInterval, "SDS-R request retry interval (prompt)")
	fs.DurationVar(&p.RepairResponseWindow, "response-window", p.RepairResponseWindow, "SDS-R T_resp window (prompt)")
	fs.DurationVar(&p.RepairResponseGrace, "response-grace", p.RepairResponseGrace, "SDS-R wait of responders other than the original sender (prompt)")
	fs.DurationVar(&p.LogRetention, "log-retention", p.LogRetention, "log entries younger than this stay beyond -log (0: -log alone)")
}

func setPolicy(p *sds.Config, policy string) (err error) {
	if p.RepairPolicy, err = sds.ParseRepairPolicy(policy); err != nil {
		return fmt.Errorf("-policy: %w", err)
	}
	return nil
}
