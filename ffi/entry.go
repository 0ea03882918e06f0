package ffi

/*
#include "libsds.h"
#include "shim.h"
*/
import "C"

// The frame every entry point on a context shares, in the role of
// libtailscale's getServer + recErr: run recovers panics, resolves the
// context with a reference held for the call and calls the fault hook;
// withResult and withErrOut add the two ways the ABI answers.

// run runs body for an entry point on ctx: a panic becomes RET_ERR (and,
// if the host was not answered yet, an answer: see recover), and a ctx
// that is no live manager gets invalid() instead of body.
func (e *entry) run(ctx C.uintptr_t, invalid func() C.int, body func(m *manager) C.int) (ret C.int) {
	defer e.recover(&ret)
	m := acquire(ctx)
	if m == nil {
		return invalid()
	}
	defer m.release() // before the fault hook: a panic there releases too
	fault()
	return body(m)
}

// returning is an invalid-context handler that only returns ret.
func returning(ret C.int) func() C.int { return func() C.int { return ret } }

// warnInvalid is the invalid-context handler of the functions that return
// nothing: the mistake is logged.
func (e *entry) warnInvalid() C.int {
	ffiLog.Warn().Msg(e.name + ": invalid context")
	return retErr
}

// withResult runs body for a function that answers through its result
// callback: without one it returns RET_MISSING_CALLBACK, and what body
// hands the host stays readable as retain.go describes.
func (e *entry) withResult(ctx, tid C.uintptr_t, invalid func() C.int, body func(c *call) C.int) C.int {
	return e.run(ctx, invalid, func(m *manager) C.int {
		if e.cb.fn == 0 {
			return retMissingCallback
		}
		c := m.begin(tid, e)
		defer c.end()
		return body(&c)
	})
}

// withErrOut runs body for a function that reports errors through
// e.errOut (cleared first; the caller releases what it gets with SdsFree).
// Events raised meanwhile are kept with the calling thread.
func (e *entry) withErrOut(ctx, tid C.uintptr_t, body func(c *call) C.int) C.int {
	if e.errOut != nil {
		*e.errOut = nil
	}
	invalid := func() C.int { return e.failOut(errInvalidCtx) }
	return e.run(ctx, invalid, func(m *manager) C.int {
		c := m.begin(tid, e)
		defer c.end()
		return body(&c)
	})
}

// failOut reports msg through errOut and returns RET_ERR.
func (e *entry) failOut(msg string) C.int {
	setError(e.errOut, msg)
	return retErr
}

// requestError words a failed operation as the Nim library does.
func requestError(request string, err error) string {
	return "error processing " + request + " request: " + err.Error()
}

// reject answers a bad argument: the message to the callback, RET_ERR
// returned (the Nim library's argument checks).
func (c *call) reject(msg string) C.int {
	c.replyString(retErr, msg)
	return retErr
}

// fail answers a failed operation through the callback with RET_OK
// returned, as the Nim library answers them later from its thread.
func (c *call) fail(request string, err error) C.int {
	c.replyString(retErr, requestError(request, err))
	return retOK
}
