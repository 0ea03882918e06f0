# ---- make dist: the C library as release tarballs, one per architecture
# in DIST_ARCHS (linux/amd64 natively, linux/arm64 cross-built:
# mk/arm64.mk), in build/dist/:
#
#   libsds-$(VERSION)-linux-ARCH.tar.gz, one directory of the same name:
#     lib/libsds.so.$(VERSION), lib/libsds.so.0 and lib/libsds.so (links)
#     lib/libsds.a
#     lib/pkgconfig/libsds.pc   paths relative to itself (${pcfiledir})
#     include/libsds.h
#     LICENSE-MIT LICENSE-APACHE README (mk/dist-README.in)
#
# Each tree is a `make install` (mk/install.mk) into a staging directory
# with PREFIX empty and PC_RELOCATABLE=1. The archive lists its files in
# name order, owned by root, dated by the last commit (SOURCE_DATE_EPOCH).
# make dist-test (part of make test) checks each tarball: its files, and
# a C program built against the unpacked tree with pkg-config (shared and
# static) that runs, under qemu-user for arm64 (tests/dist/check.sh).
DIST_ARCHS ?= amd64 arm64
DIST_DIR = $(B)/dist
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
dist_name = libsds-$(VERSION)-linux-$(1)

.PHONY: dist dist-test $(DIST_ARCHS:%=dist-%)
dist: $(DIST_ARCHS:%=dist-%)

$(DIST_ARCHS:%=dist-%): dist-%:
	@tree=$(DIST_DIR)/$(call dist_name,$*); rm -rf $$tree $$tree.tar.gz && mkdir -p $$tree && \
	$(MAKE) --no-print-directory ARCH=$* B=$(call arch_dir,$*) install DESTDIR=$(CURDIR)/$$tree PREFIX= PC_RELOCATABLE=1 >/dev/null && \
	cp LICENSE-MIT LICENSE-APACHE $$tree/ && \
	glibc=$$(objdump -T $$tree/lib/libsds.so.$(VERSION) | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1) && \
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@ARCH@/$*/g' -e "s/@GLIBC@/$${glibc#GLIBC_}/g" mk/dist-README.in > $$tree/README && \
	tar -C $(DIST_DIR) --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) \
		-czf $$tree.tar.gz $(call dist_name,$*) && \
	rm -rf $$tree && echo "$$tree.tar.gz"

# The C compiler for ARCH's test program: the cross compiler, or CC here.
dist_cc = $(if $(call arch_run,$(1)),$(CROSS_CC_$(1)),$(CC))
dist-test: dist
	@command -v pkg-config >/dev/null || { echo "dist-test needs pkg-config (Debian: apt-get install pkg-config)"; exit 1; }
	$(foreach a,$(DIST_ARCHS),tests/dist/check.sh "$(VERSION)" $(DIST_DIR)/$(call dist_name,$(a)).tar.gz $(a) \
		"$(call dist_cc,$(a))" $(call arch_run,$(a)) &&) true

TEST_EXTRA += dist-test
