// The exported C entry points: each one forwards to its Go counterpart
// (sdsgo*, in ffi.go), passing the calling thread's id. They are defined
// against include/libsds.h, so a prototype that drifts from the header does
// not compile.

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "libsds.h"
#include "shim.h"
#include "_cgo_export.h"

#define TID ((uintptr_t)pthread_self())
#define U(p) ((uintptr_t)(p))

void* SdsNewReliabilityManager(SdsCallBack callback, void* userData) {
	return (void*)sdsgoNew(NULL, 0, U(callback), U(userData), TID);
}

void* SdsNewReliabilityManagerWithConfig(const char* configJson, SdsCallBack callback, void* userData) {
	return (void*)sdsgoNew((char*)configJson, 1, U(callback), U(userData), TID);
}

void* SdsNewReliabilityManagerWithPersistence(const char* configJson,
                                              const SdsPersistence* persistence,
                                              SdsCallBack callback, void* userData) {
	return (void*)sdsgoNewPersist((char*)configJson, (SdsPersistence*)persistence, U(callback),
	                              U(userData), TID);
}

int SdsLoaderAddRecord(SdsLoader* loader, const uint8_t* key, size_t keyLen,
                       const uint8_t* value, size_t valueLen) {
	return sdsgoLoaderAdd(U(loader), 0, (void*)key, keyLen, (void*)value, valueLen);
}

int SdsLoaderAddHistory(SdsLoader* loader, const uint8_t* message, size_t messageLen) {
	return sdsgoLoaderAdd(U(loader), 1, NULL, 0, (void*)message, messageLen);
}

int SdsLoaderAddHint(SdsLoader* loader, const uint8_t* messageId, size_t messageIdLen,
                     const uint8_t* hint, size_t hintLen) {
	return sdsgoLoaderAdd(U(loader), 2, (void*)messageId, messageIdLen, (void*)hint, hintLen);
}

void SdsSetEventCallback(void* ctx, SdsCallBack callback, void* userData) {
	sdsgoSetEventCallback(U(ctx), U(callback), U(userData));
}

void SdsSetRetrievalHintProvider(void* ctx, SdsRetrievalHintProvider callback, void* userData) {
	sdsgoSetRetrievalHintProvider(U(ctx), U(callback), U(userData));
}

int SdsCleanupReliabilityManager(void* ctx, SdsCallBack callback, void* userData) {
	return sdsgoCleanup(U(ctx), U(callback), U(userData), TID);
}

int SdsResetReliabilityManager(void* ctx, SdsCallBack callback, void* userData) {
	return sdsgoReset(U(ctx), U(callback), U(userData), TID);
}

int SdsWrapOutgoingMessage(void* ctx, void* message, size_t messageLen, const char* messageId,
                           const char* channelId, SdsCallBack callback, void* userData) {
	return sdsgoWrap(U(ctx), message, messageLen, (char*)messageId, (char*)channelId,
	                 U(callback), U(userData), TID, SDSGO_REGULAR);
}

int SdsWrapSyncMessage(void* ctx, const char* channelId, SdsCallBack callback, void* userData) {
	return sdsgoWrap(U(ctx), NULL, 0, (char*)"", (char*)channelId, U(callback), U(userData), TID,
	                 SDSGO_SYNC);
}

int SdsWrapEphemeralMessage(void* ctx, void* message, size_t messageLen, const char* messageId,
                            const char* channelId, SdsCallBack callback, void* userData) {
	return sdsgoWrap(U(ctx), message, messageLen, (char*)messageId, (char*)channelId,
	                 U(callback), U(userData), TID, SDSGO_EPHEMERAL);
}

int SdsUnwrapReceivedMessage(void* ctx, void* message, size_t messageLen, SdsCallBack callback,
                             void* userData) {
	return sdsgoUnwrap(U(ctx), message, messageLen, U(callback), U(userData), TID);
}

int SdsMarkDependenciesMet(void* ctx, char** messageIDs, size_t count, const char* channelId,
                           SdsCallBack callback, void* userData) {
	return sdsgoMarkDependenciesMet(U(ctx), messageIDs, count, (char*)channelId, U(callback),
	                                U(userData), TID);
}

int SdsStartPeriodicTasks(void* ctx, SdsCallBack callback, void* userData) {
	return sdsgoStartPeriodicTasks(U(ctx), U(callback), U(userData), TID);
}

const char* SdsVersion(void) { return SDS_VERSION; }

void SdsFree(void* p) { free(p); }

int SdsWrapOutgoingMessageBinary(void* ctx, const void* message, size_t messageLen,
                                 const char* messageId, const char* channelId, uint8_t** wire,
                                 size_t* wireLen, char** error) {
	return sdsgoWrapBinary(U(ctx), (void*)message, messageLen, (char*)messageId,
	                       (char*)channelId, wire, wireLen, error, TID, SDSGO_REGULAR);
}

int SdsWrapSyncMessageBinary(void* ctx, const char* channelId, uint8_t** wire, size_t* wireLen,
                             char** error) {
	return sdsgoWrapBinary(U(ctx), NULL, 0, (char*)"", (char*)channelId, wire, wireLen, error, TID,
	                       SDSGO_SYNC);
}

int SdsWrapEphemeralMessageBinary(void* ctx, const void* message, size_t messageLen,
                                  const char* messageId, const char* channelId, uint8_t** wire,
                                  size_t* wireLen, char** error) {
	return sdsgoWrapBinary(U(ctx), (void*)message, messageLen, (char*)messageId,
	                       (char*)channelId, wire, wireLen, error, TID, SDSGO_EPHEMERAL);
}

int SdsUnwrapReceivedMessageBinary(void* ctx, const void* message, size_t messageLen,
                                   SdsUnwrapResult** result, char** error) {
	return sdsgoUnwrapBinary(U(ctx), (void*)message, messageLen, result, error, TID);
}

void SdsSetLogCallback(SdsLogCallback callback, void* userData) {
	sdsgoSetLogCallback(U(callback), U(userData));
}

int SdsGetStats(void* ctx, SdsCallBack callback, void* userData) {
	return sdsgoGetStats(U(ctx), U(callback), U(userData), TID);
}

/* ---- the sds_* generation (cbor.go) ---- */

void* sds_create(const uint8_t* reqCbor, size_t reqCborLen, SdsCallBack callback, void* userData) {
	return (void*)sdsgoCborCreate((void*)reqCbor, reqCborLen, U(callback), U(userData), TID);
}

int sds_destroy(void* ctx) { return sdsgoCborDestroy(U(ctx)); }

uint64_t sds_add_event_listener(void* ctx, const char* eventName, SdsCallBack callback,
                                void* userData) {
	return sdsgoCborAddListener(U(ctx), (char*)eventName, U(callback), U(userData));
}

int sds_remove_event_listener(void* ctx, uint64_t listenerId) {
	return sdsgoCborRemoveListener(U(ctx), listenerId);
}

/* Every CBOR request function has the same signature (checked against
 * include/libsds.h) and forwards to one Go entry with its operation code. */
#define CBOR_FN(name, op)                                                                \
	int name(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor,    \
	         size_t reqCborLen) {                                                        \
		return sdsgoCborCall(op, U(ctx), U(callback), U(userData), (void*)reqCbor,       \
		                     reqCborLen, TID);                                           \
	}

CBOR_FN(sds_set_retrieval_hint_provider, SDSGO_CBOR_HINTS)
CBOR_FN(sds_wrap_outgoing_message, SDSGO_CBOR_WRAP)
CBOR_FN(sds_unwrap_received_message, SDSGO_CBOR_UNWRAP)
CBOR_FN(sds_mark_dependencies_met, SDSGO_CBOR_MARK)
CBOR_FN(sds_reset, SDSGO_CBOR_RESET)
CBOR_FN(sds_start_periodic_tasks, SDSGO_CBOR_START)
CBOR_FN(sds_wrap_sync_message, SDSGO_CBOR_WRAP_SYNC)
CBOR_FN(sds_wrap_ephemeral_message, SDSGO_CBOR_WRAP_EPHEMERAL)
CBOR_FN(sds_get_stats, SDSGO_CBOR_STATS)

/* ---- helpers called from Go ---- */

void sdsgo_call(uintptr_t cb, int ret, const char* msg, size_t len, uintptr_t ud) {
	((SdsCallBack)cb)(ret, msg, len, (void*)ud);
}

void sdsgo_call_log(uintptr_t cb, int level, const char* msg, size_t len, uintptr_t ud) {
	((SdsLogCallback)cb)(level, msg, len, (void*)ud);
}

char* sdsgo_call_hint(uintptr_t cb, const char* id, uintptr_t ud, size_t* len) {
	char* hint = NULL;
	size_t n = 0;
	((SdsRetrievalHintProvider)cb)(id, &hint, &n, (void*)ud);
	*len = hint != NULL ? n : 0;
	return hint;
}

int sdsgo_persist_save_meta(const SdsPersistence* p, const char* ch, size_t chLen,
                            const SdsBytes* putKeys, const SdsBytes* putValues, size_t nPuts,
                            const SdsBytes* delKeys, size_t nDels) {
	return p->saveChannelMeta(p->userData, ch, chLen, putKeys, putValues, nPuts, delKeys, nDels);
}

int sdsgo_persist_update_history(const SdsPersistence* p, const char* ch, size_t chLen,
                                 const SdsBytes* ids, const SdsBytes* msgs, size_t nAppends,
                                 const SdsBytes* evicts, size_t nEvicts) {
	return p->updateHistory(p->userData, ch, chLen, ids, msgs, nAppends, evicts, nEvicts);
}

int sdsgo_persist_load(const SdsPersistence* p, const char* ch, size_t chLen, uintptr_t loader) {
	return p->loadChannel(p->userData, ch, chLen, (SdsLoader*)loader);
}

int sdsgo_persist_drop(const SdsPersistence* p, const char* ch, size_t chLen) {
	return p->dropChannel(p->userData, ch, chLen);
}

int sdsgo_persist_save_hint(const SdsPersistence* p, const char* ch, size_t chLen,
                            const char* id, size_t idLen, const uint8_t* hint, size_t hintLen) {
	return p->saveRetrievalHint(p->userData, ch, chLen, id, idLen, hint, hintLen);
}

const char* sdsgo_empty(void) { return ""; }

uintptr_t sdsgo_ctx_region(size_t size) {
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
	flags |= MAP_NORESERVE;
#endif
	void* p = mmap(NULL, size, PROT_NONE, flags, -1, 0);
	return p == MAP_FAILED ? 0 : (uintptr_t)p;
}

uintptr_t sdsgo_tid(void) { return TID; }

SdsPersistence* sdsgo_persistence_at(uintptr_t p) { return (SdsPersistence*)p; }
