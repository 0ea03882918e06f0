# Bindings: Rust (examples/rust) and Nim (examples/nim) over build/libsds.so.
# The pure-Go binding (bindings/sds) is tested by gobindings-test.
#
#   make rust-test   cargo test (offline, std only) and the example
#   make nim-test    builds and runs examples/nim/two_managers.nim
CARGO ?= cargo
NIM   ?= nim

.PHONY: bindings-test rust-test nim-test

bindings-test: rust-test nim-test

rust-test: $(B)/libsds.so
	@command -v $(CARGO) >/dev/null || { echo "rust-test needs cargo (Debian: apt-get install cargo; .ci/run does)"; exit 1; }
	cd examples/rust && CARGO_TARGET_DIR=$(CURDIR)/$(B)/rust $(CARGO) test --offline
	cd examples/rust && CARGO_TARGET_DIR=$(CURDIR)/$(B)/rust $(CARGO) run --offline --quiet --example two_peers

nim-test: $(B)/libsds.so
	@command -v $(NIM) >/dev/null || { echo "nim-test needs nim (Debian: apt-get install nim; .ci/run does)"; exit 1; }
	@mkdir -p $(B)/nim
	$(NIM) c -o:$(CURDIR)/$(B)/nim/two_managers examples/nim/two_managers.nim
	$(B)/nim/two_managers

TEST_EXTRA += rust-test nim-test
