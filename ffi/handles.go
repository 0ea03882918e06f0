package ffi

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds"
)

// Context values. The host holds a void* per manager; ours are addresses in
// a range reserved with PROT_NONE, never memory of anything: no allocator
// (C's or Go's) can hand out an address there, a host that dereferences one
// faults at once instead of corrupting something, and a Go host that keeps
// one in an unsafe.Pointer never shows its garbage collector a pointer into
// its heap or below 4096. Values are not reused until ctxSlots further
// creations have gone by, so a dangling context stays invalid.
const (
	ctxStride = 8       // keeps the values pointer-aligned
	ctxSlots  = 8 << 20 // 64 MiB of address space, nothing committed
)

// manager is what a context stands for.
type manager struct {
	ctx   uintptr
	core  *sds.Manager
	log   zerolog.Logger
	store io.Closer // the embedded store ("storePath"), closed after core

	// refs counts the table's reference and one per call running on the
	// manager; the last release retires the buffers kept for the host.
	refs atomic.Int64

	events atomic.Pointer[callback] // SdsSetEventCallback
	hints  atomic.Pointer[callback] // SdsSetRetrievalHintProvider, sds_set_retrieval_hint_provider
	cbor   listeners                // sds_add_event_listener (cbor.go)

	lastWire atomic.Int64 // length of the last binary wrap, to size the next

	kept retention
}

// callback is a C function pointer and its user data, kept as integers.
type callback struct{ fn, ud C.uintptr_t }

var handles struct {
	once sync.Once
	base uintptr // 0: the range could not be reserved

	mu   sync.RWMutex
	live map[uintptr]*manager // a nil value reserves a context being created
	next uintptr
}

func init() { handles.live = make(map[uintptr]*manager) }

var errNoContexts = errors.New("cannot allocate a context")

// reserveCtx returns a fresh context value, marked as in use.
func reserveCtx() (uintptr, error) {
	handles.once.Do(func() {
		handles.base = uintptr(C.sdsgo_ctx_region(C.size_t(ctxSlots * ctxStride)))
	})
	if handles.base == 0 {
		return 0, errNoContexts
	}
	handles.mu.Lock()
	defer handles.mu.Unlock()
	for range ctxSlots {
		ctx := handles.base + handles.next%ctxSlots*ctxStride
		handles.next++
		if _, used := handles.live[ctx]; !used {
			handles.live[ctx] = nil
			return ctx, nil
		}
	}
	return 0, errNoContexts
}

// publish makes a reserved context valid for m (nil: gives it back).
func publish(ctx uintptr, m *manager) {
	handles.mu.Lock()
	defer handles.mu.Unlock()
	if m == nil {
		delete(handles.live, ctx)
		return
	}
	m.refs.Store(1)
	handles.live[ctx] = m
}

// acquire returns the manager ctx stands for with a reference taken, or
// nil for anything that is not a live context.
func acquire(ctx C.uintptr_t) *manager {
	handles.mu.RLock()
	defer handles.mu.RUnlock()
	m := handles.live[uintptr(ctx)]
	if m != nil {
		m.refs.Add(1)
	}
	return m
}

// unpublish invalidates ctx and returns its manager (still referenced by
// the table: release it).
func unpublish(ctx C.uintptr_t) *manager {
	handles.mu.Lock()
	defer handles.mu.Unlock()
	m := handles.live[uintptr(ctx)]
	if m != nil {
		delete(handles.live, uintptr(ctx))
	}
	return m
}

// tryRef takes a reference unless the manager is already gone; for events
// raised outside any call on it.
func (m *manager) tryRef() bool {
	for {
		r := m.refs.Load()
		if r == 0 {
			return false
		}
		if m.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

func (m *manager) release() {
	if m.refs.Add(-1) == 0 {
		m.kept.close()
	}
}
