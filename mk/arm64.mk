# ---- Other architectures: the C library cross-built for linux/ARCH.
#
#   make ARCH=arm64   build/arm64/libsds.so (+ libsds.so.0), libsds.a and
#                     libsds.pc, built for linux/arm64 with
#                     aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu)
#   make test-arm64   the C tests against that .so and .a and the Go tests
#                     of the core, run under qemu-user (part of make test)
#
# ARCH names a Go GOARCH; the host's own (amd64 here) is the plain build in
# build/. Every other target works with ARCH too (make ARCH=arm64 install).
# Only an ARCH given on make's command line counts: one in the environment
# (kernel builds export theirs) is not ours.
# This fragment sorts first in mk/, so B is set before any rule names it.
CROSS_CC_arm64 := aarch64-linux-gnu-gcc
CROSS_CC_amd64 := x86_64-linux-gnu-gcc
# The libraries the emulated programs load come from the cross toolchain's
# tree (Debian: libc6-arm64-cross).
QEMU_arm64 := qemu-aarch64 -L /usr/aarch64-linux-gnu
QEMU_amd64 := qemu-x86_64 -L /usr/x86_64-linux-gnu

HOST_ARCH = $(shell $(GO) env GOHOSTARCH)
# arch_dir ARCH: where the library for ARCH is built.
arch_dir = $(if $(filter $(1),$(HOST_ARCH)),$(B),$(B)/$(1))
# arch_run ARCH: the command a program built for linux/ARCH runs under
# here (none on such a machine).
arch_run = $(if $(filter $(1),$(HOST_ARCH)),,$(QEMU_$(1)))

ifeq ($(origin ARCH),command line)
ifneq ($(ARCH),)
ifneq ($(ARCH),$(HOST_ARCH))
CC := $(or $(CROSS_CC_$(ARCH)),$(error ARCH=$(ARCH): not one of $(patsubst CROSS_CC_%,%,$(filter CROSS_CC_%,$(.VARIABLES)))))
B := $(B)/$(ARCH)
# Only the library is cross-built: the tools the recipes run (go run
# ./tests/vectorgen) stay native.
$(B)/libsds.so $(B)/libsds.a: export GOOS := linux
$(B)/libsds.so $(B)/libsds.a: export GOARCH := $(ARCH)
$(B)/libsds.so $(B)/libsds.a: export CGO_ENABLED := 1
$(B)/libsds.so $(B)/libsds.a: export CC := $(CC)
endif
endif
endif

# ---- make test-arm64. The C tests run in full against the .so, and
# quick (SDS_TEST_QUICK=1, as under valgrind) against the .a: the two
# differ only in how the library is linked. The Go tests run without the
# race detector (it needs cgo and a native toolchain; the native run has
# it). The tests that re-execute their own binary do it through the same
# emulator (internal/selfexec reads SDS_TEST_EXEC).
ARM64_DIR = $(call arch_dir,arm64)
ARM64_RUN = $(call arch_run,arm64)
.PHONY: test-arm64 ctest-arm64 gotest-arm64 arm64-emulator
test-arm64: ctest-arm64 gotest-arm64

arm64-emulator:
	@[ -z "$(ARM64_RUN)" ] || command -v $(firstword $(ARM64_RUN)) >/dev/null || \
		{ echo "make test-arm64 needs $(firstword $(ARM64_RUN)) (Debian: apt-get install qemu-user)"; exit 1; }

ctest-arm64: arm64-emulator
	$(MAKE) --no-print-directory ARCH=arm64 B=$(ARM64_DIR) $(ARM64_DIR)/tests/ctest-so $(ARM64_DIR)/tests/ctest-a
	$(ARM64_RUN) $(ARM64_DIR)/tests/ctest-so
	SDS_TEST_QUICK=1 $(ARM64_RUN) $(ARM64_DIR)/tests/ctest-a

gotest-arm64: arm64-emulator
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 SDS_TEST_EXEC='$(ARM64_RUN)' \
		$(GO) test $(if $(ARM64_RUN),-exec '$(ARM64_RUN)') -count=1 ./sds/... ./internal/selfexec

TEST_EXTRA += test-arm64
