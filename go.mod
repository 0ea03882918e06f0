module github.com/libsds-go/libsds

go 1.26

require (
	github.com/dgryski/go-farm v0.0.0-20240924180020-3414d57e47da
	github.com/rs/zerolog v1.35.1
	go.etcd.io/bbolt v1.4.3
	go.uber.org/goleak v1.3.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
