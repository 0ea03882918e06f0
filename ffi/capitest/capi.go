// Package capitest drives the C ABI from Go, for `go test -race`: its cgo
// preamble calls the Sds* functions through include/libsds.h (linked from
// package ffi, as a host links libsds), with C callbacks that record what
// they receive. The tests exercise the exported layer the way hosts do -
// including sds-go-bindings, which keeps the msg pointer and reads it after
// the call returned - while the race detector watches the Go side.
package capitest

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/../../tests
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "libsds.h"
#include "resp.h" // a result as sds-go-bindings keeps it: the library's pointer

static Resp* resp_new(void) { return calloc(1, sizeof(Resp)); }

// Events, copied, counted per manager.
typedef struct {
	pthread_mutex_t mu;
	int n;
	char* last;
} Events;

static void events_cb(int ret, const char* msg, size_t len, void* ud) {
	Events* e = ud;
	pthread_mutex_lock(&e->mu);
	e->n++;
	free(e->last);
	e->last = strndup(msg, len);
	pthread_mutex_unlock(&e->mu);
}

static Events* events_new(void) {
	Events* e = calloc(1, sizeof(Events));
	pthread_mutex_init(&e->mu, NULL);
	return e;
}

static int events_n(Events* e) {
	pthread_mutex_lock(&e->mu);
	int n = e->n;
	pthread_mutex_unlock(&e->mu);
	return n;
}

static void events_free(Events* e) {
	free(e->last);
	free(e);
}

static void* new_manager(Resp* r) { return SdsNewReliabilityManager(resp_cb, r); }
static void* new_manager_config(const char* json, Resp* r) {
	return SdsNewReliabilityManagerWithConfig(json, resp_cb, r);
}
static void set_events(void* ctx, Events* e) { SdsSetEventCallback(ctx, events_cb, e); }
static int cleanup(void* ctx, Resp* r) { return SdsCleanupReliabilityManager(ctx, resp_cb, r); }
static int reset(void* ctx, Resp* r) { return SdsResetReliabilityManager(ctx, resp_cb, r); }
static int wrap(void* ctx, void* msg, size_t n, const char* id, const char* ch, Resp* r) {
	return SdsWrapOutgoingMessage(ctx, msg, n, id, ch, resp_cb, r);
}
static int unwrap(void* ctx, void* msg, size_t n, Resp* r) {
	return SdsUnwrapReceivedMessage(ctx, msg, n, resp_cb, r);
}
static int mark(void* ctx, char** ids, size_t n, const char* ch, Resp* r) {
	return SdsMarkDependenciesMet(ctx, ids, n, ch, resp_cb, r);
}
static int periodic(void* ctx, Resp* r) { return SdsStartPeriodicTasks(ctx, resp_cb, r); }
static int get_stats(void* ctx, Resp* r) { return SdsGetStats(ctx, resp_cb, r); }

static void hint_cb(const char* id, char** hint, size_t* len, void* ud) {
	*len = strlen(id) + 2;
	*hint = malloc(*len + 1);
	strcpy(*hint, "h:");
	strcat(*hint, id);
}
static void set_hints(void* ctx) { SdsSetRetrievalHintProvider(ctx, hint_cb, NULL); }

static int log_calls;
static void log_cb(int level, const char* msg, size_t len, void* ud) {
	__atomic_add_fetch(&log_calls, 1, __ATOMIC_SEQ_CST);
}
static void set_log(int on) { SdsSetLogCallback(on ? log_cb : NULL, NULL); }
static int logs(void) { return __atomic_load_n(&log_calls, __ATOMIC_SEQ_CST); }
*/
import "C"

import (
	"strconv"
	"strings"
	"unsafe"

	_ "github.com/libsds-go/libsds/ffi" // the Sds* functions
)

// Manager is a context and the C memory its tests use.
type Manager struct {
	ctx    unsafe.Pointer
	events *C.Events
}

// Result is what a result callback received, read after the call returned
// through the pointer the library handed over.
type Result struct {
	Ret   int // the function's return value
	Calls int // callback invocations
	CbRet int // the callback's callerRet
	Msg   string
	Null  bool // msg was NULL
}

func read(ret C.int, r *C.Resp) Result {
	res := Result{Ret: int(ret), Calls: int(r.calls), CbRet: int(r.ret), Null: r.msg == nil}
	if r.msg != nil {
		res.Msg = C.GoStringN(r.msg, C.int(r.len))
	}
	return res
}

// withResp runs f with a fresh C response record and reads it afterwards.
func withResp(f func(*C.Resp) C.int) Result {
	r := C.resp_new()
	defer C.free(unsafe.Pointer(r))
	ret := f(r)
	return read(ret, r)
}

// New creates a manager (configJSON "" means SdsNewReliabilityManager).
func New(configJSON string) (*Manager, Result) {
	var ctx unsafe.Pointer
	res := withResp(func(r *C.Resp) C.int {
		if configJSON == "" {
			ctx = C.new_manager(r)
		} else {
			cs := C.CString(configJSON)
			defer C.free(unsafe.Pointer(cs))
			ctx = C.new_manager_config(cs, r)
		}
		return 0
	})
	if ctx == nil {
		return nil, res
	}
	m := &Manager{ctx: ctx, events: C.events_new()}
	C.set_events(ctx, m.events)
	return m, res
}

// Stale returns a manager value holding ctx as is (for invalid contexts).
func Stale(ctx uintptr) *Manager {
	return &Manager{ctx: unsafe.Add(unsafe.Pointer(nil), ctx)}
}

// Ctx returns the context value.
func (m *Manager) Ctx() uintptr { return uintptr(m.ctx) }

// Events returns how many events the manager delivered, and the last one.
func (m *Manager) Events() (int, string) {
	C.pthread_mutex_lock(&m.events.mu)
	defer C.pthread_mutex_unlock(&m.events.mu)
	return int(m.events.n), C.GoString(m.events.last)
}

// EventCount is Events without the copy.
func (m *Manager) EventCount() int { return int(C.events_n(m.events)) }

// Cleanup destroys the manager and frees the event recorder.
func (m *Manager) Cleanup() Result {
	res := withResp(func(r *C.Resp) C.int { return C.cleanup(m.ctx, r) })
	if m.events != nil && res.Ret == 0 {
		C.events_free(m.events)
		m.events = nil
	}
	return res
}

// Reset wipes the manager's channels.
func (m *Manager) Reset() Result {
	return withResp(func(r *C.Resp) C.int { return C.reset(m.ctx, r) })
}

// Stats calls SdsGetStats.
func (m *Manager) Stats() Result {
	return withResp(func(r *C.Resp) C.int { return C.get_stats(m.ctx, r) })
}

// StartPeriodicTasks calls SdsStartPeriodicTasks.
func (m *Manager) StartPeriodicTasks() Result {
	return withResp(func(r *C.Resp) C.int { return C.periodic(m.ctx, r) })
}

// SetHints installs a provider answering "h:<id>".
func (m *Manager) SetHints() { C.set_hints(m.ctx) }

// Wrap wraps through SdsWrapOutgoingMessage; the result text is the
// comma-separated wire bytes.
func (m *Manager) Wrap(content []byte, id, channel string) Result {
	cid, cch := C.CString(id), C.CString(channel)
	defer C.free(unsafe.Pointer(cid))
	defer C.free(unsafe.Pointer(cch))
	var p unsafe.Pointer
	if len(content) > 0 {
		p = C.CBytes(content)
		defer C.free(p)
	}
	return withResp(func(r *C.Resp) C.int { return C.wrap(m.ctx, p, C.size_t(len(content)), cid, cch, r) })
}

// Unwrap unwraps through SdsUnwrapReceivedMessage.
func (m *Manager) Unwrap(wire []byte) Result {
	var p unsafe.Pointer
	if len(wire) > 0 {
		p = C.CBytes(wire)
		defer C.free(p)
	}
	return withResp(func(r *C.Resp) C.int { return C.unwrap(m.ctx, p, C.size_t(len(wire)), r) })
}

// MarkDependenciesMet calls SdsMarkDependenciesMet.
func (m *Manager) MarkDependenciesMet(ids []string, channel string) Result {
	cch := C.CString(channel)
	defer C.free(unsafe.Pointer(cch))
	arr := (**C.char)(C.calloc(C.size_t(len(ids)+1), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(arr))
	list := unsafe.Slice(arr, len(ids)+1)
	for i, id := range ids {
		list[i] = C.CString(id)
		defer C.free(unsafe.Pointer(list[i]))
	}
	return withResp(func(r *C.Resp) C.int { return C.mark(m.ctx, arr, C.size_t(len(ids)), cch, r) })
}

// WrapBinary wraps through SdsWrapOutgoingMessageBinary.
func (m *Manager) WrapBinary(content []byte, id, channel string) ([]byte, int, string) {
	cid, cch := C.CString(id), C.CString(channel)
	defer C.free(unsafe.Pointer(cid))
	defer C.free(unsafe.Pointer(cch))
	p := C.CBytes(content)
	defer C.free(p)
	var out *C.uint8_t
	var n C.size_t
	var errMsg *C.char
	ret := C.SdsWrapOutgoingMessageBinary(m.ctx, p, C.size_t(len(content)), cid, cch, &out, &n, &errMsg)
	defer C.SdsFree(unsafe.Pointer(out))
	defer C.SdsFree(unsafe.Pointer(errMsg))
	if errMsg != nil {
		return nil, int(ret), C.GoString(errMsg)
	}
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), int(ret), ""
}

// Unwrapped is the part of SdsUnwrapResult the tests look at.
type Unwrapped struct {
	MessageID, ChannelID, SenderID string
	Content                        []byte
	Missing                        []string
	Flags, Kind, Format            int
}

// UnwrapBinary unwraps through SdsUnwrapReceivedMessageBinary.
func (m *Manager) UnwrapBinary(wire []byte) (Unwrapped, int, string) {
	p := C.CBytes(wire)
	defer C.free(p)
	var res *C.SdsUnwrapResult
	var errMsg *C.char
	ret := C.SdsUnwrapReceivedMessageBinary(m.ctx, p, C.size_t(len(wire)), &res, &errMsg)
	defer C.SdsFree(unsafe.Pointer(res))
	defer C.SdsFree(unsafe.Pointer(errMsg))
	if res == nil {
		return Unwrapped{}, int(ret), C.GoString(errMsg)
	}
	u := Unwrapped{
		MessageID: C.GoStringN(res.messageId, C.int(res.messageIdLen)),
		ChannelID: C.GoStringN(res.channelId, C.int(res.channelIdLen)),
		SenderID:  C.GoStringN(res.senderId, C.int(res.senderIdLen)),
		Content:   C.GoBytes(unsafe.Pointer(res.content), C.int(res.contentLen)),
		Flags:     int(res.flags),
		Kind:      int(res.kind),
		Format:    int(res.wireFormat),
	}
	if res.missingDepsCount > 0 {
		for _, e := range unsafe.Slice(res.missingDeps, res.missingDepsCount) {
			u.Missing = append(u.Missing, C.GoStringN(e.messageId, C.int(e.messageIdLen)))
		}
	}
	return u, int(ret), ""
}

// SetLog turns a counting log callback on or off; Logs returns the count.
func SetLog(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.set_log(v)
}

// Logs returns how many log lines the callback received.
func Logs() int { return int(C.logs()) }

// Version returns SdsVersion() and the header's SDS_VERSION.
func Version() (string, string) { return C.GoString(C.SdsVersion()), C.SDS_VERSION }

// ParseComma parses the wrap result text.
func ParseComma(s string) ([]byte, error) {
	parts := strings.Split(s, ",")
	out := make([]byte, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(n)
	}
	return out, nil
}

// Return codes.
const (
	RetOK              = C.RET_OK
	RetErr             = C.RET_ERR
	RetMissingCallback = C.RET_MISSING_CALLBACK
)
