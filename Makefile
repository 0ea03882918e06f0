# libsds in Go. `make run` builds everything and runs the demo;
# `make test` runs every test (what CI runs).
GO      ?= go
FUZZTIME ?= 10s

# package:target pairs run by `make fuzz-short` (CI) and `make fuzz`.
# Minimising each new input is capped: by default it takes up to a minute,
# during which a short run executes nothing.
FUZZ_TARGETS := \
	./sds/wire:FuzzDecode \
	./sds/wire:FuzzChannelID \
	./sds/bloom:FuzzDecode \
	./sds/bloom:FuzzDecodeRFC \
	./sds:FuzzInterleaving

.PHONY: all build run test vet unit fuzz-short fuzz bench

all: build

build:
	$(GO) build ./...

run: build
	$(GO) run ./cmd/sds-demo

test: vet unit fuzz-short

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 50x $$pkg || exit 1; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sds/...
