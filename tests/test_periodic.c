/* The time-driven work (SdsStartPeriodicTasks): periodic_sync, resends and
 * failures, and an SDS-R repair between three participants - events that
 * come from the library's own thread, outside any call of the host. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

static void start(void* ctx) {
	Capture c = {0};
	CHECK_INT(SdsStartPeriodicTasks(ctx, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");
	capture_reset(&c);
}

TEST(periodic_sync) {
	Events ev;
	events_init(&ev);
	void* a = new_manager_config("{\"syncMessageIntervalMs\":20}");
	SdsSetEventCallback(a, events_cb, &ev);
	start(a);
	/* One at once, as Nim, then every 20 ms. */
	CHECK(events_wait(&ev, "periodic_sync", 3, 5000));
	pthread_mutex_lock(&ev.mu);
	CHECK_STR(ev.ev[0], "{\"eventType\":\"periodic_sync\"}");
	CHECK(!pthread_equal(ev.thread, pthread_self())); /* the library's thread */
	CHECK_INT(ev.bad, 0);
	pthread_mutex_unlock(&ev.mu);
	start(a); /* again: nothing changes */
	/* Cleanup stops them: no event after it returned. */
	cleanup(a);
	int n = events_count(&ev, "");
	sleep_ms(60);
	CHECK_INT(events_count(&ev, ""), n);
	events_clear(&ev);
}

/* An unacknowledged message is handed back for rebroadcast, then fails. */
TEST(periodic_resend_and_failure) {
	Events ev;
	events_init(&ev);
	void* a = new_manager_config("{\"resendIntervalMs\":20,\"possiblyAckedResendIntervalMs\":20,"
	                             "\"maxResendAttempts\":2,\"bufferSweepIntervalMs\":5}");
	SdsSetEventCallback(a, events_cb, &ev);
	uint8_t* w;
	long n = wrap(a, "hello", "m1", "c", &w);
	start(a);
	CHECK(events_wait(&ev, "message_failed", 1, 5000));
	CHECK_INT(events_count(&ev, "\"eventType\":\"message_resend\""), 2);
	pthread_mutex_lock(&ev.mu);
	int resends = 0;
	for (int i = 0; i < ev.n; i++) {
		const char* e = ev.ev[i];
		if (strstr(e, "periodic_sync")) continue;
		if (strstr(e, "message_failed")) {
			CHECK_STR(e, "{\"eventType\":\"message_failed\",\"messageId\":\"m1\",\"channelId\":\"c\"}");
			continue;
		}
		char head[128];
		snprintf(head, sizeof head,
		         "{\"eventType\":\"message_resend\",\"messageId\":\"m1\",\"channelId\":\"c\",\"attempt\":%d,\"message\":\"",
		         ++resends);
		ASSERT(strncmp(e, head, strlen(head)) == 0);
		/* The bytes to broadcast again: our m1, as a peer can unwrap it. */
		const char* b64 = e + strlen(head);
		uint8_t* again;
		long an = unbase64(b64, strlen(b64) - 2, &again);
		CHECK(an > 0 && strcmp(b64 + strlen(b64) - 2, "\"}") == 0);
		const uint8_t* v;
		size_t vl;
		CHECK(an > 0 && pb_field(again, an, 1, &v, &vl, NULL) && vl == 2 && memcmp(v, "m1", 2) == 0);
		CHECK(an > 0 && pb_field(again, an, 5, &v, &vl, NULL) && vl == 5 && memcmp(v, "hello", 5) == 0);
		if (an > 0) free(again);
	}
	pthread_mutex_unlock(&ev.mu);
	CHECK_INT(resends, 2);
	(void)n;
	free(w);
	cleanup(a);
	events_clear(&ev);
}

/* SDS-R with the RFC's rules: b misses m1 and asks for it in its next
 * message; c, which has m1, answers with repair_ready carrying m1's wire
 * bytes, which b can unwrap. */
TEST(periodic_repair_ready) {
	/* T_req is exactly 200 ms when tMin == tMax, and a request stays
	 * valid until tMax after it is due: b wraps between 200 and 400 ms. */
	const char* cfg = "{\"participantId\":\"%s\",\"repairTMinMs\":200,\"repairTMaxMs\":200,"
	                  "\"repairSweepIntervalMs\":5,\"repairPolicy\":\"rfc\",\"repairRequestSync\":false}";
	char ca[256], cb[256], cc[256];
	snprintf(ca, sizeof ca, cfg, "alice");
	snprintf(cb, sizeof cb, cfg, "bob");
	snprintf(cc, sizeof cc, cfg, "carol");
	void* a = new_manager_config(ca);
	void* b = new_manager_config(cb);
	void* c = new_manager_config(cc);
	Events eb, ec;
	events_init(&eb);
	events_init(&ec);
	SdsSetEventCallback(b, events_cb, &eb);
	SdsSetEventCallback(c, events_cb, &ec);

	uint8_t *m1, *m2;
	long n1 = wrap(a, "one", "m1", "room", &m1);
	long n2 = wrap(a, "two", "m2", "room", &m2);
	free(unwrap(c, m1, n1));
	free(unwrap(c, m2, n2));
	free(unwrap(b, m2, n2)); /* b misses m1 */
	CHECK_INT(events_count(&eb, "missing_dependencies"), 1);
	sleep_ms(250); /* b's repair request for m1 is due */
	uint8_t* r;
	long nr = wrap(b, "ask", "b1", "room", &r);
	const uint8_t* req;
	size_t rl;
	CHECK(pb_field(r, nr, 13, &req, &rl, NULL)); /* carries a repair request */
	start(c);
	free(unwrap(c, r, nr));
	CHECK(events_wait(&ec, "repair_ready", 1, 5000));
	pthread_mutex_lock(&ec.mu);
	const char* e = NULL;
	for (int i = 0; i < ec.n; i++)
		if (strstr(ec.ev[i], "repair_ready")) e = ec.ev[i];
	const char* head = "{\"eventType\":\"repair_ready\",\"channelId\":\"room\",\"message\":\"";
	uint8_t* wire = NULL;
	long wn = -1;
	if (e && strncmp(e, head, strlen(head)) == 0 && strcmp(e + strlen(e) - 2, "\"}") == 0)
		wn = unbase64(e + strlen(head), strlen(e) - strlen(head) - 2, &wire);
	pthread_mutex_unlock(&ec.mu);
	ASSERT(wn > 0);
	/* m1, re-encoded from carol's log (which keeps no bloom filter). */
	const uint8_t* v;
	size_t vl;
	CHECK(pb_field(wire, wn, 1, &v, &vl, NULL) && vl == 2 && memcmp(v, "m1", 2) == 0);
	CHECK(pb_field(wire, wn, 5, &v, &vl, NULL) && vl == 3 && memcmp(v, "one", 3) == 0);
	free(unwrap(b, wire, wn));
	CHECK_INT(events_count(&eb, "\"messageId\":\"m1\",\"channelId\":\"room\",\"eventType\":\"message_ready\""), 1);
	CHECK_INT(events_count(&eb, "\"messageId\":\"m2\",\"channelId\":\"room\",\"eventType\":\"message_ready\""), 1);
	free(wire);
	free(m1), free(m2), free(r);
	cleanup(a);
	cleanup(b);
	cleanup(c);
	events_clear(&eb);
	events_clear(&ec);
}

/* The last event of ev containing type, with the wire bytes of its
 * "message" decoded into *wire; -1 if none. */
static long event_message(Events* ev, const char* type, const char* head, uint8_t** wire) {
	long wn = -1;
	pthread_mutex_lock(&ev->mu);
	const char* e = NULL;
	for (int i = 0; i < ev->n; i++)
		if (strstr(ev->ev[i], type)) e = ev->ev[i];
	if (e && strncmp(e, head, strlen(head)) == 0) wn = event_payload(e, wire);
	pthread_mutex_unlock(&ev->mu);
	return wn;
}

/* SDS-R with the default rules: b misses m1; with nothing to send, its
 * periodic tasks hand it a sync message carrying the request when T_req
 * comes (repair_request); a, m1's sender, answers it at once. With
 * repairRequestSync false nothing is handed out. */
TEST(periodic_repair_request) {
	const char* cfg = "{\"participantId\":\"%s\",\"repairTMinMs\":100,\"repairTMaxMs\":100%s}";
	char ca[256], cb[256], cq[256];
	snprintf(ca, sizeof ca, cfg, "alice", "");
	snprintf(cb, sizeof cb, cfg, "bob", "");
	snprintf(cq, sizeof cq, cfg, "quiet", ",\"repairRequestSync\":false");
	void* a = new_manager_config(ca);
	void* b = new_manager_config(cb);
	void* q = new_manager_config(cq);
	Events ea, eb, eq;
	events_init(&ea);
	events_init(&eb);
	events_init(&eq);
	SdsSetEventCallback(a, events_cb, &ea);
	SdsSetEventCallback(b, events_cb, &eb);
	SdsSetEventCallback(q, events_cb, &eq);

	uint8_t *m1, *m2;
	long n1 = wrap(a, "one", "m1", "room", &m1);
	long n2 = wrap(a, "two", "m2", "room", &m2);
	free(unwrap(b, m2, n2)); /* b and q miss m1 */
	free(unwrap(q, m2, n2));
	start(b);
	start(q);
	CHECK(events_wait(&eb, "repair_request", 1, 5000));
	uint8_t* req = NULL;
	long rn = event_message(&eb, "repair_request", "{\"eventType\":\"repair_request\",\"messageId\":\"sync-", &req);
	ASSERT(rn > 0);
	CHECK_INT(events_count(&eb, "\"channelId\":\"room\",\"requested\":[\"m1\"],\"message\":\""), 1);
	const uint8_t* v;
	size_t vl;
	CHECK(pb_field(req, rn, 1, &v, &vl, NULL) && vl > 5 && memcmp(v, "sync-", 5) == 0);
	CHECK(!pb_field(req, rn, 5, &v, &vl, NULL) || vl == 0); /* a sync message: no content */
	CHECK(pb_field(req, rn, 13, &v, &vl, NULL));           /* carrying the request */
	start(a);
	free(unwrap(a, req, rn));
	CHECK(events_wait(&ea, "repair_ready", 1, 5000));
	uint8_t* rep = NULL;
	long pn = event_message(&ea, "repair_ready", "{\"eventType\":\"repair_ready\",\"channelId\":\"room\"", &rep);
	ASSERT(pn > 0);
	free(unwrap(b, rep, pn));
	CHECK_INT(events_count(&eb, "\"messageId\":\"m1\",\"channelId\":\"room\",\"eventType\":\"message_ready\""), 1);
	CHECK_INT(events_count(&eb, "\"messageId\":\"m2\",\"channelId\":\"room\",\"eventType\":\"message_ready\""), 1);
	/* q's request fell due too (the same 100 ms), but stays with q. */
	sleep_ms(100);
	CHECK_INT(events_count(&eq, "repair_request"), 0);
	(void)n1;
	free(req), free(rep), free(m1), free(m2);
	cleanup(a);
	cleanup(b);
	cleanup(q);
	events_clear(&ea);
	events_clear(&eb);
	events_clear(&eq);
}

/* A periodic_sync callback cleans its own manager up: the library's
 * thread is inside that callback, so the cleanup must not wait for it to
 * end (it ends once the callback returns), and no event follows. */
typedef struct {
	void* self;
	pthread_mutex_t mu;
	int syncs, cleaned, after;
} SelfCleanup;

static void cleanup_on_sync(int ret, const char* msg, size_t len, void* ud) {
	SelfCleanup* s = ud;
	(void)ret, (void)len;
	pthread_mutex_lock(&s->mu);
	int first = !s->cleaned && strstr(msg, "periodic_sync") != NULL;
	if (s->cleaned) s->after++;
	s->syncs += first;
	pthread_mutex_unlock(&s->mu);
	if (!first) return;
	Capture c = {0};
	CHECK_INT(SdsCleanupReliabilityManager(s->self, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	capture_reset(&c);
	pthread_mutex_lock(&s->mu);
	s->cleaned = 1;
	pthread_mutex_unlock(&s->mu);
}

TEST(periodic_cleanup_from_callback) {
	SelfCleanup s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	s.self = new_manager_config("{\"syncMessageIntervalMs\":5}");
	SdsSetEventCallback(s.self, cleanup_on_sync, &s);
	start(s.self);
	int cleaned = 0;
	for (int i = 0; i < 1000 && !cleaned; i++) {
		sleep_ms(10);
		pthread_mutex_lock(&s.mu);
		cleaned = s.cleaned;
		pthread_mutex_unlock(&s.mu);
	}
	CHECK(cleaned); /* the callback's cleanup returned: no deadlock */
	sleep_ms(30);
	pthread_mutex_lock(&s.mu);
	CHECK_INT(s.syncs, 1);
	CHECK_INT(s.after, 0);
	pthread_mutex_unlock(&s.mu);
}
