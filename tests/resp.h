/* Resp keeps a result as sds-go-bindings does: the library's pointer, read
 * once the call has returned (libsds.h, "Buffers handed to callbacks").
 * For the programs that need no more: bench/cbench.c, bench/soak.c and
 * ffi/capitest. The C tests use Capture (util.h), which also copies. */
#ifndef SDS_TEST_RESP_H
#define SDS_TEST_RESP_H

#include <stddef.h>

typedef struct {
	int calls;
	int ret;
	const char* msg;
	size_t len;
} Resp;

static inline void resp_cb(int ret, const char* msg, size_t len, void* ud) {
	Resp* r = ud;
	r->calls++;
	r->ret = ret;
	r->msg = msg;
	r->len = len;
}

#endif
