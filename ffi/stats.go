package ffi

/*
#include "libsds.h"
#include "shim.h"
*/
import "C"

import (
	"encoding/json"

	"github.com/libsds-go/libsds/ffi/cborabi"
)

// The manager's metrics (sds.Manager.Stats): JSON for SdsGetStats, CBOR
// for sds_get_stats, both with the keys of the core's json tags, which
// include/libsds.h documents.

//export sdsgoGetStats
func sdsgoGetStats(ctx, cb, ud, tid C.uintptr_t) C.int {
	e := entry{name: "SdsGetStats", cb: callback{cb, ud}}
	return e.withResult(ctx, tid, returning(retErr), func(c *call) C.int {
		text, err := json.Marshal(c.m.core.Stats())
		if err != nil {
			return c.fail("GET_STATS", err)
		}
		c.reply(retOK, text)
		return retOK
	})
}

func cborStats(r *cborRequest) {
	var u cborabi.UnitRequest
	if r.decode(&u) {
		st := r.c.m.core.Stats()
		r.c.reply(retOK, cborabi.Marshal(&st))
	}
}
