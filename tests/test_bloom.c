/* The bloom filter a message carries, through the C ABI: by default the
 * acknowledgement window's, sized for its ids; Nim's whole filter (18.8 KB)
 * with "fullBloomFilter". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

static const char line[] = "a chat line of forty bytes, or about it";

/* send wraps id at from (binary path) and unwraps it at to, if any;
 * returns the message's length. */
static size_t send(void* from, void* to, const char* id) {
	uint8_t* w = NULL;
	size_t n = 0;
	char* err = NULL;
	CHECK_INT(SdsWrapOutgoingMessageBinary(from, line, strlen(line), id, "room", &w, &n, &err), RET_OK);
	if (to != NULL && w != NULL) {
		SdsUnwrapResult* r = NULL;
		CHECK_INT(SdsUnwrapReceivedMessageBinary(to, w, n, &r, &err), RET_OK);
		SdsFree(r);
	}
	SdsFree(w);
	SdsFree(err);
	return n;
}

/* The target: after 100 messages each way between two managers
 * with the default settings, the next message is at most 2,000 bytes
 * (18,9xx with the whole filter). */
TEST(bloom_compact_after_100_each_way) {
	void* a = new_manager_config("{\"participantId\":\"alice\"}");
	void* b = new_manager_config("{\"participantId\":\"bob\"}");
	void* fa = new_manager_config("{\"participantId\":\"alice\",\"fullBloomFilter\":true}");
	void* fb = new_manager_config("{\"participantId\":\"bob\",\"fullBloomFilter\":true}");
	char id[32];
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof id, "a-%d", i);
		send(a, b, id);
		send(fa, fb, id);
		snprintf(id, sizeof id, "b-%d", i);
		send(b, a, id);
		send(fb, fa, id);
	}
	size_t n = send(a, NULL, "a-next"), full = send(fa, NULL, "a-next");
	printf("     after 100 messages each way, the next is %zu bytes (%zu with fullBloomFilter)\n", n, full);
	CHECK(n > 0 && n <= 2000);
	CHECK(full > 18000);
	cleanup(a);
	cleanup(b);
	cleanup(fa);
	cleanup(fb);
}

/* An acknowledgement carried by the filter alone (the sender names no
 * causal history) reaches the peer. */
TEST(bloom_filter_only_acknowledgement) {
	void* a = new_manager_config("{\"participantId\":\"alice\"}");
	void* b = new_manager_config("{\"participantId\":\"bob\",\"maxCausalHistory\":0}");
	Events ev;
	events_init(&ev);
	SdsSetEventCallback(a, events_cb, &ev);
	send(a, b, "a-1");
	uint8_t* w = NULL;
	size_t n = 0;
	CHECK_INT(SdsWrapOutgoingMessageBinary(b, "x", 1, "b-1", "room", &w, &n, NULL), RET_OK);
	ASSERT(w != NULL);
	CHECK_INT(pb_count(w, n, 3), 0); /* no causal history */
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(a, w, n, &r, NULL), RET_OK);
	SdsFree(r);
	SdsFree(w);
	CHECK_INT(events_count(&ev, "{\"messageId\":\"a-1\",\"channelId\":\"room\",\"eventType\":\"message_sent\"}"), 1);
	events_clear(&ev);
	cleanup(a);
	cleanup(b);
}

TEST(bloom_config_keys) {
	struct {
		const char* json;
		const char* err;
	} bad[] = {
		{"{\"ackWindowMs\":-1}", "invalid config: ackWindowMs must not be negative, got -1ms"},
		{"{\"fullBloomFilter\":1}", "invalid config: fullBloomFilter: expected true or false, got JSON number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		Capture c = {0};
		CHECK(SdsNewReliabilityManagerWithConfig(bad[i].json, capture_cb, &c) == NULL);
		CHECK_INT(c.ret, RET_ERR);
		CHECK_STRN(c.msg, c.len, bad[i].err);
		capture_reset(&c);
	}
	/* A window of one millisecond: ids received a moment ago are gone
	 * from the next message's filter, which is then the smallest. */
	void* a = new_manager_config("{\"ackWindowMs\":1,\"fullBloomFilter\":false}");
	void* b = new_manager();
	char id[32];
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof id, "b-%d", i);
		send(b, a, id);
	}
	sleep_ms(5);
	uint8_t* w = NULL;
	size_t n = 0;
	CHECK_INT(SdsWrapOutgoingMessageBinary(a, "x", 1, "a-1", "room", &w, &n, NULL), RET_OK);
	const uint8_t* f;
	size_t fl;
	uint64_t capacity = 0;
	CHECK(w != NULL && pb_field(w, n, 6, &f, &fl, NULL) && pb_field(f, fl, 2, NULL, NULL, &capacity));
	CHECK(capacity < 300);
	SdsFree(w);
	cleanup(a);
	cleanup(b);
}
