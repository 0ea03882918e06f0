# Checks of the repository itself, run by make test.

# ---- deps-check-test: on a machine with only Go and make on PATH,
# mk/deps.sh names every Debian package the tests need (and, with
# SDS_NO_INSTALL set, installs nothing and fails). This is what lets the
# README's `make test` work on a fresh machine.
.PHONY: deps-check-test
deps-check-test:
	@bin=$$(mktemp -d); trap 'rm -rf $$bin' EXIT; \
	ln -s "$$(command -v $(GO))" "$$(command -v make)" "$$(command -v id)" $$bin/; \
	out=$$(PATH=$$bin SDS_NO_INSTALL=1 /bin/sh mk/deps.sh test 2>&1) && { echo "mk/deps.sh found nothing missing: $$out"; exit 1; }; \
	for pkg in gcc libc6-dev valgrind pkg-config python3 nim gcc-aarch64-linux-gnu qemu-user; do \
		echo "$$out" | grep -q " $$pkg\b" || { echo "mk/deps.sh does not name $$pkg: $$out"; exit 1; }; done; \
	echo "$$out" | grep -q "^install them" || { echo "mk/deps.sh: $$out"; exit 1; }; \
	echo "mk/deps.sh names what a machine with only Go and make lacks"

TEST_EXTRA += deps-check-test

# ---- meta-test: license and version metadata agree (tests/meta_check.sh).
.PHONY: meta-test
meta-test: $(B)/libsds.pc
	tests/meta_check.sh "$(VERSION)" $(B)/libsds.pc

TEST_EXTRA += meta-test
