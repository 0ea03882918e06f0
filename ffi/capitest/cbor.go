package capitest

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/../../tests
#include <stdlib.h>
#include <string.h>
#include "libsds.h"
#include "resp.h"

// A Resp and a copy of its msg, made during the callback.
typedef struct {
	Resp r;
	char* copy;
} CResp;

static void cresp_cb(int ret, const char* msg, size_t len, void* ud) {
	CResp* c = ud;
	resp_cb(ret, msg, len, &c->r);
	free(c->copy);
	c->copy = malloc(len + 1);
	memcpy(c->copy, msg, len);
}

static CResp* cresp_new(void) { return calloc(1, sizeof(CResp)); }
static void cresp_free(CResp* r) { free(r->copy); free(r); }

typedef int (*cbor_fn)(void*, SdsCallBack, void*, const uint8_t*, size_t);

static int cbor_call(int which, void* ctx, const void* req, size_t n, CResp* r) {
	static const cbor_fn fns[] = {
		sds_wrap_outgoing_message, sds_unwrap_received_message, sds_mark_dependencies_met,
		sds_reset, sds_start_periodic_tasks, sds_set_retrieval_hint_provider,
		sds_wrap_sync_message, sds_wrap_ephemeral_message, sds_get_stats,
	};
	return fns[which](ctx, cresp_cb, r, req, n);
}

static void* cbor_create(const void* req, size_t n, CResp* r) { return sds_create(req, n, cresp_cb, r); }

static void count_cb(int ret, const char* msg, size_t len, void* ud) {
	if (ret == RET_OK && msg != NULL && len > 0) __atomic_add_fetch((long*)ud, 1, __ATOMIC_SEQ_CST);
}
static uint64_t cbor_listen(void* ctx, const char* name, long* counter) {
	return sds_add_event_listener(ctx, name, count_cb, counter);
}
static long counter_load(long* c) { return __atomic_load_n(c, __ATOMIC_SEQ_CST); }
*/
import "C"

import "unsafe"

// The request-taking sds_* functions, in the order of cbor_call.
const (
	CborWrap = iota
	CborUnwrap
	CborMark
	CborReset
	CborStart
	CborHints
	CborWrapSync
	CborWrapEphemeral
	CborStats
)

// CborResult is what a result callback of the sds_* generation received,
// copied during the callback (as the Go wrapper of that generation does).
type CborResult struct {
	Ret, Calls, CbRet int
	Msg               []byte
}

func cborResult(ret C.int, r *C.CResp) CborResult {
	res := CborResult{Ret: int(ret), Calls: int(r.r.calls), CbRet: int(r.r.ret)}
	if r.copy != nil {
		res.Msg = C.GoBytes(unsafe.Pointer(r.copy), C.int(r.r.len))
	}
	return res
}

func withCBytes(b []byte, f func(p unsafe.Pointer, n C.size_t)) {
	if len(b) == 0 {
		f(nil, 0)
		return
	}
	p := C.CBytes(b)
	defer C.free(p)
	f(p, C.size_t(len(b)))
}

// CborCreate calls sds_create; ctx 0 means NULL.
func CborCreate(req []byte) (uintptr, CborResult) {
	r := C.cresp_new()
	defer C.cresp_free(r)
	var ctx unsafe.Pointer
	withCBytes(req, func(p unsafe.Pointer, n C.size_t) { ctx = C.cbor_create(p, n, r) })
	return uintptr(ctx), cborResult(0, r)
}

// CborCall calls one of the request-taking functions.
func CborCall(which int, ctx uintptr, req []byte) CborResult {
	r := C.cresp_new()
	defer C.cresp_free(r)
	var ret C.int
	withCBytes(req, func(p unsafe.Pointer, n C.size_t) {
		ret = C.cbor_call(C.int(which), unsafe.Add(unsafe.Pointer(nil), ctx), p, n, r)
	})
	return cborResult(ret, r)
}

// CborDestroy calls sds_destroy.
func CborDestroy(ctx uintptr) int { return int(C.sds_destroy(unsafe.Add(unsafe.Pointer(nil), ctx))) }

// Counter counts the events a listener received (C memory).
type Counter struct{ p *C.long }

func NewCounter() Counter   { return Counter{(*C.long)(C.calloc(1, C.sizeof_long))} }
func (c Counter) Load() int { return int(C.counter_load(c.p)) }
func (c Counter) Free()     { C.free(unsafe.Pointer(c.p)) }

// CborListen subscribes a counting listener.
func CborListen(ctx uintptr, name string, c Counter) uint64 {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return uint64(C.cbor_listen(unsafe.Add(unsafe.Pointer(nil), ctx), cs, c.p))
}

// CborUnlisten calls sds_remove_event_listener.
func CborUnlisten(ctx uintptr, id uint64) int {
	return int(C.sds_remove_event_listener(unsafe.Add(unsafe.Pointer(nil), ctx), C.uint64_t(id)))
}
