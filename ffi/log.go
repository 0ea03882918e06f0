package ffi

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// logSinkCallback is the host's SdsLogCallback (nil: logs are dropped,
// except as logSinkChosen says).
var logSinkCallback atomic.Pointer[callback]

// logSinkChosen is set once the host called SdsSetLogCallback. Until then
// error lines go to stderr: a host that set up no logging still learns why
// a constructor returned NULL or a cleanup lost state.
var logSinkChosen atomic.Bool

// logSink is the zerolog writer of every logger of the library: it hands
// each line to the host's log callback.
type logSink struct{}

func (logSink) Write(p []byte) (int, error) { return logSink{}.WriteLevel(zerolog.NoLevel, p) }

func (logSink) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	cb := logSinkCallback.Load()
	if cb == nil {
		if level >= zerolog.ErrorLevel && level != zerolog.NoLevel && !logSinkChosen.Load() {
			os.Stderr.Write(p)
		}
		return len(p), nil
	}
	line := bytes.TrimRight(p, "\n")
	buf := ccopy(line)
	defer C.free(buf)
	C.sdsgo_call_log(cb.fn, C.int(hostLevel(level)), (*C.char)(buf), C.size_t(len(line)), cb.ud)
	return len(p), nil
}

// hostLevel maps zerolog levels to SDS_LOG_*.
func hostLevel(l zerolog.Level) int {
	switch {
	case l <= zerolog.TraceLevel:
		return C.SDS_LOG_TRACE
	case l == zerolog.DebugLevel:
		return C.SDS_LOG_DEBUG
	case l == zerolog.InfoLevel, l == zerolog.NoLevel:
		return C.SDS_LOG_INFO
	case l == zerolog.WarnLevel:
		return C.SDS_LOG_WARN
	}
	return C.SDS_LOG_ERROR
}

// newLogger returns the logger of the manager with context ctx.
func newLogger(level zerolog.Level, ctx uintptr) zerolog.Logger {
	return zerolog.New(logSink{}).Level(level).With().
		Str("ctx", fmt.Sprintf("%#x", ctx)).Timestamp().Logger()
}

// ffiLog reports what happens at the C boundary itself (invalid contexts,
// recovered panics).
var ffiLog = zerolog.New(logSink{}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
