/* The sds_* generation (Part 3 of libsds.h): return codes, error paths,
 * the listener registry, the exact bytes of every request, result and
 * event as nim-ffi 0.2 writes them, and interworking with the Sds*
 * generation. Expected bytes are built with tests/cbor.c following
 * nim-cbor-serialization's rules (definite maps keyed by field name in
 * declaration order, shortest integers, byte strings for seq[byte]), and
 * a few are spelled out in hex. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbor.h"
#include "harness.h"
#include "libsds.h"
#include "util.h"

/* The prototypes of nim-sds 05595e2's library/libsds.h, declared again:
 * C accepts a repeated declaration only if it matches libsds.h's, so a
 * program built against that header compiles against ours. */
void* sds_create(const uint8_t* reqCbor, size_t reqCborLen, SdsCallBack callback, void* userData);
int sds_destroy(void* ctx);
uint64_t sds_add_event_listener(void* ctx, const char* eventName, SdsCallBack callback, void* userData);
int sds_remove_event_listener(void* ctx, uint64_t listenerId);
int sds_set_retrieval_hint_provider(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);
int sds_wrap_outgoing_message(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);
int sds_unwrap_received_message(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);
int sds_mark_dependencies_met(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);
int sds_reset(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);
int sds_start_periodic_tasks(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);
typedef void (*SdsCallBack)(int callerRet, const char* msg, size_t len, void* userData);
typedef void (*SdsRetrievalHintProvider)(const char* messageId, char** hint, size_t* hintLen, void* userData);
_Static_assert(RET_OK == 0 && RET_ERR == 1 && RET_MISSING_CALLBACK == 2, "return codes");

typedef int (*CborFn)(void*, SdsCallBack, void*, const uint8_t*, size_t);

#define CHECK_BYTES(P, N, W)                                                      \
	do {                                                                          \
		const uint8_t* p_ = (const uint8_t*)(P);                                  \
		size_t n_ = (N);                                                          \
		const Cbor* w_ = (W);                                                     \
		if (p_ == NULL || n_ != w_->n || memcmp(p_, w_->b, n_) != 0) {            \
			char got_[1024];                                                      \
			snprintf(got_, sizeof got_, "%s", p_ ? cb_tohex(p_, n_) : "(null)");   \
			harness_fail(__FILE__, __LINE__, "%s:\n   got %s\n  want %s", #P, got_, \
			             cb_tohex(w_->b, w_->n));                                 \
		}                                                                         \
	} while (0)

#define CHECK_PREFIX(P, N, PREFIX)                                                \
	do {                                                                          \
		const char* p_ = (const char*)(P);                                        \
		size_t n_ = (N), l_ = strlen(PREFIX);                                     \
		if (p_ == NULL || n_ < l_ || memcmp(p_, (PREFIX), l_) != 0)               \
			harness_fail(__FILE__, __LINE__, "%s: got %.*s, want prefix %s", #P,   \
			             p_ ? (int)n_ : 6, p_ ? p_ : "(null)", (PREFIX));          \
	} while (0)

/* ---- requests ------------------------------------------------------------ */

static void req_config(Cbor* c, const char* participant) {
	cb_map(c, 1);
	cb_text(c, "config");
	cb_map(c, 1);
	cb_text(c, "participantId");
	cb_text(c, participant);
}

static void req_wrap(Cbor* c, const void* msg, size_t n, const char* id, const char* ch) {
	cb_map(c, 1);
	cb_text(c, "req");
	cb_map(c, 3);
	cb_text(c, "message");
	cb_bytes(c, msg, n);
	cb_text(c, "messageId");
	cb_text(c, id);
	cb_text(c, "channelId");
	cb_text(c, ch);
}

static void req_unwrap(Cbor* c, const uint8_t* wire, size_t n) {
	cb_map(c, 1);
	cb_text(c, "req");
	cb_map(c, 1);
	cb_text(c, "message");
	cb_bytes(c, wire, n);
}

static void req_mark(Cbor* c, const char** ids, size_t count, const char* ch) {
	cb_map(c, 1);
	cb_text(c, "req");
	cb_map(c, 2);
	cb_text(c, "messageIds");
	cb_array(c, count);
	for (size_t i = 0; i < count; i++) cb_text(c, ids[i]);
	cb_text(c, "channelId");
	cb_text(c, ch);
}

static void req_unit(Cbor* c) { cb_hex(c, "a16c5f706c616365686f6c64657200"); /* {"_placeholder": 0} */ }

static void req_hints(Cbor* c, uint64_t fn, uint64_t ud) {
	cb_map(c, 1);
	cb_text(c, "req");
	cb_map(c, 2);
	cb_text(c, "callbackAddr");
	cb_uint(c, fn);
	cb_text(c, "userDataAddr");
	cb_uint(c, ud);
}

/* ---- expected results and events --------------------------------------- */

static void res_wrap(Cbor* c, const uint8_t* wire, size_t n) {
	cb_map(c, 1);
	cb_text(c, "message");
	cb_bytes(c, wire, n);
}

static void env(Cbor* c, const char* type) {
	cb_map(c, 2);
	cb_text(c, "eventType");
	cb_text(c, type);
	cb_text(c, "payload");
}

static void ev_message(Cbor* c, const char* type, const char* id, const char* ch) {
	env(c, type);
	cb_map(c, 2);
	cb_text(c, "messageId");
	cb_text(c, id);
	cb_text(c, "channelId");
	cb_text(c, ch);
}

/* ---- CBOR event recorder ------------------------------------------------- */

#define MAX_CEV 512
typedef struct {
	pthread_mutex_t mu;
	int n, bad;
	uint8_t* ev[MAX_CEV];
	size_t len[MAX_CEV];
} CEvents;

static void cev_init(CEvents* e) {
	memset(e, 0, sizeof *e);
	pthread_mutex_init(&e->mu, NULL);
}

static void cev_free(CEvents* e) {
	for (int i = 0; i < e->n && i < MAX_CEV; i++) free(e->ev[i]);
	e->n = 0;
}

static void cev_cb(int ret, const char* msg, size_t len, void* ud) {
	CEvents* e = ud;
	pthread_mutex_lock(&e->mu);
	if (ret != RET_OK || msg == NULL || len == 0 || msg[len] != 0) e->bad++;
	if (e->n < MAX_CEV && msg != NULL) {
		e->ev[e->n] = malloc(len);
		memcpy(e->ev[e->n], msg, len);
		e->len[e->n] = len;
		e->n++;
	}
	pthread_mutex_unlock(&e->mu);
}

/* cev_nth returns the index of the k-th event of that type, or -1. */
static int cev_nth(CEvents* e, const char* type, int k) {
	int found = -1;
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->n; i++) {
		size_t off;
		const uint8_t* p;
		size_t n;
		if (cb_path(e->ev[i], e->len[i], &off, "eventType", NULL) &&
		    cb_string(e->ev[i], e->len[i], off, 3, &p, &n) && n == strlen(type) &&
		    memcmp(p, type, n) == 0 && k-- == 0) {
			found = i;
			break;
		}
	}
	pthread_mutex_unlock(&e->mu);
	return found;
}

static int cev_count(CEvents* e, const char* type) {
	int k = 0;
	while (cev_nth(e, type, k) >= 0) k++;
	return k;
}

static int cev_wait(CEvents* e, const char* type, int count, int ms) {
	long long deadline = now_ms() + ms;
	while (cev_count(e, type) < count) {
		if (now_ms() > deadline) return 0;
		sleep_ms(2);
	}
	return 1;
}

static const char* all_events[] = {"message_ready",    "message_sent",      "missing_dependencies",
                                   "periodic_sync",    "repair_ready",      "message_resend",
                                   "message_failed",   "dependencies_lost", "incoming_evicted",
                                   "persistence_backlog", "repair_request"};

static void listen_all(void* ctx, CEvents* e) {
	for (size_t i = 0; i < sizeof all_events / sizeof *all_events; i++)
		CHECK(sds_add_event_listener(ctx, all_events[i], cev_cb, e) != 0);
}

/* ---- calls ---------------------------------------------------------------- */

static void* create(const Cbor* req, Capture* c) {
	capture_reset(c);
	return sds_create(req->b, req->n, capture_cb, c);
}

static void* cbor_manager(const char* participant) {
	Cbor r = {0};
	Capture c = {0};
	req_config(&r, participant);
	void* ctx = create(&r, &c);
	CHECK(ctx != NULL);
	CHECK_INT(c.ret, RET_OK);
	cb_free(&r);
	capture_reset(&c);
	return ctx;
}

/* call runs fn with req; returns its return code, the result in c. */
static int call(CborFn fn, void* ctx, const Cbor* req, Capture* c) {
	capture_reset(c);
	return fn(ctx, capture_cb, c, req ? req->b : NULL, req ? req->n : 0);
}

/* cwrap wraps through sds_wrap_outgoing_message, checks the result's
 * bytes, and returns a malloc'd copy of the wire bytes. */
static long cwrap(void* ctx, const char* content, const char* id, const char* ch, uint8_t** wire) {
	Cbor r = {0}, want = {0};
	Capture c = {0};
	req_wrap(&r, content, strlen(content), id, ch);
	int rc = call(sds_wrap_outgoing_message, ctx, &r, &c);
	cb_free(&r);
	*wire = NULL;
	if (rc != RET_OK || c.ret != RET_OK || c.calls != 1) {
		harness_fail(__FILE__, __LINE__, "wrap %s: rc %d ret %d %.*s", id, rc, c.ret, (int)c.len, c.msg);
		capture_reset(&c);
		return -1;
	}
	size_t off;
	const uint8_t* p;
	size_t n;
	if (!cb_path((const uint8_t*)c.msg, c.len, &off, "message", NULL) ||
	    !cb_string((const uint8_t*)c.msg, c.len, off, 2, &p, &n)) {
		harness_fail(__FILE__, __LINE__, "wrap result %s", cb_tohex((const uint8_t*)c.msg, c.len));
		capture_reset(&c);
		return -1;
	}
	res_wrap(&want, p, n);
	CHECK_BYTES(c.msg, c.len, &want);
	*wire = malloc(n ? n : 1);
	memcpy(*wire, p, n);
	cb_free(&want);
	capture_reset(&c);
	return (long)n;
}

static int cunwrap(void* ctx, const uint8_t* wire, size_t n, Capture* c) {
	Cbor r = {0};
	req_unwrap(&r, wire, n);
	int rc = call(sds_unwrap_received_message, ctx, &r, c);
	cb_free(&r);
	return rc;
}

/* ---- tests ----------------------------------------------------------------- */

TEST(cbor_create) {
	Cbor r = {0}, want = {0};
	Capture c = {0};
	req_config(&r, "alice");
	void* ctx = create(&r, &c);
	ASSERT(ctx != NULL);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_OK);
	CHECK(pthread_equal(c.thread, pthread_self()));
	/* nim-ffi answers the context's address in decimal, as CBOR text. */
	char dec[32];
	snprintf(dec, sizeof dec, "%" PRIuPTR, (uintptr_t)ctx);
	cb_text(&want, dec);
	CHECK_BYTES(c.msg, c.len, &want);
	CHECK(capture_intact(&c)); /* still readable after the call returned */
	CHECK_INT(sds_destroy(ctx), RET_OK);

	/* No config (all defaults), an empty config, null participant. */
	const char* ok[] = {"a0", "a166636f6e666967a0", "a166636f6e666967a16d7061727469636970616e744964f6"};
	for (size_t i = 0; i < 3; i++) {
		cb_free(&r);
		cb_hex(&r, ok[i]);
		ctx = create(&r, &c);
		CHECK(ctx != NULL);
		CHECK_INT(c.ret, RET_OK);
		CHECK_INT(sds_destroy(ctx), RET_OK);
	}
	/* A NULL callback: created, nothing called. */
	cb_free(&r);
	req_config(&r, "bob");
	ctx = sds_create(r.b, r.n, NULL, NULL);
	CHECK(ctx != NULL);
	CHECK_INT(sds_destroy(ctx), RET_OK);
	cb_free(&r);
	cb_free(&want);
	capture_reset(&c);
}

TEST(cbor_create_errors) {
	struct {
		const char* hex;
		const char* prefix;
	} cases[] = {
		{"", "ffiCtor: failed to decode request: "},                   /* empty */
		{"f6", "ffiCtor: failed to decode request: "},                 /* null */
		{"80", "ffiCtor: failed to decode request: "},                 /* array */
		{"a1", "ffiCtor: failed to decode request: "},                 /* truncated */
		{"a166636f6e666967a0ff", "ffiCtor: failed to decode request: "}, /* trailing byte */
		/* {"cfg": {}}: unknown key */
		{"a163636667a0", "ffiCtor: failed to decode request: "},
		/* {"config": {"participantId": 1}}: wrong type */
		{"a166636f6e666967a16d7061727469636970616e74496401", "ffiCtor: failed to decode request: "},
		/* {"config": {"participantid": ""}}: keys are case-sensitive */
		{"a166636f6e666967a16d7061727469636970616e74696460", "ffiCtor: failed to decode request: "},
		/* {"config": {"maxMessageHistory": 0}}: out of range */
		{"a166636f6e666967a1716d61784d657373616765486973746f727900",
		 "Failed creating reliability manager: invalid config: maxMessageHistory"},
		/* {"config": {"wireFormat": "xml"}} */
		{"a166636f6e666967a16a77697265466f726d617463786d6c",
		 "Failed creating reliability manager: invalid config: wireFormat"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		Cbor r = {0};
		Capture c = {0};
		cb_hex(&r, cases[i].hex);
		void* ctx = sds_create(r.n ? r.b : (const uint8_t*)"", r.n, capture_cb, &c);
		CHECK(ctx == NULL);
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.ret, RET_ERR);
		CHECK_PREFIX(c.msg, c.len, cases[i].prefix);
		CHECK(capture_intact(&c));
		/* And without a callback: NULL, nothing called. */
		CHECK(sds_create(r.b, r.n, NULL, NULL) == NULL);
		cb_free(&r);
		capture_reset(&c);
	}
	Capture c = {0};
	CHECK(sds_create(NULL, 5, capture_cb, &c) == NULL);
	CHECK_PREFIX(c.msg, c.len, "ffiCtor: failed to decode request: request pointer is NULL");
	capture_reset(&c);
}

TEST(cbor_create_extended_config) {
	/* The JSON configuration's keys, in CBOR: an RFC-format manager can
	 * wrap ephemeral messages; limits as a nested map; a float. */
	Cbor r = {0};
	Capture c = {0};
	cb_map(&r, 1);
	cb_text(&r, "config");
	cb_map(&r, 5);
	cb_text(&r, "participantId");
	cb_text(&r, "carol");
	cb_text(&r, "wireFormat");
	cb_text(&r, "rfc");
	cb_text(&r, "bloomFilterErrorRate");
	cb_hex(&r, "fb3f50624dd2f1a9fc"); /* 0.001 as a double */
	cb_text(&r, "maxCausalHistory");
	cb_uint(&r, 3);
	cb_text(&r, "limits");
	cb_map(&r, 1);
	cb_text(&r, "maxIdBytes");
	cb_uint(&r, 300);
	void* ctx = create(&r, &c);
	ASSERT(ctx != NULL);
	CHECK_INT(c.ret, RET_OK);
	cb_free(&r);
	req_wrap(&r, "eph", 3, "e1", "room");
	CHECK_INT(call(sds_wrap_ephemeral_message, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	/* A receiver delivers it at once, as an ephemeral message. */
	size_t off;
	const uint8_t* wire;
	size_t n;
	ASSERT(cb_path((const uint8_t*)c.msg, c.len, &off, "message", NULL));
	ASSERT(cb_string((const uint8_t*)c.msg, c.len, off, 2, &wire, &n));
	void* rx = new_manager();
	SdsUnwrapResult* res = NULL;
	char* err = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(rx, wire, n, &res, &err), RET_OK);
	if (res) {
		CHECK_INT(res->kind, SDS_MESSAGE_EPHEMERAL);
		CHECK_INT(res->contentLen, 3);
	}
	SdsFree(res);
	SdsFree(err);
	cleanup(rx);
	/* On a Nim-format manager the ephemeral wrap fails (step 4). */
	void* nim = cbor_manager("dave");
	CHECK_INT(call(sds_wrap_ephemeral_message, nim, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing wrap-ephemeral request: ");
	CHECK_INT(sds_destroy(nim), RET_OK);
	CHECK_INT(sds_destroy(ctx), RET_OK);
	cb_free(&r);
	capture_reset(&c);
}

TEST(cbor_bloom_filter_config) {
	/* "fullBloomFilter" (a CBOR true) restores Nim's whole filter; by
	 * default a message carries the acknowledgement window's. */
	Cbor r = {0};
	Capture c = {0};
	cb_map(&r, 1);
	cb_text(&r, "config");
	cb_map(&r, 2);
	cb_text(&r, "participantId");
	cb_text(&r, "erin");
	cb_text(&r, "fullBloomFilter");
	cb_hex(&r, "f5");
	void* full = create(&r, &c);
	ASSERT(full != NULL);
	CHECK_INT(c.ret, RET_OK);
	void* compact = cbor_manager("frank");
	uint8_t* w;
	CHECK(cwrap(full, "hi", "m1", "room", &w) > 18000);
	free(w);
	long n = cwrap(compact, "hi", "m1", "room", &w);
	CHECK(n > 0 && n < 200);
	free(w);
	CHECK_INT(sds_destroy(full), RET_OK);
	CHECK_INT(sds_destroy(compact), RET_OK);
	cb_free(&r);
	capture_reset(&c);
}

static const struct {
	CborFn fn;
	const char* reqType;
} request_fns[] = {
	{sds_wrap_outgoing_message, "SdsWrapOutgoingMessageReq"},
	{sds_unwrap_received_message, "SdsUnwrapReceivedMessageReq"},
	{sds_mark_dependencies_met, "SdsMarkDependenciesMetReq"},
	{sds_reset, "SdsResetReq"},
	{sds_start_periodic_tasks, "SdsStartPeriodicTasksReq"},
	{sds_set_retrieval_hint_provider, "SdsSetRetrievalHintProviderReq"},
	{sds_wrap_sync_message, "SdsWrapSyncMessageReq"},
	{sds_wrap_ephemeral_message, "SdsWrapEphemeralMessageReq"},
};
#define NFNS (sizeof request_fns / sizeof *request_fns)

TEST(cbor_return_codes) {
	void* ctx = cbor_manager("alice");
	void* dead = cbor_manager("gone");
	CHECK_INT(sds_destroy(dead), RET_OK);
	int local;
	void* bad[] = {NULL, dead, &local, (void*)(uintptr_t)8};
	Cbor unit = {0};
	req_unit(&unit);
	for (size_t i = 0; i < NFNS; i++) {
		Capture c = {0};
		/* 1. A NULL callback first, whatever the context. */
		CHECK_INT(request_fns[i].fn(ctx, NULL, NULL, unit.b, unit.n), RET_MISSING_CALLBACK);
		CHECK_INT(request_fns[i].fn(NULL, NULL, NULL, unit.b, unit.n), RET_MISSING_CALLBACK);
		/* 2. Invalid contexts: RET_ERR, told through the callback. */
		for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
			CHECK_INT(call(request_fns[i].fn, bad[b], &unit, &c), RET_ERR);
			CHECK_INT(c.calls, 1);
			CHECK_INT(c.ret, RET_ERR);
			CHECK_STRN(c.msg, c.len, "ctx is not a valid FFI context");
			CHECK(capture_intact(&c));
		}
		/* 3. Requests that do not decode: RET_OK, the error through the
		 * callback, named after the Nim request type. */
		char prefix[128];
		snprintf(prefix, sizeof prefix, "CBOR decode failed for %s: ", request_fns[i].reqType);
		const char* undecodable[] = {
			"",            /* empty */
			"f6",          /* not a map */
			"a1",          /* truncated */
			"a0ff",        /* trailing data */
			"a1637265717a", /* {"reqz"...: truncated key */
			"a1646a756e6b00", /* {"junk": 0}: unknown key */
			"a163726571c0a0", /* {"req": tag 0}: tags are rejected */
			"a2637265" "71a0637265" "71a0", /* {"req": {}, "req": {}}: repeated key */
			"a1637265719f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9fffffffffffffffffffffffffffffffffff", /* too deep */
		};
		capture_reset(&c);
		for (size_t u = 0; u < sizeof undecodable / sizeof *undecodable; u++) {
			Cbor r = {0};
			cb_hex(&r, undecodable[u]);
			CHECK_INT(request_fns[i].fn(ctx, capture_cb, &c, r.n ? r.b : (const uint8_t*)"", r.n), RET_OK);
			CHECK_INT(c.calls, 1);
			CHECK_INT(c.ret, RET_ERR);
			CHECK_PREFIX(c.msg, c.len, prefix);
			capture_reset(&c);
			cb_free(&r);
		}
		capture_reset(&c);
		CHECK_INT(request_fns[i].fn(ctx, capture_cb, &c, NULL, 3), RET_OK);
		CHECK_INT(c.ret, RET_ERR);
		CHECK_PREFIX(c.msg, c.len, prefix);
		capture_reset(&c);
	}
	/* Wrong types inside "req". */
	struct {
		CborFn fn;
		const char* hex;
	} typed[] = {
		/* {"req": {"message": "text"}} */
		{sds_wrap_outgoing_message, "a163726571a1676d657373616765647465787"
		                            "4"},
		/* {"req": {"messageId": h'00'}} */
		{sds_wrap_outgoing_message, "a163726571a1696d6573736167654964" "4100"},
		/* {"req": {"messageIds": "m1"}} */
		{sds_mark_dependencies_met, "a163726571a16a6d657373616765496473626d31"},
		/* {"req": {"callbackAddr": -1}} */
		{sds_set_retrieval_hint_provider, "a163726571a16c63616c6c6261636b4164647220"},
		/* {"_placeholder": 256}: not a uint8 */
		{sds_reset, "a16c5f706c616365686f6c646572190100"},
	};
	for (size_t i = 0; i < sizeof typed / sizeof *typed; i++) {
		Cbor r = {0};
		Capture c = {0};
		cb_hex(&r, typed[i].hex);
		CHECK_INT(call(typed[i].fn, ctx, &r, &c), RET_OK);
		CHECK_INT(c.ret, RET_ERR);
		CHECK_PREFIX(c.msg, c.len, "CBOR decode failed for ");
		cb_free(&r);
		capture_reset(&c);
	}
	/* The manager still works. */
	uint8_t* wire = NULL;
	CHECK(cwrap(ctx, "hi", "m1", "c1", &wire) > 0);
	free(wire);
	CHECK_INT(sds_destroy(ctx), RET_OK);
	cb_free(&unit);
}

TEST(cbor_operation_errors) {
	void* ctx = cbor_manager("alice");
	Capture c = {0};
	Cbor r = {0};
	/* 4. Failures of the operation: RET_OK, the error through the callback. */
	req_wrap(&r, "hi", 2, "m1", "c1");
	CHECK_INT(call(sds_wrap_outgoing_message, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(call(sds_wrap_outgoing_message, ctx, &r, &c), RET_OK); /* duplicate id */
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing wrap request: ");
	cb_free(&r);
	req_wrap(&r, "hi", 2, "m2", "");
	CHECK_INT(call(sds_wrap_outgoing_message, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing wrap request: ");
	cb_free(&r);
	cb_hex(&r, "a0"); /* no "req": an empty message, ids and channel */
	CHECK_INT(call(sds_wrap_outgoing_message, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing wrap request: ");
	cb_free(&r);
	req_unwrap(&r, (const uint8_t*)"\xff\xff\xff", 3);
	CHECK_INT(call(sds_unwrap_received_message, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing unwrap request: ");
	cb_free(&r);
	const char* ids[] = {"x"};
	req_mark(&r, ids, 1, "no-such-channel");
	CHECK_INT(call(sds_mark_dependencies_met, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing mark-dependencies request: ");
	cb_free(&r);
	cb_hex(&r, "a163726571a0"); /* sync message without a channel */
	CHECK_INT(call(sds_wrap_sync_message, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "error processing wrap-sync request: ");
	CHECK(capture_intact(&c));
	cb_free(&r);
	capture_reset(&c);
	CHECK_INT(sds_destroy(ctx), RET_OK);
}

TEST(cbor_destroy) {
	void* ctx = cbor_manager("alice");
	CHECK_INT(sds_destroy(NULL), RET_ERR);
	int local;
	CHECK_INT(sds_destroy(&local), RET_ERR);
	CEvents e;
	cev_init(&e);
	listen_all(ctx, &e);
	CHECK_INT(sds_destroy(ctx), RET_OK);
	CHECK_INT(sds_destroy(ctx), RET_ERR); /* already destroyed */
	CHECK_INT(sds_add_event_listener(ctx, "message_ready", cev_cb, &e), 0);
	CHECK_INT(sds_remove_event_listener(ctx, 1), 1);
	Capture c = {0};
	CHECK_INT(call(sds_reset, ctx, NULL, &c), RET_ERR);
	CHECK_STRN(c.msg, c.len, "ctx is not a valid FFI context");
	/* The Sds* functions agree that it is gone. */
	CHECK_INT(SdsResetReliabilityManager(ctx, capture_cb, &c), RET_ERR);
	capture_reset(&c);
	CHECK_INT(e.n, 0);
	cev_free(&e);
	/* sds_destroy also destroys a context of the other generation, and
	 * SdsCleanupReliabilityManager one of this generation. */
	void* legacy = new_manager();
	CHECK_INT(sds_destroy(legacy), RET_OK);
	void* other = cbor_manager("bob");
	CHECK_INT(SdsCleanupReliabilityManager(other, capture_cb, &c), RET_OK);
	CHECK_INT(sds_destroy(other), RET_ERR);
	capture_reset(&c);
}

TEST(cbor_results_bytes) {
	void* a = cbor_manager("alice");
	void* b = cbor_manager("bob");
	CEvents ea, eb;
	cev_init(&ea);
	cev_init(&eb);
	listen_all(a, &ea);
	listen_all(b, &eb);
	Capture c = {0};
	Cbor want = {0}, r = {0};

	uint8_t *w1 = NULL, *w2 = NULL, *w3 = NULL;
	long n1 = cwrap(a, "one", "m1", "room", &w1);
	long n2 = cwrap(a, "two", "m2", "room", &w2);
	ASSERT(n1 > 0 && n2 > 0);

	/* b gets m2 first: m1 is missing, with no hint (none provided), sent
	 * by alice (senderId: ours, after Nim's keys; COMPATIBILITY.md C13). */
	CHECK_INT(cunwrap(b, w2, (size_t)n2, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	cb_map(&want, 3);
	cb_text(&want, "message");
	cb_bytes(&want, "two", 3);
	cb_text(&want, "channelId");
	cb_text(&want, "room");
	cb_text(&want, "missingDeps");
	cb_array(&want, 1);
	cb_map(&want, 3);
	cb_text(&want, "messageId");
	cb_text(&want, "m1");
	cb_text(&want, "retrievalHint");
	cb_bytes(&want, "", 0); /* 0x40: an empty seq[byte] */
	cb_text(&want, "senderId");
	cb_text(&want, "alice");
	CHECK_BYTES(c.msg, c.len, &want);
	CHECK(capture_intact(&c));

	/* The missing_dependencies event: the same entries, in the envelope. */
	int i = cev_nth(&eb, "missing_dependencies", 0);
	ASSERT(i >= 0);
	cb_free(&want);
	env(&want, "missing_dependencies");
	cb_map(&want, 3);
	cb_text(&want, "messageId");
	cb_text(&want, "m2");
	cb_text(&want, "channelId");
	cb_text(&want, "room");
	cb_text(&want, "missingDeps");
	cb_array(&want, 1);
	cb_hex(&want, "a3696d6573736167654964626d316d72657472696576616c48696e74406873656e646572496465616c696365");
	CHECK_BYTES(eb.ev[i], eb.len[i], &want);
	CHECK_INT(cev_count(&eb, "message_ready"), 0);

	/* m1 arrives: result without missing dependencies, and message_ready
	 * for m1 then m2, in causal order. */
	CHECK_INT(cunwrap(b, w1, (size_t)n1, &c), RET_OK);
	cb_free(&want);
	cb_map(&want, 3);
	cb_text(&want, "message");
	cb_bytes(&want, "one", 3);
	cb_text(&want, "channelId");
	cb_text(&want, "room");
	cb_text(&want, "missingDeps");
	cb_hex(&want, "80");
	CHECK_BYTES(c.msg, c.len, &want);
	ASSERT(cev_count(&eb, "message_ready") == 2);
	cb_free(&want);
	ev_message(&want, "message_ready", "m1", "room");
	i = cev_nth(&eb, "message_ready", 0);
	CHECK_BYTES(eb.ev[i], eb.len[i], &want);
	cb_free(&want);
	ev_message(&want, "message_ready", "m2", "room");
	i = cev_nth(&eb, "message_ready", 1);
	CHECK_BYTES(eb.ev[i], eb.len[i], &want);
	/* Spelled out: {"eventType":"message_ready","payload":{"messageId":"m2","channelId":"room"}} */
	cb_free(&want);
	cb_hex(&want, "a2696576656e74547970656d6d6573736167655f7265616479677061796c6f6164"
	              "a2696d6573736167654964626d32696368616e6e656c496464726f6f6d");
	CHECK_BYTES(eb.ev[i], eb.len[i], &want);

	/* b answers; its causal history acknowledges m1 and m2 to a. */
	long n3 = cwrap(b, "three", "m3", "room", &w3);
	ASSERT(n3 > 0);
	CHECK_INT(cunwrap(a, w3, (size_t)n3, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(cev_count(&ea, "message_sent"), 2);
	cb_free(&want);
	ev_message(&want, "message_sent", "m1", "room");
	i = cev_nth(&ea, "message_sent", 0);
	CHECK_BYTES(ea.ev[i], ea.len[i], &want);

	/* Results of the procedures without a value: the text string "". */
	const char* ids[] = {"x", "y"};
	cb_free(&want);
	cb_hex(&want, "60");
	req_mark(&r, ids, 2, "room");
	CHECK_INT(call(sds_mark_dependencies_met, b, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_BYTES(c.msg, c.len, &want);
	cb_free(&r);
	req_mark(&r, NULL, 0, "room");
	CHECK_INT(call(sds_mark_dependencies_met, b, &r, &c), RET_OK);
	CHECK_BYTES(c.msg, c.len, &want);
	cb_free(&r);

	/* A sync message: {"message": bytes}; its receiver delivers nothing. */
	cb_map(&r, 1);
	cb_text(&r, "req");
	cb_map(&r, 1);
	cb_text(&r, "channelId");
	cb_text(&r, "room");
	CHECK_INT(call(sds_wrap_sync_message, a, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	size_t off;
	const uint8_t* sw;
	size_t sn;
	ASSERT(cb_path((const uint8_t*)c.msg, c.len, &off, "message", NULL));
	ASSERT(cb_string((const uint8_t*)c.msg, c.len, off, 2, &sw, &sn));
	cb_free(&want);
	res_wrap(&want, sw, sn);
	CHECK_BYTES(c.msg, c.len, &want);
	uint8_t* sync = malloc(sn);
	memcpy(sync, sw, sn);
	int ready = cev_count(&eb, "message_ready");
	CHECK_INT(cunwrap(b, sync, sn, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(cev_count(&eb, "message_ready"), ready);
	free(sync);
	cb_free(&r);

	/* Reset: "" and the channel is gone. */
	req_unit(&r);
	cb_free(&want);
	cb_hex(&want, "60");
	CHECK_INT(call(sds_reset, b, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_BYTES(c.msg, c.len, &want);
	cb_free(&r);
	req_mark(&r, ids, 1, "room");
	CHECK_INT(call(sds_mark_dependencies_met, b, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_INT(ea.bad + eb.bad, 0);

	free(w1), free(w2), free(w3);
	cb_free(&want);
	cb_free(&r);
	capture_reset(&c);
	CHECK_INT(sds_destroy(a), RET_OK);
	CHECK_INT(sds_destroy(b), RET_OK);
	cev_free(&ea);
	cev_free(&eb);
}

static int hint_calls;
static void hint_fn(const char* id, char** hint, size_t* len, void* ud) {
	int* tag = ud;
	hint_calls++;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "hint-%s-%d", id, *tag);
	*hint = malloc((size_t)n);
	memcpy(*hint, buf, (size_t)n);
	*len = (size_t)n;
}

TEST(cbor_retrieval_hints) {
	void* a = cbor_manager("alice");
	void* b = cbor_manager("bob");
	CEvents eb;
	cev_init(&eb);
	listen_all(b, &eb);
	Capture c = {0};
	Cbor r = {0}, want = {0};
	int tag = 7;
	req_hints(&r, (uint64_t)(uintptr_t)hint_fn, (uint64_t)(uintptr_t)&tag);
	CHECK_INT(call(sds_set_retrieval_hint_provider, a, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	cb_hex(&want, "60");
	CHECK_BYTES(c.msg, c.len, &want);
	cb_free(&r);

	uint8_t *w1 = NULL, *w2 = NULL;
	hint_calls = 0;
	CHECK(cwrap(a, "one", "m1", "room", &w1) > 0);
	long n2 = cwrap(a, "two", "m2", "room", &w2);
	CHECK(hint_calls >= 1);
	CHECK_INT(cunwrap(b, w2, (size_t)n2, &c), RET_OK);
	cb_free(&want);
	cb_map(&want, 3);
	cb_text(&want, "message");
	cb_bytes(&want, "two", 3);
	cb_text(&want, "channelId");
	cb_text(&want, "room");
	cb_text(&want, "missingDeps");
	cb_array(&want, 1);
	cb_map(&want, 3);
	cb_text(&want, "messageId");
	cb_text(&want, "m1");
	cb_text(&want, "retrievalHint");
	cb_bytes(&want, "hint-m1-7", 9);
	cb_text(&want, "senderId");
	cb_text(&want, "alice");
	CHECK_BYTES(c.msg, c.len, &want);
	int i = cev_nth(&eb, "missing_dependencies", 0);
	ASSERT(i >= 0);
	size_t off;
	const uint8_t* p;
	size_t n;
	ASSERT(cb_path(eb.ev[i], eb.len[i], &off, "payload", "missingDeps", NULL));
	int major;
	uint64_t count;
	ASSERT(cb_read_head(eb.ev[i], eb.len[i], &off, &major, &count) && major == 4 && count == 1);
	ASSERT(cb_map_get(eb.ev[i], eb.len[i], off, "retrievalHint", &off));
	ASSERT(cb_string(eb.ev[i], eb.len[i], off, 2, &p, &n));
	CHECK(n == 9 && memcmp(p, "hint-m1-7", 9) == 0);

	/* callbackAddr 0 removes the provider. */
	req_hints(&r, 0, 0);
	CHECK_INT(call(sds_set_retrieval_hint_provider, a, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	hint_calls = 0;
	uint8_t* w3 = NULL;
	CHECK(cwrap(a, "three", "m3", "room", &w3) > 0);
	CHECK_INT(hint_calls, 0);
	free(w1), free(w2), free(w3);
	cb_free(&r);
	cb_free(&want);
	capture_reset(&c);
	CHECK_INT(sds_destroy(a), RET_OK);
	CHECK_INT(sds_destroy(b), RET_OK);
	cev_free(&eb);
}

/* ---- the listener registry ------------------------------------------------ */

typedef struct {
	void* ctx;
	char name;
	uint64_t remove; /* a listener id to remove when called */
	int add;         /* add a listener when called */
	uint64_t added;
	int calls;
	const char* lastMsg;
} Lis;

static char order[64];
static int norder;
static const char* seenMsg[64];

static void lis_cb(int ret, const char* msg, size_t len, void* ud);

static Lis late = {.name = 'L'};

static void lis_cb(int ret, const char* msg, size_t len, void* ud) {
	Lis* l = ud;
	(void)len;
	if (ret != RET_OK) harness_fail(__FILE__, __LINE__, "listener callerRet %d", ret);
	l->calls++;
	l->lastMsg = msg;
	if (norder < 63) {
		seenMsg[norder] = msg;
		order[norder++] = l->name;
		order[norder] = 0;
	}
	if (l->remove) {
		CHECK_INT(sds_remove_event_listener(l->ctx, l->remove), 0);
		l->remove = 0;
	}
	if (l->add) {
		l->add = 0;
		l->added = sds_add_event_listener(l->ctx, "message_ready", lis_cb, &late);
		CHECK(l->added != 0);
	}
}

static void deliver_one(void* tx, void* rx, const char* id) {
	uint8_t* w = NULL;
	long n = cwrap(tx, "x", id, "room", &w);
	Capture c = {0};
	if (n > 0) CHECK_INT(cunwrap(rx, w, (size_t)n, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	free(w);
	capture_reset(&c);
}

TEST(cbor_listener_registry) {
	void* tx = cbor_manager("tx");
	void* rx = cbor_manager("rx");
	Lis a = {.ctx = rx, .name = 'A'}, b = {.ctx = rx, .name = 'B'}, c = {.ctx = rx, .name = 'C'};
	late.ctx = rx;
	/* Ids: 1, 2, 3... per context, never 0. */
	uint64_t ia = sds_add_event_listener(rx, "message_ready", lis_cb, &a);
	uint64_t ib = sds_add_event_listener(rx, "message_ready", lis_cb, &b);
	uint64_t ic = sds_add_event_listener(rx, "message_sent", lis_cb, &c);
	CHECK_INT(ia, 1);
	CHECK_INT(ib, 2);
	CHECK_INT(ic, 3);
	CHECK_INT(sds_add_event_listener(tx, "message_ready", lis_cb, &a), 1);
	CHECK_INT(sds_add_event_listener(rx, "message_ready", NULL, &a), 0);
	CHECK_INT(sds_add_event_listener(NULL, "message_ready", lis_cb, &a), 0);
	int local;
	CHECK_INT(sds_add_event_listener(&local, "message_ready", lis_cb, &a), 0);
	/* An unknown name and a NULL name are accepted, and never fire. */
	uint64_t iu = sds_add_event_listener(rx, "no_such_event", lis_cb, &c);
	uint64_t in = sds_add_event_listener(rx, NULL, lis_cb, &c);
	CHECK_INT(iu, 4);
	CHECK_INT(in, 5);

	/* Two listeners on one event: both called, in order, same buffer. */
	norder = 0;
	deliver_one(tx, rx, "m1");
	CHECK_STRN(order, strlen(order), "AB");
	CHECK(seenMsg[0] == seenMsg[1]);
	CHECK_INT(c.calls, 0);

	/* Remove: 0, then 1 (already removed), 1 for unknown ids and 0. */
	CHECK_INT(sds_remove_event_listener(rx, ib), 0);
	CHECK_INT(sds_remove_event_listener(rx, ib), 1);
	CHECK_INT(sds_remove_event_listener(rx, 0), 1);
	CHECK_INT(sds_remove_event_listener(rx, 999), 1);
	CHECK_INT(sds_remove_event_listener(NULL, ia), 1);
	norder = 0;
	deliver_one(tx, rx, "m2");
	CHECK_STRN(order, strlen(order), "A");

	/* Ids go on after removals. */
	ib = sds_add_event_listener(rx, "message_ready", lis_cb, &b);
	CHECK_INT(ib, 6);

	/* A removes B from inside its callback: B is not called for this
	 * event any more, nor later. */
	a.remove = ib;
	norder = 0;
	deliver_one(tx, rx, "m3");
	CHECK_STRN(order, strlen(order), "A");
	norder = 0;
	deliver_one(tx, rx, "m4");
	CHECK_STRN(order, strlen(order), "A");

	/* A removes itself from inside its callback: called this once. */
	ib = sds_add_event_listener(rx, "message_ready", lis_cb, &b);
	a.remove = ia;
	norder = 0;
	deliver_one(tx, rx, "m5");
	CHECK_STRN(order, strlen(order), "AB");
	norder = 0;
	deliver_one(tx, rx, "m6");
	CHECK_STRN(order, strlen(order), "B");

	/* B adds a listener from inside its callback: it hears the next
	 * event, not this one. */
	b.add = 1;
	norder = 0;
	deliver_one(tx, rx, "m7");
	CHECK_STRN(order, strlen(order), "B");
	CHECK_INT(b.added, 8);
	norder = 0;
	deliver_one(tx, rx, "m8");
	CHECK_STRN(order, strlen(order), "BL");

	/* The message_sent listener C hears the acknowledgements of rx's own
	 * messages. */
	deliver_one(rx, tx, "r1");
	deliver_one(tx, rx, "m9");
	CHECK(c.calls >= 1);

	CHECK_INT(sds_destroy(tx), RET_OK);
	CHECK_INT(sds_destroy(rx), RET_OK);
}

typedef struct {
	void* ctx;
	uint64_t first, last;
} Remover;

static void* remover_thread(void* arg) {
	Remover* r = arg;
	for (uint64_t id = r->first; id <= r->last; id++)
		CHECK_INT(sds_remove_event_listener(r->ctx, id), 0);
	return NULL;
}

TEST(cbor_listeners_concurrent) {
	/* One thread removes listeners while another delivers events: no
	 * crash, and the listener that stays hears every event exactly once. */
	void* tx = cbor_manager("tx");
	void* rx = cbor_manager("rx");
	Lis churn = {.ctx = rx, .name = 'X'};
	int rounds = scale(200);
	for (int i = 0; i < rounds; i++)
		CHECK_INT(sds_add_event_listener(rx, "message_ready", lis_cb, &churn), i + 1);
	Lis keep = {.ctx = rx, .name = 'K'};
	uint64_t ik = sds_add_event_listener(rx, "message_ready", lis_cb, &keep);
	CHECK_INT(ik, rounds + 1);
	Remover rm = {rx, 1, (uint64_t)rounds};
	pthread_t th;
	pthread_create(&th, NULL, remover_thread, &rm);
	int sent = scale(100);
	for (int i = 0; i < sent; i++) {
		char id[16];
		snprintf(id, sizeof id, "c%d", i);
		deliver_one(tx, rx, id);
	}
	pthread_join(th, NULL);
	CHECK_INT(keep.calls, sent);
	CHECK(churn.calls <= sent * rounds);
	for (int i = 1; i <= rounds; i++) CHECK_INT(sds_remove_event_listener(rx, (uint64_t)i), 1);
	norder = 0;
	deliver_one(tx, rx, "after");
	CHECK_STRN(order, strlen(order), "K");
	CHECK_INT(sds_remove_event_listener(rx, ik), 0);
	CHECK_INT(sds_destroy(tx), RET_OK);
	CHECK_INT(sds_destroy(rx), RET_OK);
}

/* ---- both generations ------------------------------------------------------ */

TEST(cbor_interop_generations) {
	void* a = cbor_manager("alice"); /* sds_* */
	void* b = new_manager_config("{\"participantId\":\"bob\"}"); /* Sds* */
	ASSERT(a && b);
	CEvents ea;
	cev_init(&ea);
	listen_all(a, &ea);
	Events eb;
	events_init(&eb);
	SdsSetEventCallback(b, events_cb, &eb);
	Capture c = {0};
	Cbor want = {0};

	/* a (CBOR) -> b (binary Sds*). */
	uint8_t* w = NULL;
	long n = cwrap(a, "from-a", "ma", "room", &w);
	ASSERT(n > 0);
	SdsUnwrapResult* res = NULL;
	char* err = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b, w, (size_t)n, &res, &err), RET_OK);
	ASSERT(res != NULL);
	CHECK(res->contentLen == 6 && memcmp(res->content, "from-a", 6) == 0);
	CHECK(res->flags & SDS_UNWRAP_DELIVERED);
	CHECK_STRN(res->senderId, res->senderIdLen, "alice");
	SdsFree(res);
	free(w);
	CHECK_INT(events_count(&eb, "\"messageId\":\"ma\""), 1);

	/* b (text Sds*) -> a (CBOR): b's message acknowledges ma. */
	uint8_t* wb = NULL;
	long nb = wrap(b, "from-b", "mb", "room", &wb);
	ASSERT(nb > 0);
	CHECK_INT(cunwrap(a, wb, (size_t)nb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	cb_map(&want, 3);
	cb_text(&want, "message");
	cb_bytes(&want, "from-b", 6);
	cb_text(&want, "channelId");
	cb_text(&want, "room");
	cb_text(&want, "missingDeps");
	cb_hex(&want, "80");
	CHECK_BYTES(c.msg, c.len, &want);
	free(wb);
	int i = cev_nth(&ea, "message_sent", 0);
	ASSERT(i >= 0);
	cb_free(&want);
	ev_message(&want, "message_sent", "ma", "room");
	CHECK_BYTES(ea.ev[i], ea.len[i], &want);
	i = cev_nth(&ea, "message_ready", 0);
	ASSERT(i >= 0);
	cb_free(&want);
	ev_message(&want, "message_ready", "mb", "room");
	CHECK_BYTES(ea.ev[i], ea.len[i], &want);

	/* a acknowledges mb to b, whose JSON callback reports it. */
	n = cwrap(a, "again", "ma2", "room", &w);
	ASSERT(n > 0);
	char* json = unwrap(b, w, (size_t)n);
	CHECK(json != NULL);
	free(json);
	free(w);
	CHECK_INT(events_count(&eb, "{\"messageId\":\"mb\",\"channelId\":\"room\",\"eventType\":\"message_sent\"}"), 1);

	/* The functions of each generation accept the other's contexts: the
	 * Sds* binary wrap on a, sds_wrap on b, and the JSON event callback on
	 * a alongside its CBOR listeners. */
	Events ja;
	events_init(&ja);
	SdsSetEventCallback(a, events_cb, &ja);
	uint8_t* raw = NULL;
	size_t rawLen = 0;
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "bin", 3, "ma3", "room", &raw, &rawLen, &err), RET_OK);
	uint8_t* wb2 = NULL;
	long nb2 = cwrap(b, "cbor-on-legacy", "mb2", "room", &wb2);
	CHECK(nb2 > 0);
	int readyBefore = cev_count(&ea, "message_ready");
	CHECK_INT(cunwrap(a, wb2, (size_t)nb2, &c), RET_OK);
	CHECK_INT(cev_count(&ea, "message_ready"), readyBefore + 1);
	CHECK_INT(events_count(&ja, "{\"messageId\":\"mb2\",\"channelId\":\"room\",\"eventType\":\"message_ready\"}"), 1);
	json = unwrap(b, raw, rawLen);
	CHECK(json != NULL);
	free(json);
	SdsFree(raw);
	free(wb2);
	CHECK_INT(ea.bad + eb.bad + ja.bad, 0);

	cb_free(&want);
	capture_reset(&c);
	CHECK_INT(sds_destroy(a), RET_OK);
	cleanup(b);
	cev_free(&ea);
	events_clear(&eb);
	events_clear(&ja);
}

TEST(cbor_periodic_events) {
	/* Periodic tasks: periodic_sync at once (from the library's thread),
	 * then resends and a failure of an unacknowledged message. */
	Cbor r = {0}, want = {0};
	Capture c = {0};
	cb_map(&r, 1);
	cb_text(&r, "config");
	cb_map(&r, 4);
	cb_text(&r, "participantId");
	cb_text(&r, "alice");
	cb_text(&r, "resendIntervalMs");
	cb_uint(&r, 20);
	cb_text(&r, "bufferSweepIntervalMs");
	cb_uint(&r, 10);
	cb_text(&r, "maxResendAttempts");
	cb_uint(&r, 1);
	void* a = create(&r, &c);
	ASSERT(a != NULL);
	CEvents e;
	cev_init(&e);
	listen_all(a, &e);
	uint8_t* w = NULL;
	long n = cwrap(a, "lonely", "m1", "room", &w);
	CHECK(n > 0);
	cb_free(&r);
	req_unit(&r);
	CHECK_INT(call(sds_start_periodic_tasks, a, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	cb_hex(&want, "60");
	CHECK_BYTES(c.msg, c.len, &want);
	CHECK(cev_wait(&e, "periodic_sync", 1, 5000));
	int i = cev_nth(&e, "periodic_sync", 0);
	cb_free(&want);
	/* {"eventType":"periodic_sync","payload":{"placeholder":false}} */
	cb_hex(&want, "a2696576656e74547970656d706572696f6469635f73796e63677061796c6f6164a16b706c616365686f6c646572f4");
	if (i >= 0) CHECK_BYTES(e.ev[i], e.len[i], &want);
	CHECK(cev_wait(&e, "message_resend", 1, 5000));
	i = cev_nth(&e, "message_resend", 0);
	cb_free(&want);
	env(&want, "message_resend");
	cb_map(&want, 4);
	cb_text(&want, "messageId");
	cb_text(&want, "m1");
	cb_text(&want, "channelId");
	cb_text(&want, "room");
	cb_text(&want, "attempt");
	cb_uint(&want, 1);
	cb_text(&want, "message");
	/* The bytes to rebroadcast: m1 again (re-encoded, so compared by
	 * what a receiver makes of them). */
	size_t off;
	const uint8_t* rw = NULL;
	size_t rn = 0;
	if (i >= 0 && cb_path(e.ev[i], e.len[i], &off, "payload", "message", NULL) &&
	    cb_string(e.ev[i], e.len[i], off, 2, &rw, &rn)) {
		cb_bytes(&want, rw, rn);
		CHECK_BYTES(e.ev[i], e.len[i], &want);
		void* rx = new_manager();
		SdsUnwrapResult* res = NULL;
		char* err = NULL;
		CHECK_INT(SdsUnwrapReceivedMessageBinary(rx, rw, rn, &res, &err), RET_OK);
		if (res) {
			CHECK_STRN(res->messageId, res->messageIdLen, "m1");
			CHECK(res->contentLen == 6 && memcmp(res->content, "lonely", 6) == 0);
		}
		SdsFree(res);
		SdsFree(err);
		cleanup(rx);
	} else {
		CHECK(!"message_resend without payload.message");
	}
	CHECK(cev_wait(&e, "message_failed", 1, 5000));
	i = cev_nth(&e, "message_failed", 0);
	cb_free(&want);
	ev_message(&want, "message_failed", "m1", "room");
	if (i >= 0) CHECK_BYTES(e.ev[i], e.len[i], &want);
	/* The empty request {} is accepted too; starting again does nothing. */
	cb_free(&r);
	cb_hex(&r, "a0");
	CHECK_INT(call(sds_start_periodic_tasks, a, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(sds_destroy(a), RET_OK);
	CHECK_INT(e.bad, 0);
	free(w);
	cb_free(&r);
	cb_free(&want);
	capture_reset(&c);
	cev_free(&e);
}

TEST(cbor_repair_request) {
	/* SDS-R, configured in CBOR: bob misses m1 and, sending nothing, his
	 * periodic tasks hand the request out in a sync message when T_req
	 * comes (repair_request); alice, m1's sender, answers it. */
	Cbor r = {0}, want = {0};
	Capture c = {0};
	cb_map(&r, 1);
	cb_text(&r, "config");
	cb_map(&r, 5);
	cb_text(&r, "participantId");
	cb_text(&r, "bob");
	cb_text(&r, "repairTMinMs");
	cb_uint(&r, 50);
	cb_text(&r, "repairTMaxMs");
	cb_uint(&r, 50);
	cb_text(&r, "repairPolicy");
	cb_text(&r, "prompt");
	cb_text(&r, "repairRequestSync");
	cb_hex(&r, "f5"); /* true */
	void* b = create(&r, &c);
	ASSERT(b != NULL);
	cb_free(&r);
	capture_reset(&c);
	void* a = cbor_manager("alice");
	CEvents e, ea;
	cev_init(&e);
	cev_init(&ea);
	listen_all(b, &e);
	listen_all(a, &ea);
	uint8_t *m1 = NULL, *m2 = NULL;
	long n1 = cwrap(a, "one", "m1", "room", &m1);
	long n2 = cwrap(a, "two", "m2", "room", &m2);
	ASSERT(n1 > 0 && n2 > 0);
	CHECK_INT(cunwrap(b, m2, n2, &c), RET_OK);
	capture_reset(&c);
	req_unit(&r);
	CHECK_INT(call(sds_start_periodic_tasks, b, &r, &c), RET_OK);
	capture_reset(&c);
	CHECK(cev_wait(&e, "repair_request", 1, 5000));
	int i = cev_nth(&e, "repair_request", 0);
	size_t off;
	const uint8_t *id = NULL, *msg = NULL;
	size_t idn = 0, mn = 0;
	if (i >= 0 && cb_path(e.ev[i], e.len[i], &off, "payload", "messageId", NULL) &&
	    cb_string(e.ev[i], e.len[i], off, 3, &id, &idn) &&
	    cb_path(e.ev[i], e.len[i], &off, "payload", "message", NULL) &&
	    cb_string(e.ev[i], e.len[i], off, 2, &msg, &mn)) {
		env(&want, "repair_request");
		cb_map(&want, 4);
		cb_text(&want, "messageId");
		cb_textn(&want, (const char*)id, idn);
		cb_text(&want, "channelId");
		cb_text(&want, "room");
		cb_text(&want, "requested");
		cb_array(&want, 1);
		cb_text(&want, "m1");
		cb_text(&want, "message");
		cb_bytes(&want, msg, mn);
		CHECK_BYTES(e.ev[i], e.len[i], &want);
		CHECK(idn > 5 && memcmp(id, "sync-", 5) == 0);
		CHECK_INT(call(sds_start_periodic_tasks, a, &r, &c), RET_OK);
		capture_reset(&c);
		CHECK_INT(cunwrap(a, msg, mn, &c), RET_OK);
		capture_reset(&c);
		CHECK(cev_wait(&ea, "repair_ready", 1, 5000));
	} else {
		CHECK(!"repair_request without payload.messageId or payload.message");
	}
	CHECK_INT(sds_destroy(a), RET_OK);
	CHECK_INT(sds_destroy(b), RET_OK);
	CHECK_INT(e.bad + ea.bad, 0);
	free(m1), free(m2);
	cb_free(&r);
	cb_free(&want);
	cev_free(&e);
	cev_free(&ea);
}

static void* create_store(const char* path, Capture* c) {
	Cbor r = {0};
	cb_map(&r, 1);
	cb_text(&r, "config");
	cb_map(&r, 2);
	cb_text(&r, "participantId");
	cb_text(&r, "alice");
	cb_text(&r, "storePath");
	cb_text(&r, path);
	void* ctx = create(&r, c);
	cb_free(&r);
	return ctx;
}

TEST(cbor_store_path) {
	/* Persistence from the CBOR generation: "storePath" in the config; a
	 * manager created later over the same file resumes the channel (its
	 * next message names the earlier one in its causal history). */
	char path[] = "/tmp/sds-cbor-XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	close(fd);
	unlink(path);
	Capture c = {0};
	void* a = create_store(path, &c);
	ASSERT(a != NULL);
	uint8_t* w = NULL;
	CHECK(cwrap(a, "one", "m1", "room", &w) > 0);
	free(w);
	CHECK_INT(sds_destroy(a), RET_OK);

	void* b = create_store(path, &c);
	ASSERT(b != NULL);
	long n = cwrap(b, "two", "m2", "room", &w);
	ASSERT(n > 0);
	void* rx = cbor_manager("rx");
	CHECK_INT(cunwrap(rx, w, (size_t)n, &c), RET_OK);
	size_t off;
	const uint8_t* id;
	size_t idn;
	int major;
	uint64_t count;
	ASSERT(cb_path((const uint8_t*)c.msg, c.len, &off, "missingDeps", NULL));
	ASSERT(cb_read_head((const uint8_t*)c.msg, c.len, &off, &major, &count));
	CHECK(major == 4 && count == 1);
	CHECK(cb_map_get((const uint8_t*)c.msg, c.len, off, "messageId", &off) &&
	      cb_string((const uint8_t*)c.msg, c.len, off, 3, &id, &idn) && idn == 2 && memcmp(id, "m1", 2) == 0);
	free(w);
	CHECK_INT(sds_destroy(rx), RET_OK);
	CHECK_INT(sds_destroy(b), RET_OK);
	unlink(path);

	/* A store that cannot be opened fails the creation. */
	CHECK(create_store("/nonexistent/dir/x.db", &c) == NULL);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "Failed creating reliability manager: ");
	capture_reset(&c);
}

/* A host persistence that counts the calls and keeps nothing. */
typedef struct {
	int meta, history, load, drop, hint;
} Counts;

static int p_meta(void* ud, const char* ch, size_t chLen, const SdsBytes* pk, const SdsBytes* pv, size_t np,
                  const SdsBytes* dk, size_t nd) {
	((Counts*)ud)->meta++;
	return 0;
}
static int p_history(void* ud, const char* ch, size_t chLen, const SdsBytes* ids, const SdsBytes* msgs, size_t na,
                     const SdsBytes* ev, size_t ne) {
	((Counts*)ud)->history++;
	return 0;
}
static int p_load(void* ud, const char* ch, size_t chLen, SdsLoader* loader) {
	((Counts*)ud)->load++;
	return 0;
}
static int p_drop(void* ud, const char* ch, size_t chLen) {
	((Counts*)ud)->drop++;
	return 0;
}
static int p_hint(void* ud, const char* ch, size_t chLen, const char* id, size_t idLen, const uint8_t* h, size_t hl) {
	((Counts*)ud)->hint++;
	return 0;
}

static void* create_persist(const SdsPersistence* p, const char* storePath, Capture* c) {
	Cbor r = {0};
	cb_map(&r, 1);
	cb_text(&r, "config");
	cb_map(&r, storePath ? 2 : 1);
	cb_text(&r, "persistenceAddr");
	cb_uint(&r, (uint64_t)(uintptr_t)p);
	if (storePath) {
		cb_text(&r, "storePath");
		cb_text(&r, storePath);
	}
	void* ctx = create(&r, c);
	cb_free(&r);
	return ctx;
}

TEST(cbor_host_persistence) {
	Counts n = {0};
	SdsPersistence p = {&n, p_meta, p_history, p_load, p_drop, p_hint};
	Capture c = {0};
	void* ctx = create_persist(&p, NULL, &c);
	ASSERT(ctx != NULL);
	CHECK_INT(c.ret, RET_OK);
	memset(&p, 0, sizeof p); /* copied during sds_create */
	uint8_t* w = NULL;
	CHECK(cwrap(ctx, "one", "m1", "room", &w) > 0);
	free(w);
	CHECK_INT(n.load, 1);   /* the channel was loaded when first used */
	CHECK(n.history >= 1);  /* m1 joined the history */
	Cbor r = {0};
	req_unit(&r);
	CHECK_INT(call(sds_reset, ctx, &r, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(n.drop, 1);   /* reset drops the stored channel */
	cb_free(&r);
	CHECK_INT(sds_destroy(ctx), RET_OK);

	/* A NULL function, or storePath as well: invalid. */
	SdsPersistence q = {&n, p_meta, NULL, p_load, p_drop, p_hint};
	CHECK(create_persist(&q, NULL, &c) == NULL);
	CHECK_INT(c.ret, RET_ERR);
	CHECK_PREFIX(c.msg, c.len, "Failed creating reliability manager: invalid config: persistence function updateHistory is NULL");
	q.updateHistory = p_history;
	CHECK(create_persist(&q, "/tmp/never-created.db", &c) == NULL);
	CHECK_PREFIX(c.msg, c.len, "Failed creating reliability manager: invalid config: storePath cannot be used");
	capture_reset(&c);
}
