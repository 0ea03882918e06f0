# ---- examples/p2p: sds-chat over libp2p gossipsub, a Go module of its own
# (libp2p never enters the library's module).
#
#   make sds-chat   builds build/p2p/sds-chat (README: "Over a network")
#   make p2p-test   five sds-chat processes on 127.0.0.1, 200 messages
#                   each at 5/s, 10% receive loss, one crashing (SIGKILL)
#                   mid-run and restarted from its store 5 s later; checks
#                   their JSON output (examples/p2p/cmd/p2p-test). Part of
#                   make test.
#   make p2p-bench  messages per second over gossipsub with and without SDS
P2P_SRC := $(shell find examples/p2p -name '*.go' -o -name 'go.mod' -o -name 'go.sum' 2>/dev/null) \
	$(shell find sds -name '*.go' ! -name '*_test.go' 2>/dev/null)

.PHONY: sds-chat p2p-test p2p-bench

$(B)/p2p/sds-chat $(B)/p2p/p2p-test: $(P2P_SRC)
	@mkdir -p $(B)/p2p
	cd examples/p2p && $(GO) build -o $(CURDIR)/$(B)/p2p/ ./cmd/sds-chat ./cmd/p2p-test

sds-chat: $(B)/p2p/sds-chat

p2p-test: $(B)/p2p/sds-chat $(B)/p2p/p2p-test
	cd examples/p2p && $(GO) vet ./...
	$(B)/p2p/p2p-test -chat $(B)/p2p/sds-chat -dir $(B)/p2p/run

P2P_BENCH_RUNS ?= "-plain -rate 500" "-memory -rate 250" "-rate 100"
p2p-bench: $(B)/p2p/sds-chat $(B)/p2p/p2p-test
	@for run in $(P2P_BENCH_RUNS); do \
		$(B)/p2p/p2p-test -chat $(B)/p2p/sds-chat -dir $(B)/p2p/bench -n 3 -bench 3000 $$run || exit 1; done

TEST_EXTRA += p2p-test
