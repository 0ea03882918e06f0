/* The binary fast path: SdsWrapOutgoingMessageBinary and
 * SdsUnwrapReceivedMessageBinary. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"
#include "vectors.h"

TEST(binary_wrap_unwrap) {
	void* a = new_manager_config("{\"participantId\":\"alice\"}");
	void* b = new_manager();
	Events ev;
	events_init(&ev);
	SdsSetEventCallback(b, events_cb, &ev);

	uint8_t* w1 = NULL;
	size_t n1 = 0;
	char* err = (char*)"untouched";
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "hello", 5, "m1", "c1", &w1, &n1, &err), RET_OK);
	CHECK(err == NULL);
	ASSERT(w1 != NULL && n1 > 0);
	CHECK(w1[n1] == 0);
	const uint8_t* v;
	size_t vl;
	CHECK(pb_field(w1, n1, 1, &v, &vl, NULL) && vl == 2 && memcmp(v, "m1", 2) == 0);
	CHECK(pb_field(w1, n1, 7, &v, &vl, NULL) && vl == 5 && memcmp(v, "alice", 5) == 0);

	/* The text and binary paths agree: the text result parses to a
	 * message of the same shape. */
	uint8_t* wt;
	long nt = wrap(a, "hello", "m2", "c1", &wt);
	CHECK(nt > 0 && (size_t)nt > n1); /* it also names m1 */
	CHECK_INT(pb_count(wt, nt, 3), 1);

	uint8_t* w3 = NULL;
	size_t n3 = 0;
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "x", 1, "m3", "c1", &w3, &n3, NULL), RET_OK);

	/* b gets m3 first: m1 and m2 missing, with alice as their sender. */
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b, w3, n3, &r, &err), RET_OK);
	ASSERT(r != NULL);
	CHECK_STRN(r->messageId, r->messageIdLen, "m3");
	CHECK_STRN(r->channelId, r->channelIdLen, "c1");
	CHECK_STRN(r->senderId, r->senderIdLen, "alice");
	CHECK(r->contentLen == 1 && r->content[0] == 'x' && r->content[1] == 0);
	CHECK_INT(r->flags, 0);
	CHECK_INT(r->kind, SDS_MESSAGE_REGULAR);
	CHECK_INT(r->wireFormat, SDS_WIRE_NIM);
	ASSERT(r->missingDepsCount == 2);
	CHECK_STRN(r->missingDeps[0].messageId, r->missingDeps[0].messageIdLen, "m1");
	CHECK_STRN(r->missingDeps[0].senderId, r->missingDeps[0].senderIdLen, "alice");
	CHECK_INT(r->missingDeps[0].retrievalHintLen, 0);
	CHECK_STRN(r->missingDeps[1].messageId, r->missingDeps[1].messageIdLen, "m2");
	SdsFree(r);
	/* The events are those of the text path. */
	CHECK_INT(ev.n, 1);
	CHECK(ev.n == 1 && strstr(ev.ev[0], "\"eventType\":\"missing_dependencies\",\"messageId\":\"m3\"") != NULL);

	/* m1 and m2 arrive: delivered; m3 follows by event. */
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b, w1, n1, &r, NULL), RET_OK);
	CHECK(r && r->flags == SDS_UNWRAP_DELIVERED && r->missingDepsCount == 0 && r->missingDeps == NULL);
	SdsFree(r);
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b, wt, nt, &r, NULL), RET_OK);
	CHECK(r && r->flags == SDS_UNWRAP_DELIVERED);
	SdsFree(r);
	CHECK_INT(events_count(&ev, "message_ready"), 3);
	/* Again: a duplicate. */
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b, w1, n1, &r, NULL), RET_OK);
	CHECK(r && r->flags == SDS_UNWRAP_DUPLICATE);
	SdsFree(r);

	SdsFree(w1);
	SdsFree(w3);
	free(wt);
	cleanup(a);
	cleanup(b);
	events_clear(&ev);
}

/* Each binary wrap is sized after the previous one: a message that
 * outgrows it still comes out whole. */
TEST(binary_wrap_sizes) {
	void* a = new_manager();
	void* b = new_manager();
	static char big[20000];
	memset(big, 'b', sizeof big);
	const size_t sizes[] = {1, 1, 5000, 20000, 10, 20000, 20000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char id[16];
		sprintf(id, "s%zu", i);
		uint8_t* w = NULL;
		size_t n = 0;
		CHECK_INT(SdsWrapOutgoingMessageBinary(a, big, sizes[i], id, "c", &w, &n, NULL), RET_OK);
		if (!w) continue;
		CHECK(w[n] == 0);
		const uint8_t* v;
		size_t vl;
		CHECK(pb_field(w, n, 5, &v, &vl, NULL) && vl == sizes[i] && memcmp(v, big, vl) == 0);
		SdsUnwrapResult* r = NULL;
		CHECK_INT(SdsUnwrapReceivedMessageBinary(b, w, n, &r, NULL), RET_OK);
		CHECK(r && r->contentLen == sizes[i] && (r->flags & SDS_UNWRAP_DELIVERED));
		SdsFree(r);
		SdsFree(w);
	}
	cleanup(a);
	cleanup(b);
}

TEST(binary_errors) {
	void* a = new_manager();
	uint8_t* w = (uint8_t*)"x";
	size_t n = 7;
	char* err = NULL;
#define CHECK_BIN_ERR(call, reason)                                            \
	do {                                                                       \
		err = NULL;                                                            \
		CHECK_INT(call, RET_ERR);                                              \
		CHECK_STR(err, reason);                                                \
		SdsFree(err);                                                          \
	} while (0)
	CHECK_BIN_ERR(SdsWrapOutgoingMessageBinary(a, NULL, 1, "m", "c", &w, &n, &err),
	              "libsds error: message pointer is NULL but length > 0");
	CHECK(w == NULL && n == 0);
	CHECK_BIN_ERR(SdsWrapOutgoingMessageBinary(a, "x", 1, NULL, "c", &w, &n, &err),
	              "libsds error: message ID pointer is NULL");
	CHECK_BIN_ERR(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", NULL, &w, &n, &err),
	              "libsds error: channel ID pointer is NULL");
	CHECK_BIN_ERR(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", "", &w, &n, &err),
	              "libsds error: channel ID is empty string");
	CHECK_BIN_ERR(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", "c", NULL, &n, &err),
	              "libsds error: output pointer is NULL");
	CHECK_BIN_ERR(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", "c", &w, NULL, &err),
	              "libsds error: output pointer is NULL");
	err = NULL;
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, NULL, 0, "m", "c", &w, &n, &err), RET_ERR);
	CHECK(err != NULL && strncmp(err, "error processing WRAP_MESSAGE request: ", 39) == 0);
	SdsFree(err);
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", "c", &w, &n, &err), RET_OK);
	SdsFree(w);
	err = NULL;
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", "c", &w, &n, &err), RET_ERR);
	CHECK(err != NULL && strstr(err, "already used") != NULL);
	SdsFree(err);
	/* No error wanted: still fails cleanly. */
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "x", 1, "m", "c", &w, &n, NULL), RET_ERR);

	SdsUnwrapResult* r = (SdsUnwrapResult*)&n;
	CHECK_BIN_ERR(SdsUnwrapReceivedMessageBinary(a, NULL, 3, &r, &err),
	              "libsds error: message pointer is NULL but length > 0");
	CHECK(r == NULL);
	CHECK_BIN_ERR(SdsUnwrapReceivedMessageBinary(a, "x", 1, NULL, &err), "libsds error: output pointer is NULL");
	err = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(a, "garbage", 7, &r, &err), RET_ERR);
	CHECK(err != NULL && strncmp(err, "error processing UNWRAP_MESSAGE request: ", 41) == 0);
	SdsFree(err);
	CHECK_INT(SdsUnwrapReceivedMessageBinary(a, NULL, 0, &r, NULL), RET_ERR);
	cleanup(a);
}

/* The RFC-format messages of the TypeScript library: content, sync and
 * ephemeral kinds, through both unwrap paths. */
TEST(binary_rfc_kinds) {
	void* bin = new_manager();
	void* text = new_manager();
	for (int i = 0; i < VEC_JS; i++) {
		const VecJS* m = &vec_js[i];
		SdsUnwrapResult* r = NULL;
		char* err = NULL;
		CHECK_INT(SdsUnwrapReceivedMessageBinary(bin, m->wire, m->wireLen, &r, &err), RET_OK);
		if (err) harness_fail(__FILE__, __LINE__, "%s: %s", m->kind, err);
		SdsFree(err);
		if (!r) continue;
		CHECK_INT(r->wireFormat, SDS_WIRE_RFC);
		CHECK_STRN(r->messageId, r->messageIdLen, m->messageId);
		CHECK_STRN(r->senderId, r->senderIdLen, "alice");
		CHECK_STRN((const char*)r->content, r->contentLen, m->payload);
		if (strcmp(m->kind, "sync") == 0) {
			CHECK_INT(r->kind, SDS_MESSAGE_SYNC);
			CHECK_INT(r->flags, 0);
		} else if (strcmp(m->kind, "ephemeral") == 0) {
			CHECK_INT(r->kind, SDS_MESSAGE_EPHEMERAL);
			CHECK_INT(r->flags, SDS_UNWRAP_DELIVERED);
		} else {
			CHECK_INT(r->kind, SDS_MESSAGE_REGULAR);
			CHECK_INT(r->flags, SDS_UNWRAP_DELIVERED); /* in order: each names its predecessors */
		}
		/* The text path gives the payload as bytes. */
		char* res = unwrap(text, (const uint8_t*)m->wire, m->wireLen);
		char want[512] = "{\"message\":[";
		for (size_t j = 0; j < strlen(m->payload); j++)
			appendf(want, sizeof want, j ? ",%u" : "%u", (unsigned char)m->payload[j]);
		appendf(want, sizeof want, "],\"channelId\":");
		json_string(want, sizeof want, r->channelId, r->channelIdLen);
		appendf(want, sizeof want, ",\"missingDeps\":[]}");
		CHECK_STR(res, want);
		free(res);
		SdsFree(r);
	}
	cleanup(bin);
	cleanup(text);
}
