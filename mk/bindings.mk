# Bindings: Rust (examples/rust) and Nim (examples/nim) over build/libsds.so.
# The pure-Go binding (bindings/sds) is tested by gobindings-test.
#
#   make rust-test   cargo test (offline, std only) and the example
#   make rust-msrv-test  cargo test with Rust 1.63, the version the crate claims
#   make nim-test    builds and runs examples/nim/two_managers.nim
CARGO ?= cargo
NIM   ?= nim

.PHONY: bindings-test rust-test rust-msrv-test nim-test

bindings-test: rust-test rust-msrv-test nim-test

rust-test: $(B)/libsds.so
	@command -v $(CARGO) >/dev/null || { echo "rust-test needs cargo (Debian: apt-get install cargo; .ci/run does)"; exit 1; }
	cd examples/rust && CARGO_TARGET_DIR=$(CURDIR)/$(B)/rust $(CARGO) test --offline
	cd examples/rust && CARGO_TARGET_DIR=$(CURDIR)/$(B)/rust $(CARGO) run --offline --quiet --example two_peers

# The crate says Rust >= 1.63 (Cargo.toml rust-version): rust-msrv-test
# builds and tests it with Debian bookworm's toolchain, Rust 1.63, in
# RUST_MSRV_BIN (mk/deps.sh installs it), whatever `cargo` is first on PATH.
RUST_MSRV_BIN ?= /usr/bin
rust-msrv-test: $(B)/libsds.so
	@v=$$($(RUST_MSRV_BIN)/rustc --version 2>/dev/null); case "$$v" in "rustc 1.63."*) echo "$$v";; \
		*) echo "rust-msrv-test needs Rust 1.63 in $(RUST_MSRV_BIN) (Debian bookworm: apt-get install cargo); found: $$v"; exit 1;; esac
	cd examples/rust && PATH=$(RUST_MSRV_BIN):$$PATH CARGO_TARGET_DIR=$(CURDIR)/$(B)/rust-msrv cargo test --offline

nim-test: $(B)/libsds.so
	@command -v $(NIM) >/dev/null || { echo "nim-test needs nim (Debian: apt-get install nim; .ci/run does)"; exit 1; }
	@mkdir -p $(B)/nim
	$(NIM) c -o:$(CURDIR)/$(B)/nim/two_managers examples/nim/two_managers.nim
	$(B)/nim/two_managers

TEST_EXTRA += rust-test rust-msrv-test nim-test
