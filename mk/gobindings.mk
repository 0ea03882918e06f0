# ---- bindings/sds: the sds-go-bindings API on the pure-Go core, a Go
# module of its own (it needs go.uber.org/zap, the library's module does
# not; `replace` points it at this checkout). `go test ./...` at the root
# does not enter it, so it gets its own vet and race-detector run.
.PHONY: gobindings-test
gobindings-test:
	cd bindings/sds && $(GO) vet ./... && $(GO) test -race -count=1 ./...

TEST_EXTRA += gobindings-test
