/* Faults of the host's code through the C ABI: persistence callbacks that
 * return garbage on load, fail everywhere, or stall; an event callback
 * that blocks. None may lose data, corrupt another manager or channel, or
 * wedge the library (docs/LIMITS.md, "Faults"). Stalls are released by the
 * test itself: nothing here sleeps. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

/* A store of callbacks: counts what it is asked, keeps the records and
 * history of the channels it accepts (just their counts: enough to see
 * that writes land), and misbehaves on demand. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int garbage;      /* loadChannel of a channel starting with 'g' hands over junk */
	uint64_t seed;    /* of the junk */
	int failAll;      /* every callback returns an error */
	int stall;        /* saveChannelMeta of channel "slow" waits for release */
	int stalled;      /* it is waiting */
	int released;
	int slowSaves, fastSaves, histories, loads, drops;
} Store;

static uint64_t next(Store* s) {
	s->seed ^= s->seed << 13;
	s->seed ^= s->seed >> 7;
	s->seed ^= s->seed << 17;
	return s->seed;
}

static int is(const char* ch, size_t n, const char* want) { return n == strlen(want) && memcmp(ch, want, n) == 0; }

static int f_save(void* ud, const char* ch, size_t chLen, const SdsBytes* pk, const SdsBytes* pv, size_t np,
                  const SdsBytes* dk, size_t nd) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	if (s->stall && is(ch, chLen, "slow")) {
		s->stalled = 1;
		pthread_cond_broadcast(&s->cv);
		while (!s->released) pthread_cond_wait(&s->cv, &s->mu);
	}
	int fail = s->failAll;
	if (!fail) {
		if (is(ch, chLen, "slow")) s->slowSaves++;
		if (is(ch, chLen, "fast")) s->fastSaves++;
	}
	pthread_mutex_unlock(&s->mu);
	return fail ? 5 : 0;
}

static int f_history(void* ud, const char* ch, size_t chLen, const SdsBytes* ids, const SdsBytes* msgs, size_t na,
                     const SdsBytes* ev, size_t ne) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	int fail = s->failAll;
	if (!fail) s->histories += (int)na;
	pthread_mutex_unlock(&s->mu);
	return fail ? 5 : 0;
}

static int f_load(void* ud, const char* ch, size_t chLen, SdsLoader* l) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	s->loads++;
	int fail = s->failAll, junk = s->garbage && chLen > 0 && ch[0] == 'g';
	uint8_t key[8], val[256];
	if (junk) {
		/* records under random and under real-looking keys, history that
		 * is not a message, hints for nothing; the loader calls must not
		 * fail (they only collect), the load as a whole must */
		int n = 1 + (int)(next(s) % 6);
		for (int i = 0; i < n; i++) {
			size_t kl = 1 + next(s) % sizeof key, vl = next(s) % sizeof val;
			for (size_t j = 0; j < kl; j++) key[j] = (uint8_t)next(s);
			if (i == 0) key[0] = "LOIQPM"[next(s) % 6];
			for (size_t j = 0; j < vl; j++) val[j] = (uint8_t)next(s);
			SdsLoaderAddRecord(l, key, kl, val, vl);
			if (next(s) % 2) SdsLoaderAddHistory(l, val, vl);
			if (next(s) % 4 == 0) SdsLoaderAddHint(l, key, kl, val, vl);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return fail ? 5 : 0;
}

static int f_drop(void* ud, const char* ch, size_t chLen) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	s->drops++;
	int fail = s->failAll;
	pthread_mutex_unlock(&s->mu);
	return fail ? 5 : 0;
}

static int f_hint(void* ud, const char* ch, size_t chLen, const char* id, size_t idLen, const uint8_t* hint,
                  size_t hintLen) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	int fail = s->failAll;
	pthread_mutex_unlock(&s->mu);
	return fail ? 5 : 0;
}

static void store_init(Store* s, SdsPersistence* p) {
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->seed = 0x2545f4914f6cdd1dull;
	*p = (SdsPersistence){.userData = s, .saveChannelMeta = f_save, .updateHistory = f_history,
	                      .loadChannel = f_load, .dropChannel = f_drop, .saveRetrievalHint = f_hint};
}

static void* new_persist(const SdsPersistence* p) {
	Capture c = {0};
	void* ctx = SdsNewReliabilityManagerWithPersistence("{\"participantId\":\"p\"}", p, capture_cb, &c);
	if (ctx == NULL || c.ret != RET_OK) harness_fail(__FILE__, __LINE__, "create: %s", c.copy ? c.copy : "");
	capture_reset(&c);
	return ctx;
}

/* store_manager: a manager over the fresh store s (the library copies p). */
static void* store_manager(Store* s) {
	SdsPersistence p;
	store_init(s, &p);
	return new_persist(&p);
}

/* Wraps through the text function; returns the callback's code. */
static int try_wrap(void* ctx, const char* id, const char* channel, char** reason) {
	Capture c = {0};
	if (SdsWrapOutgoingMessage(ctx, "x", 1, id, channel, capture_cb, &c) != RET_OK) {
		capture_reset(&c);
		return -1;
	}
	int ret = c.ret;
	if (reason != NULL) *reason = c.copy ? strdup(c.copy) : NULL;
	capture_reset(&c);
	return ret;
}

/* open_store_pair makes a manager over the fresh store s, which wraps id
 * on channel before any fault, and a bystander without a store, which the
 * store's faults must not touch. */
static int open_store_pair(Store* s, void** a, void** bystander, const char* id, const char* channel) {
	*a = store_manager(s);
	*bystander = new_manager();
	return *a != NULL && *bystander != NULL && try_wrap(*a, id, channel, NULL) == RET_OK;
}

TEST(faults_garbage_on_load) {
	Store s;
	void *a, *other;
	ASSERT(open_store_pair(&s, &a, &other, "ok1", "fine"));
	s.garbage = 1;
	for (int i = 0; i < scale(200); i++) {
		char ch[32], *reason = NULL;
		snprintf(ch, sizeof ch, "g%d", i);
		int ret = try_wrap(a, "m", ch, &reason);
		/* junk never loads; the reason names the failed load */
		if (ret != RET_ERR || reason == NULL || strstr(reason, "error processing WRAP_MESSAGE request") == NULL)
			harness_fail(__FILE__, __LINE__, "wrap on %s over junk: %d %s", ch, ret, reason ? reason : "(null)");
		free(reason);
	}
	/* the manager, its loaded channel and other managers are unaffected */
	char id[16];
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "ok%d", i + 2);
		CHECK_INT(try_wrap(a, id, "fine", NULL), RET_OK);
		CHECK_INT(try_wrap(other, id, "g0", NULL), RET_OK);
	}
	s.garbage = 0;
	CHECK_INT(try_wrap(a, "m", "g0", NULL), RET_OK); /* the channel loads once the store is sane */
	cleanup(a);
	cleanup(other);
}

TEST(faults_every_callback_fails) {
	Store s;
	void* a = store_manager(&s);
	ASSERT(a != NULL);
	CHECK_INT(try_wrap(a, "m1", "fast", NULL), RET_OK);
	s.failAll = 1;
	/* writes fail: the operations do not (the writes wait for retry) */
	CHECK_INT(try_wrap(a, "m2", "fast", NULL), RET_OK);
	uint8_t* w;
	long n = wrap(a, "x", "m3", "fast", &w);
	CHECK(n > 0);
	if (n > 0) {
		void* b = new_manager();
		char* r = unwrap(b, w, (size_t)n);
		CHECK(r != NULL);
		free(r);
		cleanup(b);
		free(w);
	}
	int histories = s.histories;
	/* a load fails the operation that needs it; a drop fails the reset */
	CHECK(try_wrap(a, "m1", "new", NULL) == RET_ERR);
	Capture c = {0};
	CHECK_INT(SdsResetReliabilityManager(a, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_ERR);
	capture_reset(&c);
	/* the store comes back: the kept writes land with the next operation,
	 * and the channel survived the failed reset */
	s.failAll = 0;
	CHECK_INT(try_wrap(a, "m4", "fast", NULL), RET_OK);
	CHECK_INT(s.histories, histories + 3); /* m2, m3 (kept) and m4 */
	CHECK(try_wrap(a, "m2", "fast", NULL) == RET_ERR); /* still known: a duplicate id */
	cleanup(a);
}

/* Records the lines logged at SDS_LOG_ERROR. */
static void error_lines(int level, const char* msg, size_t len, void* ud) {
	if (level == SDS_LOG_ERROR) events_cb(RET_OK, msg, len, ud);
}

/* A manager whose store failed its last writes. */
static void* manager_with_lost_writes(Store* s) {
	void* a = store_manager(s);
	CHECK_INT(try_wrap(a, "m1", "ch", NULL), RET_OK);
	s->failAll = 1; /* m2's writes wait for a retry that fails at cleanup */
	CHECK_INT(try_wrap(a, "m2", "ch", NULL), RET_OK);
	return a;
}

/* State a cleanup could not write is lost: the host is told (RET_ERR, the
 * reason in the callback and in the log), and the manager is gone. */
TEST(faults_cleanup_reports_lost_writes) {
	Events lines;
	events_init(&lines);
	SdsSetLogCallback(error_lines, &lines);
	Store s;
	void* a = manager_with_lost_writes(&s);
	Capture c = {0};
	CHECK_INT(SdsCleanupReliabilityManager(a, capture_cb, &c), RET_ERR);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_ERR);
	const char* prefix = "error cleaning up reliability manager: ";
	CHECK(c.msg != NULL && strncmp(c.msg, prefix, strlen(prefix)) == 0 && strstr(c.msg, "writes lost") != NULL);
	CHECK(capture_intact(&c));
	capture_reset(&c);
	CHECK_INT(lines.n, 1);
	CHECK(lines.n == 1 && strstr(lines.ev[0], "writes lost") != NULL);
	CHECK_INT(SdsResetReliabilityManager(a, capture_cb, &c), RET_ERR); /* destroyed all the same */
	CHECK_INT(c.calls, 0);
	/* sds_destroy has no callback: RET_ERR and the log line. */
	events_clear(&lines);
	void* b = manager_with_lost_writes(&s);
	CHECK_INT(sds_destroy(b), RET_ERR);
	CHECK_INT(lines.n, 1);
	CHECK(lines.n == 1 && strstr(lines.ev[0], "writes lost") != NULL);
	CHECK_INT(sds_destroy(b), RET_ERR);
	/* A store that works: RET_OK, nothing logged. */
	events_clear(&lines);
	void* d = store_manager(&s);
	CHECK_INT(try_wrap(d, "m1", "ch", NULL), RET_OK);
	CHECK_INT(SdsCleanupReliabilityManager(d, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	capture_reset(&c);
	CHECK_INT(lines.n, 0);
	SdsSetLogCallback(NULL, NULL);
	events_clear(&lines);
}

/* A constructor given no callback returns NULL and logs why. */
TEST(faults_constructor_without_callback_logs) {
	Events lines;
	events_init(&lines);
	SdsSetLogCallback(error_lines, &lines);
	SdsPersistence p;
	Store s;
	store_init(&s, &p);
	CHECK(SdsNewReliabilityManager(NULL, NULL) == NULL);
	CHECK(SdsNewReliabilityManagerWithConfig("{}", NULL, NULL) == NULL);
	CHECK(SdsNewReliabilityManagerWithPersistence("{}", &p, NULL, NULL) == NULL);
	CHECK_INT(lines.n, 3);
	for (int i = 0; i < lines.n && i < 3; i++) CHECK(strstr(lines.ev[i], "callback is NULL") != NULL);
	CHECK(lines.n >= 2 && strstr(lines.ev[1], "SdsNewReliabilityManagerWithConfig") != NULL);
	SdsSetLogCallback(NULL, NULL);
	events_clear(&lines);
}

/* A call run on a thread of its own: an unwrap of wire if set (its JSON
 * result in res), else a wrap of id on channel (its code in ret). */
typedef struct {
	void* ctx;
	const char *channel, *id;
	uint8_t* wire;
	long n;
	int ret;
	char* res;
} Job;

static void* job_thread(void* arg) {
	Job* j = arg;
	if (j->wire != NULL)
		j->res = unwrap(j->ctx, j->wire, (size_t)j->n);
	else
		j->ret = try_wrap(j->ctx, j->id, j->channel, NULL);
	return NULL;
}

TEST(faults_stalled_save) {
	Store s;
	void *a, *other;
	ASSERT(open_store_pair(&s, &a, &other, "s0", "slow"));
	pthread_mutex_lock(&s.mu);
	s.stall = 1;
	pthread_mutex_unlock(&s.mu);
	Job j = {.ctx = a, .channel = "slow", .id = "s1", .ret = -1};
	pthread_t t;
	pthread_create(&t, NULL, job_thread, &j);
	pthread_mutex_lock(&s.mu);
	while (!s.stalled) pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	/* the save of "slow" is stuck in the host: the same manager's other
	 * channels and other managers carry on */
	int fast = s.fastSaves;
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "f%d", i);
		CHECK_INT(try_wrap(a, id, "fast", NULL), RET_OK);
		CHECK_INT(try_wrap(other, id, "slow", NULL), RET_OK);
	}
	CHECK(s.fastSaves >= fast + 5);
	pthread_mutex_lock(&s.mu);
	s.released = 1;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	pthread_join(t, NULL);
	CHECK_INT(j.ret, RET_OK);
	CHECK_INT(s.slowSaves, 2); /* s0 and the stalled s1 both landed */
	cleanup(a);
	cleanup(other);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
}

/* An event callback that blocks on the first message_ready of channel x. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int blocking, released, n;
	char ids[16][72];
} Blocker;

static void blocking_cb(int ret, const char* msg, size_t len, void* ud) {
	Blocker* b = ud;
	char id[32], ch[32];
	if (sscanf(msg, "{\"messageId\":\"%31[^\"]\",\"channelId\":\"%31[^\"]\",\"eventType\":\"message_ready\"", id, ch) != 2)
		return;
	pthread_mutex_lock(&b->mu);
	if (b->n < 16) snprintf(b->ids[b->n++], sizeof b->ids[0], "%s/%s", ch, id);
	if (!b->blocking && strcmp(ch, "x") == 0 && strcmp(id, "x1") == 0) {
		b->blocking = 1;
		pthread_cond_broadcast(&b->cv);
		while (!b->released) pthread_cond_wait(&b->cv, &b->mu);
	}
	pthread_mutex_unlock(&b->mu);
}


TEST(faults_event_callback_blocks) {
	void* sender = new_manager();
	void* m = new_manager();
	void* third = new_manager();
	ASSERT(sender && m && third);
	Blocker b;
	memset(&b, 0, sizeof b);
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	SdsSetEventCallback(m, blocking_cb, &b);
	uint8_t *x1, *x2, *y1;
	long n1 = wrap(sender, "a", "x1", "x", &x1), n2 = wrap(sender, "b", "x2", "x", &x2),
	     n3 = wrap(sender, "c", "y1", "y", &y1);
	ASSERT(n1 > 0 && n2 > 0 && n3 > 0);
	Job j = {.ctx = m, .wire = x1, .n = n1};
	pthread_t t;
	pthread_create(&t, NULL, job_thread, &j);
	pthread_mutex_lock(&b.mu);
	while (!b.blocking) pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
	/* the callback is stuck: calls on the same channel return (their
	 * events wait behind it), another channel's events arrive, other
	 * managers are unaffected */
	char* r = unwrap(m, x2, (size_t)n2);
	CHECK(r != NULL);
	free(r);
	r = unwrap(m, y1, (size_t)n3);
	CHECK(r != NULL);
	free(r);
	r = unwrap(third, x1, (size_t)n1);
	CHECK(r != NULL);
	free(r);
	pthread_mutex_lock(&b.mu);
	CHECK_INT(b.n, 2);
	CHECK_STR(b.ids[1], "y/y1");
	b.released = 1;
	pthread_cond_broadcast(&b.cv);
	pthread_mutex_unlock(&b.mu);
	pthread_join(t, NULL);
	CHECK(j.res != NULL);
	free(j.res);
	CHECK_INT(b.n, 3);
	CHECK_STR(b.ids[0], "x/x1");
	CHECK_STR(b.ids[2], "x/x2");
	free(x1);
	free(x2);
	free(y1);
	cleanup(sender);
	cleanup(m);
	cleanup(third);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
}

/* A host retrieval hint over the limits: 2 MiB (refused before it is
 * copied) or 4097 bytes (over maxHintBytes) is dropped, and released with
 * free() either way (valgrind checks that); a normal one travels. */
static void big_hint(const char* id, char** hint, size_t* len, void* ud) {
	size_t n = strcmp(id, "m1") == 0 ? (size_t)2 << 20 : strcmp(id, "m2") == 0 ? 4097 : 3;
	*hint = malloc(n);
	memset(*hint, 'h', n);
	*len = n;
}

TEST(faults_host_hint_over_limit) {
	void* a = new_manager();
	void* fresh = new_manager();
	ASSERT(a && fresh);
	SdsSetRetrievalHintProvider(a, big_hint, NULL);
	uint8_t* w;
	long n;
	CHECK(wrap(a, "x", "m1", "c", &w) > 0);
	free(w);
	CHECK(wrap(a, "x", "m2", "c", &w) > 0);
	free(w);
	CHECK(wrap(a, "x", "m3", "c", &w) > 0);
	free(w);
	n = wrap(a, "x", "m4", "c", &w);
	ASSERT(n > 0);
	SdsUnwrapResult* r = NULL;
	char* err = NULL;
	ASSERT(SdsUnwrapReceivedMessageBinary(fresh, w, (size_t)n, &r, &err) == RET_OK);
	free(w);
	CHECK_INT(r->missingDepsCount, 3);
	for (size_t i = 0; i < r->missingDepsCount; i++) {
		const SdsHistoryEntry* e = &r->missingDeps[i];
		size_t want = e->messageIdLen == 2 && memcmp(e->messageId, "m3", 2) == 0 ? 3 : 0;
		CHECK_INT(e->retrievalHintLen, want);
	}
	SdsFree(r);
	cleanup(a);
	cleanup(fresh);
}
