# ---- metrics/prom: the Prometheus collector of a manager's Stats, a Go
# module of its own (client_golang never enters the library's module;
# `replace` points it at this checkout). `go test ./...` at the root does
# not enter it, so it gets its own vet and race-detector run; its test
# scrapes the collector through promhttp on 127.0.0.1.
.PHONY: prom-test
prom-test:
	cd metrics/prom && $(GO) vet ./... && $(GO) test -race -count=1 ./...

TEST_EXTRA += prom-test
