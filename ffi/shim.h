/* Private helpers of package ffi: C code the Go side calls. */
#ifndef SDS_FFI_SHIM_H
#define SDS_FFI_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include "libsds.h"

/* Callbacks are stored on the Go side as integers and called through these,
 * so no C pointer is ever converted from an integer in Go. */
void sdsgo_call(uintptr_t cb, int ret, const char* msg, size_t len, uintptr_t ud);
void sdsgo_call_log(uintptr_t cb, int level, const char* msg, size_t len, uintptr_t ud);

/* Calls a retrieval-hint provider; returns the malloc'd hint (or NULL) and
 * stores its length in *len. */
char* sdsgo_call_hint(uintptr_t cb, const char* id, uintptr_t ud, size_t* len);

/* The static empty string handed to callbacks with an empty result. */
const char* sdsgo_empty(void);

/* Reserves (once) an inaccessible address range whose addresses serve as
 * context values; returns its base, or 0 when it cannot be reserved. */
uintptr_t sdsgo_ctx_region(size_t size);

/* What a wrap produces (sdsgoWrap, sdsgoWrapBinary). */
enum { SDSGO_REGULAR = 0, SDSGO_SYNC = 1, SDSGO_EPHEMERAL = 2 };

/* The calling thread's id. */
uintptr_t sdsgo_tid(void);

#endif
