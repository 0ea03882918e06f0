// Package ffi is the C ABI of libsds: the nine functions of the Nim libsds
// and this library's additions, declared in include/libsds.h. It is a thin
// layer: it checks and copies what the host passes, calls package sds, and
// formats results and events exactly as the Nim library does.
//
// The C entry points (shim.c) are defined against the header and forward
// to the sdsgo* functions here with the calling thread's id. cmd/libsds
// links this package into libsds.so and libsds.a.
//
// Callbacks run synchronously on the calling thread. Buffers handed to
// callbacks stay readable after the call returns, as retain.go describes.
// Contexts are opaque values resolved through a table (handles.go), so a
// NULL, foreign or stale context is rejected, never dereferenced. Every
// entry point recovers panics and reports RET_ERR. A host's persistence
// functions become a persist.Backend in persist.go.
package ffi

/*
#cgo CFLAGS: -I${SRCDIR}/../include -Wall
#include <stdlib.h>
#include <string.h>
#include "libsds.h"
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

const (
	retOK              = C.int(C.RET_OK)
	retErr             = C.int(C.RET_ERR)
	retMissingCallback = C.int(C.RET_MISSING_CALLBACK)
)

// Argument errors, worded as the Nim library words them.
const (
	errNullMessage   = "libsds error: message pointer is NULL but length > 0"
	errNullMessageID = "libsds error: message ID pointer is NULL"
	errNullChannelID = "libsds error: channel ID pointer is NULL"
	errEmptyChannel  = "libsds error: channel ID is empty string"
	errNullIDs       = "libsds error: MessageIDs pointer is NULL but count > 0"
	errNullIDEntry   = "libsds error: a message ID pointer in MessageIDs is NULL"
	errInvalidCtx    = "libsds error: invalid context"
	errNullOut       = "libsds error: output pointer is NULL"
	errTooLarge      = "libsds error: message length too large"
)

// maxInputLen and maxIDCount bound lengths taken from the host before they
// become Go slice lengths (a bogus one must not become an allocation the
// runtime cannot survive); the core applies the real limits.
const (
	maxInputLen = 1 << 40
	maxIDCount  = 1 << 24
)

// faultHook, when set, is called by every entry point once its cleanup is
// deferred: tests make it panic (SetFaultHook).
var faultHook atomic.Pointer[func()]

func fault() {
	if f := faultHook.Load(); f != nil {
		(*f)()
	}
}

// SetFaultHook makes every C entry point call f (nil: nothing) right after
// it has validated its context - for tests that check that a panic inside
// the library is reported as RET_ERR and leaves it working. Not for use
// outside tests.
func SetFaultHook(f func()) {
	if f == nil {
		faultHook.Store(nil)
		return
	}
	faultHook.Store(&f)
}

// entry is one run of a C entry point: its name, its result callback and
// whether the callback was called.
type entry struct {
	name    string
	cb      callback
	replied bool
	errOut  **C.char // the error out-parameter of the binary functions
}

// recover, deferred first by every entry point, turns a panic into RET_ERR
// and, if the host has not been answered yet, into callback(RET_ERR) (hosts
// like sds-go-bindings block until the callback runs) or an error message.
func (e *entry) recover(ret *C.int) {
	if r := recover(); r != nil {
		*ret = retErr
		e.panicked(r)
	}
}

// recoverNew is recover for the constructors, which return a context.
func (e *entry) recoverNew(ctx *C.uintptr_t) {
	if r := recover(); r != nil {
		*ctx = 0
		e.panicked(r)
	}
}

func (e *entry) panicked(r any) {
	logPanic(e.name, r)
	msg := "libsds error: internal error in " + e.name + ": " + fmt.Sprint(r)
	if e.errOut != nil && *e.errOut == nil {
		*e.errOut = cstrcopy(msg)
	}
	if e.cb.fn != 0 && !e.replied {
		e.replied = true
		p := cstrcopy(msg)
		C.sdsgo_call(e.cb.fn, retErr, p, C.size_t(len(msg)), e.cb.ud)
		bury(buffer{p: unsafe.Pointer(p), size: len(msg) + 1})
	}
}

func logPanic(fn string, r any) {
	ffiLog.Error().Str("function", fn).Str("panic", fmt.Sprint(r)).
		Str("stack", string(debug.Stack())).Msg("panic recovered at the C boundary")
}

// ---- buffers -----------------------------------------------------------

// cbuf allocates n bytes plus a NUL in C memory.
func cbuf(n int) (unsafe.Pointer, []byte) {
	p := C.malloc(C.size_t(n + 1))
	if p == nil {
		panic("libsds: out of memory")
	}
	b := unsafe.Slice((*byte)(p), n+1)
	b[n] = 0
	return p, b[:n]
}

// ccopy returns a NUL-terminated C copy of b.
func ccopy(b []byte) unsafe.Pointer {
	p, dst := cbuf(len(b))
	copy(dst, b)
	return p
}

func cstrcopy(s string) *C.char {
	p, dst := cbuf(len(s))
	copy(dst, s)
	return (*C.char)(p)
}

var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func getScratch() *[]byte { return scratch.Get().(*[]byte) }

func putScratch(b *[]byte, used []byte) {
	if cap(used) <= 4<<20 {
		*b = used[:0]
		scratch.Put(b)
	}
}

// call is one running call of the host on a manager: results handed to
// the host are kept with the calling thread (retain.go).
type call struct {
	m *manager
	s *threadSlot
	e *entry
}

func (m *manager) begin(tid C.uintptr_t, e *entry) call {
	return call{m: m, s: m.kept.enter(tid), e: e}
}

func (c *call) end() { c.m.kept.exit(c.s) }

// invoke calls the result callback once.
func (c *call) invoke(ret C.int, msg *C.char, n int) {
	c.e.replied = true
	C.sdsgo_call(c.e.cb.fn, ret, msg, C.size_t(n), c.e.cb.ud)
}

// reply hands payload to the result callback in a kept C buffer.
func (c *call) reply(ret C.int, payload []byte) {
	p := ccopy(payload)
	c.s.keep(p, len(payload)+1)
	c.invoke(ret, (*C.char)(p), len(payload))
}

func (c *call) replyString(ret C.int, s string) {
	p := cstrcopy(s)
	c.s.keep(unsafe.Pointer(p), len(s)+1)
	c.invoke(ret, p, len(s))
}

// replyEmpty reports success without a payload: the static "".
func (c *call) replyEmpty() { c.invoke(retOK, C.sdsgo_empty(), 0) }

// replyCommaText hands the wire bytes to the result callback as the Nim
// library's "10,2,109,..." text, formatted straight into the C buffer.
func (c *call) replyCommaText(b []byte) {
	// The buffer keeps its slack: same-sized buffers recycle well in malloc
	// (shrinking each one left odd-sized holes and faulted in fresh pages).
	p, dst := cbuf(commaTextMax(len(b)))
	n := putCommaText(dst, b)
	dst[n] = 0
	c.s.keep(p, len(dst)+1)
	c.invoke(retOK, (*C.char)(p), n)
}

// failCreate reports a failed creation.
func (e *entry) failCreate(msg string) { e.failDetached(msg) }

// failDetached reports a failure when no manager keeps buffers any more (a
// failed creation, a cleanup): the message goes to the graveyard.
func (e *entry) failDetached(msg string) {
	if e.cb.fn == 0 { // sds_create accepts a NULL callback
		return
	}
	e.replied = true
	cb, ud := e.cb.fn, e.cb.ud
	p := cstrcopy(msg)
	C.sdsgo_call(cb, retErr, p, C.size_t(len(msg)), ud)
	bury(buffer{p: unsafe.Pointer(p), size: len(msg) + 1})
}

// ---- events and hints --------------------------------------------------

// deliverEvent is the core's event handler: it formats e as the Nim
// library does and calls the host's event callback.
//
// The same event also goes, as a CBOR envelope, to the listeners of the
// sds_* generation subscribed to its name (cbor.go).
func (m *manager) deliverEvent(e sds.Event) {
	if cb := m.events.Load(); cb != nil {
		sb := getScratch()
		text := appendEventJSON((*sb)[:0], &e)
		m.deliverText(cb, text)
		putScratch(sb, text)
	}
	m.deliverListeners(&e)
}

// deliverText calls an event callback with text in a kept C buffer.
func (m *manager) deliverText(cb *callback, text []byte) {
	m.deliverBuffer(text, func(p *C.char, n C.size_t) {
		C.sdsgo_call(cb.fn, retOK, p, n, cb.ud)
	})
}

// deliverBuffer copies payload into a C buffer, runs call with it, and
// keeps the buffer as retain.go describes.
func (m *manager) deliverBuffer(payload []byte, call func(p *C.char, n C.size_t)) {
	s := m.kept.active(C.sdsgo_tid())
	if s == nil { // raised outside any call on m
		if !m.tryRef() {
			return
		}
		defer m.release()
	}
	p := ccopy(payload)
	if s != nil {
		s.keep(p, len(payload)+1)
	}
	call((*C.char)(p), C.size_t(len(payload)))
	if s == nil {
		m.kept.release(p, len(payload)+1)
	}
}

// maxHostHint bounds a hint length the host reports before it is copied.
const maxHostHint = 1 << 20

// retrievalHint asks the host's provider for the hint of id.
func (m *manager) retrievalHint(id string) []byte {
	h := m.hints.Load()
	if h == nil {
		return nil
	}
	cid := cstrcopy(id)
	defer C.free(unsafe.Pointer(cid))
	var n C.size_t
	p := C.sdsgo_call_hint(h.fn, cid, h.ud, &n)
	if p == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(p))
	if n == 0 || n > maxHostHint {
		if n > maxHostHint {
			m.log.Warn().Str("message", id).Uint64("bytes", uint64(n)).Msg("retrieval hint over limit dropped")
		}
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// ---- the Nim functions -------------------------------------------------

//export sdsgoNew
func sdsgoNew(configJSON *C.char, withConfig C.int, cb, ud, tid C.uintptr_t) (ctx C.uintptr_t) {
	e := entry{name: "SdsNewReliabilityManager", cb: callback{cb, ud}}
	if withConfig != 0 {
		e.name = "SdsNewReliabilityManagerWithConfig"
	}
	defer e.recoverNew(&ctx)
	return newManager(&e, configJSON, withConfig != 0, false, nil)
}

//export sdsgoNewPersist
func sdsgoNewPersist(configJSON *C.char, p *C.SdsPersistence, cb, ud, tid C.uintptr_t) (ctx C.uintptr_t) {
	e := entry{name: "SdsNewReliabilityManagerWithPersistence", cb: callback{cb, ud}}
	defer e.recoverNew(&ctx)
	return newManager(&e, configJSON, true, true, p)
}

// newManager creates a manager for a constructor; with hostPersist, p is
// the host's persistence (which must not be NULL).
func newManager(e *entry, configJSON *C.char, withConfig, hostPersist bool, p *C.SdsPersistence) C.uintptr_t {
	cb, ud := e.cb.fn, e.cb.ud
	if cb == 0 {
		ffiLog.Error().Str("function", e.name).Msg("callback is NULL: no manager created, NULL returned")
		return 0
	}
	fault()
	var text []byte
	if withConfig && configJSON != nil {
		text = C.GoBytes(unsafe.Pointer(configJSON), C.int(C.strlen(configJSON)))
	}
	st, err := parseConfig(text)
	if err != nil {
		e.failCreate("invalid config: " + err.Error())
		return 0
	}
	if hostPersist {
		if err := st.useHostPersistence(p, "storePath cannot be used with the host's persistence"); err != nil {
			e.failCreate("invalid config: " + err.Error())
			return 0
		}
	}
	m := startManager(e, st, "invalid config: ")
	if m == nil {
		return 0
	}
	e.replied = true
	C.sdsgo_call(cb, retOK, C.sdsgo_empty(), 0, ud)
	return C.uintptr_t(m.ctx)
}

// startManager creates the manager of a constructor (opening its embedded
// store, if any) and publishes its context, or reports the failure (a configuration the core rejects is
// reported as invalidPrefix + reason) and returns nil.
func startManager(e *entry, st settings, invalidPrefix string) *manager {
	id, err := reserveCtx()
	if err != nil {
		e.failCreate("Failed creating reliability manager: " + err.Error())
		return nil
	}
	m := &manager{ctx: id, log: newLogger(st.level, id)}
	st.cfg.Logger = m.log
	if m.store, err = st.openStore(); err == nil {
		m.core, err = sds.NewManager(st.cfg)
	}
	if err != nil {
		if cerr := m.closeStore(); cerr != nil {
			m.log.Error().Err(cerr).Msg("closing the store of a manager not created failed")
		}
		publish(id, nil)
		if errors.Is(err, sds.ErrPersistence) {
			e.failCreate("Failed creating reliability manager: " + err.Error())
		} else {
			e.failCreate(invalidPrefix + coreConfigError(err).Error())
		}
		return nil
	}
	m.core.SetEventHandler(m.deliverEvent)
	publish(id, m)
	return m
}

//export sdsgoSetEventCallback
func sdsgoSetEventCallback(ctx, cb, ud C.uintptr_t) {
	e := entry{name: "SdsSetEventCallback"}
	e.run(ctx, e.warnInvalid, func(m *manager) C.int {
		m.events.Store(callbackOrNil(cb, ud))
		return retOK
	})
}

// callbackOrNil is the callback cb with ud, or nil for a NULL cb.
func callbackOrNil(cb, ud C.uintptr_t) *callback {
	if cb == 0 {
		return nil
	}
	return &callback{cb, ud}
}

//export sdsgoSetRetrievalHintProvider
func sdsgoSetRetrievalHintProvider(ctx, cb, ud C.uintptr_t) {
	e := entry{name: "SdsSetRetrievalHintProvider"}
	e.run(ctx, e.warnInvalid, func(m *manager) C.int {
		m.setHintProvider(callbackOrNil(cb, ud))
		return retOK
	})
}

// setHintProvider makes h (nil: none) the manager's retrieval-hint
// provider.
func (m *manager) setHintProvider(h *callback) {
	m.hints.Store(h)
	if h == nil {
		m.core.SetRetrievalHintProvider(nil)
		return
	}
	m.core.SetRetrievalHintProvider(m.retrievalHint)
}

//export sdsgoCleanup
func sdsgoCleanup(ctx, cb, ud, tid C.uintptr_t) C.int {
	e := entry{name: "SdsCleanupReliabilityManager", cb: callback{cb, ud}}
	return e.run(ctx, returning(retErr), func(m *manager) C.int {
		if cb == 0 {
			return retMissingCallback
		}
		if unpublish(ctx) != m { // another thread cleaned it up meanwhile
			c := m.begin(tid, &e)
			defer c.end()
			return c.reject("error cleaning up reliability manager: already cleaned up")
		}
		if err := m.shutdown(); err != nil {
			e.failDetached("error cleaning up reliability manager: " + err.Error())
			return retErr
		}
		e.replied = true
		C.sdsgo_call(cb, retOK, nil, 0, ud)
		return retOK
	})
}

//export sdsgoReset
func sdsgoReset(ctx, cb, ud, tid C.uintptr_t) C.int {
	return simpleCall("SdsResetReliabilityManager", "RESET_RELIABILITY_MANAGER", ctx, cb, ud, tid, (*sds.Manager).Reset)
}

// simpleCall is an entry point that runs op on the manager and replies
// empty, or with op's error under Nim's request name.
func simpleCall(name, request string, ctx, cb, ud, tid C.uintptr_t, op func(*sds.Manager) error) C.int {
	e := entry{name: name, cb: callback{cb, ud}}
	return e.withResult(ctx, tid, returning(retErr), func(c *call) C.int {
		if err := op(c.m.core); err != nil {
			return c.fail(request, err)
		}
		c.replyEmpty()
		return retOK
	})
}

// wrapKinds names the wraps by SDSGO_* kind: the entry point, and the
// request as error messages call it (Nim's name for the regular one).
var wrapKinds = [...]struct{ name, request string }{
	C.SDSGO_REGULAR:   {"SdsWrapOutgoingMessage", "WRAP_MESSAGE"},
	C.SDSGO_SYNC:      {"SdsWrapSyncMessage", "WRAP_SYNC_MESSAGE"},
	C.SDSGO_EPHEMERAL: {"SdsWrapEphemeralMessage", "WRAP_EPHEMERAL_MESSAGE"},
}

// wrap produces a message of the given kind, appended to dst.
func (m *manager) wrap(kind C.int, dst []byte, channelID, messageID *C.char, content []byte) ([]byte, error) {
	switch kind {
	case C.SDSGO_SYNC:
		b, err := m.core.WrapSync(C.GoString(channelID))
		return append(dst, b...), err
	case C.SDSGO_EPHEMERAL:
		b, err := m.core.WrapEphemeral(C.GoString(channelID), C.GoString(messageID), content)
		return append(dst, b...), err
	}
	return m.core.AppendWrap(dst, C.GoString(channelID), C.GoString(messageID), content)
}

// checkWrapArgs applies the Nim library's argument checks of a wrap.
func checkWrapArgs(msg unsafe.Pointer, n C.size_t, messageID, channelID *C.char) string {
	switch {
	case msg == nil && n > 0:
		return errNullMessage
	case messageID == nil:
		return errNullMessageID
	case channelID == nil:
		return errNullChannelID
	case *channelID == 0:
		return errEmptyChannel
	}
	return checkInput(msg, n)
}

// checkInput checks the bytes the host passes: n of them at msg.
func checkInput(msg unsafe.Pointer, n C.size_t) string {
	switch {
	case msg == nil && n > 0:
		return errNullMessage
	case n > maxInputLen:
		return errTooLarge
	}
	return ""
}

func bytesAt(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), int(n))
}

//export sdsgoWrap
func sdsgoWrap(ctx C.uintptr_t, msg unsafe.Pointer, n C.size_t, messageID, channelID *C.char, cb, ud, tid C.uintptr_t, kind C.int) C.int {
	e := entry{name: wrapKinds[kind].name, cb: callback{cb, ud}}
	return e.withResult(ctx, tid, returning(retErr), func(c *call) C.int {
		if bad := checkWrapArgs(msg, n, messageID, channelID); bad != "" {
			return c.reject(bad)
		}
		sb := getScratch()
		out, err := c.m.wrap(kind, (*sb)[:0], channelID, messageID, bytesAt(msg, n))
		if err != nil {
			putScratch(sb, out)
			return c.fail(wrapKinds[kind].request, err)
		}
		c.replyCommaText(out)
		putScratch(sb, out)
		return retOK
	})
}

//export sdsgoUnwrap
func sdsgoUnwrap(ctx C.uintptr_t, msg unsafe.Pointer, n C.size_t, cb, ud, tid C.uintptr_t) C.int {
	e := entry{name: "SdsUnwrapReceivedMessage", cb: callback{cb, ud}}
	return e.withResult(ctx, tid, returning(retErr), func(c *call) C.int {
		if bad := checkInput(msg, n); bad != "" {
			return c.reject(bad)
		}
		// The core copies what it keeps out of the input (see sds/wire.Decode).
		res, err := c.m.core.Unwrap(bytesAt(msg, n))
		if err != nil {
			return c.fail("UNWRAP_MESSAGE", err)
		}
		sb := getScratch()
		text := appendUnwrapJSON((*sb)[:0], &res)
		c.reply(retOK, text)
		putScratch(sb, text)
		return retOK
	})
}

//export sdsgoMarkDependenciesMet
func sdsgoMarkDependenciesMet(ctx C.uintptr_t, ids **C.char, count C.size_t, channelID *C.char, cb, ud, tid C.uintptr_t) C.int {
	e := entry{name: "SdsMarkDependenciesMet", cb: callback{cb, ud}}
	return e.withResult(ctx, tid, returning(retErr), func(c *call) C.int {
		messageIDs, bad := markArgs(ids, count, channelID)
		if bad != "" {
			return c.reject(bad)
		}
		if err := c.m.core.MarkDependenciesMet(C.GoString(channelID), messageIDs); err != nil {
			return c.fail("MARK_DEPENDENCIES_MET", err)
		}
		c.replyEmpty()
		return retOK
	})
}

// markArgs applies the Nim library's argument checks of
// SdsMarkDependenciesMet and copies the ids.
func markArgs(ids **C.char, count C.size_t, channelID *C.char) ([]string, string) {
	switch {
	case ids == nil && count > 0:
		return nil, errNullIDs
	case channelID == nil:
		return nil, errNullChannelID
	case *channelID == 0:
		return nil, errEmptyChannel
	case count > maxIDCount:
		return nil, errTooLarge
	case count == 0:
		return nil, ""
	}
	messageIDs := make([]string, count)
	for i, p := range unsafe.Slice(ids, int(count)) {
		if p == nil {
			return nil, errNullIDEntry
		}
		messageIDs[i] = C.GoString(p)
	}
	return messageIDs, ""
}

//export sdsgoStartPeriodicTasks
func sdsgoStartPeriodicTasks(ctx, cb, ud, tid C.uintptr_t) C.int {
	return simpleCall("SdsStartPeriodicTasks", "START_PERIODIC_TASKS", ctx, cb, ud, tid, (*sds.Manager).StartPeriodicTasks)
}

// ---- additions ---------------------------------------------------------

// setError stores a C copy of msg in *errOut when the host asked for it.
func setError(errOut **C.char, msg string) {
	if errOut != nil {
		*errOut = cstrcopy(msg)
	}
}

//export sdsgoWrapBinary
func sdsgoWrapBinary(ctx C.uintptr_t, msg unsafe.Pointer, n C.size_t, messageID, channelID *C.char, out **C.uint8_t, outLen *C.size_t, errOut **C.char, tid C.uintptr_t, kind C.int) C.int {
	e := entry{name: wrapKinds[kind].name + "Binary", errOut: errOut}
	if out != nil {
		*out = nil
	}
	if outLen != nil {
		*outLen = 0
	}
	return e.withErrOut(ctx, tid, func(c *call) C.int {
		if out == nil || outLen == nil {
			return e.failOut(errNullOut)
		}
		if bad := checkWrapArgs(msg, n, messageID, channelID); bad != "" {
			return e.failOut(bad)
		}
		p, size, err := c.m.wrapInto(kind, channelID, messageID, bytesAt(msg, n))
		if err != nil {
			return e.failOut(requestError(wrapKinds[kind].request, err))
		}
		*out, *outLen = (*C.uint8_t)(p), C.size_t(size)
		return retOK
	})
}

// wrapInto wraps straight into C memory sized after the previous message;
// only a message that outgrows it is copied. The result is NUL-terminated.
func (m *manager) wrapInto(kind C.int, channelID, messageID *C.char, content []byte) (unsafe.Pointer, int, error) {
	size := int(m.lastWire.Load()) + 1024
	p, buf := cbuf(size)
	b, err := m.wrap(kind, buf[:0:size], channelID, messageID, content)
	if err != nil {
		C.free(p)
		return nil, 0, err
	}
	m.lastWire.Store(int64(len(b)))
	if len(b) > 0 && unsafe.Pointer(&b[0]) != p { // it grew into Go memory
		C.free(p)
		p = ccopy(b)
	} else {
		unsafe.Slice((*byte)(p), size+1)[len(b)] = 0
	}
	return p, len(b), nil
}

//export sdsgoUnwrapBinary
func sdsgoUnwrapBinary(ctx C.uintptr_t, msg unsafe.Pointer, n C.size_t, out **C.SdsUnwrapResult, errOut **C.char, tid C.uintptr_t) C.int {
	e := entry{name: "SdsUnwrapReceivedMessageBinary", errOut: errOut}
	if out != nil {
		*out = nil
	}
	return e.withErrOut(ctx, tid, func(c *call) C.int {
		if out == nil {
			return e.failOut(errNullOut)
		}
		if bad := checkInput(msg, n); bad != "" {
			return e.failOut(bad)
		}
		res, err := c.m.core.Unwrap(bytesAt(msg, n))
		if err != nil {
			return e.failOut(requestError("UNWRAP_MESSAGE", err))
		}
		*out = newUnwrapResult(&res)
		return retOK
	})
}

// newUnwrapResult lays res out in one C allocation: the struct, the entry
// array, then every string NUL-terminated.
func newUnwrapResult(res *sds.UnwrapResult) *C.SdsUnwrapResult {
	const (
		head  = C.sizeof_SdsUnwrapResult
		entry = C.sizeof_SdsHistoryEntry
	)
	size := head + len(res.MissingDeps)*entry
	size += len(res.ChannelID) + len(res.MessageID) + len(res.SenderID) + len(res.Content) + 4
	for _, d := range res.MissingDeps {
		size += len(d.MessageID) + len(d.RetrievalHint) + len(d.SenderID) + 3
	}
	base, _ := cbuf(size)
	all := unsafe.Slice((*byte)(base), size)
	off := head + len(res.MissingDeps)*entry
	put := func(b []byte) (unsafe.Pointer, C.size_t) {
		p := unsafe.Add(base, off)
		copy(all[off:], b)
		all[off+len(b)] = 0
		off += len(b) + 1
		return p, C.size_t(len(b))
	}
	putString := func(s string) (*C.char, C.size_t) {
		p, n := put(unsafe.Slice(unsafe.StringData(s), len(s)))
		return (*C.char)(p), n
	}

	r := (*C.SdsUnwrapResult)(base)
	*r = C.SdsUnwrapResult{}
	r.channelId, r.channelIdLen = putString(res.ChannelID)
	r.messageId, r.messageIdLen = putString(res.MessageID)
	r.senderId, r.senderIdLen = putString(res.SenderID)
	p, pn := put(res.Content)
	r.content, r.contentLen = (*C.uint8_t)(p), pn
	if len(res.MissingDeps) > 0 {
		entries := unsafe.Slice((*C.SdsHistoryEntry)(unsafe.Add(base, head)), len(res.MissingDeps))
		for i, d := range res.MissingDeps {
			e := &entries[i]
			e.messageId, e.messageIdLen = putString(d.MessageID)
			p, pn := put(d.RetrievalHint)
			e.retrievalHint, e.retrievalHintLen = (*C.uint8_t)(p), pn
			e.senderId, e.senderIdLen = putString(d.SenderID)
		}
		r.missingDeps = &entries[0]
		r.missingDepsCount = C.size_t(len(res.MissingDeps))
	}
	if res.Delivered {
		r.flags |= C.SDS_UNWRAP_DELIVERED
	}
	if res.Duplicate {
		r.flags |= C.SDS_UNWRAP_DUPLICATE
	}
	switch res.Kind {
	case sds.KindSync:
		r.kind = C.SDS_MESSAGE_SYNC
	case sds.KindEphemeral:
		r.kind = C.SDS_MESSAGE_EPHEMERAL
	default:
		r.kind = C.SDS_MESSAGE_REGULAR
	}
	r.wireFormat = C.SDS_WIRE_NIM
	if res.Format == wire.FormatRFC {
		r.wireFormat = C.SDS_WIRE_RFC
	}
	return r
}

//export sdsgoSetLogCallback
func sdsgoSetLogCallback(cb, ud C.uintptr_t) {
	var ret C.int
	e := entry{name: "SdsSetLogCallback"}
	defer e.recover(&ret)
	fault()
	logSinkChosen.Store(true)
	if cb == 0 {
		logSinkCallback.Store(nil)
		return
	}
	logSinkCallback.Store(&callback{cb, ud})
}
