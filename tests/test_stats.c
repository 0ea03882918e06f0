/* Metrics (SdsGetStats, sds_get_stats): every counter moves by a known
 * amount. Each test keeps, beside each manager, the counters it should
 * report: bytes, bloom-filter bytes and repair-request entries measured
 * here from the wire bytes the manager made and received, and every other
 * count stated by the test or read from the events it saw. All counters
 * are compared, in the JSON and in the CBOR answer, so one that moves
 * where it should not fails too. */
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "harness.h"
#include "libsds.h"
#include "util.h"

/* The counters, in the order include/libsds.h lists them. */
enum {
	WRAPPED_CONTENT, WRAPPED_SYNC, WRAPPED_EPHEMERAL,
	RECEIVED_CONTENT, RECEIVED_SYNC, RECEIVED_EPHEMERAL, UNWRAP_ERRORS,
	DELIVERED, DUPLICATES, ACK_BY_HISTORY, ACK_BY_BLOOM, RESENDS, FAILED,
	MISSING_DEP_REPORTS, DEPS_LOST_REPORTS, DEPS_LOST, INCOMING_EVICTED,
	REPAIR_REQUESTS_SENT, REPAIR_REQUEST_RETRIES, REPAIR_REQUEST_SYNCS, REPAIR_REQUESTS_RECEIVED,
	REPAIRS_ANSWERED, REPAIRS_ANSWERED_AS_SENDER, REPAIR_SYNC_GAPS, REPAIRS_ARRIVED,
	BYTES_SENT, BLOOM_BYTES_SENT, BYTES_RECEIVED, BLOOM_BYTES_RECEIVED,
	PERSISTENCE_FAILURES, PERSISTENCE_BACKLOGS,
	N_COUNTERS
};

static const char* const counter_keys[N_COUNTERS] = {
	"wrappedContent", "wrappedSync", "wrappedEphemeral",
	"receivedContent", "receivedSync", "receivedEphemeral", "unwrapErrors",
	"delivered", "duplicates", "acknowledgedByHistory", "acknowledgedByBloom", "resends", "failed",
	"missingDependencyReports", "dependenciesLostReports", "dependenciesLost", "incomingEvicted",
	"repairRequestsSent", "repairRequestRetries", "repairRequestSyncs", "repairRequestsReceived",
	"repairsAnswered", "repairsAnsweredAsSender", "repairSyncGaps", "repairsArrived",
	"bytesSent", "bloomBytesSent", "bytesReceived", "bloomBytesReceived",
	"persistenceFailures", "persistenceBacklogs",
};

/* Peer is a manager, the events it raised and the counters it should
 * report. */
typedef struct {
	void* ctx;
	Events ev;
	int rfc; /* its wire format is the RFC's */
	uint64_t want[N_COUNTERS];
} Peer;

static void peer_init(Peer* p, const char* config) {
	memset(p, 0, sizeof *p);
	events_init(&p->ev);
	p->ctx = new_manager_config(config);
	p->rfc = strstr(config, "\"rfc\"") != NULL;
	SdsSetEventCallback(p->ctx, events_cb, &p->ev);
}

static void peer_free(Peer* p) {
	cleanup(p->ctx);
	events_clear(&p->ev);
}

static void start(Peer* p) {
	Capture c = {0};
	CHECK_INT(SdsStartPeriodicTasks(p->ctx, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	capture_reset(&c);
}

/* bloom_bytes measures the bloom_filter field (tag, length, filter) of
 * message b in its format: 0 when absent or empty. */
static uint64_t bloom_bytes(const uint8_t* b, size_t n, int rfc) {
	const uint8_t* v;
	size_t vl;
	if (!pb_field(b, n, rfc ? 12 : 6, &v, &vl, NULL) || vl == 0) return 0;
	uint64_t head = 1; /* the tag: fields 6 and 12 take one byte */
	for (size_t l = vl; l >= 0x80; l >>= 7) head++;
	return head + 1 + vl;
}

/* sent counts a message p made. */
static void sent(Peer* p, const uint8_t* b, size_t n) {
	p->want[BYTES_SENT] += n;
	p->want[BLOOM_BYTES_SENT] += bloom_bytes(b, n, p->rfc);
	p->want[REPAIR_REQUESTS_SENT] += (uint64_t)pb_count(b, n, 13);
}

/* peer_wrap wraps a content message of p (SdsFree it). */
static uint8_t* peer_wrap(Peer* p, const char* id, size_t* n) {
	uint8_t* w = NULL;
	*n = 0;
	CHECK_INT(SdsWrapOutgoingMessageBinary(p->ctx, id, strlen(id), id, "room", &w, n, NULL), RET_OK);
	p->want[WRAPPED_CONTENT]++;
	sent(p, w, *n);
	return w;
}

static uint8_t* peer_wrap_sync(Peer* p, size_t* n) {
	uint8_t* w = NULL;
	*n = 0;
	CHECK_INT(SdsWrapSyncMessageBinary(p->ctx, "room", &w, n, NULL), RET_OK);
	p->want[WRAPPED_SYNC]++;
	sent(p, w, *n);
	return w;
}

/* recv unwraps b at p, counting it as received by kind with its bytes,
 * and the repair requests of a content message new here, or of a sync;
 * returns its flags. */
static unsigned recv(Peer* p, const uint8_t* b, size_t n) {
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(p->ctx, b, n, &r, NULL), RET_OK);
	if (r == NULL) return 0;
	unsigned flags = r->flags;
	p->want[BYTES_RECEIVED] += n;
	if (r->kind == SDS_MESSAGE_EPHEMERAL) {
		p->want[RECEIVED_EPHEMERAL]++;
	} else {
		p->want[r->kind == SDS_MESSAGE_SYNC ? RECEIVED_SYNC : RECEIVED_CONTENT]++;
		p->want[BLOOM_BYTES_RECEIVED] += bloom_bytes(b, n, r->wireFormat == SDS_WIRE_RFC);
		if (!(flags & SDS_UNWRAP_DUPLICATE)) p->want[REPAIR_REQUESTS_RECEIVED] += (uint64_t)pb_count(b, n, 13);
	}
	SdsFree(r);
	return flags;
}

/* take returns the payload of the nth event of type (counted as sent by
 * p) and its length in *n; NULL if there is none. */
static uint8_t* take(Peer* p, const char* type, int nth, long* n) {
	uint8_t* w = NULL;
	*n = -1;
	pthread_mutex_lock(&p->ev.mu);
	for (int i = 0; i < p->ev.n; i++)
		if (strstr(p->ev.ev[i], type) && nth-- == 0) *n = event_payload(p->ev.ev[i], &w);
	pthread_mutex_unlock(&p->ev.mu);
	if (*n < 0) return NULL;
	sent(p, w, (size_t)*n);
	return w;
}

/* The counters object of a stats JSON holds as many keys as we know. */
static int json_counter_keys(const char* json) {
	const char* p = json ? strstr(json, "\"counters\":{") : NULL;
	const char* end = p ? strchr(p, '}') : NULL;
	int n = 0;
	for (; p && p < end; p++) n += *p == ':';
	return n - 1; /* the colon after "counters" */
}

/* check compares p's counters in SdsGetStats and sds_get_stats with those
 * it should report, naming each that differs. */
static void check(Peer* p, const char* when) {
	char* json = get_stats(p->ctx);
	CHECK_INT(json_counter_keys(json), N_COUNTERS);
	Capture c = {0};
	const uint8_t empty_map = 0xa0;
	CHECK_INT(sds_get_stats(p->ctx, capture_cb, &c, &empty_map, 1), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	for (int i = 0; i < N_COUNTERS; i++) {
		double got = stat_value(json, NULL, "counters", counter_keys[i]);
		if (got != (double)p->want[i])
			harness_fail(__FILE__, __LINE__, "%s: SdsGetStats %s = %.0f, want %llu", when, counter_keys[i], got,
			             (unsigned long long)p->want[i]);
		size_t off;
		int major = -1;
		uint64_t v = 0;
		const uint8_t* b = (const uint8_t*)c.copy;
		if (!b || !cb_path(b, c.len, &off, "counters", counter_keys[i], NULL) ||
		    !cb_read_head(b, c.len, &off, &major, &v) || major != 0 || v != p->want[i])
			harness_fail(__FILE__, __LINE__, "%s: sds_get_stats %s = %llu (major %d), want %llu", when,
			             counter_keys[i], (unsigned long long)v, major, (unsigned long long)p->want[i]);
	}
	capture_reset(&c);
	free(json);
}

/* gauge reads one of p's gauges (SdsGetStats). */
static double gauge(Peer* p, const char* key) {
	char* json = get_stats(p->ctx);
	double v = stat_value(json, NULL, "gauges", key);
	free(json);
	return v;
}

/* Content and sync messages, a duplicate, acknowledgement by causal
 * history and by bloom filter, and their bytes; the manager's figures and
 * the channel's. */
TEST(stats_messages_and_acks) {
	Peer a, b;
	peer_init(&a, "{\"participantId\":\"alice\"}");
	peer_init(&b, "{\"participantId\":\"bob\",\"maxCausalHistory\":1}");
	size_t n1, n2, nb, ns;
	uint8_t* w1 = peer_wrap(&a, "a1", &n1);
	uint8_t* w2 = peer_wrap(&a, "a2", &n2);
	recv(&b, w1, n1);
	recv(&b, w2, n2);
	CHECK(recv(&b, w1, n1) & SDS_UNWRAP_DUPLICATE);
	b.want[DELIVERED] += 2;
	b.want[DUPLICATES]++;
	check(&b, "bob received");
	check(&a, "alice sent");
	CHECK_INT(gauge(&a, "outgoing"), 2);

	/* bob's message names a2 (his causal history is one entry) and
	 * carries a1 in its bloom filter. */
	uint8_t* wb = peer_wrap(&b, "b1", &nb);
	recv(&a, wb, nb);
	a.want[DELIVERED]++;
	a.want[ACK_BY_HISTORY]++;
	a.want[ACK_BY_BLOOM]++;
	check(&a, "alice acknowledged");
	CHECK_INT(gauge(&a, "outgoing"), 0);
	CHECK_INT(gauge(&a, "logEntries"), 3);
	/* alice's sync names b1. */
	uint8_t* ws = peer_wrap_sync(&a, &ns);
	recv(&b, ws, ns);
	b.want[ACK_BY_HISTORY]++;
	check(&b, "bob acknowledged");
	CHECK(a.want[BLOOM_BYTES_SENT] > 0 && a.want[BLOOM_BYTES_SENT] < a.want[BYTES_SENT]);

	/* The channel's own figures, in perChannel. */
	char* json = get_stats(a.ctx);
	CHECK_INT(stat_value(json, NULL, "counters", "wrappedContent"), 2);
	CHECK_INT(stat_value(json, "room", "counters", "wrappedContent"), 2);
	CHECK_INT(stat_value(json, "room", "counters", "bytesSent"), a.want[BYTES_SENT]);
	CHECK(strstr(json, "\"channels\":1,") != NULL);
	free(json);
	SdsFree(w1), SdsFree(w2), SdsFree(wb), SdsFree(ws);
	peer_free(&a);
	peer_free(&b);
}

/* SDS-R with the default rules: bob misses a1 and asks for it in request
 * syncs (repair_request) until alice's answer (repair_ready) arrives; a2
 * waited for it in the incoming buffer. */
TEST(stats_repair) {
	Peer a, b;
	peer_init(&a, "{\"participantId\":\"alice\",\"repairTMinMs\":20,\"repairTMaxMs\":20,\"repairSweepIntervalMs\":5}");
	peer_init(&b, "{\"participantId\":\"bob\",\"repairTMinMs\":50,\"repairTMaxMs\":50,"
	              "\"repairRetryIntervalMs\":500,\"repairSweepIntervalMs\":5}");
	size_t n1, n2;
	uint8_t* w1 = peer_wrap(&a, "a1", &n1); /* lost for bob */
	uint8_t* w2 = peer_wrap(&a, "a2", &n2);
	recv(&b, w2, n2);
	b.want[MISSING_DEP_REPORTS]++;
	CHECK_INT(gauge(&b, "incoming"), 1);
	CHECK_INT(gauge(&b, "repairRequestsPending"), 1);

	/* The first request at 50 ms, the retry 500 ms later. */
	start(&b);
	ASSERT(events_wait(&b.ev, "\"repair_request\"", 2, 10000));
	long rn, pn;
	uint8_t* req = take(&b, "\"repair_request\"", 1, &rn);
	ASSERT(req != NULL);
	start(&a);
	recv(&a, req, (size_t)rn);
	ASSERT(events_wait(&a.ev, "\"repair_ready\"", 1, 10000));
	uint8_t* rep = take(&a, "\"repair_ready\"", 0, &pn);
	ASSERT(rep != NULL);
	a.want[REPAIRS_ANSWERED]++;
	a.want[REPAIRS_ANSWERED_AS_SENDER]++;
	/* The request sync acknowledged a2 if it carried bob's history or
	 * bloom filter. */
	if (events_count(&a.ev, "message_sent") == 1)
		a.want[pb_count(req, (size_t)rn, 3) > 0 ? ACK_BY_HISTORY : ACK_BY_BLOOM]++;
	CHECK(recv(&b, rep, (size_t)pn) & SDS_UNWRAP_DELIVERED);
	b.want[REPAIRS_ARRIVED]++;
	b.want[DELIVERED] += 2;

	/* Once a1 is here bob asks no more: count the request syncs he made
	 * (a retry may have come meanwhile), letting one in flight land. */
	sleep_ms(50);
	int syncs = events_count(&b.ev, "\"repair_request\"");
	CHECK(syncs >= 2);
	b.want[REPAIR_REQUEST_SYNCS] = (uint64_t)syncs;
	b.want[REPAIR_REQUEST_RETRIES] = (uint64_t)syncs - 1; /* each asks for a1 alone */
	b.want[BYTES_SENT] = b.want[BLOOM_BYTES_SENT] = b.want[REPAIR_REQUESTS_SENT] = 0;
	for (int i = 0; i < syncs; i++) {
		long n;
		free(take(&b, "\"repair_request\"", i, &n));
	}
	CHECK_INT(b.want[REPAIR_REQUESTS_SENT], syncs);
	check(&a, "alice answered");
	check(&b, "bob repaired");
	char* json = get_stats(b.ctx);
	CHECK_INT(stat_value(json, NULL, "incomingWait", "count"), 1);
	CHECK(stat_value(json, NULL, "incomingWait", "sumSeconds") >= 0.5);
	CHECK_INT(stat_value(json, NULL, "gauges", "incoming"), 0);
	CHECK_INT(stat_value(json, NULL, "gauges", "repairRequestsPending"), 0);
	free(json);
	free(req), free(rep), SdsFree(w1), SdsFree(w2);
	peer_free(&a);
	peer_free(&b);
}

/* A peer's sync lacking one of our messages is answered unasked. */
TEST(stats_sync_gap) {
	Peer a, b;
	peer_init(&a, "{\"participantId\":\"alice\",\"repairTMinMs\":10,\"repairTMaxMs\":10,"
	              "\"repairRetryIntervalMs\":10,\"repairSweepIntervalMs\":5}");
	peer_init(&b, "{\"participantId\":\"bob\"}");
	size_t n1, ns;
	uint8_t* w1 = peer_wrap(&a, "a1", &n1); /* lost for bob, who never learns of it */
	sleep_ms(50);                           /* older than repairTMax + the retry interval */
	uint8_t* ws = peer_wrap_sync(&b, &ns);
	recv(&a, ws, ns);
	a.want[REPAIR_SYNC_GAPS]++;
	start(&a);
	ASSERT(events_wait(&a.ev, "\"repair_ready\"", 1, 10000));
	long pn;
	uint8_t* rep = take(&a, "\"repair_ready\"", 0, &pn);
	ASSERT(rep != NULL);
	recv(&b, rep, (size_t)pn);
	a.want[REPAIRS_ANSWERED]++;
	a.want[REPAIRS_ANSWERED_AS_SENDER]++;
	b.want[DELIVERED]++;
	check(&a, "alice");
	check(&b, "bob");
	free(rep), SdsFree(w1), SdsFree(ws);
	peer_free(&a);
	peer_free(&b);
}

/* Resends until the message fails. */
TEST(stats_resend_and_failure) {
	Peer a;
	peer_init(&a, "{\"resendIntervalMs\":20,\"possiblyAckedResendIntervalMs\":20,"
	              "\"maxResendAttempts\":2,\"bufferSweepIntervalMs\":5}");
	size_t n;
	SdsFree(peer_wrap(&a, "a1", &n));
	start(&a);
	ASSERT(events_wait(&a.ev, "message_failed", 1, 10000));
	for (int i = 0; i < 2; i++) {
		long rn;
		free(take(&a, "\"message_resend\"", i, &rn));
		CHECK(rn > 0);
	}
	CHECK_INT(events_count(&a.ev, "\"message_resend\""), 2);
	a.want[RESENDS] += 2;
	a.want[FAILED]++;
	check(&a, "alice");
	CHECK_INT(gauge(&a, "outgoing"), 0);
	peer_free(&a);
}

/* A buffer of one message: the second waiting message evicts the first;
 * after maxDependencyWaitMs it gives up on its three dependencies and is
 * delivered. */
TEST(stats_eviction_and_loss) {
	Peer a, b;
	peer_init(&a, "{}");
	peer_init(&b, "{\"maxIncomingBuffer\":1,\"maxDependencyWaitMs\":100,\"bufferSweepIntervalMs\":5,"
	              "\"repairTMinMs\":60000,\"repairTMaxMs\":60000}");
	size_t n[4];
	uint8_t* w[4];
	char id[3] = "a0";
	for (int i = 0; i < 4; i++) {
		id[1] = (char)('1' + i);
		w[i] = peer_wrap(&a, id, &n[i]);
	}
	recv(&b, w[2], n[2]); /* waits for a1, a2 */
	recv(&b, w[3], n[3]); /* waits for a3 too; evicts it */
	b.want[MISSING_DEP_REPORTS] += 2;
	b.want[INCOMING_EVICTED]++;
	check(&b, "evicted");
	start(&b);
	ASSERT(events_wait(&b.ev, "\"message_ready\"", 1, 10000));
	CHECK_INT(events_count(&b.ev, "\"lost\":[\"a1\",\"a2\",\"a3\"]"), 1);
	b.want[DEPS_LOST_REPORTS]++;
	b.want[DEPS_LOST] += 3;
	b.want[DELIVERED]++;
	check(&b, "lost");
	for (int i = 0; i < 4; i++) SdsFree(w[i]);
	peer_free(&a);
	peer_free(&b);
}

/* Ephemeral messages and failed unwraps belong to no channel; the RFC
 * format's bloom filter is counted in its own field. */
TEST(stats_ephemeral_and_errors) {
	Peer a, b;
	peer_init(&a, "{\"participantId\":\"alice\",\"wireFormat\":\"rfc\"}");
	peer_init(&b, "{\"participantId\":\"bob\",\"wireFormat\":\"rfc\"}");
	uint8_t* e = NULL;
	size_t en = 0;
	CHECK_INT(SdsWrapEphemeralMessageBinary(a.ctx, "now", 3, "e1", "room", &e, &en, NULL), RET_OK);
	a.want[WRAPPED_EPHEMERAL]++;
	a.want[BYTES_SENT] += en;
	recv(&b, e, en);
	SdsUnwrapResult* r = NULL;
	CHECK_INT(SdsUnwrapReceivedMessageBinary(b.ctx, "junk", 4, &r, NULL), RET_ERR);
	b.want[UNWRAP_ERRORS]++;
	check(&a, "alice");
	check(&b, "bob");
	CHECK_INT(gauge(&b, "outgoing"), 0);
	size_t n;
	uint8_t* w = peer_wrap(&a, "a1", &n);
	recv(&b, w, n);
	b.want[DELIVERED]++;
	check(&b, "bob, RFC content");
	SdsFree(e), SdsFree(w);
	peer_free(&a);
	peer_free(&b);
}

/* ---- persistence: a store whose writes fail while fail is set. */
static int fail_writes;
static int ps_meta(void* ud, const char* ch, size_t chLen, const SdsBytes* pk, const SdsBytes* pv, size_t np,
                   const SdsBytes* dk, size_t nd) {
	return __atomic_load_n(&fail_writes, __ATOMIC_SEQ_CST) ? 5 : 0;
}
static int ps_history(void* ud, const char* ch, size_t chLen, const SdsBytes* ids, const SdsBytes* msgs,
                      size_t na, const SdsBytes* ev, size_t ne) {
	return __atomic_load_n(&fail_writes, __ATOMIC_SEQ_CST) ? 5 : 0;
}
static int ps_load(void* ud, const char* ch, size_t chLen, SdsLoader* l) { return 0; }
static int ps_drop(void* ud, const char* ch, size_t chLen) { return 0; }
static int ps_hint(void* ud, const char* ch, size_t chLen, const char* id, size_t idLen, const uint8_t* h,
                   size_t hl) {
	return 0;
}

/* Store failures, the backlog they build, and the pending writes. */
TEST(stats_persistence) {
	SdsPersistence ps = {NULL, ps_meta, ps_history, ps_load, ps_drop, ps_hint};
	Peer a;
	memset(&a, 0, sizeof a);
	events_init(&a.ev);
	Capture c = {0};
	a.ctx = SdsNewReliabilityManagerWithPersistence("{\"persistMaxPending\":2}", &ps, capture_cb, &c);
	capture_reset(&c);
	ASSERT(a.ctx != NULL);
	SdsSetEventCallback(a.ctx, events_cb, &a.ev);
	size_t n;
	SdsFree(peer_wrap(&a, "a1", &n));
	__atomic_store_n(&fail_writes, 1, __ATOMIC_SEQ_CST);
	SdsFree(peer_wrap(&a, "a2", &n));
	SdsFree(peer_wrap(&a, "a3", &n));
	a.want[PERSISTENCE_FAILURES] += 2;
	a.want[PERSISTENCE_BACKLOGS]++;
	CHECK_INT(events_count(&a.ev, "persistence_backlog"), 1);
	check(&a, "failing");
	CHECK(gauge(&a, "persistencePending") > 2);
	char* json = get_stats(a.ctx);
	CHECK(json && strstr(json, "\"persistenceEnabled\":true") != NULL);
	free(json);
	__atomic_store_n(&fail_writes, 0, __ATOMIC_SEQ_CST);
	SdsFree(peer_wrap(&a, "a4", &n));
	check(&a, "recovered");
	CHECK_INT(gauge(&a, "persistencePending"), 0);
	peer_free(&a);
}

/* Errors: a NULL callback, a foreign ctx, a bad CBOR request. */
TEST(stats_errors) {
	void* a = new_manager();
	Capture c = {0};
	CHECK_INT(SdsGetStats(a, NULL, NULL), RET_MISSING_CALLBACK);
	CHECK_INT(SdsGetStats(NULL, capture_cb, &c), RET_ERR);
	capture_reset(&c);
	const uint8_t bad = 0xff;
	CHECK_INT(sds_get_stats(a, capture_cb, &c, &bad, 1), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	capture_reset(&c);
	/* A fresh manager: every counter zero, the histogram's 15 buckets. */
	char* json = get_stats(a);
	CHECK(json && strstr(json, "{\"channels\":0,\"persistenceEnabled\":false,\"counters\":{\"wrappedContent\":0,") == json);
	CHECK(json && strstr(json, "\"counts\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],\"count\":0,\"sumSeconds\":0}") != NULL);
	free(json);
	cleanup(a);
}
