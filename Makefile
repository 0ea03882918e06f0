# libsds in Go. `make` builds the C library (build/libsds.so with its
# soname link, build/libsds.a, build/libsds.pc) and nothing else;
# `make install` installs it (PREFIX, LIBDIR, DESTDIR; mk/install.mk);
# `make run` builds the Go packages and the library and runs the C example
# and the Go demo; `make test` runs every test (what CI runs).
GO      ?= go
FUZZTIME ?= 10s
CC       ?= cc
VALGRIND ?= valgrind
B        := build

# package:target pairs run by `make fuzz-short` (CI) and `make fuzz`.
# Minimising each new input is capped: by default it takes up to a minute,
# during which a short run executes nothing.
FUZZ_TARGETS := \
	./sds/wire:FuzzDecode \
	./sds/wire:FuzzChannelID \
	./sds/bloom:FuzzDecode \
	./sds/bloom:FuzzDecodeRFC \
	./sds:FuzzInterleaving \
	./sds:FuzzChaos \
	./sds/persist:FuzzDecodeChannelMeta \
	./sds/persist:FuzzDecodeNimChannelData \
	./sds/persist:FuzzDecodeHistoryUpdate \
	./sds/persist:FuzzDecodeRecord \
	./ffi:FuzzParseConfig \
	./ffi:FuzzUnwrapJSON \
	./ffi:FuzzEventJSON \
	./ffi/cborabi:FuzzDecodeRequest \
	./ffi/capitest:FuzzCborCalls

# The fragments below define targets of their own: without this, the
# first of them would become what a plain `make` runs.
.DEFAULT_GOAL := all

# Each mk/*.mk adds its own targets (examples, bindings, the CBOR ABI
# tests) and appends the ones `make test` must run to TEST_EXTRA.
TEST_EXTRA :=
include $(sort $(wildcard mk/*.mk))

.PHONY: all build lib run test vet unit ctest fuzz-short fuzz bench cbench clean deps-lib deps-test

all: deps-lib lib

build:
	$(GO) build ./...

# The C example (examples/c, through build/libsds.so), then the Go demo.
run: deps-lib build lib example-c
	$(GO) run ./cmd/sds-demo

# deps-test comes first: it installs what the tests need (mk/deps.sh).
test: deps-test vet unit ctest fuzz-short $(TEST_EXTRA)

# The tools each part needs, installed with apt-get when missing and
# allowed (mk/deps.sh; SDS_NO_INSTALL=1 only reports them).
deps-lib deps-test:
	@mk/deps.sh $(@:deps-%=%)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# Go 1.26's fuzzing coordinator can race its own -fuzztime deadline and
# fail with "context deadline exceeded" having found nothing
# (golang/go#75804, fixed in Go 1.27): such a run, and only such a run (no
# failing input written), is repeated once.
fuzz-short:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		for try in 1 2; do \
			echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 50x $$pkg >$$log 2>&1; rc=$$?; \
			cat $$log; \
			[ $$rc -eq 0 ] && break; \
			if [ $$try -eq 1 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
				echo "fuzz $$pkg $$name: Go's deadline race (golang/go#75804), not a finding: once more"; \
			else exit 1; fi; \
		done; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sds/...

# ---- the C library: build/libsds.so (soname libsds.so.0), build/libsds.a,
# build/libsds.pc; API include/libsds.h. The .so exports the Sds* symbols
# only (cmd/libsds/libsds.map), which the recipe verifies.
VERSION  := $(shell sed -n 's/^\#define SDS_VERSION "\(.*\)"/\1/p' include/libsds.h)
LIB_SRC  := go.mod go.sum include/libsds.h cmd/libsds/libsds.map \
	$(shell find sds ffi cmd/libsds -name '*.go' ! -name '*_test.go' -o -name '*.[ch]' 2>/dev/null)
SO_FLAGS  = -buildmode=c-shared -ldflags "-extldflags '-Wl,--version-script=$(CURDIR)/cmd/libsds/libsds.map -Wl,-soname,libsds.so.0'"

PC_DESCRIPTION := SDS (Scalable Data Sync), the libsds C ABI implemented in Go (MIT OR Apache-2.0)

lib: $(B)/libsds.so $(B)/libsds.a $(B)/libsds.pc

$(B)/libsds.so: $(LIB_SRC)
	$(GO) build $(SO_FLAGS) -o $@ ./cmd/libsds
	ln -sf libsds.so $(B)/libsds.so.0
	@extra=$$(nm -D --defined-only $@ | awk '$$3 !~ /^(Sds|sds_)/ {print $$3}'); \
	 if [ -n "$$extra" ]; then echo "$@ exports more than Sds*: $$extra"; rm -f $@; exit 1; fi

# The same library with Go's valgrind annotations (goroutine stacks and the
# Go heap described to valgrind), for the tests under valgrind. Its debug
# information is DWARF 4: valgrind 3.19 cannot read the DWARF 5 forms Go
# writes by default and warns on every run ("unhandled DW_FORM").
$(B)/valgrind/libsds.so: $(LIB_SRC)
	GOEXPERIMENT=nodwarf5 $(GO) build -tags valgrind $(SO_FLAGS) -o $@ ./cmd/libsds
	ln -sf libsds.so $(B)/valgrind/libsds.so.0

$(B)/libsds.a: $(LIB_SRC)
	$(GO) build -buildmode=c-archive -o $@ ./cmd/libsds
	rm -f $(B)/libsds.h

$(B)/libsds.pc: include/libsds.h Makefile
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(CURDIR)' 'libdir=$${prefix}/$(B)' 'includedir=$${prefix}/include' '' \
		'Name: libsds' 'Description: $(PC_DESCRIPTION)' \
		'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lsds' \
		'Libs.private: -lpthread' > $@

# ---- C tests (tests/): the same test program linked against the .so, the
# .a, and the valgrind build of the .so run under valgrind (fewer
# iterations: SDS_TEST_QUICK=1). Under valgrind the Go runtime runs without
# garbage collection (valgrind's leak check cannot follow the reuse of Go
# heap blocks) and without asynchronous preemption (its signal frames look
# like stray stack writes); tests/valgrind.supp explains the rest.
TEST_SRC := $(wildcard tests/*.c)
TEST_DEP := $(TEST_SRC) $(wildcard tests/*.h) include/libsds.h $(B)/tests/vectors.h
TEST_CFLAGS ?= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
TEST_CC   = $(CC) $(TEST_CFLAGS) -Iinclude -Itests -I$(B)/tests $(TEST_SRC)
VG_FLAGS ?= --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--suppressions=tests/valgrind.supp

$(B)/tests/vectors.h: tests/vectorgen/main.go internal/vectors/vectors.go $(wildcard internal/vectors/data/*.json)
	@mkdir -p $(@D)
	$(GO) run ./tests/vectorgen > $@.tmp && mv $@.tmp $@

$(B)/tests/ctest-so: $(TEST_DEP) $(B)/libsds.so
	$(TEST_CC) -L$(B) -lsds -Wl,-rpath,'$$ORIGIN/..' -lpthread -o $@

$(B)/tests/ctest-a: $(TEST_DEP) $(B)/libsds.a
	$(TEST_CC) $(B)/libsds.a -lpthread -o $@

$(B)/tests/ctest-vg: $(TEST_DEP) $(B)/valgrind/libsds.so
	$(TEST_CC) -L$(B)/valgrind -lsds -Wl,-rpath,'$$ORIGIN/../valgrind' -lpthread -o $@

ctest: $(B)/tests/ctest-so $(B)/tests/ctest-a $(B)/tests/ctest-vg $(B)/libsds.pc
	@if command -v pkg-config >/dev/null; then \
		test "$$(PKG_CONFIG_PATH=$(B) pkg-config --modversion libsds)" = "$(VERSION)" || \
		{ echo "$(B)/libsds.pc: bad version"; exit 1; }; fi
	$(B)/tests/ctest-so
	$(B)/tests/ctest-a
	SDS_TEST_QUICK=1 GOGC=off GODEBUG=asyncpreemptoff=1 $(VALGRIND) $(VG_FLAGS) --log-file=$(B)/tests/valgrind.log $(B)/tests/ctest-vg; \
		rc=$$?; cat $(B)/tests/valgrind.log; [ $$rc -eq 0 ] || exit $$rc
	@! grep -n 'WARNING' $(B)/tests/valgrind.log || { echo "valgrind warned (above): a new warning must be understood, not ignored"; exit 1; }

# ---- C benchmark (bench/cbench.c) through the .so: each mode in its own
# process, so each peak RSS is its own. CBENCH_RUNS overrides the runs.
CBENCH_RUNS ?= "ping-pong 10000" "burst 2000" "reverse 2000" "channels 1000" \
	"ping-pong 10000 --binary" "burst 2000 --binary" "reverse 2000 --binary" "channels 1000 --binary"

$(B)/sds-cbench: bench/cbench.c include/libsds.h tests/resp.h $(B)/libsds.so
	$(CC) -O2 -Wall -Iinclude -Itests bench/cbench.c -L$(B) -lsds -Wl,-rpath,'$$ORIGIN' -o $@

cbench: $(B)/sds-cbench
	@for run in $(CBENCH_RUNS); do $(B)/sds-cbench $$run || exit 1; done

clean:
	rm -rf $(B)
