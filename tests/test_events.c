/* Event JSON, the unwrap result for the Nim library's own messages, the
 * retrieval-hint provider and mark-dependencies-met. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"
#include "vectors.h"

static void want_ready(char* dst, size_t cap, const char* id, const char* ch) {
	dst[0] = 0;
	appendf(dst, cap, "{\"messageId\":");
	json_string(dst, cap, id, strlen(id));
	appendf(dst, cap, ",\"channelId\":");
	json_string(dst, cap, ch, strlen(ch));
	appendf(dst, cap, ",\"eventType\":\"message_ready\"}");
}

/* The expected unwrap result and events for a fresh receiver of a message
 * of the Nim vectors: every causal-history entry is missing. An entry with
 * a sender id says so ("senderId", which the Nim library leaves out;
 * docs/COMPATIBILITY.md A10), as the binary result does. */
static void vec_expect(const VecMessage* m, char* res, size_t rcap, char* ev, size_t ecap) {
	char deps[4096] = "[";
	for (int i = 0; i < m->historyLen; i++) {
		const VecEntry* h = &m->history[i];
		appendf(deps, sizeof deps, i ? ",{\"messageId\":" : "{\"messageId\":");
		json_string(deps, sizeof deps, h->id, strlen(h->id));
		appendf(deps, sizeof deps, ",\"retrievalHint\":\"");
		base64(deps, sizeof deps, (const uint8_t*)h->hint, h->hintLen);
		appendf(deps, sizeof deps, "\"");
		if (h->sender[0]) {
			appendf(deps, sizeof deps, ",\"senderId\":");
			json_string(deps, sizeof deps, h->sender, strlen(h->sender));
		}
		appendf(deps, sizeof deps, "}");
	}
	appendf(deps, sizeof deps, "]");

	res[0] = 0;
	appendf(res, rcap, "{\"message\":[");
	for (size_t i = 0; i < m->contentLen; i++)
		appendf(res, rcap, i ? ",%u" : "%u", (unsigned char)m->content[i]);
	appendf(res, rcap, "],\"channelId\":");
	json_string(res, rcap, m->channelId, strlen(m->channelId));
	appendf(res, rcap, ",\"missingDeps\":%s}", deps);

	ev[0] = 0;
	if (m->historyLen > 0) {
		appendf(ev, ecap, "{\"eventType\":\"missing_dependencies\",\"messageId\":");
		json_string(ev, ecap, m->messageId, strlen(m->messageId));
		appendf(ev, ecap, ",\"channelId\":");
		json_string(ev, ecap, m->channelId, strlen(m->channelId));
		appendf(ev, ecap, ",\"missingDeps\":%s}", deps);
	} else if (m->contentLen > 0) {
		want_ready(ev, ecap, m->messageId, m->channelId);
	} /* empty content: a sync message, no event */
}

/* Messages produced by the Nim library, unwrapped by a fresh manager:
 * result and events byte for byte as the Nim library would give them
 * (plus the sender ids, see vec_expect). */
TEST(nim_vectors_unwrap) {
	for (int i = 0; i < VEC_MESSAGES; i++) {
		const VecMessage* m = &vec_messages[i];
		Events ev;
		void* ctx = new_listened_manager(&ev);
		char want[8192], wantEv[8192];
		vec_expect(m, want, sizeof want, wantEv, sizeof wantEv);
		char* res = unwrap(ctx, (const uint8_t*)m->wire, m->wireLen);
		if (res == NULL || strcmp(res, want) != 0)
			harness_fail(__FILE__, __LINE__, "vector %s:\n   got %s\n  want %s", m->description,
			             res ? res : "(error)", want);
		CHECK_INT(ev.n, wantEv[0] ? 1 : 0);
		if (ev.n == 1 && strcmp(ev.ev[0], wantEv) != 0)
			harness_fail(__FILE__, __LINE__, "vector %s event:\n   got %s\n  want %s", m->description,
			             ev.ev[0], wantEv);
		free(res);
		cleanup(ctx);
		events_clear(&ev);
	}
}

/* The same messages through the binary fast path. */
TEST(nim_vectors_unwrap_binary) {
	for (int i = 0; i < VEC_MESSAGES; i++) {
		const VecMessage* m = &vec_messages[i];
		void* ctx = new_manager();
		SdsUnwrapResult* r = NULL;
		char* err = NULL;
		CHECK_INT(SdsUnwrapReceivedMessageBinary(ctx, m->wire, m->wireLen, &r, &err), RET_OK);
		CHECK(err == NULL);
		if (r == NULL) continue;
		CHECK_STRN(r->messageId, r->messageIdLen, m->messageId);
		CHECK_STRN(r->channelId, r->channelIdLen, m->channelId);
		CHECK_STRN(r->senderId, r->senderIdLen, m->senderId);
		CHECK(r->contentLen == m->contentLen && memcmp(r->content, m->content, m->contentLen) == 0);
		CHECK(r->content[r->contentLen] == 0);
		CHECK_INT(r->missingDepsCount, m->historyLen);
		for (int j = 0; j < m->historyLen && j < (int)r->missingDepsCount; j++) {
			const SdsHistoryEntry* e = &r->missingDeps[j];
			CHECK_STRN(e->messageId, e->messageIdLen, m->history[j].id);
			CHECK_STRN(e->senderId, e->senderIdLen, m->history[j].sender);
			CHECK(e->retrievalHintLen == m->history[j].hintLen &&
			      memcmp(e->retrievalHint, m->history[j].hint, e->retrievalHintLen) == 0);
		}
		CHECK_INT(r->wireFormat, SDS_WIRE_NIM);
		if (m->contentLen == 0) {
			CHECK_INT(r->kind, SDS_MESSAGE_SYNC);
			CHECK_INT(r->flags, 0);
		} else {
			CHECK_INT(r->kind, SDS_MESSAGE_REGULAR);
			CHECK_INT(r->flags, m->historyLen ? 0 : SDS_UNWRAP_DELIVERED);
		}
		SdsFree(r);
		/* The second time it is a duplicate (a buffered one lists its
		 * dependencies again). */
		r = NULL;
		CHECK_INT(SdsUnwrapReceivedMessageBinary(ctx, m->wire, m->wireLen, &r, NULL), RET_OK);
		if (r && m->contentLen > 0) CHECK(r->flags & SDS_UNWRAP_DUPLICATE);
		SdsFree(r);
		cleanup(ctx);
	}
}

/* message_ready, message_sent and missing_dependencies between two
 * managers, exactly and in order. */
TEST(events_exact) {
	Events ea, eb;
	void* a = new_listened_manager(&ea);
	void* b = new_listened_manager(&eb);

	uint8_t *w1, *w2, *w3;
	long n1 = wrap(a, "one", "a1", "room", &w1);
	long n2 = wrap(a, "two", "a2", "room", &w2);
	CHECK_INT(ea.n, 0); /* wrapping raises nothing */

	/* b gets a2 first: a1 is missing. */
	char* res = unwrap(b, w2, n2);
	CHECK_STR(res, "{\"message\":[116,119,111],\"channelId\":\"room\",\"missingDeps\":[{\"messageId\":\"a1\",\"retrievalHint\":\"\"}]}");
	free(res);
	ASSERT(eb.n == 1);
	CHECK_STR(eb.ev[0], "{\"eventType\":\"missing_dependencies\",\"messageId\":\"a2\",\"channelId\":\"room\",\"missingDeps\":[{\"messageId\":\"a1\",\"retrievalHint\":\"\"}]}");
	/* a1 arrives: both are delivered, in causal order. */
	res = unwrap(b, w1, n1);
	CHECK_STR(res, "{\"message\":[111,110,101],\"channelId\":\"room\",\"missingDeps\":[]}");
	free(res);
	ASSERT(eb.n == 3);
	CHECK_STR(eb.ev[1], "{\"messageId\":\"a1\",\"channelId\":\"room\",\"eventType\":\"message_ready\"}");
	CHECK_STR(eb.ev[2], "{\"messageId\":\"a2\",\"channelId\":\"room\",\"eventType\":\"message_ready\"}");

	/* b's reply names a1 and a2: a learns both were received. */
	long n3 = wrap(b, "three", "b1", "room", &w3);
	res = unwrap(a, w3, n3);
	free(res);
	ASSERT(ea.n == 3);
	CHECK_STR(ea.ev[0], "{\"messageId\":\"a1\",\"channelId\":\"room\",\"eventType\":\"message_sent\"}");
	CHECK_STR(ea.ev[1], "{\"messageId\":\"a2\",\"channelId\":\"room\",\"eventType\":\"message_sent\"}");
	CHECK_STR(ea.ev[2], "{\"messageId\":\"b1\",\"channelId\":\"room\",\"eventType\":\"message_ready\"}");
	CHECK_INT(ea.bad + eb.bad, 0);

	/* Replacing the callback: events go to the new one; NULL drops them. */
	Events other;
	events_init(&other);
	SdsSetEventCallback(a, events_cb, &other);
	uint8_t* w4;
	long n4 = wrap(b, "four", "b2", "room", &w4);
	free(unwrap(a, w4, n4));
	CHECK_INT(ea.n, 3);
	CHECK_INT(other.n, 1);
	SdsSetEventCallback(a, NULL, NULL);
	uint8_t* w5;
	long n5 = wrap(b, "five", "b3", "room", &w5);
	free(unwrap(a, w5, n5));
	CHECK_INT(other.n, 1);

	free(w1), free(w2), free(w3), free(w4), free(w5);
	cleanup(a);
	cleanup(b);
	events_clear(&ea);
	events_clear(&eb);
	events_clear(&other);
}

/* Ids are escaped as Nim's std/json escapes them. */
TEST(events_escaping) {
	static const char* ids[] = {
	    "quote\"back\\slash",
	    "ctl\x01\x07\b\t\n\v\f\r\x0e\x1f.",
	    "del\x7f utf8 \xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80",
	    "invalid utf8 \xff\xfe\xc3",
	    "</script>&'",
	};
	Events ev;
	void* a = new_manager();
	void* b = new_listened_manager(&ev);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char channel[64];
		snprintf(channel, sizeof channel, "ch %s", ids[i]);
		uint8_t* w;
		long n = wrap(a, "x", ids[i], channel, &w);
		ASSERT(n > 0);
		events_clear(&ev);
		char* res = unwrap(b, w, n);
		char want[1024] = "{\"message\":[120],\"channelId\":";
		json_string(want, sizeof want, channel, strlen(channel));
		appendf(want, sizeof want, ",\"missingDeps\":[]}");
		CHECK_STR(res, want);
		want_ready(want, sizeof want, ids[i], channel);
		CHECK(ev.n == 1);
		if (ev.n == 1) CHECK_STR(ev.ev[0], want);
		free(res);
		free(w);
	}
	/* Spot-check the escaping itself, independently of json_string. */
	char want[256] = "";
	json_string(want, sizeof want, ids[1], strlen(ids[1]));
	CHECK_STRN(want, strlen(want), "\"ctl\\u0001\\u0007\\b\\t\\n\\u000b\\f\\r\\u000E\\u001F.\"");
	cleanup(a);
	cleanup(b);
	events_clear(&ev);
}

/* ---- retrieval hints ---- */

typedef struct {
	pthread_mutex_t mu;
	int calls;
	char asked[64][32];
	int mode; /* 0: "hint-<id>", 1: NULL, 2: non-NULL empty, 3: binary */
} Hints;

static void hint_provider(const char* id, char** hint, size_t* len, void* ud) {
	Hints* h = ud;
	pthread_mutex_lock(&h->mu);
	if (h->calls < 64) snprintf(h->asked[h->calls], sizeof h->asked[0], "%s", id);
	h->calls++;
	int mode = h->mode;
	pthread_mutex_unlock(&h->mu);
	switch (mode) {
	case 0:
		*len = strlen(id) + 5;
		*hint = malloc(*len + 1);
		sprintf(*hint, "hint-%s", id);
		break;
	case 1: break;
	case 2:
		*hint = malloc(1); /* owned by the library even with length 0 */
		*len = 0;
		break;
	case 3:
		*len = 3;
		*hint = malloc(3);
		memcpy(*hint, "\x00\xff\x80", 3);
		break;
	}
}

TEST(retrieval_hints) {
	Hints h = {.mu = PTHREAD_MUTEX_INITIALIZER};
	Events ev;
	void* a = new_manager();
	void* b = new_listened_manager(&ev);
	SdsSetRetrievalHintProvider(a, hint_provider, &h);

	uint8_t *w1, *w2, *w3;
	long n1 = wrap(a, "x", "m1", "c", &w1);
	CHECK_INT(h.calls, 0); /* nothing logged yet */
	long n2 = wrap(a, "y", "m2", "c", &w2);
	CHECK_INT(h.calls, 1);
	CHECK_STR(h.asked[0], "m1");
	long n3 = wrap(a, "z", "m3", "c", &w3);
	CHECK_INT(h.calls, 2); /* m1's hint is cached; m2 is asked */
	CHECK_STR(h.asked[1], "m2");

	/* b misses m1 and m2: their hints in base64. */
	char* res = unwrap(b, w3, n3);
	CHECK_STR(res, "{\"message\":[122],\"channelId\":\"c\",\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"aGludC1tMQ==\"},{\"messageId\":\"m2\",\"retrievalHint\":\"aGludC1tMg==\"}]}");
	CHECK(ev.n == 1);
	if (ev.n == 1)
		CHECK_STR(ev.ev[0], "{\"eventType\":\"missing_dependencies\",\"messageId\":\"m3\",\"channelId\":\"c\",\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"aGludC1tMQ==\"},{\"messageId\":\"m2\",\"retrievalHint\":\"aGludC1tMg==\"}]}");
	free(res);

	/* The binary result carries the hint bytes. */
	void* c = new_manager();
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(c, w3, n3, &r, NULL), RET_OK);
	if (r) {
		CHECK_INT(r->missingDepsCount, 2);
		CHECK(r->missingDepsCount == 2 && r->missingDeps[1].retrievalHintLen == 7 &&
		      memcmp(r->missingDeps[1].retrievalHint, "hint-m2", 7) == 0);
	}
	SdsFree(r);
	cleanup(c);

	/* NULL, empty and binary hints; the provider's buffers are freed by
	 * the library (valgrind checks). */
	h.mode = 1;
	uint8_t* w;
	long n = wrap(a, "x", "m4", "c", &w);
	free(w);
	CHECK_INT(h.calls, 3);
	h.mode = 2;
	n = wrap(a, "x", "m5", "c", &w); /* asks m3, m4: no hint cached */
	free(w);
	CHECK_INT(h.calls, 5);
	h.mode = 3;
	n = wrap(a, "x", "m6", "c", &w); /* asks m3, m4, m5 */
	CHECK_INT(h.calls, 8);
	events_clear(&ev);
	void* d = new_manager();
	SdsSetEventCallback(d, events_cb, &ev);
	res = unwrap(d, w, n);
	CHECK(res != NULL && strstr(res, "{\"messageId\":\"m5\",\"retrievalHint\":\"AP+A\"}") != NULL);
	free(res);
	free(w);

	/* Removing the provider. */
	SdsSetRetrievalHintProvider(a, NULL, NULL);
	n = wrap(a, "x", "m7", "c", &w);
	free(w);
	CHECK_INT(h.calls, 8);

	free(w1), free(w2), free(w3);
	(void)n1, (void)n2;
	cleanup(a);
	cleanup(b);
	cleanup(d);
	events_clear(&ev);
}

TEST(mark_dependencies_met) {
	Events ev;
	void* a = new_manager();
	void* b = new_listened_manager(&ev);
	uint8_t *w1, *w2, *w3;
	long n1 = wrap(a, "1", "m1", "c", &w1);
	long n2 = wrap(a, "2", "m2", "c", &w2);
	long n3 = wrap(a, "3", "m3", "c", &w3);
	free(unwrap(b, w3, n3)); /* waits for m1, m2 */
	CHECK_INT(ev.n, 1);
	Capture c = {0};
	char* ids[] = {"m1", "m2"};
	CHECK_INT(SdsMarkDependenciesMet(b, ids, 2, "c", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");
	ASSERT(ev.n == 2);
	CHECK_STR(ev.ev[1], "{\"messageId\":\"m3\",\"channelId\":\"c\",\"eventType\":\"message_ready\"}");
	/* m1 now counts as present: it is not reported missing again. */
	char* res = unwrap(b, w2, n2);
	CHECK_STR(res, "{\"message\":[50],\"channelId\":\"c\",\"missingDeps\":[]}");
	free(res);
	capture_reset(&c);
	free(w1), free(w2), free(w3);
	(void)n1;
	cleanup(a);
	cleanup(b);
	events_clear(&ev);
}
