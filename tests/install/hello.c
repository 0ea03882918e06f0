/* A program built only with what `pkg-config --cflags --libs libsds` says
 * (tests/install/check.sh): it creates a manager, wraps a message, prints
 * the version and the size of the wire bytes, and exits 0 on success. */
#include <libsds.h>
#include <stdio.h>
#include <string.h>

static int created = -1;

static void on_result(int ret, const char* msg, size_t len, void* ud) {
	(void)msg; (void)len; (void)ud;
	created = ret;
}

int main(void) {
	void* ctx = SdsNewReliabilityManagerWithConfig("{\"participantId\":\"alice\"}", on_result, NULL);
	if (ctx == NULL || created != RET_OK) {
		fprintf(stderr, "hello: no manager\n");
		return 1;
	}
	uint8_t* wire = NULL;
	size_t wireLen = 0;
	char* err = NULL;
	if (SdsWrapOutgoingMessageBinary(ctx, "hi", 2, "m1", "room", &wire, &wireLen, &err) != RET_OK) {
		fprintf(stderr, "hello: wrap failed: %s\n", err ? err : "?");
		return 1;
	}
	printf("libsds %s: wrapped %zu bytes\n", SdsVersion(), wireLen);
	SdsFree(wire);
	return SdsCleanupReliabilityManager(ctx, on_result, NULL) == RET_OK ? 0 : 1;
}
