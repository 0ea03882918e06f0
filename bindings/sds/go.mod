module github.com/libsds-go/libsds/bindings/sds

go 1.26

require (
	github.com/libsds-go/libsds v0.0.0
	github.com/rs/zerolog v1.35.1
	go.uber.org/zap v1.28.0
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	go.etcd.io/bbolt v1.4.3 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// The library this binding wraps: the checkout it lives in.
replace github.com/libsds-go/libsds => ../..
