#include "harness.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS 256

static struct {
	const char* name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int failures;
static const char* current;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void harness_register(const char* name, test_fn fn) {
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void harness_fail(const char* file, int line, const char* fmt, ...) {
	va_list ap;
	pthread_mutex_lock(&mu);
	failures++;
	fprintf(stderr, "FAIL %s (%s:%d): ", current ? current : "?", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&mu);
}

int temp_path(char* tmpl) {
	int fd = mkstemp(tmpl);
	if (fd < 0) return 0;
	close(fd);
	unlink(tmpl);
	return 1;
}

int quick(void) {
	const char* q = getenv("SDS_TEST_QUICK");
	return q != NULL && *q != 0 && *q != '0';
}

int scale(int n) {
	if (!quick()) return n;
	n /= 50;
	return n < 2 ? 2 : n;
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Usage: test [substring...] runs the tests whose names contain any of the
 * arguments (all without arguments). */
int main(int argc, char** argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	int ran = 0;
	for (int i = 0; i < ntests; i++) {
		int match = argc < 2;
		for (int a = 1; a < argc && !match; a++) match = strstr(tests[i].name, argv[a]) != NULL;
		if (!match) continue;
		int before = failures;
		current = tests[i].name;
		double t0 = now();
		tests[i].fn();
		printf("%s %-40s %.2fs\n", failures == before ? "ok  " : "FAIL", tests[i].name, now() - t0);
		ran++;
	}
	printf("%d tests, %d failures%s\n", ran, failures, quick() ? " (quick)" : "");
	return failures ? 1 : 0;
}
