package ffi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// jsonConfig is the configuration object of
// SdsNewReliabilityManagerWithConfig (documented in include/libsds.h), and
// with the same keys in CBOR the "config" of sds_create (the CBOR decoder
// reads the json tags). Absent and null fields keep their defaults.
type jsonConfig struct {
	ParticipantID         *string     `json:"participantId"`
	WireFormat            *string     `json:"wireFormat"`
	LogLevel              *string     `json:"logLevel"`
	BloomFilterCapacity   *int        `json:"bloomFilterCapacity"`
	BloomFilterErrorRate  *float64    `json:"bloomFilterErrorRate"`
	BloomAckThreshold     *int        `json:"bloomAckThreshold"`
	MaxMessageHistory     *int        `json:"maxMessageHistory"`
	MaxCausalHistory      *int        `json:"maxCausalHistory"`
	ResendIntervalMs      *int64      `json:"resendIntervalMs"`
	MaxResendAttempts     *int        `json:"maxResendAttempts"`
	PossiblyAckedMs       *int64      `json:"possiblyAckedResendIntervalMs"`
	SyncMessageIntervalMs *int64      `json:"syncMessageIntervalMs"`
	BufferSweepIntervalMs *int64      `json:"bufferSweepIntervalMs"`
	MaxDependencyWaitMs   *int64      `json:"maxDependencyWaitMs"`
	OnLostDependencies    *string     `json:"onLostDependencies"`
	MaxIncomingBuffer     *int        `json:"maxIncomingBuffer"`
	RepairTMinMs          *int64      `json:"repairTMinMs"`
	RepairTMaxMs          *int64      `json:"repairTMaxMs"`
	NumResponseGroups     *int        `json:"numResponseGroups"`
	MaxRepairRequests     *int        `json:"maxRepairRequests"`
	RepairSweepIntervalMs *int64      `json:"repairSweepIntervalMs"`
	MaxPendingRepairs     *int        `json:"maxPendingRepairs"`
	RememberDelivered     *int        `json:"rememberDelivered"`
	MaxContentSize        *int        `json:"maxContentSize"`
	MaxChannels           *int        `json:"maxChannels"`
	MaxIncomingBytes      *int        `json:"maxIncomingBytes"`
	MaxLogBytes           *int        `json:"maxLogBytes"`
	StorePath             *string     `json:"storePath"`
	PersistMaxPending     *int        `json:"persistMaxPending"`
	Limits                *jsonLimits `json:"limits"`
}

type jsonLimits struct {
	MaxMessageBytes   *int `json:"maxMessageBytes"`
	MaxIDBytes        *int `json:"maxIdBytes"`
	MaxHintBytes      *int `json:"maxHintBytes"`
	MaxHistoryEntries *int `json:"maxHistoryEntries"`
	MaxRepairEntries  *int `json:"maxRepairEntries"`
	MaxBloomBytes     *int `json:"maxBloomBytes"`
}

// maxDurationMs keeps milliseconds clear of time.Duration overflow.
const maxDurationMs = int64(time.Duration(1<<62) / time.Millisecond)

// settings is what a constructor's configuration sets: the core's
// configuration (Logger and Clock left to the caller), the log level, and
// the embedded store to open, if any (the core opens no store).
type settings struct {
	cfg       sds.Config
	level     zerolog.Level
	storePath string
}

func defaultSettings() settings {
	return settings{cfg: sds.DefaultConfig(), level: zerolog.InfoLevel}
}

// parseConfig turns the JSON text into validated settings. Empty text
// means "{}".
func parseConfig(text []byte) (settings, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return defaultSettings(), nil
	}
	if bytes.TrimSpace(text)[0] != '{' {
		return settings{}, errors.New("not a JSON object")
	}
	if err := checkKeys(text, reflect.TypeOf(jsonConfig{}), ""); err != nil {
		return settings{}, err
	}
	var jc jsonConfig
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jc); err != nil {
		return settings{}, configError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return settings{}, errors.New("unexpected data after the JSON object")
	}
	return configFrom(&jc)
}

// configFrom applies the fields of jc that are set to the defaults and
// validates the result (shared by the JSON and the CBOR configuration).
func configFrom(jc *jsonConfig) (settings, error) {
	st := defaultSettings()
	cfg, level := st.cfg, st.level
	var bad error
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setMs := func(dst *time.Duration, src *int64, name string) {
		if src == nil {
			return
		}
		if *src < -maxDurationMs || *src > maxDurationMs {
			if bad == nil {
				bad = fmt.Errorf("%s out of range: %d", name, *src)
			}
			return
		}
		*dst = time.Duration(*src) * time.Millisecond
	}
	if jc.ParticipantID != nil {
		cfg.ParticipantID = *jc.ParticipantID
	}
	if jc.WireFormat != nil {
		switch *jc.WireFormat {
		case "nim":
			cfg.WireFormat = wire.FormatNim
		case "rfc":
			cfg.WireFormat = wire.FormatRFC
		default:
			return settings{}, fmt.Errorf(`wireFormat must be "nim" or "rfc", got %q`, *jc.WireFormat)
		}
	}
	if jc.LogLevel != nil {
		var ok bool
		if level, ok = logLevels[*jc.LogLevel]; !ok {
			return settings{}, fmt.Errorf(`logLevel must be one of "trace", "debug", "info", "warn", "error", "off", got %q`, *jc.LogLevel)
		}
	}
	setInt(&cfg.BloomCapacity, jc.BloomFilterCapacity)
	if jc.BloomFilterErrorRate != nil {
		cfg.BloomErrorRate = *jc.BloomFilterErrorRate
	}
	setInt(&cfg.BloomAckThreshold, jc.BloomAckThreshold)
	setInt(&cfg.MaxMessageHistory, jc.MaxMessageHistory)
	setInt(&cfg.MaxCausalHistory, jc.MaxCausalHistory)
	setMs(&cfg.ResendInterval, jc.ResendIntervalMs, "resendIntervalMs")
	setInt(&cfg.MaxResendAttempts, jc.MaxResendAttempts)
	setMs(&cfg.PossiblyAckedResendInterval, jc.PossiblyAckedMs, "possiblyAckedResendIntervalMs")
	setMs(&cfg.SyncMessageInterval, jc.SyncMessageIntervalMs, "syncMessageIntervalMs")
	setMs(&cfg.BufferSweepInterval, jc.BufferSweepIntervalMs, "bufferSweepIntervalMs")
	setMs(&cfg.MaxDependencyWait, jc.MaxDependencyWaitMs, "maxDependencyWaitMs")
	if jc.OnLostDependencies != nil {
		switch *jc.OnLostDependencies {
		case "deliver":
			cfg.OnLostDependencies = sds.LostDeliver
		case "drop":
			cfg.OnLostDependencies = sds.LostDrop
		default:
			return settings{}, fmt.Errorf(`onLostDependencies must be "deliver" or "drop", got %q`, *jc.OnLostDependencies)
		}
	}
	setInt(&cfg.MaxIncomingBuffer, jc.MaxIncomingBuffer)
	setMs(&cfg.RepairTMin, jc.RepairTMinMs, "repairTMinMs")
	setMs(&cfg.RepairTMax, jc.RepairTMaxMs, "repairTMaxMs")
	setInt(&cfg.NumResponseGroups, jc.NumResponseGroups)
	setInt(&cfg.MaxRepairRequests, jc.MaxRepairRequests)
	setMs(&cfg.RepairSweepInterval, jc.RepairSweepIntervalMs, "repairSweepIntervalMs")
	setInt(&cfg.MaxPendingRepairs, jc.MaxPendingRepairs)
	setInt(&cfg.RememberDelivered, jc.RememberDelivered)
	setInt(&cfg.MaxContentSize, jc.MaxContentSize)
	setInt(&cfg.MaxChannels, jc.MaxChannels)
	setInt(&cfg.MaxIncomingBytes, jc.MaxIncomingBytes)
	setInt(&cfg.MaxLogBytes, jc.MaxLogBytes)
	if jc.StorePath != nil {
		st.storePath = *jc.StorePath
	}
	if jc.PersistMaxPending != nil {
		if *jc.PersistMaxPending < 0 {
			return settings{}, fmt.Errorf("persistMaxPending must not be negative, got %d", *jc.PersistMaxPending)
		}
		cfg.PersistMaxPending = *jc.PersistMaxPending
	}
	if l := jc.Limits; l != nil {
		for _, f := range []struct {
			name string
			dst  *int
			src  *int
		}{
			{"maxMessageBytes", &cfg.Limits.MaxMessageBytes, l.MaxMessageBytes},
			{"maxIdBytes", &cfg.Limits.MaxIDBytes, l.MaxIDBytes},
			{"maxHintBytes", &cfg.Limits.MaxHintBytes, l.MaxHintBytes},
			{"maxHistoryEntries", &cfg.Limits.MaxHistoryEntries, l.MaxHistoryEntries},
			{"maxRepairEntries", &cfg.Limits.MaxRepairEntries, l.MaxRepairEntries},
			{"maxBloomBytes", &cfg.Limits.MaxBloomBytes, l.MaxBloomBytes},
		} {
			if f.src == nil {
				continue
			}
			if *f.src <= 0 {
				return settings{}, fmt.Errorf("limits.%s must be positive, got %d", f.name, *f.src)
			}
			*f.dst = *f.src
		}
	}
	if bad != nil {
		return settings{}, bad
	}
	if err := cfg.Validate(); err != nil {
		return settings{}, coreConfigError(err)
	}
	st.cfg, st.level = cfg, level
	return st, nil
}

// coreFieldNames maps sds.Config field names, as the core's validation
// errors spell them, to the JSON keys.
var coreFieldNames = strings.NewReplacer(
	"BloomCapacity", "bloomFilterCapacity",
	"BloomErrorRate", "bloomFilterErrorRate",
	"BloomAckThreshold", "bloomAckThreshold",
	"MaxMessageHistory", "maxMessageHistory",
	"MaxCausalHistory", "maxCausalHistory",
	"PossiblyAckedResendInterval", "possiblyAckedResendIntervalMs",
	"ResendInterval", "resendIntervalMs",
	"MaxResendAttempts", "maxResendAttempts",
	"SyncMessageInterval", "syncMessageIntervalMs",
	"BufferSweepInterval", "bufferSweepIntervalMs",
	"MaxDependencyWait", "maxDependencyWaitMs",
	"MaxIncomingBuffer", "maxIncomingBuffer",
	"MaxPendingRepairs", "maxPendingRepairs",
	"RememberDelivered", "rememberDelivered",
	"RepairTMin", "repairTMinMs",
	"RepairTMax", "repairTMaxMs",
	"NumResponseGroups", "numResponseGroups",
	"MaxRepairRequests", "maxRepairRequests",
	"RepairSweepInterval", "repairSweepIntervalMs",
	"MaxContentSize", "maxContentSize",
	"MaxChannels", "maxChannels",
	"MaxIncomingBytes", "maxIncomingBytes",
	"MaxLogBytes", "maxLogBytes",
	"ParticipantID", "participantId",
	"PersistMaxPending", "persistMaxPending",
)

// coreConfigError restates an error of the core's configuration checks in
// the JSON keys.
func coreConfigError(err error) error {
	msg := strings.TrimPrefix(err.Error(), sds.ErrInvalidConfig.Error()+": ")
	return errors.New(coreFieldNames.Replace(msg))
}

// checkKeys rejects keys that are not exactly a JSON name of t's fields
// (encoding/json would match them case-insensitively), in nested objects
// too. Malformed text is left to the decoder.
func checkKeys(text []byte, t reflect.Type, prefix string) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(text, &obj) != nil {
		return nil
	}
	for key, val := range obj {
		f, ok := fieldByJSONName(t, key)
		if !ok {
			return fmt.Errorf("unknown key %q", prefix+key)
		}
		if ft := f.Type; ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			if err := checkKeys(val, ft.Elem(), prefix+key+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

var logLevels = map[string]zerolog.Level{
	"trace": zerolog.TraceLevel,
	"debug": zerolog.DebugLevel,
	"info":  zerolog.InfoLevel,
	"warn":  zerolog.WarnLevel,
	"error": zerolog.ErrorLevel,
	"off":   zerolog.Disabled,
}

// configError rewrites encoding/json errors in the JSON names of the keys.
func configError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: expected %s, got JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown key %s", msg)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "struct":
		return "an object"
	}
	return goKind
}
