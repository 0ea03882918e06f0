package sds

import (
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

// zapLevel maps a core level to zap's; nothing maps to zap's Fatal or
// Panic levels, which would end the program.
func zapLevel(l zerolog.Level) zapcore.Level {
	switch {
	case l <= zerolog.DebugLevel:
		return zapcore.DebugLevel
	case l == zerolog.WarnLevel:
		return zapcore.WarnLevel
	case l >= zerolog.ErrorLevel && l <= zerolog.PanicLevel:
		return zapcore.ErrorLevel
	}
	return zapcore.InfoLevel
}

// zerologLevel is the core level below which zap would drop every line.
func zerologLevel(l zapcore.Level) zerolog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return zerolog.DebugLevel
	case l == zapcore.InfoLevel:
		return zerolog.InfoLevel
	case l == zapcore.WarnLevel:
		return zerolog.WarnLevel
	case l == zapcore.InvalidLevel:
		return zerolog.Disabled
	}
	return zerolog.ErrorLevel
}
