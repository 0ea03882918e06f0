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

/* The request-taking sds_* functions (sdsgoCborCall). */
enum {
	SDSGO_CBOR_WRAP = 0,
	SDSGO_CBOR_UNWRAP = 1,
	SDSGO_CBOR_MARK = 2,
	SDSGO_CBOR_RESET = 3,
	SDSGO_CBOR_START = 4,
	SDSGO_CBOR_HINTS = 5,
	SDSGO_CBOR_WRAP_SYNC = 6,
	SDSGO_CBOR_WRAP_EPHEMERAL = 7,
	SDSGO_CBOR_STATS = 8
};

/* The SdsPersistence at an address a host passed as an integer
 * (sds_create's "persistenceAddr"). */
SdsPersistence* sdsgo_persistence_at(uintptr_t p);

/* The calling thread's id. */
uintptr_t sdsgo_tid(void);

/* Call the host's persistence functions (persist.go). */
int sdsgo_persist_save_meta(const SdsPersistence* p, const char* ch, size_t chLen,
                            const SdsBytes* putKeys, const SdsBytes* putValues, size_t nPuts,
                            const SdsBytes* delKeys, size_t nDels);
int sdsgo_persist_update_history(const SdsPersistence* p, const char* ch, size_t chLen,
                                 const SdsBytes* ids, const SdsBytes* msgs, size_t nAppends,
                                 const SdsBytes* evicts, size_t nEvicts);
int sdsgo_persist_load(const SdsPersistence* p, const char* ch, size_t chLen, uintptr_t loader);
int sdsgo_persist_drop(const SdsPersistence* p, const char* ch, size_t chLen);
int sdsgo_persist_save_hint(const SdsPersistence* p, const char* ch, size_t chLen,
                            const char* id, size_t idLen, const uint8_t* hint, size_t hintLen);

#endif
