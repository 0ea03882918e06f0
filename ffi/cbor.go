package ffi

// The second ABI generation: the snake_case sds_* functions of
// include/libsds.h (nim-sds branch use-latest-nim-ffi, on nim-ffi 0.2),
// whose requests, results and events are CBOR (package cborabi). A
// context created by sds_create is a context like any other here: the
// same manager type, table and buffer rules as the Sds* functions, and the
// Sds* functions accept it too.

/*
#include <stdlib.h>
#include "libsds.h"
#include "shim.h"
*/
import "C"

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/libsds-go/libsds/ffi/cborabi"
	"github.com/libsds-go/libsds/sds"
)

// errCborInvalidCtx is nim-ffi's answer to an invalid context.
const errCborInvalidCtx = "ctx is not a valid FFI context"

// ---- the listener registry -------------------------------------------------

// listener is one sds_add_event_listener registration.
type listener struct {
	id      uint64
	cb      callback
	removed atomic.Bool
}

// listeners is a manager's registry: ids are unique per manager, start at
// 1 and are never reused. Dispatch copies the listeners of an event under
// the lock and calls them without it, so a callback may add or remove
// listeners; a listener removed meanwhile is skipped.
type listeners struct {
	mu      sync.Mutex
	nextID  uint64
	byEvent map[string][]*listener
}

func (l *listeners) add(name string, cb callback) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byEvent == nil {
		l.byEvent = make(map[string][]*listener)
	}
	l.nextID++
	l.byEvent[name] = append(l.byEvent[name], &listener{id: l.nextID, cb: cb})
	return l.nextID
}

func (l *listeners) remove(id uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, ls := range l.byEvent {
		for i, x := range ls {
			if x.id != id {
				continue
			}
			x.removed.Store(true)
			if len(ls) == 1 {
				delete(l.byEvent, name)
			} else {
				// A fresh slice: snapshots taken earlier stay as they were.
				l.byEvent[name] = append(append([]*listener(nil), ls[:i]...), ls[i+1:]...)
			}
			return true
		}
	}
	return false
}

func (l *listeners) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ls := range l.byEvent {
		for _, x := range ls {
			x.removed.Store(true)
		}
	}
	l.byEvent = nil
}

// snapshot returns the listeners of name; the slice is never modified.
func (l *listeners) snapshot(name string) []*listener {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byEvent[name]
}

// deliverListeners sends e's CBOR envelope to the listeners of its name,
// one buffer for all of them.
func (m *manager) deliverListeners(e *sds.Event) {
	ls := m.cbor.snapshot(e.Kind.String())
	if len(ls) == 0 {
		return
	}
	m.deliverBuffer(cborabi.EncodeEvent(e), func(p *C.char, n C.size_t) {
		for _, l := range ls {
			if !l.removed.Load() {
				C.sdsgo_call(l.cb.fn, retOK, p, n, l.cb.ud)
			}
		}
	})
}

// ---- entry points ----------------------------------------------------------

// requestBytes copies the request the host passed into a pooled Go buffer
// (release it with putScratch once decoded: the decoded values never
// alias it); a NULL pointer with a length is reported as a decoding
// failure, as nim-ffi (which copies nothing then) would report the empty
// request. The copy (nim-ffi copies requests too) keeps the decoder off C
// memory: Go's string hashing, used to look keys up, loads 16 bytes at a
// time around short strings - harmless within a page, but outside a C
// allocation for valgrind - and the host's buffer may change meanwhile.
func requestBytes(p unsafe.Pointer, n C.size_t) (*[]byte, []byte, string) {
	switch {
	case p == nil && n > 0:
		return nil, nil, "request pointer is NULL but length > 0"
	case n > cborabi.MaxRequestBytes:
		return nil, nil, "request of " + strconv.FormatUint(uint64(n), 10) + " bytes exceeds " +
			strconv.Itoa(cborabi.MaxRequestBytes)
	}
	sb := getScratch()
	return sb, append((*sb)[:0], bytesAt(p, n)...), ""
}

// cborCreateRequest is SdsCreateCtorReq: {"config": SdsConfig}, SdsConfig
// being {participantId} in Nim and, here, every key of the JSON
// configuration (jsonConfig's json names serve as CBOR keys).
type cborCreateRequest struct {
	Config *cborConfig `cbor:"config"`
}

// cborConfig adds to the JSON configuration's keys the host's persistence,
// passed as the address of an SdsPersistence (as nim-ffi passes the
// retrieval-hint provider: function pointers have no CBOR form).
type cborConfig struct {
	jsonConfig
	PersistenceAddr uint64 `cbor:"persistenceAddr"`
}

//export sdsgoCborCreate
func sdsgoCborCreate(req unsafe.Pointer, n C.size_t, cb, ud, tid C.uintptr_t) (ctx C.uintptr_t) {
	e := entry{name: "sds_create", cb: callback{cb, ud}}
	defer e.recoverNew(&ctx)
	fault()
	sb, data, bad := requestBytes(req, n)
	var r cborCreateRequest
	if bad == "" {
		if err := cborabi.Decode(data, &r); err != nil {
			bad = err.Error()
		}
		putScratch(sb, data)
	}
	if bad != "" {
		e.failCreate("ffiCtor: failed to decode request: " + bad)
		return 0
	}
	if r.Config == nil {
		r.Config = &cborConfig{}
	}
	const invalid = "Failed creating reliability manager: invalid config: "
	st, err := configFrom(&r.Config.jsonConfig)
	if err != nil {
		e.failCreate(invalid + err.Error())
		return 0
	}
	if addr := r.Config.PersistenceAddr; addr != 0 {
		p := C.sdsgo_persistence_at(C.uintptr_t(addr))
		if err := st.useHostPersistence(p, "storePath cannot be used with persistenceAddr"); err != nil {
			e.failCreate(invalid + err.Error())
			return 0
		}
	}
	m := startManager(&e, st, invalid)
	if m == nil {
		return 0
	}
	if cb != 0 {
		// Nim answers with the context's address in decimal, as CBOR text.
		text := cborabi.EncodeText(strconv.FormatUint(uint64(m.ctx), 10))
		p := ccopy(text)
		e.replied = true
		C.sdsgo_call(cb, retOK, (*C.char)(p), C.size_t(len(text)), ud)
		m.kept.release(p, len(text)+1)
	}
	return C.uintptr_t(m.ctx)
}

//export sdsgoCborDestroy
func sdsgoCborDestroy(ctx C.uintptr_t) C.int {
	e := entry{name: "sds_destroy"}
	return e.run(ctx, returning(retErr), func(m *manager) C.int {
		if unpublish(ctx) != m { // another thread destroyed it meanwhile
			return retErr
		}
		if m.shutdown() != nil { // logged: sds_destroy has no callback
			return retErr
		}
		return retOK
	})
}

// shutdown stops a manager whose context was just unpublished, then
// closes its embedded store. An error means state may be lost (writes the
// manager could not make, or a store that failed to close); it is logged
// at error level, and the caller reports it too.
func (m *manager) shutdown() error {
	m.events.Store(nil)
	m.hints.Store(nil)
	m.cbor.clear()
	err := m.core.Close()
	err = errors.Join(err, m.closeStore())
	if err != nil {
		m.log.Error().Err(err).Msg("state lost when the manager was destroyed")
	}
	m.release() // the table's reference
	return err
}

//export sdsgoCborAddListener
func sdsgoCborAddListener(ctx C.uintptr_t, name *C.char, cb, ud C.uintptr_t) C.uint64_t {
	e := entry{name: "sds_add_event_listener"}
	var id uint64
	e.run(ctx, returning(retErr), func(m *manager) C.int {
		if cb == 0 {
			return retErr
		}
		var event string
		if name != nil {
			event = C.GoString(name)
		}
		id = m.cbor.add(event, callback{cb, ud})
		return retOK
	})
	return C.uint64_t(id) // 0 when it failed
}

//export sdsgoCborRemoveListener
func sdsgoCborRemoveListener(ctx C.uintptr_t, id C.uint64_t) C.int {
	e := entry{name: "sds_remove_event_listener"}
	ret := e.run(ctx, returning(retErr), func(m *manager) C.int {
		if id == 0 || !m.cbor.remove(uint64(id)) {
			return retErr
		}
		return retOK
	})
	if ret != retOK {
		return 1 // nim-ffi's failure
	}
	return 0
}

// cborRequest is a request being answered: its call and its bytes, which
// decode consumes.
type cborRequest struct {
	c                *call
	reqType, request string // its type, and its name in error messages
	sb               *[]byte
	data             []byte
	bad              string // a reason the bytes cannot be decoded, found before decoding
}

// decode decodes the request into v, answering a failure itself.
func (r *cborRequest) decode(v any) bool {
	if r.bad == "" {
		if err := cborabi.Decode(r.data, v); err != nil {
			r.bad = err.Error()
		}
		putScratch(r.sb, r.data)
	}
	if r.bad != "" {
		r.c.replyString(retErr, "CBOR decode failed for "+r.reqType+": "+r.bad)
		return false
	}
	return true
}

// The request-taking functions, by SDSGO_CBOR_* operation; run answers
// the request (decoding failures included) and returns RET_OK.
var cborOps = [...]struct {
	name, reqType, request string
	run                    func(r *cborRequest)
}{
	C.SDSGO_CBOR_WRAP:           {"sds_wrap_outgoing_message", cborabi.TypeWrap, "wrap", cborWrap},
	C.SDSGO_CBOR_UNWRAP:         {"sds_unwrap_received_message", cborabi.TypeUnwrap, "unwrap", cborUnwrap},
	C.SDSGO_CBOR_MARK:           {"sds_mark_dependencies_met", cborabi.TypeMarkDeps, "mark-dependencies", cborMark},
	C.SDSGO_CBOR_RESET:          {"sds_reset", cborabi.TypeReset, "reset", cborReset},
	C.SDSGO_CBOR_START:          {"sds_start_periodic_tasks", cborabi.TypeStartPeriodic, "start-periodic-tasks", cborStart},
	C.SDSGO_CBOR_HINTS:          {"sds_set_retrieval_hint_provider", cborabi.TypeHintProvider, "set-retrieval-hint-provider", cborHints},
	C.SDSGO_CBOR_WRAP_SYNC:      {"sds_wrap_sync_message", cborabi.TypeWrapSync, "wrap-sync", cborWrapSync},
	C.SDSGO_CBOR_WRAP_EPHEMERAL: {"sds_wrap_ephemeral_message", cborabi.TypeWrapEphemeral, "wrap-ephemeral", cborWrapEphemeral},
	C.SDSGO_CBOR_STATS:          {"sds_get_stats", cborabi.TypeStats, "get-stats", cborStats},
}

// sdsgoCborCall runs one request-taking function. Checked in nim-ffi's
// order: callback, context (answered through the callback), request
// (decoding failures and failures of the operation are answered through
// the callback with RET_OK returned, as nim-ffi answers them later from its
// thread).
//
//export sdsgoCborCall
func sdsgoCborCall(op C.int, ctx, cb, ud C.uintptr_t, req unsafe.Pointer, n C.size_t, tid C.uintptr_t) C.int {
	spec := &cborOps[op]
	e := entry{name: spec.name, cb: callback{cb, ud}}
	if cb == 0 {
		return retMissingCallback
	}
	invalid := func() C.int {
		e.failCreate(errCborInvalidCtx) // no manager to keep the message
		return retErr
	}
	return e.withResult(ctx, tid, invalid, func(c *call) C.int {
		r := cborRequest{c: c, reqType: spec.reqType, request: spec.request}
		r.sb, r.data, r.bad = requestBytes(req, n)
		spec.run(&r)
		return retOK
	})
}

func cborWrap(r *cborRequest) {
	var w cborabi.WrapEnvelope
	if !r.decode(&w) {
		return
	}
	sb := getScratch()
	out, err := r.c.m.core.AppendWrap((*sb)[:0], w.Req.ChannelID, w.Req.MessageID, w.Req.Message)
	r.replyWrap(out, err)
	putScratch(sb, out)
}

func cborWrapEphemeral(r *cborRequest) {
	var w cborabi.WrapEnvelope
	if r.decode(&w) {
		out, err := r.c.m.core.WrapEphemeral(w.Req.ChannelID, w.Req.MessageID, w.Req.Message)
		r.replyWrap(out, err)
	}
}

func cborWrapSync(r *cborRequest) {
	var w cborabi.SyncEnvelope
	if r.decode(&w) {
		out, err := r.c.m.core.WrapSync(w.Req.ChannelID)
		r.replyWrap(out, err)
	}
}

func cborUnwrap(r *cborRequest) {
	var u cborabi.UnwrapEnvelope
	if !r.decode(&u) {
		return
	}
	res, err := r.c.m.core.Unwrap(u.Req.Message)
	if err != nil {
		r.c.fail(r.request, err)
		return
	}
	r.c.reply(retOK, cborabi.EncodeUnwrap(&res))
}

func cborMark(r *cborRequest) {
	var mk cborabi.MarkDependenciesEnvelope
	if r.decode(&mk) {
		r.replyUnit(r.c.m.core.MarkDependenciesMet(mk.Req.ChannelID, mk.Req.MessageIDs))
	}
}

func cborReset(r *cborRequest) {
	var u cborabi.UnitRequest
	if r.decode(&u) {
		r.replyUnit(r.c.m.core.Reset())
	}
}

func cborStart(r *cborRequest) {
	var u cborabi.UnitRequest
	if r.decode(&u) {
		r.replyUnit(r.c.m.core.StartPeriodicTasks())
	}
}

func cborHints(r *cborRequest) {
	var h cborabi.HintProviderEnvelope
	if !r.decode(&h) {
		return
	}
	var p *callback
	if h.Req.CallbackAddr != 0 {
		p = &callback{C.uintptr_t(h.Req.CallbackAddr), C.uintptr_t(h.Req.UserDataAddr)}
	}
	r.c.m.setHintProvider(p)
	r.replyUnit(nil)
}

// replyUnit answers an operation without a result: the empty CBOR text,
// or its error.
func (r *cborRequest) replyUnit(err error) {
	if err != nil {
		r.c.fail(r.request, err)
		return
	}
	r.c.reply(retOK, cborabi.EncodeText(""))
}

// replyWrap answers a wrap: SdsWrapResponse{message: wire}, or its error.
func (r *cborRequest) replyWrap(wire []byte, err error) {
	if err != nil {
		r.c.fail(r.request, err)
		return
	}
	r.c.replyWrap(wire)
}

// replyWrap answers SdsWrapResponse{message: wire}, assembled straight into
// the C buffer.
func (c *call) replyWrap(wire []byte) {
	head := cborabi.WrapResponseHead(len(wire))
	p, dst := cbuf(len(head) + len(wire))
	copy(dst[copy(dst, head):], wire)
	c.s.keep(p, len(dst)+1)
	c.invoke(retOK, (*C.char)(p), len(dst))
}
