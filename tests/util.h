/* Helpers shared by the C tests. */
#ifndef SDS_TEST_UTIL_H
#define SDS_TEST_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "libsds.h"

/* Capture records what a result callback received. msg is the library's
 * pointer, kept as is (the access pattern of sds-go-bindings); copy is a
 * private copy, to check the library's buffer later. */
typedef struct {
	int calls;
	int ret;
	const char* msg;
	size_t len;
	char* copy;
	pthread_t thread;
} Capture;

void capture_cb(int ret, const char* msg, size_t len, void* userData);
void capture_reset(Capture* c);
/* The library's buffer still holds what the callback saw. */
int capture_intact(const Capture* c);

/* Events records event callbacks (thread-safe). */
#define MAX_EVENTS 4096
typedef struct {
	pthread_mutex_t mu;
	int n;
	char* ev[MAX_EVENTS];
	int bad; /* callerRet != RET_OK, or a buffer without its NUL */
	pthread_t thread; /* of the last event */
} Events;

void events_init(Events* e);
void events_cb(int ret, const char* msg, size_t len, void* userData);
void events_clear(Events* e);
int events_count(Events* e, const char* substring);

/* parse_comma turns "10,2,109" into bytes; returns the count, or -1 for
 * text that is not strictly the Nim form (decimal 0-255 without leading
 * zeros, one comma between numbers). */
long parse_comma(const char* text, size_t len, uint8_t* out, size_t cap);

/* wrap wraps through SdsWrapOutgoingMessage and parses the result into a
 * malloc'd buffer; returns its length, or -1 (with the error in *err if
 * err is not NULL, a static copy). */
long wrap(void* ctx, const char* content, const char* id, const char* channel, uint8_t** out);

/* unwrap unwraps and returns a malloc'd copy of the JSON result (NULL on
 * error). */
char* unwrap(void* ctx, const uint8_t* wire, size_t n);

void* new_manager(void);
void* new_manager_config(const char* json);
/* new_manager with e initialised and receiving its events. */
void* new_listened_manager(Events* e);
void cleanup(void* ctx);

/* pb_field finds the first occurrence of field in a protobuf message:
 * returns 1 and its bytes (length-delimited) or value (varint), else 0. */
int pb_field(const uint8_t* b, size_t n, int field, const uint8_t** val, size_t* vlen, uint64_t* varint);
int pb_count(const uint8_t* b, size_t n, int field);

/* Appends to dst (NUL-terminated, cap bytes) - for expected JSON. */
void json_string(char* dst, size_t cap, const char* s, size_t n);
void base64(char* dst, size_t cap, const uint8_t* b, size_t n);
void appendf(char* dst, size_t cap, const char* fmt, ...);

long long now_ms(void);
void sleep_ms(int ms);

/* unbase64 decodes standard base64 (with padding) into a malloc'd buffer;
 * returns its length, or -1. */
long unbase64(const char* s, size_t n, uint8_t** out);

/* events_wait waits up to ms for count events containing substring. */
int events_wait(Events* e, const char* substring, int count, int ms);

/* start_periodic starts ctx's periodic tasks, checking it succeeded. */
void start_periodic(void* ctx);

/* event_message finds the last event of ev containing type, which must
 * begin with head, and decodes the wire bytes of its "message" (base64,
 * the last key) into *wire (malloc'd); returns their length, or -1. */
long event_message(Events* ev, const char* type, const char* head, uint8_t** wire);

/* event_payload decodes the wire bytes of an event's "message" (base64,
 * its last key) into a malloc'd *wire; returns their length, or -1. */
long event_payload(const char* event, uint8_t** wire);

/* get_stats returns SdsGetStats's JSON, malloc'd (NULL on failure). */
char* get_stats(void* ctx);
/* stat_value reads the number under key in the object section
 * ("counters", "gauges", "incomingWait") of a stats JSON: the manager's,
 * or with channel not NULL that channel's in perChannel. -1 if absent. */
double stat_value(const char* json, const char* channel, const char* section, const char* key);

#endif
