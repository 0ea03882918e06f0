/* How long callback buffers stay readable (the access pattern of
 * sds-go-bindings), callbacks that call back into the library, and many
 * create/use/cleanup cycles. Run under valgrind, a buffer freed too early
 * shows up as an invalid read here. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

/* sds-go-bindings' callback: store ret, msg and len in a response struct;
 * the Go side reads msg with C.GoStringN after the call has returned. */
typedef struct {
	int ret;
	char* msg;
	size_t len;
} SdsResp;

static void go_callback(int ret, const char* msg, size_t len, void* resp) {
	if (resp != NULL) {
		SdsResp* m = resp;
		m->ret = ret;
		m->msg = (char*)msg;
		m->len = len;
	}
}

/* C.GoStringN: copy len bytes. */
static char* go_string_n(const char* p, size_t n) {
	char* s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

TEST(go_bindings_access_pattern) {
	SdsResp resp = {0};
	void* a = SdsNewReliabilityManager(go_callback, &resp);
	ASSERT(a != NULL);
	char* s = go_string_n(resp.msg, resp.len);
	CHECK_STR(s, "");
	free(s);
	void* b = SdsNewReliabilityManager(go_callback, &resp);

	/* Wrap: parse the text after the call returned. */
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsWrapOutgoingMessage(a, "hi", 2, "m1", "c1", go_callback, &resp), RET_OK);
	CHECK_INT(resp.ret, RET_OK);
	s = go_string_n(resp.msg, resp.len);
	uint8_t* wire = malloc(resp.len);
	long n = parse_comma(s, strlen(s), wire, resp.len);
	CHECK(n > 0);
	free(s);

	/* Unwrap on b; then the same thread works on a, which must not touch
	 * b's buffer, and other threads could work on b (see threads tests). */
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsUnwrapReceivedMessage(b, wire, n, go_callback, &resp), RET_OK);
	SdsResp kept = resp;
	for (int i = 0; i < 40; i++) {
		char id[16];
		sprintf(id, "x%d", i);
		SdsResp other = {0};
		SdsWrapOutgoingMessage(a, "x", 1, id, "c1", go_callback, &other);
	}
	s = go_string_n(kept.msg, kept.len);
	CHECK_STR(s, "{\"message\":[104,105],\"channelId\":\"c1\",\"missingDeps\":[]}");
	free(s);

	/* Errors are read the same way. */
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsWrapOutgoingMessage(a, "hi", 2, "m1", "", go_callback, &resp), RET_ERR);
	s = go_string_n(resp.msg, resp.len);
	CHECK_STR(s, "libsds error: channel ID is empty string");
	free(s);
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsUnwrapReceivedMessage(b, "zz", 2, go_callback, &resp), RET_OK);
	CHECK_INT(resp.ret, RET_ERR);
	s = go_string_n(resp.msg, resp.len);
	CHECK(strncmp(s, "error processing UNWRAP_MESSAGE request: ", 41) == 0);
	free(s);
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsResetReliabilityManager(b, go_callback, &resp), RET_OK);
	s = go_string_n(resp.msg, resp.len);
	CHECK_STR(s, "");
	free(s);
	char* ids[] = {"m1"};
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsMarkDependenciesMet(b, ids, 1, "gone", go_callback, &resp), RET_OK);
	s = go_string_n(resp.msg, resp.len);
	CHECK(strncmp(s, "error processing MARK_DEPENDENCIES_MET request: ", 48) == 0);
	free(s);
	memset(&resp, 0, sizeof resp);
	CHECK_INT(SdsCleanupReliabilityManager(a, go_callback, &resp), RET_OK);
	CHECK(resp.msg == NULL && resp.len == 0);
	CHECK_INT(SdsCleanupReliabilityManager(b, go_callback, &resp), RET_OK);
	free(wire);
}

/* A buffer survives the thread's next call on the manager, then waits in
 * the manager's queue (the 64 most recently released buffers at least). */
static Capture* inner_expect;
static int inner_ok;
static void check_previous_cb(int ret, const char* msg, size_t len, void* ud) {
	capture_cb(ret, msg, len, ud);
	inner_ok = capture_intact(inner_expect);
}

TEST(buffer_survives_next_call) {
	void* a = new_manager();
	Capture first = {0}, second = {0};
	CHECK_INT(SdsWrapOutgoingMessage(a, "x", 1, "m0", "c", capture_cb, &first), RET_OK);
	CHECK(capture_intact(&first));
	/* During the next call... */
	inner_expect = &first;
	CHECK_INT(SdsWrapOutgoingMessage(a, "x", 1, "m1", "c", check_previous_cb, &second), RET_OK);
	CHECK(inner_ok);
	/* ... after it (queued now), and while 63 newer buffers are released. */
	CHECK(capture_intact(&first));
	for (int i = 0; i < 63; i++) {
		char id[16];
		sprintf(id, "n%d", i);
		Capture c = {0};
		SdsWrapOutgoingMessage(a, "x", 1, id, "c", capture_cb, &c);
		capture_reset(&c);
		CHECK(capture_intact(&first));
	}
	capture_reset(&first);
	capture_reset(&second);
	cleanup(a);
}

/* ---- re-entrancy ---- */

typedef struct {
	void* self;
	void* peer;
	int replies;
	int cleanupSelf;
	int nestedResultsOk;
	Capture nested;
	const char* eventMsg;
	char* eventCopy;
} Reentrant;

/* On message_ready: reply on the same manager, from inside the callback,
 * and feed the reply to the peer; optionally clean the manager up. */
static void reentrant_event(int ret, const char* msg, size_t len, void* ud) {
	Reentrant* r = ud;
	(void)ret;
	if (strstr(msg, "message_ready") == NULL) return;
	r->eventMsg = msg;
	free(r->eventCopy);
	r->eventCopy = go_string_n(msg, len);
	char id[32];
	sprintf(id, "reply-%d", r->replies++);
	capture_reset(&r->nested);
	if (SdsWrapOutgoingMessage(r->self, "re", 2, id, "c", capture_cb, &r->nested) == RET_OK &&
	    r->nested.ret == RET_OK) {
		uint8_t* w = malloc(r->nested.len);
		long n = parse_comma(r->nested.msg, r->nested.len, w, r->nested.len);
		Capture pc = {0};
		SdsUnwrapReceivedMessage(r->peer, w, n, capture_cb, &pc);
		r->nestedResultsOk += pc.ret == RET_OK;
		capture_reset(&pc);
		free(w);
	}
	/* The event's own buffer is still intact after the nested calls. */
	if (memcmp(r->eventMsg, r->eventCopy, len + 1) != 0)
		harness_fail(__FILE__, __LINE__, "event buffer changed by nested calls");
	if (r->cleanupSelf) {
		Capture c = {0};
		CHECK_INT(SdsCleanupReliabilityManager(r->self, capture_cb, &c), RET_OK);
		capture_reset(&c);
		r->cleanupSelf = 0;
	}
}

TEST(callbacks_call_back_in) {
	void* a = new_manager();
	void* b = new_manager();
	Reentrant rb = {.self = b, .peer = a};
	SdsSetEventCallback(b, reentrant_event, &rb);
	uint8_t* w;
	long n = wrap(a, "hi", "m1", "c", &w);
	char* res = unwrap(b, w, n);
	CHECK_STR(res, "{\"message\":[104,105],\"channelId\":\"c\",\"missingDeps\":[]}");
	CHECK_INT(rb.replies, 1);
	CHECK_INT(rb.nestedResultsOk, 1);
	/* The event and nested result buffers outlive the outer call. */
	CHECK(memcmp(rb.eventMsg, rb.eventCopy, strlen(rb.eventCopy) + 1) == 0);
	CHECK(capture_intact(&rb.nested));
	free(res);
	free(w);

	/* Clean b up from inside its own event callback: the outer unwrap
	 * completes normally, then b is gone. */
	rb.cleanupSelf = 1;
	n = wrap(a, "again", "m2", "c", &w);
	Capture c = {0};
	CHECK_INT(SdsUnwrapReceivedMessage(b, w, n, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(rb.replies, 2);
	capture_reset(&c);
	CHECK_INT(SdsUnwrapReceivedMessage(b, w, n, capture_cb, &c), RET_ERR);
	CHECK_INT(c.calls, 0);
	free(w);
	free(rb.eventCopy);
	capture_reset(&rb.nested);
	cleanup(a);
}

/* The result callback and the hint provider call into the library too. */
static void* result_peer;
static int result_nested;
static void result_reentrant(int ret, const char* msg, size_t len, void* ud) {
	capture_cb(ret, msg, len, ud);
	if (ret != RET_OK) return;
	uint8_t* w = malloc(len);
	long n = parse_comma(msg, len, w, len);
	Capture c = {0};
	if (SdsUnwrapReceivedMessage(result_peer, w, n, capture_cb, &c) == RET_OK && c.ret == RET_OK)
		result_nested++;
	capture_reset(&c);
	free(w);
}

static void* hint_ctx;
static void reentrant_hint(const char* id, char** hint, size_t* len, void* ud) {
	(void)ud;
	/* A wrap on the same manager, from inside its own provider. */
	Capture c = {0};
	char other[64];
	snprintf(other, sizeof other, "from-hint-%s", id);
	SdsWrapOutgoingMessage(hint_ctx, "h", 1, other, "elsewhere", capture_cb, &c);
	capture_reset(&c);
	*hint = strdup(id);
	*len = strlen(id);
}

TEST(result_callback_and_provider_call_back_in) {
	void* a = new_manager();
	void* b = new_manager();
	result_peer = b;
	Capture c = {0};
	CHECK_INT(SdsWrapOutgoingMessage(a, "x", 1, "m1", "c", result_reentrant, &c), RET_OK);
	CHECK_INT(result_nested, 1);
	CHECK(capture_intact(&c));
	capture_reset(&c);
	hint_ctx = a;
	SdsSetRetrievalHintProvider(a, reentrant_hint, NULL);
	CHECK_INT(SdsWrapOutgoingMessage(a, "x", 1, "m2", "c", result_reentrant, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_INT(result_nested, 2);
	capture_reset(&c);
	cleanup(a);
	cleanup(b);
}

/* 10,000 create / wrap / unwrap / cleanup cycles in one process. */
TEST(create_cleanup_cycles) {
	int cycles = scale(10000);
	void* prev = NULL;
	for (int i = 0; i < cycles; i++) {
		void* a = new_manager();
		if (a == NULL) break;
		CHECK(a != prev);
		Events ev;
		events_init(&ev);
		SdsSetEventCallback(a, events_cb, &ev);
		SdsResp resp = {0};
		CHECK_INT(SdsWrapOutgoingMessage(a, "payload", 7, "m", "c", go_callback, &resp), RET_OK);
		CHECK_INT(resp.ret, RET_OK);
		/* An own message comes back: a duplicate. */
		uint8_t* w = malloc(resp.len);
		long n = parse_comma(resp.msg, resp.len, w, resp.len);
		SdsResp r2 = {0};
		CHECK_INT(SdsUnwrapReceivedMessage(a, w, n, go_callback, &r2), RET_OK);
		CHECK_INT(r2.ret, RET_OK);
		free(w);
		cleanup(a);
		events_clear(&ev);
		prev = a;
	}
}
