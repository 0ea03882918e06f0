package sim

import "github.com/libsds-go/libsds/sds"

// CrossCheck runs crossCheck on a finished run's result, with the bytes
// the simulator saw broadcast taken from it.
func CrossCheck(res *Result, c *sds.Counters) error {
	return crossCheck(res, c, madeBytes{res.Traffic.Sent, res.Traffic.SentBloom})
}
