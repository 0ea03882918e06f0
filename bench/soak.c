/* Soak test through the C ABI (make soak; mk/soak.mk).
 *
 *   sds-soak MESSAGES [CHANNELS] [--periodic] [--no-rss-check]
 *
 * Three managers (participants a, b, c) share CHANNELS channels (default
 * 100). MESSAGES messages (default 1,000,000) are sent round robin over the
 * channels by a rotating sender; each copy to each of the two receivers is
 * lost with probability 10%. A lost copy is delivered late (after 50 to 500
 * further messages) with probability 90%, as a store or repair would;
 * otherwise the receiver's application gets it elsewhere at that point and
 * calls SdsMarkDependenciesMet. Most wraps and unwraps use the binary fast
 * path; every 64th goes through the text functions (comma text, unwrap
 * JSON), read after the call as sds-go-bindings does. With --periodic the
 * managers also run their periodic tasks (real time) and the host
 * broadcasts their repair_ready and message_resend payloads.
 *
 * Checked at the end: at every manager every message of the others was
 * delivered (message_ready) exactly once or marked met, never both, and
 * nothing else failed. RSS is sampled every MESSAGES/50 messages. After
 * the warm-up (the first 30%) the Go heap's live size is flat, but RSS
 * follows the collector's heap goal (up to twice the live heap), so it
 * steps up for a while; a leak is growth that does not stop. So the
 * samples after the warm-up are split in two halves, and the peak of the
 * second half must be within 5% (and at least 16 MB) of the peak of the
 * first. Exit status 0 when all holds. GODEBUG=gctrace=1 shows the live
 * heap after each collection (the third figure of "A->B->C MB").
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libsds.h"
#include "resp.h"

#define NODES 3

/* Every per-channel bound must fill during the warm-up for RSS to be flat
 * after it: the log (maxMessageHistory, default 1,000 ids), the evicted ids
 * remembered (rememberDelivered, 10,000) and the bloom filter's id list
 * (1.2 x bloomFilterCapacity, 12,000). At the defaults that takes 22,000
 * messages per channel, 2.2M over 100 channels, so the soak shrinks the
 * last two to 1,000: full at ~2,200 messages per channel (220,000 over 100
 * channels), before the warm-up ends (15 samples of 50: 30%). With SDS-R
 * on, the log also keeps what joined it within logRetentionMs (15 min by
 * default: the whole run, bounded only by maxLogBytes); 5 s settles
 * within the warm-up and, at 20,000 messages/s or more, still keeps more
 * than 1,000 messages per channel. */
#define SOAK_CONFIG ",\"bloomFilterCapacity\":1000,\"rememberDelivered\":1000,\"logRetentionMs\":5000"
#define WARM_SAMPLES 15

static long total, nchan;
static void* ctx[NODES];
static uint8_t* delivered[NODES]; /* per message: 1 delivered, 2 marked met */
static long twice, unknown_ready, errors, resent, repaired;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long rss_kb(void) {
	long pages = 0, rss = 0;
	FILE* f = fopen("/proc/self/statm", "r");
	if (f == NULL) return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the network: late copies and broadcasts from events */

typedef struct {
	long due;      /* message count at which it happens */
	int to;
	long seq;      /* message number, or -1 for a payload from an event */
	uint8_t* wire; /* NULL: permanently lost, mark met */
	size_t len;
} Late;

static Late* late;
static size_t nlate, caplate;

static void push_late(Late l) {
	pthread_mutex_lock(&mu);
	if (nlate == caplate) {
		caplate = caplate ? 2 * caplate : 1024;
		late = realloc(late, caplate * sizeof *late);
	}
	late[nlate++] = l;
	pthread_mutex_unlock(&mu);
}

static long sent; /* messages sent so far */

static int parse_seq(const char* id, size_t n) {
	if (n < 2 || id[0] != 'm') return -1;
	long v = 0;
	for (size_t i = 1; i < n; i++) {
		if (id[i] < '0' || id[i] > '9') return -1;
		v = v * 10 + (id[i] - '0');
	}
	return v < total ? (int)v : -1;
}

static uint8_t* b64dec(const char* s, size_t n, size_t* out) {
	static int8_t t[256];
	if (!t['B']) {
		memset(t, -1, sizeof t);
		const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		for (int i = 0; i < 64; i++) t[(uint8_t)a[i]] = (int8_t)i;
	}
	uint8_t* b = malloc(n / 4 * 3 + 3);
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = t[(uint8_t)s[i]];
		if (v < 0) break;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b[k++] = (uint8_t)(acc >> bits);
		}
	}
	*out = k;
	return b;
}

/* Events: message_ready is counted; repair_ready and message_resend
 * payloads are broadcast (--periodic). userData is the node index. */
static void on_event(int ret, const char* msg, size_t len, void* ud) {
	int node = (int)(intptr_t)ud;
	const char* p;
	if (ret != RET_OK) {
		__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
		return;
	}
	if (len > 14 && memcmp(msg, "{\"messageId\":\"", 14) == 0 && strstr(msg, "\"message_ready\"")) {
		const char* id = msg + 14;
		const char* q = strchr(id, '"');
		int seq = parse_seq(id, (size_t)(q - id));
		pthread_mutex_lock(&mu);
		if (seq < 0) unknown_ready++;
		else if (delivered[node][seq]) twice++;
		else delivered[node][seq] = 1;
		pthread_mutex_unlock(&mu);
		return;
	}
	int repair = strstr(msg, "\"repair_ready\"") != NULL;
	if ((repair || strstr(msg, "\"message_resend\"")) && (p = strstr(msg, "\"message\":\"")) != NULL) {
		p += 11;
		const char* q = strchr(p, '"');
		size_t n;
		uint8_t* w = b64dec(p, (size_t)(q - p), &n);
		__atomic_add_fetch(repair ? &repaired : &resent, 1, __ATOMIC_RELAXED);
		for (int to = 0; to < NODES; to++) {
			if (to == node || next_rand() % 10 == 0) continue;
			uint8_t* c = malloc(n);
			memcpy(c, w, n);
			push_late((Late){.due = __atomic_load_n(&sent, __ATOMIC_RELAXED), .to = to, .seq = -1, .wire = c, .len = n});
		}
		free(w);
	}
}

static void on_result(int ret, const char* msg, size_t len, void* ud) {
	int* r = ud;
	*r = ret;
}

static void unwrap(int to, const uint8_t* w, size_t n, int text) {
	if (text) {
		Resp t = {0};
		if (SdsUnwrapReceivedMessage(ctx[to], (void*)w, n, resp_cb, &t) != RET_OK || t.ret != RET_OK ||
		    t.len < 12 || memcmp(t.msg, "{\"message\":[", 12) != 0)
			errors++;
		return;
	}
	SdsUnwrapResult* r = NULL;
	char* err = NULL;
	if (SdsUnwrapReceivedMessageBinary(ctx[to], w, n, &r, &err) != RET_OK) {
		if (errors++ < 5) fprintf(stderr, "unwrap: %s\n", err ? err : "?");
		SdsFree(err);
		return;
	}
	SdsFree(r);
}

static void mark_met(int to, long seq) {
	char id[32], channel[32];
	snprintf(id, sizeof id, "m%ld", seq);
	snprintf(channel, sizeof channel, "ch%ld", seq % nchan);
	char* ids[1] = {id};
	int r = -1;
	pthread_mutex_lock(&mu);
	int done = delivered[to][seq] != 0;
	if (!done) delivered[to][seq] = 2;
	pthread_mutex_unlock(&mu);
	if (done) return; /* a repair brought it meanwhile */
	if (SdsMarkDependenciesMet(ctx[to], ids, 1, channel, on_result, &r) != RET_OK || r != RET_OK) errors++;
}

/* Runs the late copies due by now. */
static void run_late(int all) {
	for (;;) {
		Late l;
		int found = 0;
		pthread_mutex_lock(&mu);
		for (size_t i = 0; i < nlate; i++) {
			if (all || late[i].due <= sent) {
				l = late[i];
				late[i] = late[--nlate];
				found = 1;
				break;
			}
		}
		pthread_mutex_unlock(&mu);
		if (!found) return;
		if (l.wire == NULL) {
			mark_met(l.to, l.seq);
		} else {
			unwrap(l.to, l.wire, l.len, 0);
			free(l.wire);
		}
	}
}

static long parse_comma(const char* s, size_t n, uint8_t* out) {
	long k = 0;
	unsigned v = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			out[k++] = (uint8_t)v;
			v = 0;
		} else {
			v = v * 10 + (unsigned)(s[i] - '0');
		}
	}
	return k;
}

int main(int argc, char** argv) {
	int periodic = 0, no_rss = 0;
	total = 1000000;
	nchan = 100;
	int pos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--periodic") == 0) periodic = 1;
		else if (strcmp(argv[i], "--no-rss-check") == 0) no_rss = 1;
		else if (pos++ == 0) total = atol(argv[i]);
		else nchan = atol(argv[i]);
	}
	if (total < 10 * nchan || nchan < 1) {
		fprintf(stderr, "usage: sds-soak MESSAGES [CHANNELS] [--periodic] (MESSAGES >= 10 x CHANNELS)\n");
		return 2;
	}
	const char* names[NODES] = {"a", "b", "c"};
	for (int i = 0; i < NODES; i++) {
		char cfg[128];
		int r = -1;
		snprintf(cfg, sizeof cfg, "{\"participantId\":\"%s\",\"logLevel\":\"off\"%s}", names[i], SOAK_CONFIG);
		ctx[i] = SdsNewReliabilityManagerWithConfig(cfg, on_result, &r);
		if (ctx[i] == NULL || r != RET_OK) {
			fprintf(stderr, "cannot create manager %d\n", i);
			return 1;
		}
		SdsSetEventCallback(ctx[i], on_event, (void*)(intptr_t)i);
		if (periodic) SdsStartPeriodicTasks(ctx[i], on_result, &r);
		delivered[i] = calloc((size_t)total, 1);
	}

	long every = total / 50, rss_warm = 0;
	long samples[64];
	int nsamples = 0;
	long lost = 0, marked = 0;
	double t0 = now_s();
	uint8_t content[64];
	memset(content, 'x', sizeof content);
	char id[32], channel[32];
	if (every < 1) every = 1;
	for (long seq = 0; seq < total; seq++) {
		int from = (int)((seq / nchan) % NODES);
		snprintf(id, sizeof id, "m%ld", seq);
		snprintf(channel, sizeof channel, "ch%ld", seq % nchan);
		uint8_t* w = NULL;
		size_t n = 0;
		int text = seq % 64 == 63;
		if (text) {
			Resp t = {0};
			if (SdsWrapOutgoingMessage(ctx[from], content, sizeof content, id, channel, resp_cb, &t) != RET_OK ||
			    t.ret != RET_OK) {
				errors++;
				continue;
			}
			w = malloc(t.len / 2 + 1);
			n = (size_t)parse_comma(t.msg, t.len, w);
		} else {
			char* err = NULL;
			if (SdsWrapOutgoingMessageBinary(ctx[from], content, sizeof content, id, channel, &w, &n, &err) != RET_OK) {
				if (errors++ < 5) fprintf(stderr, "wrap: %s\n", err ? err : "?");
				SdsFree(err);
				continue;
			}
		}
		__atomic_store_n(&sent, seq + 1, __ATOMIC_RELAXED);
		for (int to = 0; to < NODES; to++) {
			if (to == from) continue;
			/* the first round on every channel is lossless, so each
			 * manager knows every channel */
			if (seq >= NODES * nchan && next_rand() % 10 == 0) {
				lost++;
				Late l = {.due = seq + 50 + (long)(next_rand() % 451), .to = to, .seq = seq};
				if (next_rand() % 10 != 0) {
					l.wire = malloc(n);
					memcpy(l.wire, w, n);
					l.len = n;
				} else {
					marked++;
				}
				push_late(l);
				continue;
			}
			unwrap(to, w, n, text);
		}
		if (text) free(w);
		else SdsFree(w);
		run_late(0);
		if ((seq + 1) % every == 0 && nsamples < 60) {
			long r = rss_kb();
			samples[nsamples++] = r;
			if (nsamples == WARM_SAMPLES) rss_warm = r;
			fprintf(stderr, "%8ld messages  %7.1fs  RSS %6ld KB  late %zu\n", seq + 1, now_s() - t0, r, nlate);
		}
	}
	run_late(1);
	double secs = now_s() - t0;
	for (int i = 0; i < NODES; i++) {
		int r = -1;
		SdsCleanupReliabilityManager(ctx[i], on_result, &r);
	}
	run_late(1); /* anything a last periodic event queued */

	long missing = 0, both = 0;
	for (int to = 0; to < NODES; to++) {
		for (long seq = 0; seq < total; seq++) {
			int from = (int)((seq / nchan) % NODES);
			if (from == to) {
				if (delivered[to][seq]) both++; /* own message delivered */
			} else if (!delivered[to][seq]) {
				missing++;
			}
		}
	}
	long peak1 = 0, peak2 = 0;
	int half = WARM_SAMPLES + (nsamples - WARM_SAMPLES) / 2;
	for (int i = WARM_SAMPLES; i < nsamples; i++) {
		long* p = i < half ? &peak1 : &peak2;
		if (samples[i] > *p) *p = samples[i];
	}
	long limit = peak1 / 20 > 16384 ? peak1 / 20 : 16384;
	int flat = no_rss || (nsamples > WARM_SAMPLES + 2 && peak2 - peak1 <= limit);
	printf("soak: %ld messages, %ld channels, 3 managers%s: %.1f s (%.0f messages/s, %.0f unwraps/s)\n", total, nchan,
	       periodic ? ", periodic tasks" : "", secs, total / secs, 2 * total / secs);
	printf("soak: %ld copies lost (%ld marked met, the rest delivered late); %ld resends, %ld repairs broadcast\n", lost,
	       marked, resent, repaired);
	printf("soak: RSS at the end of the warm-up %ld KB; peak after it, first half %ld KB, second half %ld KB (%+ld KB, "
	       "limit %ld): %s\n",
	       rss_warm, peak1, peak2, peak2 - peak1, limit, no_rss ? "not checked" : flat ? "flat" : "GROWING");
	printf("soak: RSS samples (KB):");
	for (int i = 0; i < nsamples; i++) printf(" %ld", samples[i]);
	printf("\n");
	printf("soak: not delivered %ld, delivered twice %ld, own delivered %ld, unknown ids %ld, errors %ld\n", missing,
	       twice, both, unknown_ready, errors);
	int ok = flat && missing == 0 && twice == 0 && both == 0 && unknown_ready == 0 && errors == 0;
	printf("soak: %s\n", ok ? "PASS" : "FAIL");
	for (int i = 0; i < NODES; i++) free(delivered[i]);
	free(late);
	return ok ? 0 : 1;
}
