#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "harness.h"

void capture_cb(int ret, const char* msg, size_t len, void* userData) {
	Capture* c = userData;
	c->calls++;
	c->ret = ret;
	c->msg = msg;
	c->len = len;
	c->thread = pthread_self();
	free(c->copy);
	c->copy = NULL;
	if (msg != NULL) {
		if (msg[len] != 0) harness_fail(__FILE__, __LINE__, "callback buffer without its NUL");
		c->copy = malloc(len + 1);
		memcpy(c->copy, msg, len + 1);
	}
}

void capture_reset(Capture* c) {
	free(c->copy);
	memset(c, 0, sizeof *c);
}

int capture_intact(const Capture* c) {
	if (c->msg == NULL) return c->copy == NULL;
	return memcmp(c->msg, c->copy, c->len + 1) == 0;
}

void events_init(Events* e) {
	memset(e, 0, sizeof *e);
	pthread_mutex_init(&e->mu, NULL);
}

void events_cb(int ret, const char* msg, size_t len, void* userData) {
	Events* e = userData;
	pthread_mutex_lock(&e->mu);
	if (ret != RET_OK || msg == NULL || msg[len] != 0 || strlen(msg) != len) e->bad++;
	if (e->n < MAX_EVENTS && msg != NULL) {
		e->ev[e->n] = malloc(len + 1);
		memcpy(e->ev[e->n], msg, len);
		e->ev[e->n][len] = 0;
	}
	e->n++;
	e->thread = pthread_self();
	pthread_mutex_unlock(&e->mu);
}

void events_clear(Events* e) {
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->n && i < MAX_EVENTS; i++) free(e->ev[i]);
	e->n = 0;
	e->bad = 0;
	pthread_mutex_unlock(&e->mu);
}

int events_count(Events* e, const char* sub) {
	int n = 0;
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->n && i < MAX_EVENTS; i++)
		if (strstr(e->ev[i], sub)) n++;
	pthread_mutex_unlock(&e->mu);
	return n;
}

long parse_comma(const char* t, size_t len, uint8_t* out, size_t cap) {
	size_t n = 0, i = 0;
	if (len == 0) return 0;
	for (;;) {
		if (i >= len || t[i] < '0' || t[i] > '9') return -1;
		unsigned v = 0;
		size_t start = i;
		while (i < len && t[i] >= '0' && t[i] <= '9') v = v * 10 + (unsigned)(t[i++] - '0');
		if (v > 255 || i - start > 3 || (t[start] == '0' && i - start > 1)) return -1;
		if (n >= cap) return -1;
		out[n++] = (uint8_t)v;
		if (i == len) return (long)n;
		if (t[i++] != ',') return -1;
	}
}

long wrap(void* ctx, const char* content, const char* id, const char* channel, uint8_t** out) {
	Capture c = {0};
	*out = NULL;
	int r = SdsWrapOutgoingMessage(ctx, (void*)content, strlen(content), id, channel, capture_cb, &c);
	long n = -1;
	if (r == RET_OK && c.calls == 1 && c.ret == RET_OK) {
		*out = malloc(c.len / 2 + 1);
		n = parse_comma(c.msg, c.len, *out, c.len / 2 + 1);
	} else {
		harness_fail(__FILE__, __LINE__, "wrap %s: r=%d ret=%d %s", id, r, c.ret, c.copy ? c.copy : "");
	}
	capture_reset(&c);
	return n;
}

char* unwrap(void* ctx, const uint8_t* wire, size_t n) {
	Capture c = {0};
	int r = SdsUnwrapReceivedMessage(ctx, (void*)wire, n, capture_cb, &c);
	char* res = NULL;
	if (r == RET_OK && c.calls == 1 && c.ret == RET_OK) {
		res = c.copy;
		c.copy = NULL;
	}
	capture_reset(&c);
	return res;
}

void* new_manager(void) {
	Capture c = {0};
	void* ctx = SdsNewReliabilityManager(capture_cb, &c);
	if (ctx == NULL || c.calls != 1 || c.ret != RET_OK)
		harness_fail(__FILE__, __LINE__, "SdsNewReliabilityManager failed");
	capture_reset(&c);
	return ctx;
}

void* new_listened_manager(Events* e) {
	events_init(e);
	void* ctx = new_manager();
	SdsSetEventCallback(ctx, events_cb, e);
	return ctx;
}

void* new_manager_config(const char* json) {
	Capture c = {0};
	void* ctx = SdsNewReliabilityManagerWithConfig(json, capture_cb, &c);
	if (ctx == NULL || c.calls != 1 || c.ret != RET_OK)
		harness_fail(__FILE__, __LINE__, "SdsNewReliabilityManagerWithConfig(%s): %s", json,
		             c.copy ? c.copy : "");
	capture_reset(&c);
	return ctx;
}

void cleanup(void* ctx) {
	Capture c = {0};
	if (SdsCleanupReliabilityManager(ctx, capture_cb, &c) != RET_OK || c.calls != 1 || c.ret != RET_OK)
		harness_fail(__FILE__, __LINE__, "cleanup failed");
	capture_reset(&c);
}

static int varint(const uint8_t* b, size_t n, size_t* i, uint64_t* v) {
	*v = 0;
	for (int shift = 0; shift < 64 && *i < n; shift += 7) {
		uint8_t c = b[(*i)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) return 1;
	}
	return 0;
}

static int pb_walk(const uint8_t* b, size_t n, int field, int nth, const uint8_t** val, size_t* vlen,
                   uint64_t* vint) {
	size_t i = 0;
	int seen = 0;
	while (i < n) {
		uint64_t key, v = 0;
		if (!varint(b, n, &i, &key)) return -1;
		int f = (int)(key >> 3), wt = (int)(key & 7);
		const uint8_t* p = NULL;
		size_t l = 0;
		switch (wt) {
		case 0:
			if (!varint(b, n, &i, &v)) return -1;
			break;
		case 2:
			if (!varint(b, n, &i, &v) || v > n - i) return -1;
			p = b + i;
			l = (size_t)v;
			i += l;
			break;
		case 1: i += 8; break;
		case 5: i += 4; break;
		default: return -1;
		}
		if (f == field) {
			if (seen == nth) {
				if (val) *val = p;
				if (vlen) *vlen = l;
				if (vint) *vint = v;
				return 1;
			}
			seen++;
		}
	}
	return nth < 0 ? seen : 0;
}

int pb_field(const uint8_t* b, size_t n, int field, const uint8_t** val, size_t* vlen, uint64_t* v) {
	return pb_walk(b, n, field, 0, val, vlen, v) == 1;
}

int pb_count(const uint8_t* b, size_t n, int field) { return pb_walk(b, n, field, -1, NULL, NULL, NULL); }

void appendf(char* dst, size_t cap, const char* fmt, ...) {
	size_t l = strlen(dst);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst + l, cap - l, fmt, ap);
	va_end(ap);
}

/* Nim's std/json escapeJson, written independently of the library. */
void json_string(char* dst, size_t cap, const char* s, size_t n) {
	appendf(dst, cap, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '\n': appendf(dst, cap, "\\n"); break;
		case '\b': appendf(dst, cap, "\\b"); break;
		case '\f': appendf(dst, cap, "\\f"); break;
		case '\t': appendf(dst, cap, "\\t"); break;
		case '\v': appendf(dst, cap, "\\u000b"); break;
		case '\r': appendf(dst, cap, "\\r"); break;
		case '"': appendf(dst, cap, "\\\""); break;
		case '\\': appendf(dst, cap, "\\\\"); break;
		default:
			if (c <= 7) appendf(dst, cap, "\\u000%d", c);
			else if (c >= 14 && c <= 31) appendf(dst, cap, "\\u00%02X", c);
			else appendf(dst, cap, "%c", c);
		}
	}
	appendf(dst, cap, "\"");
}

void base64(char* dst, size_t cap, const uint8_t* b, size_t n) {
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;
		if (i + 1 < n) v |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n) v |= b[i + 2];
		appendf(dst, cap, "%c%c%c%c", tab[v >> 18], tab[(v >> 12) & 63],
		        i + 1 < n ? tab[(v >> 6) & 63] : '=', i + 2 < n ? tab[v & 63] : '=');
	}
}

long long now_ms(void) {
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void sleep_ms(int ms) {
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

long unbase64(const char* s, size_t n, uint8_t** out) {
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (n % 4) return -1;
	*out = malloc(n / 4 * 3 + 1);
	long len = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			const char* p = s[i + k] == '=' ? NULL : strchr(tab, s[i + k]);
			if (s[i + k] == '=') pad++;
			else if (p == NULL || s[i + k] == 0 || pad) return free(*out), -1;
			v = v << 6 | (uint32_t)(p ? p - tab : 0);
		}
		(*out)[len++] = (uint8_t)(v >> 16);
		if (pad < 2) (*out)[len++] = (uint8_t)(v >> 8);
		if (pad < 1) (*out)[len++] = (uint8_t)v;
	}
	return len;
}

int events_wait(Events* e, const char* sub, int count, int ms) {
	long long deadline = now_ms() + ms;
	while (events_count(e, sub) < count) {
		if (now_ms() > deadline) return 0;
		sleep_ms(2);
	}
	return 1;
}

void start_periodic(void* ctx) {
	Capture c = {0};
	CHECK_INT(SdsStartPeriodicTasks(ctx, capture_cb, &c), RET_OK);
	CHECK_INT(c.ret, RET_OK);
	CHECK_STRN(c.msg, c.len, "");
	capture_reset(&c);
}

long event_message(Events* ev, const char* type, const char* head, uint8_t** wire) {
	long wn = -1;
	pthread_mutex_lock(&ev->mu);
	const char* e = NULL;
	for (int i = 0; i < ev->n; i++)
		if (strstr(ev->ev[i], type)) e = ev->ev[i];
	if (e && strncmp(e, head, strlen(head)) == 0) wn = event_payload(e, wire);
	pthread_mutex_unlock(&ev->mu);
	return wn;
}

char* get_stats(void* ctx) {
	Capture c = {0};
	char* out = NULL;
	if (SdsGetStats(ctx, capture_cb, &c) == RET_OK && c.calls == 1 && c.ret == RET_OK) {
		out = c.copy;
		c.copy = NULL;
	} else {
		harness_fail(__FILE__, __LINE__, "SdsGetStats: %s", c.copy ? c.copy : "");
	}
	capture_reset(&c);
	return out;
}

double stat_value(const char* json, const char* channel, const char* section, const char* key) {
	char pat[256];
	const char* p = json;
	if (p == NULL) return -1;
	if (channel != NULL) {
		snprintf(pat, sizeof pat, "{\"channelId\":\"%s\",", channel);
		if ((p = strstr(p, pat)) == NULL) return -1;
	}
	/* The first such object after p: the manager's come before perChannel,
	 * and none holds another object. */
	snprintf(pat, sizeof pat, "\"%s\":{", section);
	if ((p = strstr(p, pat)) == NULL) return -1;
	const char* end = strchr(p + strlen(pat), '}');
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char* k = strstr(p, pat);
	if (k == NULL || end == NULL || k > end) return -1;
	return strtod(k + strlen(pat), NULL);
}

long event_payload(const char* e, uint8_t** wire) {
	const char* b64 = strstr(e, ",\"message\":\"");
	size_t n = strlen(e);
	if (b64 == NULL || n < 2 || strcmp(e + n - 2, "\"}") != 0) return -1;
	b64 += strlen(",\"message\":\"");
	return unbase64(b64, (size_t)(e + n - 2 - b64), wire);
}
