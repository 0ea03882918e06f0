package sds

import core "github.com/libsds-go/libsds/sds"

// The core's metrics (an addition of this package; the C binding has no
// such call): what the manager counted, how things stand, and how long
// received messages waited for their dependencies, overall and per
// channel. See the core's Stats for each field.
type (
	Stats        = core.Stats
	ChannelStats = core.ChannelStats
	Counters     = core.Counters
	Gauges       = core.Gauges
	Histogram    = core.Histogram
)

// Stats returns the manager's metrics. After Cleanup it returns what the
// manager counted until then (the last figures to report).
func (rm *ReliabilityManager) Stats() (Stats, error) {
	if rm == nil {
		return Stats{}, errEmptyReliabilityManager
	}
	return rm.m.Stats(), nil
}
