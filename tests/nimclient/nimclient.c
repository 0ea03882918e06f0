/* A host written for the Nim libsds, as such hosts are written: it knows
 * only the nine functions of the Nim header and waits for each result
 * callback (which the Nim library runs later, on its own thread). It does
 * not include include/libsds.h: it declares the Nim ABI itself (as
 * ../shared/docs/ABI.md §1 gives it), or, built with
 * -DNIM_HEADER='"path/to/nim-sds/library/libsds.h"', uses the Nim header.
 * Linked against build/libsds.so it shows the drop-in claim: same
 * declarations, same behaviour, no change to the host.
 *
 * Exit status 0 when every check passed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NIM_HEADER
#include NIM_HEADER
#else
#include <stddef.h>
#include <stdint.h>
#define RET_OK 0
#define RET_ERR 1
#define RET_MISSING_CALLBACK 2
typedef void (*SdsCallBack)(int callerRet, const char* msg, size_t len, void* userData);
typedef void (*SdsRetrievalHintProvider)(const char* messageId, char** hint, size_t* hintLen, void* userData);
void* SdsNewReliabilityManager(SdsCallBack callback, void* userData);
void SdsSetEventCallback(void* ctx, SdsCallBack callback, void* userData);
void SdsSetRetrievalHintProvider(void* ctx, SdsRetrievalHintProvider callback, void* userData);
int SdsCleanupReliabilityManager(void* ctx, SdsCallBack callback, void* userData);
int SdsResetReliabilityManager(void* ctx, SdsCallBack callback, void* userData);
int SdsWrapOutgoingMessage(void* ctx, void* message, size_t messageLen, const char* messageId,
                           const char* channelId, SdsCallBack callback, void* userData);
int SdsUnwrapReceivedMessage(void* ctx, void* message, size_t messageLen, SdsCallBack callback, void* userData);
int SdsMarkDependenciesMet(void* ctx, char** messageIDs, size_t count, const char* channelId,
                           SdsCallBack callback, void* userData);
int SdsStartPeriodicTasks(void* ctx, SdsCallBack callback, void* userData);
#endif

static int failures;
#define CHECK(cond, ...)                                              \
	do {                                                              \
		if (!(cond)) {                                                \
			failures++;                                               \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                             \
			fputc('\n', stderr);                                      \
		}                                                             \
	} while (0)

/* A result the host waits for, as with the Nim library's asynchronous
 * callbacks. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, ret;
	char* msg;
	size_t len;
} result;

static void result_init(result* r) {
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static void on_result(int ret, const char* msg, size_t len, void* ud) {
	result* r = ud;
	pthread_mutex_lock(&r->mu);
	r->ret = ret;
	r->len = len;
	r->msg = malloc(len + 1);
	if (len) memcpy(r->msg, msg, len);
	r->msg[len] = 0;
	r->done = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void result_wait(result* r) {
	pthread_mutex_lock(&r->mu);
	while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

static void result_free(result* r) {
	free(r->msg);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

/* Events, collected as text. */
typedef struct {
	pthread_mutex_t mu;
	char log[1 << 16];
	size_t len;
} events;

static void on_event(int ret, const char* msg, size_t len, void* ud) {
	events* e = ud;
	pthread_mutex_lock(&e->mu);
	if (ret == RET_OK && e->len + len + 2 < sizeof e->log) {
		memcpy(e->log + e->len, msg, len);
		e->len += len;
		e->log[e->len++] = '\n';
		e->log[e->len] = 0;
	}
	pthread_mutex_unlock(&e->mu);
}

static int saw(events* e, const char* line) {
	pthread_mutex_lock(&e->mu);
	int found = strstr(e->log, line) != NULL;
	pthread_mutex_unlock(&e->mu);
	return found;
}

/* The hint is allocated with malloc, as the Nim header asks: the library
 * frees it. */
static void hint_provider(const char* id, char** hint, size_t* len, void* ud) {
	(void)ud;
	size_t n = strlen(id) + 5;
	*hint = malloc(n + 1);
	snprintf(*hint, n + 1, "hint-%s", id);
	*len = n;
}

/* Parses the wrap result "10,2,109" into bytes. */
static unsigned char* parse_bytes(const char* text, size_t* n) {
	unsigned char* out = malloc(strlen(text) / 2 + 2);
	size_t k = 0;
	const char* p = text;
	while (*p) {
		char* end;
		out[k++] = (unsigned char)strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
		if (end == p && *p) break;
	}
	*n = k;
	return out;
}

static void* new_manager(void) {
	result r;
	result_init(&r);
	void* ctx = SdsNewReliabilityManager(on_result, &r);
	CHECK(ctx != NULL, "SdsNewReliabilityManager returned NULL");
	result_wait(&r);
	CHECK(r.ret == RET_OK && r.len == 0, "creation reported %d %s", r.ret, r.msg);
	result_free(&r);
	return ctx;
}

static int call_ok(int rc, result* r, const char* what) {
	CHECK(rc == RET_OK, "%s returned %d", what, rc);
	if (rc != RET_OK) return 0;
	result_wait(r);
	CHECK(r->ret == RET_OK, "%s reported %d: %s", what, r->ret, r->msg);
	return r->ret == RET_OK;
}

/* call_ctx runs one of the functions that take only the context, and
 * checks that it succeeded. */
static void call_ctx(int (*fn)(void*, SdsCallBack, void*), void* ctx, const char* what) {
	result r;
	result_init(&r);
	call_ok(fn(ctx, on_result, &r), &r, what);
	result_free(&r);
}

static unsigned char* wrap(void* ctx, const char* text, const char* id, const char* channel, size_t* n) {
	result r;
	result_init(&r);
	unsigned char* out = NULL;
	*n = 0;
	if (call_ok(SdsWrapOutgoingMessage(ctx, (void*)text, strlen(text), id, channel, on_result, &r), &r, "wrap"))
		out = parse_bytes(r.msg, n);
	result_free(&r);
	return out;
}

static char* unwrap(void* ctx, unsigned char* bytes, size_t n) {
	result r;
	result_init(&r);
	char* json = NULL;
	if (call_ok(SdsUnwrapReceivedMessage(ctx, bytes, n, on_result, &r), &r, "unwrap")) {
		json = r.msg;
		r.msg = NULL;
	}
	result_free(&r);
	return json;
}

int main(void) {
	events ea = {.mu = PTHREAD_MUTEX_INITIALIZER}, eb = {.mu = PTHREAD_MUTEX_INITIALIZER};
	void* a = new_manager();
	void* b = new_manager();
	SdsSetEventCallback(a, on_event, &ea);
	SdsSetEventCallback(b, on_event, &eb);
	SdsSetRetrievalHintProvider(a, hint_provider, NULL);

	/* a sends m1 and m2; b receives m2 first: m1 is missing, with a's hint. */
	size_t n1, n2;
	unsigned char* m1 = wrap(a, "hi", "m1", "room", &n1);
	unsigned char* m2 = wrap(a, "there", "m2", "room", &n2);
	CHECK(m1 && m2 && n1 > 0 && n2 > 0, "wrap gave no bytes");

	char* j2 = unwrap(b, m2, n2);
	CHECK(j2 && strcmp(j2, "{\"message\":[116,104,101,114,101],\"channelId\":\"room\",\"missingDeps\":"
	                       "[{\"messageId\":\"m1\",\"retrievalHint\":\"aGludC1tMQ==\"}]}") == 0,
	      "unwrap m2: %s", j2);
	CHECK(saw(&eb, "{\"eventType\":\"missing_dependencies\",\"messageId\":\"m2\",\"channelId\":\"room\","
	               "\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"aGludC1tMQ==\"}]}"),
	      "events of b: %s", eb.log);

	/* The host fetched m1 by its hint: mark it met, m2 is delivered. */
	result r;
	result_init(&r);
	char* ids[] = {"m1"};
	call_ok(SdsMarkDependenciesMet(b, ids, 1, "room", on_result, &r), &r, "mark met");
	result_free(&r);
	CHECK(saw(&eb, "{\"messageId\":\"m2\",\"channelId\":\"room\",\"eventType\":\"message_ready\"}"),
	      "events of b: %s", eb.log);

	/* b answers: its message acknowledges m2 at a. */
	size_t n3;
	unsigned char* m3 = wrap(b, "ack", "m3", "room", &n3);
	char* j3 = unwrap(a, m3, n3);
	CHECK(j3 && strcmp(j3, "{\"message\":[97,99,107],\"channelId\":\"room\",\"missingDeps\":[]}") == 0,
	      "unwrap m3: %s", j3);
	CHECK(saw(&ea, "{\"messageId\":\"m2\",\"channelId\":\"room\",\"eventType\":\"message_sent\"}"),
	      "events of a: %s", ea.log);
	CHECK(saw(&ea, "{\"messageId\":\"m3\",\"channelId\":\"room\",\"eventType\":\"message_ready\"}"),
	      "events of a: %s", ea.log);

	/* Errors as the Nim library gives them. */
	result_init(&r);
	CHECK(SdsWrapOutgoingMessage(a, "x", 1, "m9", "", on_result, &r) == RET_ERR, "empty channel id accepted");
	result_wait(&r);
	CHECK(r.ret == RET_ERR && r.len > 0, "empty channel id: %d %s", r.ret, r.msg);
	result_free(&r);
	CHECK(SdsWrapOutgoingMessage(a, "x", 1, "m9", "room", NULL, NULL) == RET_MISSING_CALLBACK, "NULL callback");
	result_init(&r);
	char* none[] = {"m1"};
	CHECK(SdsMarkDependenciesMet(a, none, 1, "no-such-channel", on_result, &r) == RET_OK, "mark met returned");
	result_wait(&r);
	CHECK(r.ret == RET_ERR && r.len > 0, "mark met on an unknown channel: %d %s", r.ret, r.msg);
	result_free(&r);

	call_ctx(SdsStartPeriodicTasks, a, "start periodic tasks");
	call_ctx(SdsResetReliabilityManager, b, "reset");

	/* Cleaned-up contexts are refused, not used. */
	call_ctx(SdsCleanupReliabilityManager, a, "cleanup a");
	call_ctx(SdsCleanupReliabilityManager, b, "cleanup b");
	result_init(&r);
	CHECK(SdsWrapOutgoingMessage(a, "x", 1, "m10", "room", on_result, &r) == RET_ERR, "cleaned-up context used");
	result_free(&r);

	free(m1);
	free(m2);
	free(m3);
	free(j2);
	free(j3);
	if (failures) {
		fprintf(stderr, "nimclient: %d check(s) failed\n", failures);
		return 1;
	}
	printf("nimclient: a host written for the Nim header ran unchanged against libsds.so\n");
	return 0;
}
