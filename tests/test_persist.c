/* Persistence: the host's store (SdsNewReliabilityManagerWithPersistence)
 * and the embedded one ("storePath"). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "libsds.h"
#include "util.h"

/* ---- an in-memory store in plain C ---------------------------------------
 * Three tables of (channel, key, value) rows: records, history (key = id,
 * value = message; order = append order) and hints. */
typedef struct {
	char* ch;
	size_t chLen;
	uint8_t* key;
	size_t keyLen;
	uint8_t* val;
	size_t valLen;
} Row;

typedef struct {
	Row* rows;
	size_t n, cap;
} Table;

typedef struct {
	pthread_mutex_t mu;
	Table records, history, hints;
	int failSave, failLoad; /* make saveChannelMeta / loadChannel fail */
	int saves, loads, drops, hintSaves;
} Store;

static uint8_t* bdup(const void* p, size_t n) {
	uint8_t* d = malloc(n + 1);
	if (n) memcpy(d, p, n);
	d[n] = 0;
	return d;
}

static int row_is(const Row* r, const char* ch, size_t chLen, const void* key, size_t keyLen) {
	return r->chLen == chLen && memcmp(r->ch, ch, chLen) == 0 &&
	       (key == NULL || (r->keyLen == keyLen && memcmp(r->key, key, keyLen) == 0));
}

static void row_free(Row* r) {
	free(r->ch);
	free(r->key);
	free(r->val);
}

/* Removes the rows of ch (with key, if key is not NULL), keeping the order. */
static void table_del(Table* t, const char* ch, size_t chLen, const void* key, size_t keyLen) {
	size_t j = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (row_is(&t->rows[i], ch, chLen, key, keyLen))
			row_free(&t->rows[i]);
		else
			t->rows[j++] = t->rows[i];
	}
	t->n = j;
}

/* Appends a row (after removing the key: it moves to the end). */
static void table_put(Table* t, const char* ch, size_t chLen, const void* key, size_t keyLen,
                      const void* val, size_t valLen) {
	table_del(t, ch, chLen, key, keyLen);
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->rows = realloc(t->rows, t->cap * sizeof(Row));
	}
	Row* r = &t->rows[t->n++];
	r->ch = (char*)bdup(ch, chLen);
	r->chLen = chLen;
	r->key = bdup(key, keyLen);
	r->keyLen = keyLen;
	r->val = bdup(val, valLen);
	r->valLen = valLen;
}

static size_t table_count(Table* t, const char* ch) {
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) n += row_is(&t->rows[i], ch, strlen(ch), NULL, 0);
	return n;
}

static void table_free(Table* t) {
	for (size_t i = 0; i < t->n; i++) row_free(&t->rows[i]);
	free(t->rows);
}

static int st_save_meta(void* ud, const char* ch, size_t chLen, const SdsBytes* pk,
                        const SdsBytes* pv, size_t np, const SdsBytes* dk, size_t nd) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	s->saves++;
	int fail = s->failSave;
	if (!fail) {
		for (size_t i = 0; i < np; i++)
			table_put(&s->records, ch, chLen, pk[i].data, pk[i].len, pv[i].data, pv[i].len);
		for (size_t i = 0; i < nd; i++) table_del(&s->records, ch, chLen, dk[i].data, dk[i].len);
	}
	pthread_mutex_unlock(&s->mu);
	return fail ? 7 : 0;
}

static int st_update_history(void* ud, const char* ch, size_t chLen, const SdsBytes* ids,
                             const SdsBytes* msgs, size_t na, const SdsBytes* ev, size_t ne) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < na; i++)
		table_put(&s->history, ch, chLen, ids[i].data, ids[i].len, msgs[i].data, msgs[i].len);
	for (size_t i = 0; i < ne; i++) {
		table_del(&s->history, ch, chLen, ev[i].data, ev[i].len);
		table_del(&s->hints, ch, chLen, ev[i].data, ev[i].len);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int st_load(void* ud, const char* ch, size_t chLen, SdsLoader* l) {
	Store* s = ud;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	s->loads++;
	if (s->failLoad) rc = 3;
	for (size_t i = 0; !rc && i < s->records.n; i++) {
		Row* r = &s->records.rows[i];
		if (row_is(r, ch, chLen, NULL, 0) &&
		    SdsLoaderAddRecord(l, r->key, r->keyLen, r->val, r->valLen) != RET_OK)
			rc = 1;
	}
	for (size_t i = 0; !rc && i < s->history.n; i++) {
		Row* r = &s->history.rows[i];
		if (row_is(r, ch, chLen, NULL, 0) && SdsLoaderAddHistory(l, r->val, r->valLen) != RET_OK)
			rc = 1;
	}
	for (size_t i = 0; !rc && i < s->hints.n; i++) {
		Row* r = &s->hints.rows[i];
		if (row_is(r, ch, chLen, NULL, 0) &&
		    SdsLoaderAddHint(l, r->key, r->keyLen, r->val, r->valLen) != RET_OK)
			rc = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int st_drop(void* ud, const char* ch, size_t chLen) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	s->drops++;
	table_del(&s->records, ch, chLen, NULL, 0);
	table_del(&s->history, ch, chLen, NULL, 0);
	table_del(&s->hints, ch, chLen, NULL, 0);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int st_save_hint(void* ud, const char* ch, size_t chLen, const char* id, size_t idLen,
                        const uint8_t* hint, size_t hintLen) {
	Store* s = ud;
	pthread_mutex_lock(&s->mu);
	s->hintSaves++;
	if (hintLen == 0)
		table_del(&s->hints, ch, chLen, id, idLen);
	else
		table_put(&s->hints, ch, chLen, id, idLen, hint, hintLen);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void store_init(Store* s, SdsPersistence* p) {
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	*p = (SdsPersistence){.userData = s, .saveChannelMeta = st_save_meta, .updateHistory = st_update_history,
	                      .loadChannel = st_load, .dropChannel = st_drop, .saveRetrievalHint = st_save_hint};
}

static void store_free(Store* s) {
	table_free(&s->records);
	table_free(&s->history);
	table_free(&s->hints);
	pthread_mutex_destroy(&s->mu);
}

static void* new_persist(const char* json, const SdsPersistence* p) {
	Capture c = {0};
	void* ctx = SdsNewReliabilityManagerWithPersistence(json, p, capture_cb, &c);
	if (ctx == NULL || c.calls != 1 || c.ret != RET_OK)
		harness_fail(__FILE__, __LINE__, "SdsNewReliabilityManagerWithPersistence: %s",
		             c.copy ? c.copy : "");
	capture_reset(&c);
	return ctx;
}

static void hint_provider(const char* id, char** hint, size_t* len, void* ud) {
	size_t n = strlen(id) + 5;
	*hint = malloc(n + 1);
	snprintf(*hint, n + 1, "hash-%s", id);
	*len = n;
}

/* Wraps content as id on c1 with ctx (binary) and unwraps it on a fresh
 * manager: returns its result (SdsFree it), whose missingDeps name the
 * causal history ctx sent. */
static SdsUnwrapResult* wrap_seen_fresh(void* ctx, const char* id) {
	uint8_t* w = NULL;
	size_t n = 0;
	char* err = NULL;
	if (SdsWrapOutgoingMessageBinary(ctx, "x", 1, id, "c1", &w, &n, &err) != RET_OK) {
		harness_fail(__FILE__, __LINE__, "wrap %s: %s", id, err ? err : "?");
		SdsFree(err);
		return NULL;
	}
	void* fresh = new_manager();
	SdsUnwrapResult* r = NULL;
	if (SdsUnwrapReceivedMessageBinary(fresh, w, n, &r, &err) != RET_OK) {
		harness_fail(__FILE__, __LINE__, "unwrap %s: %s", id, err ? err : "?");
		SdsFree(err);
	}
	SdsFree(w);
	cleanup(fresh);
	return r;
}

static int has_dep(const SdsUnwrapResult* r, const char* id, const char* hint) {
	for (size_t i = 0; r && i < r->missingDepsCount; i++) {
		const SdsHistoryEntry* e = &r->missingDeps[i];
		if (e->messageIdLen == strlen(id) && memcmp(e->messageId, id, e->messageIdLen) == 0)
			return hint == NULL || (e->retrievalHintLen == strlen(hint) &&
			                        memcmp(e->retrievalHint, hint, e->retrievalHintLen) == 0);
	}
	return 0;
}

TEST(persist_host_survives_restart) {
	Store s;
	SdsPersistence p;
	store_init(&s, &p);

	void* a = new_persist("{\"participantId\":\"alice\"}", &p);
	ASSERT(a != NULL);
	SdsSetRetrievalHintProvider(a, hint_provider, NULL);
	uint8_t* w;
	long n1 = wrap(a, "one", "m1", "c1", &w);
	CHECK(n1 > 0);
	free(w);
	long n2 = wrap(a, "two", "m2", "c1", &w);
	CHECK(n2 > 0);
	/* a unwraps its own message: a duplicate, nothing changes */
	char* res = unwrap(a, w, n2);
	CHECK(res != NULL);
	free(res);
	free(w);
	CHECK(s.saves > 0);
	CHECK(table_count(&s.records, "c1") > 0);
	CHECK_INT(table_count(&s.history, "c1"), 2);
	cleanup(a);

	/* b over the same store resumes c1: its next message names m1, m2. */
	void* b = new_persist("{\"participantId\":\"alice\"}", &p);
	ASSERT(b != NULL);
	int loads = s.loads;
	SdsUnwrapResult* r = wrap_seen_fresh(b, "m3");
	CHECK_INT(s.loads, loads + 1);
	ASSERT(r != NULL);
	CHECK_STRN(r->messageId, r->messageIdLen, "m3");
	CHECK(has_dep(r, "m1", NULL));
	CHECK(has_dep(r, "m2", NULL));
	CHECK(s.hintSaves > 0);
	CHECK(has_dep(r, "m1", "hash-m1")); /* the hint survived too */
	SdsFree(r);
	CHECK_INT(table_count(&s.history, "c1"), 3);

	/* m1 is still known: wrapping it again fails. */
	Capture c = {0};
	CHECK_INT(SdsWrapOutgoingMessage(b, "y", 1, "m1", "c1", capture_cb, &c), RET_OK);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_ERR);
	capture_reset(&c);

	/* Reset drops the channel from the store. */
	CHECK_INT(SdsResetReliabilityManager(b, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	capture_reset(&c);
	CHECK_INT(table_count(&s.history, "c1"), 0);
	CHECK_INT(table_count(&s.records, "c1"), 0);
	cleanup(b);
	store_free(&s);
}

TEST(persist_host_failures) {
	Store s;
	SdsPersistence p;
	store_init(&s, &p);
	void* a = new_persist(NULL, &p);
	ASSERT(a != NULL);
	uint8_t* w;

	/* A failing save does not fail the wrap; it is retried later. */
	s.failSave = 1;
	long n = wrap(a, "one", "m1", "c1", &w);
	CHECK(n > 0);
	free(w);
	CHECK(s.saves > 0);
	CHECK_INT(table_count(&s.records, "c1"), 0);
	s.failSave = 0;
	n = wrap(a, "two", "m2", "c1", &w);
	CHECK(n > 0);
	free(w);
	CHECK(table_count(&s.records, "c1") > 0);

	/* A failing load fails the operation that needs the channel. */
	s.failLoad = 1;
	Capture c = {0};
	CHECK_INT(SdsWrapOutgoingMessage(a, "z", 1, "m1", "c2", capture_cb, &c), RET_OK);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_ERR);
	CHECK(c.copy != NULL && strstr(c.copy, "loadChannel") != NULL);
	capture_reset(&c);
	s.failLoad = 0;
	n = wrap(a, "z", "m1", "c2", &w);
	CHECK(n > 0);
	free(w);

	/* A loader outside loadChannel is refused. */
	CHECK_INT(SdsLoaderAddRecord(NULL, (const uint8_t*)"k", 1, (const uint8_t*)"v", 1), RET_ERR);
	CHECK_INT(SdsLoaderAddHistory((SdsLoader*)(uintptr_t)8, (const uint8_t*)"v", 1), RET_ERR);
	cleanup(a);
	store_free(&s);
}

static void new_fails(const char* json, const SdsPersistence* p, const char* want) {
	Capture c = {0};
	void* ctx = SdsNewReliabilityManagerWithPersistence(json, p, capture_cb, &c);
	CHECK(ctx == NULL);
	CHECK_INT(c.calls, 1);
	CHECK_INT(c.ret, RET_ERR);
	if (c.copy == NULL || strstr(c.copy, want) == NULL)
		harness_fail(__FILE__, __LINE__, "got %s, want %s", c.copy ? c.copy : "(null)", want);
	capture_reset(&c);
}

TEST(persist_host_invalid) {
	Store s;
	SdsPersistence p;
	store_init(&s, &p);
	new_fails(NULL, NULL, "persistence is NULL");
	new_fails("{\"storePath\":\"/nonexistent/x\"}", &p, "storePath");
	new_fails("{\"maxCausalHistory\":-1}", &p, "maxCausalHistory");
	p.dropChannel = NULL;
	new_fails(NULL, &p, "dropChannel is NULL");
	CHECK(SdsNewReliabilityManagerWithPersistence(NULL, &p, NULL, NULL) == NULL);
	store_free(&s);
}

/* carol answers a repair request for m1 after a restart over her store:
 * the host's (its five functions: the library keeps logged messages in
 * memory) or the embedded one ("storePath": it reads them back from the
 * store). The answer carries m1's id and content. */
static void repair_after_restart(int host) {
	const char* cfg = "{\"participantId\":\"%s\",\"repairTMinMs\":200,\"repairTMaxMs\":200,"
	                  "\"repairSweepIntervalMs\":5,\"repairPolicy\":\"%s\",\"repairRequestSync\":false%s}";
	char path[] = "/tmp/sds-test-XXXXXX", storeKey[64] = "", ca[320], cb[320], cc[320];
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	close(fd);
	unlink(path);
	if (!host) snprintf(storeKey, sizeof storeKey, ",\"storePath\":\"%s\"", path);
	/* bob asks under the prompt policy, which keeps the request until m1
	 * comes (the RFC's drops it RepairTMax after it fell due, which a slow
	 * machine can pass before bob wraps); carol, not m1's sender, answers
	 * a first request only under the RFC's. */
	snprintf(ca, sizeof ca, cfg, "alice", "rfc", "");
	snprintf(cb, sizeof cb, cfg, "bob", "prompt", "");
	snprintf(cc, sizeof cc, cfg, "carol", "rfc", storeKey);
	Store s;
	SdsPersistence p;
	store_init(&s, &p);
	void* a = new_manager_config(ca);
	void* b = new_manager_config(cb);
	void* c = host ? new_persist(cc, &p) : new_manager_config(cc);
	uint8_t *m1, *m2, *r, *answer = NULL;
	long n1 = wrap(a, "one", "m1", "room", &m1);
	long n2 = wrap(a, "two", "m2", "room", &m2);
	free(unwrap(c, m1, n1));
	free(unwrap(c, m2, n2));
	cleanup(c);
	c = host ? new_persist(cc, &p) : new_manager_config(cc);
	Events ec;
	events_init(&ec);
	SdsSetEventCallback(c, events_cb, &ec);
	free(unwrap(b, m2, n2)); /* b misses m1 */
	sleep_ms(250);           /* b's repair request for m1 is due */
	long nr = wrap(b, "ask", "b1", "room", &r);
	start_periodic(c);
	free(unwrap(c, r, nr)); /* loads room from the store */
	CHECK(events_wait(&ec, "repair_ready", 1, 5000));
	long an = event_message(&ec, "repair_ready", "{\"eventType\":\"repair_ready\",\"channelId\":\"room\"", &answer);
	ASSERT(an > 0);
	const uint8_t* v;
	size_t vl;
	CHECK(pb_field(answer, an, 1, &v, &vl, NULL) && vl == 2 && memcmp(v, "m1", 2) == 0);
	CHECK(pb_field(answer, an, 5, &v, &vl, NULL) && vl == 3 && memcmp(v, "one", 3) == 0);
	free(answer), free(m1), free(m2), free(r);
	cleanup(a);
	cleanup(b);
	cleanup(c);
	events_clear(&ec);
	store_free(&s);
	unlink(path);
}

TEST(persist_host_repair_after_restart) { repair_after_restart(1); }

TEST(persist_store_path_repair_after_restart) { repair_after_restart(0); }

/* Over "storePath" the log keeps the ids of its newest maxCausalHistory
 * entries only and reads older ones back from the store to evict them:
 * after 20 wraps with a log of 4, the store holds exactly the newest 4,
 * as a manager allowed 20 that reopens it shows (its next wrap names
 * every message it loaded). */
TEST(persist_store_path_evicts) {
	char path[] = "/tmp/sds-test-XXXXXX";
	ASSERT(temp_path(path));
	char small[256], large[256], id[16];
	snprintf(small, sizeof small, "{\"storePath\":\"%s\",\"maxMessageHistory\":4,\"maxCausalHistory\":2}", path);
	snprintf(large, sizeof large, "{\"storePath\":\"%s\",\"maxMessageHistory\":20,\"maxCausalHistory\":10}", path);
	void* a = new_manager_config(small);
	ASSERT(a != NULL);
	for (int i = 0; i < 20; i++) {
		uint8_t* w;
		snprintf(id, sizeof id, "m%d", i);
		CHECK(wrap(a, "x", id, "c1", &w) > 0);
		free(w);
	}
	cleanup(a);
	void* b = new_manager_config(large);
	ASSERT(b != NULL);
	SdsUnwrapResult* r = wrap_seen_fresh(b, "n");
	ASSERT(r != NULL);
	CHECK_INT(r->missingDepsCount, 4);
	for (int i = 16; i < 20; i++) {
		snprintf(id, sizeof id, "m%d", i);
		CHECK(has_dep(r, id, NULL));
	}
	SdsFree(r);
	cleanup(b);
	unlink(path);
}

TEST(persist_store_path) {
	char path[] = "/tmp/sds-test-XXXXXX";
	ASSERT(temp_path(path));
	char json[256];
	snprintf(json, sizeof json, "{\"storePath\":\"%s\",\"persistMaxPending\":10}", path);

	void* a = new_manager_config(json);
	ASSERT(a != NULL);
	uint8_t* w;
	CHECK(wrap(a, "one", "m1", "c1", &w) > 0);
	free(w);
	cleanup(a);

	void* b = new_manager_config(json);
	ASSERT(b != NULL);
	SdsUnwrapResult* r = wrap_seen_fresh(b, "m2");
	CHECK(has_dep(r, "m1", NULL));
	SdsFree(r);
	cleanup(b);
	unlink(path);

	Capture c = {0};
	CHECK(SdsNewReliabilityManagerWithConfig("{\"storePath\":\"/nonexistent/dir/x.db\"}", capture_cb, &c) == NULL);
	CHECK_INT(c.ret, RET_ERR);
	CHECK(c.copy != NULL && strstr(c.copy, "Failed creating reliability manager") != NULL);
	capture_reset(&c);
}
