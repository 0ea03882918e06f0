# ---- make install / make uninstall: the C library as a system library.
#
#   make install [PREFIX=/usr/local] [LIBDIR=$(PREFIX)/lib] [DESTDIR=]
#
# installs $(LIBDIR)/libsds.so.$(VERSION) with the links libsds.so.0 (the
# soname) and libsds.so (for -lsds), $(LIBDIR)/libsds.a,
# $(INCLUDEDIR)/libsds.h and $(LIBDIR)/pkgconfig/libsds.pc, whose paths are
# the installed ones. DESTDIR is prepended to every path written (staged
# installs, packaging) and appears in none of the files.
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL    ?= install

.PHONY: install uninstall install-test default-goal-test

# The .pc of an install: written at install time, as PREFIX and the
# directories may differ from one install to the next. With PC_RELOCATABLE
# set (make dist, mk/dist.mk), the paths are relative to the .pc file
# itself (pkg-config's $${pcfiledir}, in $(PREFIX)/lib/pkgconfig), so the
# tree works wherever it is unpacked.
pc_dirs = $(if $(PC_RELOCATABLE),'prefix=$${pcfiledir}/../..' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include',\
	'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)')
define pc_lines
$(pc_dirs) '' \
'Name: libsds' 'Description: $(PC_DESCRIPTION)' \
'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lsds' \
'Libs.private: -lpthread'
endef

install: $(B)/libsds.so $(B)/libsds.a
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 0755 $(B)/libsds.so $(DESTDIR)$(LIBDIR)/libsds.so.$(VERSION)
	ln -sf libsds.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsds.so.0
	ln -sf libsds.so.0 $(DESTDIR)$(LIBDIR)/libsds.so
	$(INSTALL) -m 0644 $(B)/libsds.a $(DESTDIR)$(LIBDIR)/libsds.a
	$(INSTALL) -m 0644 include/libsds.h $(DESTDIR)$(INCLUDEDIR)/libsds.h
	printf '%s\n' $(pc_lines) > $(DESTDIR)$(PKGCONFIGDIR)/libsds.pc
	@case "$(LIBDIR)" in /usr/lib|/usr/lib/*|/lib|/lib/*) ;; *) \
		echo "installed in $(LIBDIR): run programs with LD_LIBRARY_PATH=$(LIBDIR), or (as root) add it to /etc/ld.so.conf.d and run ldconfig";; esac

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libsds.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsds.so.0 \
		$(DESTDIR)$(LIBDIR)/libsds.so $(DESTDIR)$(LIBDIR)/libsds.a \
		$(DESTDIR)$(INCLUDEDIR)/libsds.h $(DESTDIR)$(PKGCONFIGDIR)/libsds.pc

# install-test: an install into a temporary prefix, a C program built with
# nothing but `pkg-config --cflags --libs libsds` (shared) and `--static`
# (the archive) that runs, a staged install (DESTDIR) whose files name only
# the final prefix, and uninstalls that leave nothing behind.
install-test: $(B)/libsds.so $(B)/libsds.a
	@command -v pkg-config >/dev/null || { echo "install-test needs pkg-config (Debian: apt-get install pkg-config)"; exit 1; }
	tests/install/check.sh "$(MAKE)" "$(CC)" "$(VERSION)"

# default-goal-test: a dry run of a plain `make` on an empty build directory
# builds the library (.so, .a, .pc) and runs no test.
default-goal-test:
	@out=$$($(MAKE) --no-print-directory -n B=$(B)/default-goal-probe); \
	for want in -buildmode=c-shared -buildmode=c-archive libsds.so.0 libsds.pc; do \
		echo "$$out" | grep -q -- "$$want" || { echo "plain make does not build $$want:"; echo "$$out"; exit 1; }; done; \
	if echo "$$out" | grep -E 'go test|cargo|nim |python|valgrind|example|vectorgen'; then \
		echo "plain make runs more than the library build (above)"; exit 1; fi; \
	echo "plain make builds the library and nothing else"

TEST_EXTRA += default-goal-test install-test
