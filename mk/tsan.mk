# ---- The C tests under the thread checkers (make tsan; part of make test).
#
# A Go library cannot be instrumented by a C ThreadSanitizer, and Go's race
# detector carries its own TSan runtime that clashes with the C one, so
# the checking is done in two halves, each over every C test (test_threads
# is the threaded scenario; the others add callbacks on library threads):
#
#   tsan-c:  the tests compiled with -fsanitize=thread, linked against the
#            ordinary libsds.so: races in the host's threads, data and
#            callbacks (tests/tsan.supp says what it cannot see).
#   tsan-go: the ordinary tests linked against a c-archive built with
#            go build -race: races inside the library, driven by the C
#            threads (a Go race aborts with exit code 66).
#
# TSAN_TESTS picks tests by name (default: all).
TSAN_TESTS ?=
# Prerequisites are expanded when read, before the Makefile defines
# TEST_DEP and LIB_SRC: spelled out here.
TSAN_TEST_DEP := $(wildcard tests/*.c tests/*.h) include/libsds.h $(B)/tests/vectors.h
TSAN_LIB_SRC := go.mod go.sum include/libsds.h \
	$(shell find sds ffi cmd/libsds -name '*.go' ! -name '*_test.go' -o -name '*.[ch]' 2>/dev/null)
TSAN_CFLAGS ?= -O1 -g -fsanitize=thread -Wall -Wno-unused-parameter

$(B)/tsan/ctest: $(TSAN_TEST_DEP) $(B)/libsds.so
	@mkdir -p $(@D)
	$(CC) $(TSAN_CFLAGS) -Iinclude -Itests -I$(B)/tests $(TEST_SRC) -L$(B) -lsds -Wl,-rpath,'$$ORIGIN/..' -lpthread -o $@

$(B)/race/libsds.a: $(TSAN_LIB_SRC)
	$(GO) build -race -buildmode=c-archive -o $@ ./cmd/libsds
	rm -f $(B)/race/libsds.h

# -no-pie: the race runtime needs the program at its usual addresses.
$(B)/race/ctest: $(TSAN_TEST_DEP) $(B)/race/libsds.a
	$(CC) -O1 -g -no-pie -Iinclude -Itests -I$(B)/tests $(TEST_SRC) $(B)/race/libsds.a -lpthread -o $@

.PHONY: tsan tsan-c tsan-go
tsan: tsan-c tsan-go

tsan-c: $(B)/tsan/ctest
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 exitcode=66" $(B)/tsan/ctest $(TSAN_TESTS)

tsan-go: $(B)/race/ctest
	GORACE="halt_on_error=1 exitcode=66" $(B)/race/ctest $(TSAN_TESTS)

TEST_EXTRA += tsan
