#include "cbor.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void grow(Cbor* c, size_t more) {
	if (c->n + more <= c->cap) return;
	size_t cap = c->cap ? c->cap * 2 : 64;
	while (cap < c->n + more) cap *= 2;
	c->b = realloc(c->b, cap);
	c->cap = cap;
}

void cb_free(Cbor* c) {
	free(c->b);
	c->b = NULL;
	c->n = c->cap = 0;
}

void cb_raw(Cbor* c, const void* b, size_t n) {
	grow(c, n);
	if (n) memcpy(c->b + c->n, b, n);
	c->n += n;
}

void cb_head(Cbor* c, int major, uint64_t v) {
	uint8_t h[9];
	size_t len;
	uint8_t m = (uint8_t)(major << 5);
	if (v < 24) {
		h[0] = m | (uint8_t)v;
		len = 1;
	} else if (v <= 0xff) {
		h[0] = m | 24, h[1] = (uint8_t)v;
		len = 2;
	} else if (v <= 0xffff) {
		h[0] = m | 25, h[1] = (uint8_t)(v >> 8), h[2] = (uint8_t)v;
		len = 3;
	} else if (v <= 0xffffffffu) {
		h[0] = m | 26;
		for (int i = 0; i < 4; i++) h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		len = 5;
	} else {
		h[0] = m | 27;
		for (int i = 0; i < 8; i++) h[1 + i] = (uint8_t)(v >> (56 - 8 * i));
		len = 9;
	}
	cb_raw(c, h, len);
}

void cb_uint(Cbor* c, uint64_t v) { cb_head(c, 0, v); }
void cb_map(Cbor* c, uint64_t pairs) { cb_head(c, 5, pairs); }
void cb_array(Cbor* c, uint64_t n) { cb_head(c, 4, n); }

void cb_textn(Cbor* c, const char* s, size_t n) {
	cb_head(c, 3, n);
	cb_raw(c, s, n);
}

void cb_text(Cbor* c, const char* s) { cb_textn(c, s, strlen(s)); }

void cb_bytes(Cbor* c, const void* b, size_t n) {
	cb_head(c, 2, n);
	cb_raw(c, b, n);
}

static int hexval(char ch) {
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

void cb_hex(Cbor* c, const char* hex) {
	for (; hex[0] && hex[1]; hex += 2) {
		uint8_t v = (uint8_t)(hexval(hex[0]) << 4 | hexval(hex[1]));
		cb_raw(c, &v, 1);
	}
}

int cb_read_head(const uint8_t* b, size_t n, size_t* off, int* major, uint64_t* arg) {
	if (*off >= n) return 0;
	uint8_t ib = b[*off];
	*major = ib >> 5;
	uint8_t info = ib & 31;
	(*off)++;
	if (info < 24) {
		*arg = info;
		return 1;
	}
	if (info == 31) {
		*arg = (uint64_t)-1;
		return *major >= 2 && *major <= 5;
	}
	if (info > 27) return 0;
	size_t len = (size_t)1 << (info - 24);
	if (n - *off < len) return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) v = v << 8 | b[*off + i];
	*off += len;
	*arg = v;
	return 1;
}

static size_t skip(const uint8_t* b, size_t n, size_t off, int depth) {
	int major;
	uint64_t arg;
	if (depth > 64 || !cb_read_head(b, n, &off, &major, &arg)) return 0;
	switch (major) {
	case 0:
	case 1:
	case 7:
		return off;
	case 2:
	case 3:
		if (arg == (uint64_t)-1) {
			while (off < n && b[off] != 0xff)
				if (!(off = skip(b, n, off, depth + 1))) return 0;
			return off < n ? off + 1 : 0;
		}
		return arg <= n - off ? off + (size_t)arg : 0;
	case 6:
		return skip(b, n, off, depth + 1);
	default: { /* 4, 5 */
		if (arg == (uint64_t)-1) {
			while (off < n && b[off] != 0xff)
				if (!(off = skip(b, n, off, depth + 1))) return 0;
			return off < n ? off + 1 : 0;
		}
		uint64_t items = major == 5 ? arg * 2 : arg;
		for (uint64_t i = 0; i < items; i++)
			if (!(off = skip(b, n, off, depth + 1))) return 0;
		return off;
	}
	}
}

size_t cb_skip(const uint8_t* b, size_t n, size_t off) { return skip(b, n, off, 0); }

int cb_string(const uint8_t* b, size_t n, size_t off, int want, const uint8_t** p, size_t* len) {
	int major;
	uint64_t arg;
	if (!cb_read_head(b, n, &off, &major, &arg) || major != want || arg == (uint64_t)-1) return 0;
	if (arg > n - off) return 0;
	*p = b + off;
	*len = (size_t)arg;
	return 1;
}

int cb_map_get(const uint8_t* b, size_t n, size_t off, const char* key, size_t* val) {
	int major;
	uint64_t pairs;
	if (!cb_read_head(b, n, &off, &major, &pairs) || major != 5 || pairs == (uint64_t)-1) return 0;
	for (uint64_t i = 0; i < pairs; i++) {
		const uint8_t* k;
		size_t klen;
		if (!cb_string(b, n, off, 3, &k, &klen)) return 0;
		off = cb_skip(b, n, off);
		if (!off) return 0;
		if (klen == strlen(key) && memcmp(k, key, klen) == 0) {
			*val = off;
			return 1;
		}
		if (!(off = cb_skip(b, n, off))) return 0;
	}
	return 0;
}

int cb_path(const uint8_t* b, size_t n, size_t* val, ...) {
	va_list ap;
	size_t off = 0;
	const char* key;
	va_start(ap, val);
	while ((key = va_arg(ap, const char*)) != NULL) {
		if (!cb_map_get(b, n, off, key, &off)) {
			va_end(ap);
			return 0;
		}
	}
	va_end(ap);
	*val = off;
	return 1;
}

const char* cb_tohex(const uint8_t* b, size_t n) {
	static __thread char out[1024];
	size_t i;
	for (i = 0; i < n && i < sizeof out / 2 - 2; i++) {
		static const char* d = "0123456789abcdef";
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * i] = 0;
	return out;
}
