/* A tiny test harness: TEST(name) defines and registers a test; CHECK*
 * record a failure and carry on (ASSERT* return from the test). */
#ifndef SDS_TEST_HARNESS_H
#define SDS_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void harness_register(const char* name, test_fn fn);
void harness_fail(const char* file, int line, const char* fmt, ...);

/* scale(n): n iterations normally, fewer under SDS_TEST_QUICK=1 (valgrind). */
int scale(int n);
int quick(void);

/* temp_path turns a mkstemp template ("/tmp/x-XXXXXX") into a fresh path
 * where no file exists yet (for a store the test creates); 0 on failure. */
int temp_path(char* tmpl);

#define TEST(name)                                                             \
	static void test_##name(void);                                             \
	__attribute__((constructor)) static void register_##name(void) {           \
		harness_register(#name, test_##name);                                  \
	}                                                                          \
	static void test_##name(void)

#define CHECK(cond)                                                            \
	do {                                                                       \
		if (!(cond)) harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);     \
	} while (0)

#define CHECK_INT(a, b)                                                        \
	do {                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                    \
		if (a_ != b_)                                                          \
			harness_fail(__FILE__, __LINE__, "%s == %lld, want %s == %lld", #a, \
			             a_, #b, b_);                                          \
	} while (0)

/* Compares a (pointer, length) result with a NUL-terminated expectation;
 * also checks the NUL the library promises after the result. */
#define CHECK_STRN(p, n, want)                                                 \
	do {                                                                       \
		const char* p_ = (p);                                                  \
		size_t n_ = (n);                                                       \
		const char* w_ = (want);                                               \
		if (p_ == NULL || n_ != strlen(w_) || memcmp(p_, w_, n_) != 0 ||      \
		    p_[n_] != 0)                                                       \
			harness_fail(__FILE__, __LINE__, "%s:\n   got %.*s (len %zu)\n  want %s", \
			             #p, p_ ? (int)(n_ > 400 ? 400 : n_) : 6,            \
			             p_ ? p_ : "(null)", n_, w_);                          \
	} while (0)

#define CHECK_STR(p, want) CHECK_STRN((p), (p) ? strlen(p) : 0, (want))

#define ASSERT(cond)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                         \
			harness_fail(__FILE__, __LINE__, "ASSERT(%s)", #cond);             \
			return;                                                            \
		}                                                                      \
	} while (0)

#endif
