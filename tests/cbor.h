/* A small CBOR (RFC 8949) encoder and reader for the tests of the sds_*
 * functions - written here so that the tests do not share code, or
 * mistakes, with the library's encoder. The encoder writes what
 * nim-cbor-serialization writes: definite lengths, shortest integer
 * heads. */
#ifndef SDS_TEST_CBOR_H
#define SDS_TEST_CBOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t* b;
	size_t n, cap;
} Cbor;

void cb_free(Cbor* c);
void cb_head(Cbor* c, int major, uint64_t v); /* the shortest head */
void cb_uint(Cbor* c, uint64_t v);
void cb_map(Cbor* c, uint64_t pairs);
void cb_array(Cbor* c, uint64_t n);
void cb_text(Cbor* c, const char* s);
void cb_textn(Cbor* c, const char* s, size_t n);
void cb_bytes(Cbor* c, const void* b, size_t n);
void cb_raw(Cbor* c, const void* b, size_t n);
void cb_hex(Cbor* c, const char* hex); /* appends the bytes written in hex */

/* Reading. Offsets index b[0..n); every function returns 0 for input that
 * is malformed or not of the expected kind. */
/* cb_skip returns the offset after the item at off (definite and
 * indefinite lengths), or 0. */
size_t cb_skip(const uint8_t* b, size_t n, size_t off);
/* cb_read_head reads the head at *off: major type, argument (or -1 in
 * *arg for indefinite), and advances *off past the head. */
int cb_read_head(const uint8_t* b, size_t n, size_t* off, int* major, uint64_t* arg);
/* cb_map_get finds key in the map at off; *val is the offset of its value. */
int cb_map_get(const uint8_t* b, size_t n, size_t off, const char* key, size_t* val);
/* cb_string reads a definite text (major 3) or byte (major 2) string. */
int cb_string(const uint8_t* b, size_t n, size_t off, int major, const uint8_t** p, size_t* len);
/* cb_path follows keys through nested maps from the top-level item:
 * cb_path(b, n, &val, "payload", "messageId", NULL). */
int cb_path(const uint8_t* b, size_t n, size_t* val, ...);

/* Prints b as hex into a static buffer (for failure messages). */
const char* cb_tohex(const uint8_t* b, size_t n);

#endif
