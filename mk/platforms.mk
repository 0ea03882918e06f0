# ---- platforms-test (part of make test): the pure-Go core (./sds/...) and
# the Go binding (bindings/sds) build with CGO_ENABLED=0 for each
# GOOS/GOARCH of GO_PLATFORMS, so a Go program using them (status-go's
# mobile builds included) needs no C toolchain there. Packages are
# compiled, not linked: on ios an executable needs cgo to link, a package
# does not. tests/platforms/build.sh says what each entry means.
GO_PLATFORMS ?= android/arm64 ios/arm64 darwin/arm64 windows/amd64 js/wasm

# The store (sds/persist/bolt) is bbolt, which has no js/wasm port: a
# program there passes a persist.Backend of its own, or none.
PLATFORM_SKIP_js/wasm := ./sds/persist/bolt

.PHONY: platforms-test
platforms-test:
	$(foreach p,$(GO_PLATFORMS),GO=$(GO) tests/platforms/build.sh $(p) "$(PLATFORM_SKIP_$(p))" &&) true

TEST_EXTRA += platforms-test
