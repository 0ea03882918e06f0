package sds

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapLogger returns a core logger that hands each line to log: the line's
// message at its level, its other fields as zap fields. Lines below log's
// level are not even built.
func zapLogger(log *zap.Logger) zerolog.Logger {
	return zerolog.New(zapWriter{log}).Level(zerologLevel(log.Level()))
}

type zapWriter struct{ log *zap.Logger }

func (w zapWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

func (w zapWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	var fields map[string]any
	if err := json.Unmarshal(p, &fields); err != nil {
		w.log.Warn("undecodable log line of the SDS core", zap.ByteString("line", p))
		return len(p), nil
	}
	msg, _ := fields[zerolog.MessageFieldName].(string)
	delete(fields, zerolog.MessageFieldName)
	delete(fields, zerolog.LevelFieldName)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	zf := make([]zap.Field, len(keys))
	for i, k := range keys {
		zf[i] = zap.Any(k, fields[k])
	}
	if ce := w.log.Check(zapLevel(level), msg); ce != nil {
		ce.Write(zf...)
	}
	return len(p), nil
}

// The core's levels and zap's that correspond, index by index, in
// increasing order; the two mappings below read them both ways.
var (
	coreLevels = []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel}
	zapLevels  = []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel}
)

// levelIndex is the index of the highest of levels at or below l (0 when
// l is below them all).
func levelIndex[L cmp.Ordered](levels []L, l L) int {
	i := 0
	for j, level := range levels {
		if l >= level {
			i = j
		}
	}
	return i
}

// zapLevel maps a core level to zap's; nothing maps to zap's Fatal or
// Panic levels, which would end the program (the core's Fatal and Panic
// map to Error), and lines without a level log at Info.
func zapLevel(l zerolog.Level) zapcore.Level {
	if l > zerolog.PanicLevel {
		return zapcore.InfoLevel
	}
	return zapLevels[levelIndex(coreLevels, l)]
}

// zerologLevel is the core level below which zap would drop every line.
func zerologLevel(l zapcore.Level) zerolog.Level {
	if l == zapcore.InvalidLevel {
		return zerolog.Disabled
	}
	return coreLevels[levelIndex(zapLevels, l)]
}
