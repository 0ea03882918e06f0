/* Sync and ephemeral messages (RFC), text and binary. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

TEST(sync_messages) {
	Events ea;
	void* a = new_listened_manager(&ea);
	void* b = new_manager();
	uint8_t* w;
	long n = wrap(a, "x", "m1", "c", &w);
	free(unwrap(b, w, n));
	free(w);

	/* b's sync message acknowledges m1; it carries no content. */
	Capture c = {0};
	CHECK_INT(SdsWrapSyncMessage(b, "c", capture_cb, &c), RET_OK);
	ASSERT(c.ret == RET_OK);
	uint8_t* s = malloc(c.len);
	long sn = parse_comma(c.msg, c.len, s, c.len);
	ASSERT(sn > 0);
	const uint8_t* v;
	size_t vl;
	CHECK(pb_field(s, sn, 5, &v, &vl, NULL) && vl == 0); /* empty content */
	CHECK_INT(pb_count(s, sn, 3), 1);                      /* names m1 */
	char* res = unwrap(a, s, sn);
	CHECK_STR(res, "{\"message\":[],\"channelId\":\"c\",\"missingDeps\":[]}");
	free(res);
	CHECK_INT(ea.n, 1);
	if (ea.n == 1) CHECK_STR(ea.ev[0], "{\"messageId\":\"m1\",\"channelId\":\"c\",\"eventType\":\"message_sent\"}");
	free(s);

	/* Binary: the receiver sees a sync message, never delivered. */
	uint8_t* bw = NULL;
	size_t bn = 0;
	CHECK_INT(SdsWrapSyncMessageBinary(b, "c", &bw, &bn, NULL), RET_OK);
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(a, bw, bn, &r, NULL), RET_OK);
	CHECK(r && r->kind == SDS_MESSAGE_SYNC && r->flags == 0 && r->contentLen == 0);
	SdsFree(r);
	SdsFree(bw);

	/* Argument errors. */
	capture_reset(&c);
	CHECK_INT(SdsWrapSyncMessage(b, NULL, capture_cb, &c), RET_ERR);
	CHECK_STRN(c.msg, c.len, "libsds error: channel ID pointer is NULL");
	capture_reset(&c);
	CHECK_INT(SdsWrapSyncMessage(b, "", capture_cb, &c), RET_ERR);
	CHECK_STRN(c.msg, c.len, "libsds error: channel ID is empty string");
	CHECK_INT(SdsWrapSyncMessage(b, "c", NULL, NULL), RET_MISSING_CALLBACK);
	CHECK_INT(SdsWrapSyncMessage(NULL, "c", capture_cb, &c), RET_ERR);
	char* err = NULL;
	CHECK_INT(SdsWrapSyncMessageBinary(b, "", &bw, &bn, &err), RET_ERR);
	CHECK_STR(err, "libsds error: channel ID is empty string");
	SdsFree(err);
	capture_reset(&c);
	cleanup(a);
	cleanup(b);
	events_clear(&ea);
}

TEST(ephemeral_messages) {
	Events eb;
	events_init(&eb);
	void* nim = new_manager();
	void* rfc = new_manager_config("{\"wireFormat\":\"rfc\",\"participantId\":\"eve\"}");
	void* b = new_manager();
	SdsSetEventCallback(b, events_cb, &eb);

	/* The Nim wire format cannot carry one. */
	Capture c = {0};
	CHECK_INT(SdsWrapEphemeralMessage(nim, "hi", 2, "e1", "c", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK(c.msg && strncmp(c.msg, "error processing WRAP_EPHEMERAL_MESSAGE request: ", 49) == 0);
	char* err = NULL;
	uint8_t* w = NULL;
	size_t n = 0;
	CHECK_INT(SdsWrapEphemeralMessageBinary(nim, "hi", 2, "e1", "c", &w, &n, &err), RET_ERR);
	CHECK(err && strncmp(err, "error processing WRAP_EPHEMERAL_MESSAGE request: ", 49) == 0);
	SdsFree(err);

	/* The RFC format: delivered at once, no event, no state. */
	capture_reset(&c);
	CHECK_INT(SdsWrapEphemeralMessage(rfc, "hi", 2, "e1", "c", capture_cb, &c), RET_OK);
	ASSERT(c.ret == RET_OK);
	uint8_t* e = malloc(c.len);
	long en = parse_comma(c.msg, c.len, e, c.len);
	ASSERT(en > 0);
	CHECK_INT(pb_count(e, en, 10), 0); /* no Lamport timestamp */
	char* res = unwrap(b, e, en);
	CHECK_STR(res, "{\"message\":[104,105],\"channelId\":\"c\",\"missingDeps\":[]}");
	free(res);
	free(e);
	CHECK_INT(eb.n, 0);
	CHECK_INT(SdsWrapEphemeralMessageBinary(rfc, "yo", 2, "e2", "c", &w, &n, NULL), RET_OK);
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b, w, n, &r, NULL), RET_OK);
	CHECK(r && r->kind == SDS_MESSAGE_EPHEMERAL && r->flags == SDS_UNWRAP_DELIVERED &&
	      r->wireFormat == SDS_WIRE_RFC && r->contentLen == 2 && memcmp(r->content, "yo", 2) == 0);
	CHECK(r && r->senderIdLen == 3 && memcmp(r->senderId, "eve", 3) == 0);
	SdsFree(r);
	SdsFree(w);

	/* Argument errors as for a regular wrap. */
	capture_reset(&c);
	CHECK_INT(SdsWrapEphemeralMessage(rfc, NULL, 2, "e3", "c", capture_cb, &c), RET_ERR);
	CHECK_STRN(c.msg, c.len, "libsds error: message pointer is NULL but length > 0");
	capture_reset(&c);
	CHECK_INT(SdsWrapEphemeralMessage(rfc, "x", 1, NULL, "c", capture_cb, &c), RET_ERR);
	CHECK_STRN(c.msg, c.len, "libsds error: message ID pointer is NULL");
	capture_reset(&c);
	cleanup(nim);
	cleanup(rfc);
	cleanup(b);
	events_clear(&eb);
}
