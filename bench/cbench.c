/* sds-cbench: throughput of libsds through its C ABI, as a host sees it.
 *
 *   sds-cbench MODE [N] [--binary]
 *
 * MODE is one of
 *   ping-pong N  N round trips: a wraps, b unwraps, b wraps, a unwraps
 *                (each message acknowledges the previous one)
 *   burst N      a wraps N messages on one channel, then b unwraps them in
 *                order
 *   reverse N    a wraps a chain of N messages, then b unwraps them last
 *                first: all but the last wait in the incoming buffer, the
 *                last releases the cascade
 *   channels N   20 rounds over N channels of one manager: a wraps one
 *                message on each channel and b unwraps it at once (peak
 *                RSS is then mostly the state of 2 x N channels)
 * Content: 100 bytes; managers: SdsNewReliabilityManager (the defaults: a
 * message's bloom filter holds the ids of the last 12 minutes, here every
 * id the channel has seen, up to the whole ~18.8 KB filter).
 *
 * By default the Nim-compatible functions are used: the wrap result is the
 * comma-separated text, which the host parses back into bytes (reported
 * separately: wraps/s counts the library call, wraps+parse/s the host's
 * whole cost), and the unwrap result is JSON. --binary uses
 * SdsWrapOutgoingMessageBinary / SdsUnwrapReceivedMessageBinary.
 *
 * The host keeps wire messages the way one that hands them to a transport
 * would: it copies (or parses) them into its own store and frees the
 * library's buffer. In burst and reverse that store (N x 32 KiB) is
 * allocated and touched before timing, so the page faults of the host's
 * own memory are not counted; it is part of the peak RSS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "libsds.h"
#include "resp.h"

#define SLOT (32 << 10) /* host store per message */

static int binary;
static char content[100];
static double parse_time, parse_cpu; /* spent by the host parsing comma text */

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char* what, const char* msg, size_t len) {
	fprintf(stderr, "sds-cbench: %s failed: %.*s\n", what, (int)len, msg ? msg : "");
	exit(1);
}

static void* new_manager(void) {
	Resp r = {0};
	void* ctx = SdsNewReliabilityManager(resp_cb, &r);
	if (ctx == NULL) die("create", r.msg, r.len);
	return ctx;
}

static void cleanup(void* ctx) {
	Resp r = {0};
	SdsCleanupReliabilityManager(ctx, resp_cb, &r);
}

static int events;
static void count_event(int ret, const char* msg, size_t len, void* ud) { events++; }

/* Parses "10,2,109" - the library's own output, so well formed. A host
 * that parses it one character at a time spends several times longer on
 * it than the library spends producing it; this one finds the commas 16
 * characters at a time (SSE2 where available) and computes each number
 * with one load and one multiply. */
static inline uint8_t number(const char* p, size_t l) {
	/* The l digits, right-aligned in the low three bytes (bytes after them
	 * may borrow from higher ones; the shift drops those), then one
	 * multiply sums 100*d0 + 10*d1 + d2 into bits 16..23. Reads p[0..3]:
	 * within the text and its NUL, as a number is followed by a comma or
	 * ends the text. */
	uint32_t w;
	memcpy(&w, p, 4);
	uint32_t x = ((w - 0x30303030u) << ((3 - l) * 8)) & 0x00FFFFFFu;
	return (uint8_t)((x * (1u | 10u << 8 | 100u << 16)) >> 16);
}

static size_t parse_comma(const char* t, size_t len, uint8_t* out, size_t cap) {
	size_t n = 0, start = 0, i = 0;
#ifdef __SSE2__
	const __m128i comma = _mm_set1_epi8(',');
	for (; i + 16 <= len; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i*)(t + i)), comma));
		while (m) {
			size_t pos = i + (size_t)__builtin_ctz(m);
			m &= m - 1;
			if (n == cap || pos - start - 1 > 2) die("wrap", "unexpected result text", 22);
			out[n++] = number(t + start, pos - start);
			start = pos + 1;
		}
	}
#endif
	for (; i <= len; i++) { /* the rest, reading nothing past the text */
		if (i < len && t[i] != ',') continue;
		if (n == cap || i - start - 1 > 2) die("wrap", "unexpected result text", 22);
		unsigned v = 0;
		for (size_t k = start; k < i; k++) v = v * 10 + (unsigned)(t[k] - '0');
		out[n++] = (uint8_t)v;
		start = i + 1;
	}
	return n;
}

/* wrap wraps into the host's buffer dst (SLOT bytes) and returns the
 * length. */
static size_t wrap(void* ctx, const char* id, const char* channel, uint8_t* dst) {
	if (binary) {
		uint8_t* w = NULL;
		size_t n = 0;
		char* err = NULL;
		if (SdsWrapOutgoingMessageBinary(ctx, content, sizeof content, id, channel, &w, &n, &err) != RET_OK)
			die("wrap", err, err ? strlen(err) : 0);
		if (n > SLOT) die("wrap", "message larger than a host slot", 31);
		memcpy(dst, w, n);
		SdsFree(w);
		return n;
	}
	Resp r = {0};
	SdsWrapOutgoingMessage(ctx, content, sizeof content, id, channel, resp_cb, &r);
	if (r.ret != RET_OK) die("wrap", r.msg, r.len);
	double t0 = now(), c0 = cpu();
	size_t n = parse_comma(r.msg, r.len, dst, SLOT);
	parse_time += now() - t0;
	parse_cpu += cpu() - c0;
	return n;
}

static void unwrap(void* ctx, const uint8_t* w, size_t n) {
	if (binary) {
		SdsUnwrapResult* res = NULL;
		char* err = NULL;
		if (SdsUnwrapReceivedMessageBinary(ctx, w, n, &res, &err) != RET_OK)
			die("unwrap", err, err ? strlen(err) : 0);
		SdsFree(res);
		return;
	}
	Resp r = {0};
	SdsUnwrapReceivedMessage(ctx, (void*)w, n, resp_cb, &r);
	if (r.ret != RET_OK) die("unwrap", r.msg, r.len);
}

static long peak_rss_mb(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static const char* path(void) { return binary ? "binary" : "text"; }

static void ping_pong(int n) {
	void* a = new_manager();
	void* b = new_manager();
	uint8_t* buf = malloc(SLOT);
	char id[32];
	double t0 = now(), c0 = cpu();
	for (int i = 0; i < n; i++) {
		sprintf(id, "a%d", i);
		size_t len = wrap(a, id, "c", buf);
		unwrap(b, buf, len);
		sprintf(id, "b%d", i);
		len = wrap(b, id, "c", buf);
		unwrap(a, buf, len);
	}
	double t = now() - t0, c = cpu() - c0;
	printf("ping-pong n=%-6d %-6s round_trips/s=%.0f [%.0f]", n, path(), n / t, n / c);
	if (!binary) printf(" library_only=%.0f [%.0f]", n / (t - parse_time), n / (c - parse_cpu));
	printf(" peak_rss=%ldMB\n", peak_rss_mb());
	free(buf);
	cleanup(a);
	cleanup(b);
}

/* burst and reverse: wrap n on one channel, unwrap them in that order or
 * the reverse one. */
static void wrap_then_unwrap(const char* mode, int n, int reverse) {
	void* a = new_manager();
	void* b = new_manager();
	SdsSetEventCallback(b, count_event, NULL);
	uint8_t* store = malloc((size_t)n * SLOT);
	memset(store, 0xa5, (size_t)n * SLOT); /* not 0: malloc+memset(0) may become a lazy calloc */
	size_t* len = calloc(n, sizeof(size_t));
	char id[32];
	double t0 = now(), c0 = cpu();
	for (int i = 0; i < n; i++) {
		sprintf(id, "m%d", i);
		len[i] = wrap(a, id, "c", store + (size_t)i * SLOT);
	}
	double t1 = now(), c1 = cpu();
	for (int i = 0; i < n; i++) {
		int j = reverse ? n - 1 - i : i;
		unwrap(b, store + (size_t)j * SLOT, len[j]);
	}
	double t2 = now(), c2 = cpu();
	printf("%-9s n=%-6d %-6s wraps/s=%.0f [%.0f] unwraps/s=%.0f [%.0f]", mode, n, path(),
	       n / (t1 - t0 - parse_time), n / (c1 - c0 - parse_cpu), n / (t2 - t1), n / (c2 - c1));
	if (!binary) printf(" wraps+parse/s=%.0f [%.0f]", n / (t1 - t0), n / (c1 - c0));
	printf(" events=%d peak_rss=%ldMB (host store %zuMB)\n", events, peak_rss_mb(), (size_t)n * SLOT >> 20);
	free(store);
	free(len);
	cleanup(a);
	cleanup(b);
}

static void channels(int nch) {
	const int rounds = 20;
	void* a = new_manager();
	void* b = new_manager();
	uint8_t* buf = malloc(SLOT);
	char id[32], ch[32];
	double wrapT = 0, unwrapT = 0, wrapC = 0, unwrapC = 0;
	for (int r = 0; r < rounds; r++) {
		for (int c = 0; c < nch; c++) {
			sprintf(id, "m%d-%d", r, c);
			sprintf(ch, "ch%d", c);
			double t0 = now(), c0 = cpu();
			size_t len = wrap(a, id, ch, buf);
			double t1 = now(), c1 = cpu();
			unwrap(b, buf, len);
			wrapT += t1 - t0;
			unwrapT += now() - t1;
			wrapC += c1 - c0;
			unwrapC += cpu() - c1;
		}
	}
	int n = nch * rounds;
	printf("channels  n=%-6d %-6s messages=%d wraps/s=%.0f [%.0f] unwraps/s=%.0f [%.0f]", nch, path(), n,
	       n / (wrapT - parse_time), n / (wrapC - parse_cpu), n / unwrapT, n / unwrapC);
	if (!binary) printf(" wraps+parse/s=%.0f [%.0f]", n / wrapT, n / wrapC);
	printf(" peak_rss=%ldMB\n", peak_rss_mb());
	free(buf);
	cleanup(a);
	cleanup(b);
}

/* The parser must agree with snprintf on every byte value, in both of its
 * loops (a wrong bloom filter byte would go unnoticed). */
static void check_parser(void) {
	char text[4 * 300 + 1] = "";
	uint8_t want[300], got[300];
	size_t len = 0;
	for (int i = 0; i < 300; i++) {
		want[i] = (uint8_t)(i * 7 + i / 256);
		len += (size_t)snprintf(text + len, sizeof text - len, i ? ",%u" : "%u", want[i]);
	}
	for (int k = 1; k <= 300; k++) { /* prefixes: every tail length */
		size_t l = 0;
		for (int commas = 0; l < len && commas < k; l++)
			if (text[l] == ',' && ++commas == k) break;
		char saved = text[l];
		text[l] = 0;
		if (parse_comma(text, l, got, 300) != (size_t)k || memcmp(got, want, k) != 0)
			die("parser self-check", text, 0);
		text[l] = saved;
	}
}

int main(int argc, char** argv) {
	const char* mode = "";
	int n = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--binary") == 0) binary = 1;
		else if (!*mode) mode = argv[i];
		else n = atoi(argv[i]);
	}
	for (size_t i = 0; i < sizeof content; i++) content[i] = (char)('a' + i % 26);
	check_parser();
	if (strcmp(mode, "ping-pong") == 0) ping_pong(n ? n : 10000);
	else if (strcmp(mode, "burst") == 0) wrap_then_unwrap("burst", n ? n : 2000, 0);
	else if (strcmp(mode, "reverse") == 0) wrap_then_unwrap("reverse", n ? n : 2000, 1);
	else if (strcmp(mode, "channels") == 0) channels(n ? n : 1000);
	else {
		fprintf(stderr, "usage: sds-cbench ping-pong|burst|reverse|channels [N] [--binary]\n");
		return 2;
	}
	return 0;
}
