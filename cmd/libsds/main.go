// Command libsds is the C library: built with -buildmode=c-shared it is
// build/libsds.so, with -buildmode=c-archive build/libsds.a (see the
// Makefile's lib target). Its API is include/libsds.h; the code is package
// ffi. Run as a program it does nothing.
package main

import _ "github.com/libsds-go/libsds/ffi" // the exported Sds* functions

func main() {}
