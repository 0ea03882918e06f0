module github.com/libsds-go/libsds

go 1.26
