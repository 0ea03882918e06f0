/* Many threads: eight share two managers while a ninth creates and cleans
 * up managers and a tenth pokes at stale contexts; cleanup racing with
 * calls. */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

#define WORKERS 8

typedef struct {
	atomic_int ready;
	atomic_int bad;
	atomic_int next[WORKERS]; /* next expected message number per channel */
	pthread_t thread[WORKERS]; /* the worker whose call raised it, per channel */
	atomic_int wrongThread;
} Counter;

/* message_ready events of channel "ch<i>" arrive in order, carrying
 * "t<i>-<k>". */
static void count_event(int ret, const char* msg, size_t len, void* ud) {
	Counter* c = ud;
	int i, k;
	char tail[64];
	if (ret != RET_OK || msg[len] != 0 ||
	    sscanf(msg, "{\"messageId\":\"t%d-%d\",\"channelId\":\"ch%*d\",\"eventType\":\"%63[a-z_]", &i, &k,
	           tail) != 3 ||
	    strcmp(tail, "message_ready") != 0 || i < 0 || i >= WORKERS) {
		atomic_fetch_add(&c->bad, 1);
		return;
	}
	if (atomic_load(&c->next[i]) != k) atomic_fetch_add(&c->bad, 1);
	atomic_store(&c->next[i], k + 1);
	if (!pthread_equal(pthread_self(), c->thread[i])) atomic_fetch_add(&c->wrongThread, 1);
	atomic_fetch_add(&c->ready, 1);
}

typedef struct {
	int id;
	int iterations;
	void* send;
	void* recv;
	int failures;
	atomic_int* go;
} Worker;

static void* worker(void* arg) {
	Worker* w = arg;
	char channel[16], id[32];
	while (!atomic_load(w->go)) sched_yield();
	sprintf(channel, "ch%d", w->id);
	for (int k = 0; k < w->iterations; k++) {
		sprintf(id, "t%d-%d", w->id, k);
		uint8_t* wire = NULL;
		size_t n = 0;
		if (k % 4 == 3) { /* the binary path */
			if (SdsWrapOutgoingMessageBinary(w->send, "payload", 7, id, channel, &wire, &n, NULL) != RET_OK) {
				w->failures++;
				continue;
			}
		} else { /* the text path, read after the call as sds-go-bindings does */
			Capture c = {0};
			if (SdsWrapOutgoingMessage(w->send, "payload", 7, id, channel, capture_cb, &c) != RET_OK ||
			    c.ret != RET_OK) {
				w->failures++;
				capture_reset(&c);
				continue;
			}
			wire = malloc(c.len);
			long r = parse_comma(c.msg, c.len, wire, c.len);
			if (r < 0 || !capture_intact(&c)) w->failures++;
			n = r < 0 ? 0 : (size_t)r;
			capture_reset(&c);
		}
		Capture u = {0};
		if (SdsUnwrapReceivedMessage(w->recv, wire, n, capture_cb, &u) != RET_OK || u.ret != RET_OK ||
		    strncmp(u.msg, "{\"message\":[112,97,121,108,111,97,100],\"channelId\":\"ch", 52) != 0)
			w->failures++;
		/* Other threads' calls on the same manager leave our buffer alone. */
		if (!capture_intact(&u)) w->failures++;
		capture_reset(&u);
		if (k % 16 == 0) {
			Capture m = {0};
			SdsMarkDependenciesMet(w->send, NULL, 0, channel, capture_cb, &m);
			if (m.ret != RET_OK) w->failures++;
			capture_reset(&m);
		}
		free(wire);
	}
	return NULL;
}

typedef struct {
	atomic_int stop;
	int cycles;
	int failures;
	void* stale[64];
	int nstale;
	pthread_mutex_t mu;
} Churn;

/* Creates, uses and cleans up managers until told to stop. */
static void* churner(void* arg) {
	Churn* ch = arg;
	while (!atomic_load(&ch->stop)) {
		void* m = new_manager();
		uint8_t* w;
		long n = wrap(m, "x", "m", "c", &w);
		if (n <= 0) ch->failures++;
		free(w);
		cleanup(m);
		pthread_mutex_lock(&ch->mu);
		if (ch->nstale < 64) ch->stale[ch->nstale++] = m;
		pthread_mutex_unlock(&ch->mu);
		ch->cycles++;
	}
	return NULL;
}

/* Calls with cleaned-up contexts: always RET_ERR, never a callback. */
static void* stale_user(void* arg) {
	Churn* ch = arg;
	int calls = 0;
	while (!atomic_load(&ch->stop)) {
		pthread_mutex_lock(&ch->mu);
		void* m = ch->nstale ? ch->stale[calls % ch->nstale] : NULL;
		pthread_mutex_unlock(&ch->mu);
		Capture c = {0};
		if (SdsWrapOutgoingMessage(m, "x", 1, "m", "c", capture_cb, &c) != RET_ERR || c.calls != 0)
			ch->failures++;
		SdsSetEventCallback(m, capture_cb, &c);
		calls++;
	}
	return NULL;
}

TEST(threads_share_managers) {
	int iterations = scale(1500);
	void* mgr[2] = {new_manager(), new_manager()};
	Counter counts[2] = {0};
	SdsSetEventCallback(mgr[0], count_event, &counts[0]);
	SdsSetEventCallback(mgr[1], count_event, &counts[1]);
	Worker w[WORKERS];
	pthread_t t[WORKERS], churn, stale;
	Churn ch = {.mu = PTHREAD_MUTEX_INITIALIZER};
	atomic_int go = 0;
	pthread_create(&churn, NULL, churner, &ch);
	pthread_create(&stale, NULL, stale_user, &ch);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (Worker){.id = i, .iterations = iterations, .send = mgr[i % 2], .recv = mgr[(i + 1) % 2], .go = &go};
		pthread_create(&t[i], NULL, worker, &w[i]);
		counts[(i + 1) % 2].thread[i] = t[i];
	}
	atomic_store(&go, 1);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].failures, 0);
	}
	atomic_store(&ch.stop, 1);
	pthread_join(churn, NULL);
	pthread_join(stale, NULL);
	CHECK_INT(ch.failures, 0);
	CHECK(ch.cycles > 0);
	for (int m = 0; m < 2; m++) {
		CHECK_INT(atomic_load(&counts[m].ready), WORKERS / 2 * iterations);
		CHECK_INT(atomic_load(&counts[m].bad), 0);
		/* Each channel is used by one thread only: its events come on it. */
		CHECK_INT(atomic_load(&counts[m].wrongThread), 0);
	}
	cleanup(mgr[0]);
	cleanup(mgr[1]);
}

typedef struct {
	void* ctx;
	atomic_int* go;
	int ok, invalid, other;
	int id;
} Racer;

static void* racer(void* arg) {
	Racer* r = arg;
	char id[32];
	while (!atomic_load(r->go)) sched_yield();
	for (int k = 0; k < 400; k++) {
		sprintf(id, "r%d-%d", r->id, k);
		Capture c = {0};
		int ret = SdsWrapOutgoingMessage(r->ctx, "x", 1, id, "c", capture_cb, &c);
		if (ret == RET_OK && c.ret == RET_OK && capture_intact(&c)) r->ok++;
		else if (ret == RET_ERR && c.calls == 0) r->invalid++;
		else if (ret == RET_OK && c.ret == RET_ERR && strstr(c.msg, "closed")) r->invalid++;
		else r->other++;
		capture_reset(&c);
		if (r->invalid > 20) break;
	}
	return NULL;
}

static void* cleaner(void* arg) {
	Racer* r = arg;
	while (!atomic_load(r->go)) sched_yield();
	Capture c = {0};
	r->ok = SdsCleanupReliabilityManager(r->ctx, capture_cb, &c);
	r->other = c.calls;
	r->invalid = c.ret;
	capture_reset(&c);
	return NULL;
}

/* Cleanup while other threads use the manager, and two cleanups at once:
 * calls see either a working or an invalid manager, never a crash; exactly
 * one cleanup succeeds. */
TEST(cleanup_races_with_calls) {
	for (int round = 0; round < scale(20); round++) {
		atomic_int go = 0;
		void* ctx = new_manager();
		Racer r[4];
		pthread_t t[4], c1, c2;
		for (int i = 0; i < 4; i++) {
			r[i] = (Racer){.ctx = ctx, .go = &go, .id = i};
			pthread_create(&t[i], NULL, racer, &r[i]);
		}
		Racer k1 = {.ctx = ctx, .go = &go}, k2 = {.ctx = ctx, .go = &go};
		pthread_create(&c1, NULL, cleaner, &k1);
		pthread_create(&c2, NULL, cleaner, &k2);
		atomic_store(&go, 1);
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			CHECK_INT(r[i].other, 0);
		}
		pthread_join(c1, NULL);
		pthread_join(c2, NULL);
		/* One RET_OK with callback(RET_OK, NULL); the other RET_ERR, with no
		 * callback (already invalid) or a RET_ERR callback (lost the race). */
		CHECK_INT((k1.ok == RET_OK) + (k2.ok == RET_OK), 1);
		Racer* loser = k1.ok == RET_OK ? &k2 : &k1;
		CHECK_INT(loser->ok, RET_ERR);
		CHECK(loser->other == 0 || loser->invalid == RET_ERR);
		CHECK_INT(SdsCleanupReliabilityManager(ctx, capture_cb, NULL), RET_ERR);
	}
}
