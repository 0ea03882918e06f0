package ffi

/*
#include <stdlib.h>
#include "libsds.h"
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/wire"
)

// hostBackend is the persist.Backend of SdsNewReliabilityManagerWithPersistence:
// it calls the host's functions (through the shim's trampolines, as Go cannot
// call C function pointers). Everything passed to them is copied into one C
// allocation per call, freed when the call returns.
type hostBackend struct {
	p   C.SdsPersistence // the host's struct, copied at creation
	lim persist.Limits   // for decoding loaded history messages
}

var errNoPersistence = errors.New("persistence is NULL")

// newHostBackend copies the host's struct, which must name every function.
func newHostBackend(p *C.SdsPersistence, lim persist.Limits) (*hostBackend, error) {
	if p == nil {
		return nil, errNoPersistence
	}
	b := &hostBackend{p: *p, lim: lim}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"saveChannelMeta", b.p.saveChannelMeta != nil},
		{"updateHistory", b.p.updateHistory != nil},
		{"loadChannel", b.p.loadChannel != nil},
		{"dropChannel", b.p.dropChannel != nil},
		{"saveRetrievalHint", b.p.saveRetrievalHint != nil},
	} {
		if !f.set {
			return nil, fmt.Errorf("persistence function %s is NULL", f.name)
		}
	}
	return b, nil
}

func hostError(fn string, rc C.int) error {
	if rc == 0 {
		return nil
	}
	return fmt.Errorf("host persistence: %s returned %d", fn, int(rc))
}

// arena is one C allocation: SdsBytes slots first, then NUL-terminated
// copies of byte strings.
type arena struct {
	p    unsafe.Pointer
	mem  []byte
	off  int
	slot int // slots handed out
	nsl  int // slots reserved
}

const bytesSize = int(unsafe.Sizeof(C.SdsBytes{}))

// newArena reserves slots SdsBytes and data bytes (each string's NUL
// included).
func newArena(slots, data int) *arena {
	n := slots*bytesSize + data
	p := C.malloc(C.size_t(n + 1))
	if p == nil {
		panic("libsds: out of memory")
	}
	return &arena{p: p, mem: unsafe.Slice((*byte)(p), n+1), off: slots * bytesSize, nsl: slots}
}

func (a *arena) free() { C.free(a.p) }

// slots returns the next n slots (nil when n is 0).
func (a *arena) slots(n int) []C.SdsBytes {
	if n == 0 {
		return nil
	}
	if a.slot+n > a.nsl {
		panic("libsds: arena overflow")
	}
	s := unsafe.Slice((*C.SdsBytes)(unsafe.Add(a.p, a.slot*bytesSize)), n)
	a.slot += n
	return s
}

// str copies b with a NUL after it and returns the copy.
func (a *arena) str(b string) (*C.char, C.size_t) {
	p := unsafe.Add(a.p, a.off)
	copy(a.mem[a.off:], b)
	a.mem[a.off+len(b)] = 0
	a.off += len(b) + 1
	return (*C.char)(p), C.size_t(len(b))
}

func (a *arena) bytes(b []byte) C.SdsBytes {
	p, n := a.str(unsafe.String(unsafe.SliceData(b), len(b)))
	return C.SdsBytes{data: (*C.uint8_t)(unsafe.Pointer(p)), len: n}
}

func first(s []C.SdsBytes) *C.SdsBytes {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

func (b *hostBackend) SaveChannelMeta(channelID string, d *persist.MetaDelta) error {
	if d.IsEmpty() {
		return nil
	}
	data := len(channelID) + 1
	for k, v := range d.Puts {
		data += len(k) + len(v) + 2
	}
	for k := range d.Deletes {
		data += len(k) + 1
	}
	a := newArena(2*len(d.Puts)+len(d.Deletes), data)
	defer a.free()
	ch, chLen := a.str(channelID)
	keys, vals, dels := a.slots(len(d.Puts)), a.slots(len(d.Puts)), a.slots(len(d.Deletes))
	i := 0
	for k, v := range d.Puts {
		keys[i] = a.bytes(unsafe.Slice(unsafe.StringData(k), len(k)))
		vals[i] = a.bytes(v)
		i++
	}
	i = 0
	for k := range d.Deletes {
		dels[i] = a.bytes(unsafe.Slice(unsafe.StringData(k), len(k)))
		i++
	}
	return hostError("saveChannelMeta", C.sdsgo_persist_save_meta(&b.p, ch, chLen,
		first(keys), first(vals), C.size_t(len(keys)), first(dels), C.size_t(len(dels))))
}

func (b *hostBackend) UpdateHistory(channelID string, u *persist.HistoryUpdate) error {
	if u.IsEmpty() {
		return nil
	}
	enc := make([][]byte, len(u.Append))
	data := len(channelID) + 1
	for i := range u.Append {
		enc[i] = u.Append[i].Append(nil, wire.FormatNim)
		data += len(u.Append[i].MessageID) + len(enc[i]) + 2
	}
	for _, id := range u.Evict {
		data += len(id) + 1
	}
	a := newArena(2*len(u.Append)+len(u.Evict), data)
	defer a.free()
	ch, chLen := a.str(channelID)
	ids, msgs, evicts := a.slots(len(u.Append)), a.slots(len(u.Append)), a.slots(len(u.Evict))
	for i := range u.Append {
		id := u.Append[i].MessageID
		ids[i] = a.bytes(unsafe.Slice(unsafe.StringData(id), len(id)))
		msgs[i] = a.bytes(enc[i])
	}
	for i, id := range u.Evict {
		evicts[i] = a.bytes(unsafe.Slice(unsafe.StringData(id), len(id)))
	}
	return hostError("updateHistory", C.sdsgo_persist_update_history(&b.p, ch, chLen,
		first(ids), first(msgs), C.size_t(len(ids)), first(evicts), C.size_t(len(evicts))))
}

func (b *hostBackend) LoadChannel(channelID string) (*persist.ChannelData, error) {
	a := newArena(0, len(channelID)+1)
	defer a.free()
	ch, chLen := a.str(channelID)
	l := &loader{lim: b.lim, data: &persist.ChannelData{
		Records: make(map[string][]byte), Hints: make(map[string][]byte)}}
	h := cgo.NewHandle(l)
	rc := C.sdsgo_persist_load(&b.p, ch, chLen, C.uintptr_t(h))
	l.mu.Lock()
	l.done = true
	err := l.err
	l.mu.Unlock()
	h.Delete()
	if err := hostError("loadChannel", rc); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return l.data, nil
}

func (b *hostBackend) DropChannel(channelID string) error {
	a := newArena(0, len(channelID)+1)
	defer a.free()
	ch, chLen := a.str(channelID)
	return hostError("dropChannel", C.sdsgo_persist_drop(&b.p, ch, chLen))
}

func (b *hostBackend) SaveRetrievalHint(channelID, messageID string, hint []byte) error {
	a := newArena(0, len(channelID)+len(messageID)+len(hint)+3)
	defer a.free()
	ch, chLen := a.str(channelID)
	id, idLen := a.str(messageID)
	h := a.bytes(hint)
	return hostError("saveRetrievalHint", C.sdsgo_persist_save_hint(&b.p, ch, chLen,
		id, idLen, h.data, h.len))
}

// loader collects what the host's loadChannel hands over.
type loader struct {
	mu   sync.Mutex
	lim  persist.Limits
	data *persist.ChannelData
	err  error // the first failure: the load fails with it
	done bool  // loadChannel returned
}

const (
	loadRecord  = 0
	loadHistory = 1
	loadHint    = 2
)

//export sdsgoLoaderAdd
func sdsgoLoaderAdd(h C.uintptr_t, kind C.int, key unsafe.Pointer, keyLen C.size_t,
	val unsafe.Pointer, valLen C.size_t) (ret C.int) {
	e := entry{name: "SdsLoaderAdd"}
	defer e.recover(&ret)
	l := lookupLoader(h)
	if l == nil {
		ffiLog.Warn().Msg("SdsLoaderAdd*: invalid loader")
		return retErr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return retErr
	}
	fail := func(err error) C.int {
		if l.err == nil {
			l.err = err
		}
		return retErr
	}
	if keyLen > maxInputLen || valLen > maxInputLen {
		return fail(errors.New("host persistence: loader: length too large"))
	}
	if key == nil && keyLen > 0 || val == nil && valLen > 0 {
		return fail(errors.New("host persistence: loader: NULL pointer with a length > 0"))
	}
	k := append([]byte{}, unsafe.Slice((*byte)(key), int(keyLen))...)
	v := append([]byte{}, unsafe.Slice((*byte)(val), int(valLen))...)
	switch kind {
	case loadRecord:
		l.data.Records[string(k)] = v
	case loadHistory:
		m, err := persist.DecodeMessage(v, l.lim)
		if err != nil {
			return fail(fmt.Errorf("host persistence: loaded history message: %w", err))
		}
		l.data.History = append(l.data.History, m)
	case loadHint:
		if len(v) > 0 {
			l.data.Hints[string(k)] = v
		}
	default:
		return retErr
	}
	return retOK
}

// lookupLoader resolves a loader handle, nil for anything else (a stale or
// foreign value: cgo.Handle.Value panics on those).
func lookupLoader(h C.uintptr_t) (l *loader) {
	if h == 0 {
		return nil
	}
	defer func() {
		if recover() != nil {
			l = nil
		}
	}()
	l, _ = cgo.Handle(h).Value().(*loader)
	return l
}
