/* The nine Nim functions: return codes, argument checks, callbacks and
 * result formats (ABI.md section 1), and the additions' basics. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

TEST(version) {
	CHECK_STR(SdsVersion(), SDS_VERSION);
	SdsFree(NULL); /* a no-op */
}

TEST(new_manager) {
	Capture c = {0};
	CHECK(SdsNewReliabilityManager(NULL, NULL) == NULL);
	void* ctx = SdsNewReliabilityManager(capture_cb, &c);
	ASSERT(ctx != NULL);
	/* Reported through the callback, synchronously, on this thread. */
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");
	CHECK(pthread_equal(c.thread, pthread_self()));
	void* other = new_manager();
	CHECK(other != ctx);
	/* Context values are aligned, non-null and not small integers. */
	CHECK(((uintptr_t)ctx & 7) == 0 && (uintptr_t)ctx >= 4096);
	cleanup(ctx);
	cleanup(other);
	capture_reset(&c);
}

static int hint_calls;
static void hint_none(const char* id, char** hint, size_t* len, void* ud) {
	(void)id, (void)hint, (void)len, (void)ud;
	hint_calls++;
}

/* Every int function with an invalid context returns RET_ERR and calls
 * nothing; the void ones ignore it. */
static void check_invalid_ctx(void* bad) {
	Capture c = {0};
	char* ids[] = {"m1"};
	CHECK_INT(SdsCleanupReliabilityManager(bad, capture_cb, &c), RET_ERR);
	CHECK_INT(SdsResetReliabilityManager(bad, capture_cb, &c), RET_ERR);
	CHECK_INT(SdsWrapOutgoingMessage(bad, "x", 1, "m1", "c1", capture_cb, &c), RET_ERR);
	CHECK_INT(SdsUnwrapReceivedMessage(bad, "x", 1, capture_cb, &c), RET_ERR);
	CHECK_INT(SdsMarkDependenciesMet(bad, ids, 1, "c1", capture_cb, &c), RET_ERR);
	CHECK_INT(SdsStartPeriodicTasks(bad, capture_cb, &c), RET_ERR);
	/* Even with a NULL callback: the context is checked first. */
	CHECK_INT(SdsWrapOutgoingMessage(bad, "x", 1, "m1", "c1", NULL, NULL), RET_ERR);
	CHECK_INT(SdsCleanupReliabilityManager(bad, NULL, NULL), RET_ERR);
	SdsSetEventCallback(bad, capture_cb, &c);
	SdsSetRetrievalHintProvider(bad, hint_none, NULL);
	CHECK_INT(c.calls, 0);

	uint8_t* wire = (uint8_t*)"x";
	size_t wireLen = 99;
	char* err = NULL;
	CHECK_INT(SdsWrapOutgoingMessageBinary(bad, "x", 1, "m1", "c1", &wire, &wireLen, &err), RET_ERR);
	CHECK(wire == NULL && wireLen == 0);
	CHECK_STR(err, "libsds error: invalid context");
	SdsFree(err);
	SdsUnwrapResult* res = (SdsUnwrapResult*)&c;
	err = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(bad, "x", 1, &res, &err), RET_ERR);
	CHECK(res == NULL);
	CHECK_STR(err, "libsds error: invalid context");
	SdsFree(err);
	CHECK_INT(SdsWrapOutgoingMessageBinary(bad, "x", 1, "m1", "c1", &wire, &wireLen, NULL), RET_ERR);
	capture_reset(&c);
}

TEST(invalid_contexts) {
	int local;
	check_invalid_ctx(NULL);
	check_invalid_ctx((void*)1);
	check_invalid_ctx((void*)0x1234);
	check_invalid_ctx(&local); /* a pointer to something else */
	check_invalid_ctx((void*)check_invalid_ctx);
	/* A context in the library's range that was never handed out. */
	void* ctx = new_manager();
	check_invalid_ctx((char*)ctx + 8 * 1000);
	check_invalid_ctx((char*)ctx + 1);
	/* A cleaned-up context stays invalid, also after more creations. */
	cleanup(ctx);
	check_invalid_ctx(ctx);
	void* again = new_manager();
	CHECK(again != ctx);
	check_invalid_ctx(ctx);
	cleanup(again);
	CHECK_INT(hint_calls, 0);
}

TEST(missing_callback) {
	void* ctx = new_manager();
	char* ids[] = {"m1"};
	CHECK_INT(SdsCleanupReliabilityManager(ctx, NULL, NULL), RET_MISSING_CALLBACK);
	CHECK_INT(SdsResetReliabilityManager(ctx, NULL, NULL), RET_MISSING_CALLBACK);
	/* Before argument checks, too. */
	CHECK_INT(SdsWrapOutgoingMessage(ctx, NULL, 5, NULL, NULL, NULL, NULL), RET_MISSING_CALLBACK);
	CHECK_INT(SdsUnwrapReceivedMessage(ctx, NULL, 5, NULL, NULL), RET_MISSING_CALLBACK);
	CHECK_INT(SdsMarkDependenciesMet(ctx, ids, 1, "c1", NULL, NULL), RET_MISSING_CALLBACK);
	CHECK_INT(SdsStartPeriodicTasks(ctx, NULL, NULL), RET_MISSING_CALLBACK);
	/* Nothing happened: the manager is alive and "m1" still unused. */
	uint8_t* w;
	long n = wrap(ctx, "hello", "m1", "c1", &w);
	CHECK(n > 0);
	free(w);
	cleanup(ctx);
}

/* An argument error: callback(RET_ERR, reason) and RET_ERR. */
#define CHECK_ARG_ERROR(call, reason)                                          \
	do {                                                                       \
		capture_reset(&c);                                                     \
		CHECK_INT(call, RET_ERR);                                              \
		CHECK_INT(c.calls, 1);                                                 \
		CHECK_INT(c.ret, RET_ERR);                                             \
		CHECK_STRN(c.msg, c.len, reason);                                      \
	} while (0)

/* A failure inside the operation: callback(RET_ERR, reason), RET_OK. */
#define CHECK_OP_ERROR(call, prefix)                                           \
	do {                                                                       \
		capture_reset(&c);                                                     \
		CHECK_INT(call, RET_OK);                                               \
		CHECK_INT(c.calls, 1);                                                 \
		CHECK_INT(c.ret, RET_ERR);                                             \
		CHECK(c.msg != NULL && strncmp(c.msg, prefix, strlen(prefix)) == 0);   \
		CHECK(c.msg != NULL && c.msg[c.len] == 0 && strlen(c.msg) == c.len);   \
	} while (0)

TEST(wrap_argument_errors) {
	void* ctx = new_manager();
	Capture c = {0};
	CHECK_ARG_ERROR(SdsWrapOutgoingMessage(ctx, NULL, 3, "m1", "c1", capture_cb, &c),
	                "libsds error: message pointer is NULL but length > 0");
	CHECK_ARG_ERROR(SdsWrapOutgoingMessage(ctx, "abc", 3, NULL, "c1", capture_cb, &c),
	                "libsds error: message ID pointer is NULL");
	CHECK_ARG_ERROR(SdsWrapOutgoingMessage(ctx, "abc", 3, "m1", NULL, capture_cb, &c),
	                "libsds error: channel ID pointer is NULL");
	CHECK_ARG_ERROR(SdsWrapOutgoingMessage(ctx, "abc", 3, "m1", "", capture_cb, &c),
	                "libsds error: channel ID is empty string");
	/* Checked in Nim's order: the message pointer first. */
	CHECK_ARG_ERROR(SdsWrapOutgoingMessage(ctx, NULL, 3, NULL, NULL, capture_cb, &c),
	                "libsds error: message pointer is NULL but length > 0");
	CHECK(pthread_equal(c.thread, pthread_self()));

	/* Failures of the operation itself. */
	CHECK_OP_ERROR(SdsWrapOutgoingMessage(ctx, NULL, 0, "m1", "c1", capture_cb, &c),
	               "error processing WRAP_MESSAGE request: ");
	CHECK_OP_ERROR(SdsWrapOutgoingMessage(ctx, "abc", 0, "m1", "c1", capture_cb, &c),
	               "error processing WRAP_MESSAGE request: ");
	CHECK_OP_ERROR(SdsWrapOutgoingMessage(ctx, "abc", 3, "", "c1", capture_cb, &c),
	               "error processing WRAP_MESSAGE request: ");
	capture_reset(&c);
	CHECK_INT(SdsWrapOutgoingMessage(ctx, "abc", 3, "m1", "c1", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_OP_ERROR(SdsWrapOutgoingMessage(ctx, "abc", 3, "m1", "c1", capture_cb, &c),
	               "error processing WRAP_MESSAGE request: ");
	CHECK(strstr(c.msg, "already used") != NULL);
	/* Content over the 1 MiB limit. */
	size_t big = (1 << 20) + 1;
	char* huge = calloc(1, big);
	CHECK_OP_ERROR(SdsWrapOutgoingMessage(ctx, huge, big, "m2", "c1", capture_cb, &c),
	               "error processing WRAP_MESSAGE request: ");
	free(huge);
	capture_reset(&c);
	cleanup(ctx);
}

TEST(unwrap_argument_errors) {
	void* ctx = new_manager();
	Capture c = {0};
	CHECK_ARG_ERROR(SdsUnwrapReceivedMessage(ctx, NULL, 1, capture_cb, &c),
	                "libsds error: message pointer is NULL but length > 0");
	CHECK_OP_ERROR(SdsUnwrapReceivedMessage(ctx, NULL, 0, capture_cb, &c),
	               "error processing UNWRAP_MESSAGE request: ");
	CHECK_OP_ERROR(SdsUnwrapReceivedMessage(ctx, "garbage!", 8, capture_cb, &c),
	               "error processing UNWRAP_MESSAGE request: ");
	uint8_t truncated[] = {0x0a, 0x05, 'm'};
	CHECK_OP_ERROR(SdsUnwrapReceivedMessage(ctx, truncated, sizeof truncated, capture_cb, &c),
	               "error processing UNWRAP_MESSAGE request: ");
	capture_reset(&c);
	cleanup(ctx);
}

TEST(mark_dependencies_argument_errors) {
	void* ctx = new_manager();
	Capture c = {0};
	char* ids[] = {"m1", NULL};
	CHECK_ARG_ERROR(SdsMarkDependenciesMet(ctx, NULL, 2, "c1", capture_cb, &c),
	                "libsds error: MessageIDs pointer is NULL but count > 0");
	CHECK_ARG_ERROR(SdsMarkDependenciesMet(ctx, ids, 1, NULL, capture_cb, &c),
	                "libsds error: channel ID pointer is NULL");
	CHECK_ARG_ERROR(SdsMarkDependenciesMet(ctx, ids, 1, "", capture_cb, &c),
	                "libsds error: channel ID is empty string");
	CHECK_ARG_ERROR(SdsMarkDependenciesMet(ctx, ids, 2, "c1", capture_cb, &c),
	                "libsds error: a message ID pointer in MessageIDs is NULL");
	/* An unknown channel fails the operation (also with no ids). */
	CHECK_OP_ERROR(SdsMarkDependenciesMet(ctx, ids, 1, "nope", capture_cb, &c),
	               "error processing MARK_DEPENDENCIES_MET request: ");
	CHECK_OP_ERROR(SdsMarkDependenciesMet(ctx, NULL, 0, "nope", capture_cb, &c),
	               "error processing MARK_DEPENDENCIES_MET request: ");
	/* A known channel: success with an empty result. */
	uint8_t* w;
	CHECK(wrap(ctx, "x", "m0", "c1", &w) > 0);
	free(w);
	capture_reset(&c);
	CHECK_INT(SdsMarkDependenciesMet(ctx, ids, 1, "c1", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");
	capture_reset(&c);
	CHECK_INT(SdsMarkDependenciesMet(ctx, NULL, 0, "c1", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	capture_reset(&c);
	cleanup(ctx);
}

TEST(cleanup_and_reset) {
	Capture c = {0};
	void* ctx = new_manager();
	uint8_t* w;
	CHECK(wrap(ctx, "x", "m1", "c1", &w) > 0);
	free(w);
	/* Reset forgets the channel: marking on it fails, "m1" is free again. */
	CHECK_INT(SdsResetReliabilityManager(ctx, capture_cb, &c), RET_OK);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");
	char* ids[] = {"m1"};
	CHECK_OP_ERROR(SdsMarkDependenciesMet(ctx, ids, 1, "c1", capture_cb, &c),
	               "error processing MARK_DEPENDENCIES_MET request: ");
	CHECK(wrap(ctx, "x", "m1", "c1", &w) > 0);
	free(w);

	capture_reset(&c);
	CHECK_INT(SdsStartPeriodicTasks(ctx, capture_cb, &c), RET_OK);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");

	/* Cleanup: callback(RET_OK, NULL, 0). */
	capture_reset(&c);
	CHECK_INT(SdsCleanupReliabilityManager(ctx, capture_cb, &c), RET_OK);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_OK);
	CHECK(c.msg == NULL && c.len == 0);
	capture_reset(&c);
	CHECK_INT(SdsCleanupReliabilityManager(ctx, capture_cb, &c), RET_ERR);
	CHECK_INT(c.calls, 0);
}

/* The wrap result is the wire bytes in decimal, joined by commas, and the
 * bytes are an SDS message in the Nim format. */
TEST(wrap_result_format) {
	void* ctx = new_manager();
	Capture c = {0};
	long long before = now_ms();
	CHECK_INT(SdsWrapOutgoingMessage(ctx, "hello", 5, "msg-1", "chan-1", capture_cb, &c), RET_OK);
	ASSERT(c.calls == 1 && c.ret == RET_OK);
	CHECK(c.msg[c.len] == 0 && strlen(c.msg) == c.len);
	uint8_t* b = malloc(c.len);
	long n = parse_comma(c.msg, c.len, b, c.len);
	ASSERT(n > 0);
	const uint8_t* v;
	size_t vl;
	uint64_t lamport;
	CHECK(pb_field(b, n, 1, &v, &vl, NULL) && vl == 5 && memcmp(v, "msg-1", 5) == 0);
	CHECK(pb_field(b, n, 2, NULL, NULL, &lamport));
	/* Our Lamport clock runs on milliseconds (the Nim library's on
	 * seconds): compare the structure, not the value. */
	CHECK(lamport >= (uint64_t)before && lamport <= (uint64_t)now_ms() + 1);
	CHECK(pb_field(b, n, 4, &v, &vl, NULL) && vl == 6 && memcmp(v, "chan-1", 6) == 0);
	CHECK(pb_field(b, n, 5, &v, &vl, NULL) && vl == 5 && memcmp(v, "hello", 5) == 0);
	/* The default filter: the acknowledgement window's (empty here), a
	 * Nim filter with all five fields at error rate 0.001 (test_bloom.c). */
	CHECK(pb_field(b, n, 6, &v, &vl, NULL) && vl > 0 && vl < 200);
	uint64_t ppm = 0;
	CHECK(pb_field(v, vl, 3, NULL, NULL, &ppm) && ppm == 1000);
	CHECK_INT(pb_count(b, n, 3), 0); /* first message: no causal history */
	CHECK_INT(pb_count(b, n, 7), 0); /* no participant id */

	/* Each number is the byte, nothing else: re-format and compare. */
	char* text = malloc(4 * n + 1);
	text[0] = 0;
	for (long i = 0; i < n; i++) sprintf(text + strlen(text), i ? ",%u" : "%u", b[i]);
	CHECK_STRN(c.msg, c.len, text);
	free(text);

	/* The second message names the first in its causal history. */
	uint8_t* w2;
	long n2 = wrap(ctx, "again", "msg-2", "chan-1", &w2);
	ASSERT(n2 > 0);
	CHECK_INT(pb_count(w2, n2, 3), 1);
	const uint8_t* entry;
	size_t el;
	CHECK(pb_field(w2, n2, 3, &entry, &el, NULL));
	CHECK(pb_field(entry, el, 1, &v, &vl, NULL) && vl == 5 && memcmp(v, "msg-1", 5) == 0);
	free(w2);
	free(b);
	capture_reset(&c);
	cleanup(ctx);
}

/* The unwrap result: {"message":[...],"channelId":"...","missingDeps":[...]}. */
TEST(unwrap_result_format) {
	void* a = new_manager();
	void* b = new_manager();
	uint8_t* w;
	long n = wrap(a, "hi", "m1", "c1", &w);
	ASSERT(n > 0);
	char* res = unwrap(b, w, n);
	CHECK_STR(res, "{\"message\":[104,105],\"channelId\":\"c1\",\"missingDeps\":[]}");
	free(res);
	/* A duplicate returns the content again, no dependencies. */
	res = unwrap(b, w, n);
	CHECK_STR(res, "{\"message\":[104,105],\"channelId\":\"c1\",\"missingDeps\":[]}");
	free(res);
	free(w);

	/* Every byte value, in order. */
	char content[256];
	for (int i = 0; i < 255; i++) content[i] = (char)(i + 1);
	content[255] = 0;
	n = wrap(a, content, "m2", "c1", &w);
	ASSERT(n > 0);
	res = unwrap(b, w, n);
	char want[2048] = "{\"message\":[";
	for (int i = 1; i < 256; i++) appendf(want, sizeof want, i > 1 ? ",%d" : "%d", i);
	appendf(want, sizeof want, "],\"channelId\":\"c1\",\"missingDeps\":[]}");
	CHECK_STR(res, want);
	free(res);
	free(w);
	cleanup(a);
	cleanup(b);
}

/* Wraps one message with a fresh id on channel and drops the bytes. */
static void free_wrap(void* ctx, const char* channel) {
	static int seq;
	char id[16];
	sprintf(id, "fw%d", seq++);
	uint8_t* w;
	long n = wrap(ctx, "x", id, channel, &w);
	CHECK(n > 0);
	if (n > 0) free(w);
}

TEST(config_constructor) {
	Capture c = {0};
	/* NULL, "" and {} give the defaults. */
	cleanup(new_manager_config(NULL));
	cleanup(new_manager_config(""));
	cleanup(new_manager_config("  {}  "));
	CHECK(SdsNewReliabilityManagerWithConfig("{}", NULL, NULL) == NULL);

	/* Every key. */
	const char* full =
	    "{\"participantId\":\"alice\",\"wireFormat\":\"nim\",\"logLevel\":\"debug\","
	    "\"bloomFilterCapacity\":5000,\"bloomFilterErrorRate\":0.01,\"bloomAckThreshold\":1,"
	    "\"maxMessageHistory\":500,\"maxCausalHistory\":3,\"resendIntervalMs\":30000,"
	    "\"maxResendAttempts\":2,\"syncMessageIntervalMs\":10000,\"bufferSweepIntervalMs\":20000,"
	    "\"repairTMinMs\":1000,\"repairTMaxMs\":20000,\"numResponseGroups\":2,"
	    "\"maxRepairRequests\":4,\"repairSweepIntervalMs\":1000,\"maxContentSize\":1000,"
	    "\"possiblyAckedResendIntervalMs\":70000,\"maxDependencyWaitMs\":1000,"
	    "\"onLostDependencies\":\"drop\",\"maxIncomingBuffer\":50,\"maxPendingRepairs\":10,"
	    "\"limits\":{\"maxMessageBytes\":100000,\"maxIdBytes\":64,\"maxHintBytes\":128,"
	    "\"maxHistoryEntries\":16,\"maxRepairEntries\":8,\"maxBloomBytes\":65536},"
	    "\"bloomAckThreshold\":null}";
	void* ctx = new_manager_config(full);
	ASSERT(ctx != NULL);
	uint8_t* w;
	long n = wrap(ctx, "x", "m1", "c1", &w);
	ASSERT(n > 0);
	const uint8_t* v;
	size_t vl;
	CHECK(pb_field(w, n, 7, &v, &vl, NULL) && vl == 5 && memcmp(v, "alice", 5) == 0);
	CHECK(pb_field(w, n, 6, &v, &vl, NULL) && vl < 10000); /* the smaller filter */
	free(w);
	/* maxContentSize */
	char big[1001];
	memset(big, 'x', 1000);
	big[1000] = 0;
	capture_reset(&c);
	CHECK_INT(SdsWrapOutgoingMessage(ctx, big, 1000, "m2", "c1", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	capture_reset(&c);
	CHECK_INT(SdsWrapOutgoingMessage(ctx, big, 1001, "m3", "c1", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	cleanup(ctx);

	/* maxCausalHistory: 3 entries at most. */
	ctx = new_manager_config("{\"maxCausalHistory\":3}");
	for (int i = 0; i < 5; i++) {
		char id[8];
		sprintf(id, "m%d", i);
		n = wrap(ctx, "x", id, "c1", &w);
		CHECK_INT(pb_count(w, n, 3), i < 3 ? i : 3);
		free(w);
	}
	cleanup(ctx);

	/* maxChannels: a third channel is refused and not created. */
	ctx = new_manager_config("{\"maxChannels\":2,\"maxLogBytes\":1000000,\"maxIncomingBytes\":1000000}");
	free_wrap(ctx, "c1");
	free_wrap(ctx, "c2");
	capture_reset(&c);
	CHECK_INT(SdsWrapOutgoingMessage(ctx, "x", 1, "m9", "c3", capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	CHECK(c.msg != NULL && strstr(c.msg, "too many channels") != NULL);
	free_wrap(ctx, "c1"); /* the existing ones still work */
	cleanup(ctx);

	/* The RFC wire format: message_id is field 2, sender_id field 1. */
	ctx = new_manager_config("{\"wireFormat\":\"rfc\",\"participantId\":\"bob\"}");
	n = wrap(ctx, "x", "m1", "c1", &w);
	CHECK(pb_field(w, n, 2, &v, &vl, NULL) && vl == 2 && memcmp(v, "m1", 2) == 0);
	CHECK(pb_field(w, n, 1, &v, &vl, NULL) && vl == 3 && memcmp(v, "bob", 3) == 0);
	void* nim = new_manager();
	char* res = unwrap(nim, w, n); /* every manager reads both formats */
	CHECK_STR(res, "{\"message\":[120],\"channelId\":\"c1\",\"missingDeps\":[]}");
	free(res);
	free(w);
	cleanup(nim);
	cleanup(ctx);
	capture_reset(&c);
}

TEST(config_errors) {
	static const struct {
		const char* json;
		const char* reason;
	} cases[] = {
	    {"{\"participantID\":\"x\"}", "invalid config: unknown key \"participantID\""},
	    {"{\"bogus\":1}", "invalid config: unknown key \"bogus\""},
	    {"{\"limits\":{\"maxIdBytes\":1,\"more\":2}}", "invalid config: unknown key \"limits.more\""},
	    {"[1]", "invalid config: not a JSON object"},
	    {"null", "invalid config: not a JSON object"},
	    {"{", "invalid config: unexpected EOF"},
	    {"{} {}", "invalid config: unexpected data after the JSON object"},
	    {"{\"participantId\":5}", "invalid config: participantId: expected a string, got JSON number"},
	    {"{\"maxCausalHistory\":\"a\"}", "invalid config: maxCausalHistory: expected an integer, got JSON string"},
	    {"{\"maxCausalHistory\":1.5}", "invalid config: maxCausalHistory: expected an integer, got JSON number 1.5"},
	    {"{\"limits\":3}", "invalid config: limits: expected an object, got JSON number"},
	    {"{\"wireFormat\":\"json\"}", "invalid config: wireFormat must be \"nim\" or \"rfc\", got \"json\""},
	    {"{\"logLevel\":\"loud\"}",
	     "invalid config: logLevel must be one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", \"off\", got \"loud\""},
	    {"{\"bloomFilterCapacity\":0}", "invalid config: bloomFilterCapacity must be positive, got 0"},
	    {"{\"bloomFilterErrorRate\":1}", "invalid config: bloomFilterErrorRate must be in (0, 1), got 1"},
	    {"{\"bloomFilterErrorRate\":0}", "invalid config: bloomFilterErrorRate must be in (0, 1), got 0"},
	    {"{\"bloomAckThreshold\":0}", "invalid config: bloomAckThreshold must be positive, got 0"},
	    {"{\"maxMessageHistory\":-1}", "invalid config: maxMessageHistory must be positive, got -1"},
	    {"{\"maxCausalHistory\":2000}", "invalid config: maxCausalHistory must be in [0, maxMessageHistory], got 2000"},
	    {"{\"maxCausalHistory\":-1}", "invalid config: maxCausalHistory must be in [0, maxMessageHistory], got -1"},
	    {"{\"resendIntervalMs\":0}", "invalid config: resendIntervalMs must be positive, got 0s"},
	    {"{\"maxResendAttempts\":-1}", "invalid config: maxResendAttempts must not be negative, got -1"},
	    {"{\"syncMessageIntervalMs\":-5}", "invalid config: syncMessageIntervalMs must be positive, got -5ms"},
	    {"{\"bufferSweepIntervalMs\":0}", "invalid config: bufferSweepIntervalMs must be positive, got 0s"},
	    {"{\"repairTMinMs\":5000,\"repairTMaxMs\":1000}",
	     "invalid config: need 0 <= repairTMinMs <= repairTMaxMs, got 5s and 1s"},
	    {"{\"repairTMinMs\":-1}", "invalid config: need 0 <= repairTMinMs <= repairTMaxMs, got -1ms and 2s"},
	    {"{\"numResponseGroups\":0}", "invalid config: numResponseGroups must be positive, got 0"},
	    {"{\"maxRepairRequests\":-2}", "invalid config: maxRepairRequests must not be negative, got -2"},
	    {"{\"repairSweepIntervalMs\":0}", "invalid config: repairSweepIntervalMs must be positive, got 0s"},
	    {"{\"maxContentSize\":0}", "invalid config: maxContentSize must be positive, got 0"},
	    {"{\"possiblyAckedResendIntervalMs\":0}", "invalid config: possiblyAckedResendIntervalMs must be positive, got 0s"},
	    {"{\"maxDependencyWaitMs\":-1}", "invalid config: maxDependencyWaitMs must be positive, got -1ms"},
	    {"{\"onLostDependencies\":\"keep\"}", "invalid config: onLostDependencies must be \"deliver\" or \"drop\", got \"keep\""},
	    {"{\"maxIncomingBuffer\":0}", "invalid config: maxIncomingBuffer must be positive, got 0"},
	    {"{\"maxPendingRepairs\":0}", "invalid config: maxPendingRepairs must be positive, got 0"},
	    {"{\"maxChannels\":0}", "invalid config: maxChannels must be positive, got 0"},
	    {"{\"maxIncomingBytes\":-1}", "invalid config: maxIncomingBytes must be positive, got -1"},
	    {"{\"maxLogBytes\":0}", "invalid config: maxLogBytes must be positive, got 0"},
	    {"{\"persistMaxPending\":-1}", "invalid config: persistMaxPending must not be negative, got -1"},
	    {"{\"storePath\":7}", "invalid config: storePath: expected a string, got JSON number"},
	    {"{\"resendIntervalMs\":9223372036854775807}", "invalid config: resendIntervalMs out of range: 9223372036854775807"},
	    {"{\"limits\":{\"maxHintBytes\":0}}", "invalid config: limits.maxHintBytes must be positive, got 0"},
	    {"{\"limits\":{\"maxIdBytes\":4},\"participantId\":\"alice\"}",
	     "invalid config: participantId longer than 4 bytes"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Capture c = {0};
		void* ctx = SdsNewReliabilityManagerWithConfig(cases[i].json, capture_cb, &c);
		CHECK(ctx == NULL);
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.ret, RET_ERR);
		CHECK_STRN(c.msg, c.len, cases[i].reason);
		/* Failed creations' buffers stay readable after the call. */
		CHECK(capture_intact(&c));
		capture_reset(&c);
	}
}

/* ---- log callback ---- */

static Events logs;
static int log_levels[8];

static void log_cb(int level, const char* msg, size_t len, void* ud) {
	if (level >= 0 && level < 8) __atomic_add_fetch(&log_levels[level], 1, __ATOMIC_SEQ_CST);
	events_cb(RET_OK, msg, len, ud);
}

TEST(log_callback) {
	events_init(&logs);
	SdsSetLogCallback(log_cb, &logs);
	/* The boundary logs an invalid context at warn level. */
	SdsSetEventCallback((void*)0x1234, events_cb, NULL);
	CHECK_INT(logs.n, 1);
	CHECK_INT(log_levels[SDS_LOG_WARN], 1);
	CHECK_INT(logs.bad, 0);
	CHECK(logs.n > 0 && logs.ev[0][0] == '{' && strstr(logs.ev[0], "\"level\":\"warn\"") != NULL);
	CHECK(logs.n > 0 && strstr(logs.ev[0], "invalid context") != NULL);
	CHECK(logs.n > 0 && logs.ev[0][strlen(logs.ev[0]) - 1] == '}'); /* no newline */
	/* NULL stops it. */
	SdsSetLogCallback(NULL, NULL);
	SdsSetEventCallback((void*)0x1234, events_cb, NULL);
	CHECK_INT(logs.n, 1);
	events_clear(&logs);
}
