package ffi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
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
	FullBloomFilter       *bool       `json:"fullBloomFilter"`
	AckWindowMs           *int64      `json:"ackWindowMs"`
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

	// SDS-R's local policy.
	RepairPolicy           *string `json:"repairPolicy"`
	RepairRequestSync      *bool   `json:"repairRequestSync"`
	RepairRetryIntervalMs  *int64  `json:"repairRetryIntervalMs"`
	RepairResponseWindowMs *int64  `json:"repairResponseWindowMs"`
	RepairResponseGraceMs  *int64  `json:"repairResponseGraceMs"`
	LogRetentionMs         *int64  `json:"logRetentionMs"`
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
	cfg := &st.cfg
	if jc.ParticipantID != nil {
		cfg.ParticipantID = *jc.ParticipantID
	}
	if jc.FullBloomFilter != nil {
		cfg.FullBloomFilter = *jc.FullBloomFilter
	}
	if jc.RepairRequestSync != nil {
		cfg.RepairRequestSync = *jc.RepairRequestSync
	}
	if jc.StorePath != nil {
		st.storePath = *jc.StorePath
	}
	err := cmp.Or(
		choose("wireFormat", jc.WireFormat, wireFormats, &cfg.WireFormat),
		choose("logLevel", jc.LogLevel, logLevels, &st.level),
		choose("onLostDependencies", jc.OnLostDependencies, lostPolicies, &cfg.OnLostDependencies),
		choose("repairPolicy", jc.RepairPolicy, repairPolicies, &cfg.RepairPolicy),
		applyCounts(jc, cfg),
		applyDurations(jc, cfg),
		applyLimits(jc.Limits, &cfg.Limits))
	if err != nil {
		return settings{}, err
	}
	if err := cfg.Validate(); err != nil {
		return settings{}, coreConfigError(err)
	}
	return st, nil
}

// option is one value a string key may name.
type option[T any] struct {
	name  string
	value T
}

var (
	wireFormats    = []option[wire.Format]{{"nim", wire.FormatNim}, {"rfc", wire.FormatRFC}}
	lostPolicies   = []option[sds.LostDependencyPolicy]{{"deliver", sds.LostDeliver}, {"drop", sds.LostDrop}}
	repairPolicies = []option[sds.RepairPolicy]{{"prompt", sds.RepairPrompt}, {"rfc", sds.RepairRFC}}
	logLevels      = []option[zerolog.Level]{
		{"trace", zerolog.TraceLevel}, {"debug", zerolog.DebugLevel}, {"info", zerolog.InfoLevel},
		{"warn", zerolog.WarnLevel}, {"error", zerolog.ErrorLevel}, {"off", zerolog.Disabled},
	}
)

// choose sets *dst to the option src names (nothing when src is nil).
func choose[T any](key string, src *string, options []option[T], dst *T) error {
	if src == nil {
		return nil
	}
	names := make([]string, len(options))
	for i, o := range options {
		if o.name == *src {
			*dst = o.value
			return nil
		}
		names[i] = strconv.Quote(o.name)
	}
	if len(names) == 2 {
		return fmt.Errorf("%s must be %s or %s, got %q", key, names[0], names[1], *src)
	}
	return fmt.Errorf("%s must be one of %s, got %q", key, strings.Join(names, ", "), *src)
}

// key is one key of a table: its name, the value given (nil: absent) and
// where it goes.
type key[S, D any] struct {
	name string
	src  *S
	dst  *D
}

// apply sets every given key of keys, through conv (which may refuse it).
func apply[S, D any](keys []key[S, D], conv func(name string, v S) (D, error)) error {
	for _, k := range keys {
		if k.src == nil {
			continue
		}
		v, err := conv(k.name, *k.src)
		if err != nil {
			return err
		}
		*k.dst = v
	}
	return nil
}

// applyCounts applies the integer keys (the core checks their values).
func applyCounts(jc *jsonConfig, cfg *sds.Config) error {
	asIs := func(_ string, v int) (int, error) { return v, nil }
	_ = apply([]key[int, int]{
		{"bloomFilterCapacity", jc.BloomFilterCapacity, &cfg.BloomCapacity},
		{"bloomAckThreshold", jc.BloomAckThreshold, &cfg.BloomAckThreshold},
		{"maxMessageHistory", jc.MaxMessageHistory, &cfg.MaxMessageHistory},
		{"maxCausalHistory", jc.MaxCausalHistory, &cfg.MaxCausalHistory},
		{"maxResendAttempts", jc.MaxResendAttempts, &cfg.MaxResendAttempts},
		{"maxIncomingBuffer", jc.MaxIncomingBuffer, &cfg.MaxIncomingBuffer},
		{"numResponseGroups", jc.NumResponseGroups, &cfg.NumResponseGroups},
		{"maxRepairRequests", jc.MaxRepairRequests, &cfg.MaxRepairRequests},
		{"maxPendingRepairs", jc.MaxPendingRepairs, &cfg.MaxPendingRepairs},
		{"rememberDelivered", jc.RememberDelivered, &cfg.RememberDelivered},
		{"maxContentSize", jc.MaxContentSize, &cfg.MaxContentSize},
		{"maxChannels", jc.MaxChannels, &cfg.MaxChannels},
		{"maxIncomingBytes", jc.MaxIncomingBytes, &cfg.MaxIncomingBytes},
		{"maxLogBytes", jc.MaxLogBytes, &cfg.MaxLogBytes},
	}, asIs)
	if jc.BloomFilterErrorRate != nil {
		cfg.BloomErrorRate = *jc.BloomFilterErrorRate
	}
	notNegative := func(name string, v int) (int, error) {
		if v < 0 {
			return 0, fmt.Errorf("%s must not be negative, got %d", name, v)
		}
		return v, nil
	}
	return apply([]key[int, int]{{"persistMaxPending", jc.PersistMaxPending, &cfg.PersistMaxPending}}, notNegative)
}

// applyDurations applies the keys in milliseconds.
func applyDurations(jc *jsonConfig, cfg *sds.Config) error {
	return apply([]key[int64, time.Duration]{
		{"resendIntervalMs", jc.ResendIntervalMs, &cfg.ResendInterval},
		{"possiblyAckedResendIntervalMs", jc.PossiblyAckedMs, &cfg.PossiblyAckedResendInterval},
		{"syncMessageIntervalMs", jc.SyncMessageIntervalMs, &cfg.SyncMessageInterval},
		{"bufferSweepIntervalMs", jc.BufferSweepIntervalMs, &cfg.BufferSweepInterval},
		{"maxDependencyWaitMs", jc.MaxDependencyWaitMs, &cfg.MaxDependencyWait},
		{"ackWindowMs", jc.AckWindowMs, &cfg.AckWindow},
		{"repairTMinMs", jc.RepairTMinMs, &cfg.RepairTMin},
		{"repairTMaxMs", jc.RepairTMaxMs, &cfg.RepairTMax},
		{"repairSweepIntervalMs", jc.RepairSweepIntervalMs, &cfg.RepairSweepInterval},
		{"repairRetryIntervalMs", jc.RepairRetryIntervalMs, &cfg.RepairRetryInterval},
		{"repairResponseWindowMs", jc.RepairResponseWindowMs, &cfg.RepairResponseWindow},
		{"repairResponseGraceMs", jc.RepairResponseGraceMs, &cfg.RepairResponseGrace},
		{"logRetentionMs", jc.LogRetentionMs, &cfg.LogRetention},
	}, func(name string, ms int64) (time.Duration, error) {
		if ms < -maxDurationMs || ms > maxDurationMs {
			return 0, fmt.Errorf("%s out of range: %d", name, ms)
		}
		return time.Duration(ms) * time.Millisecond, nil
	})
}

// applyLimits applies the "limits" object.
func applyLimits(l *jsonLimits, lim *wire.Limits) error {
	if l == nil {
		return nil
	}
	return apply([]key[int, int]{
		{"maxMessageBytes", l.MaxMessageBytes, &lim.MaxMessageBytes},
		{"maxIdBytes", l.MaxIDBytes, &lim.MaxIDBytes},
		{"maxHintBytes", l.MaxHintBytes, &lim.MaxHintBytes},
		{"maxHistoryEntries", l.MaxHistoryEntries, &lim.MaxHistoryEntries},
		{"maxRepairEntries", l.MaxRepairEntries, &lim.MaxRepairEntries},
		{"maxBloomBytes", l.MaxBloomBytes, &lim.MaxBloomBytes},
	}, func(name string, v int) (int, error) {
		if v <= 0 {
			return 0, fmt.Errorf("limits.%s must be positive, got %d", name, v)
		}
		return v, nil
	})
}

// coreFieldNames maps sds.Config field names, as the core's validation
// errors spell them, to the JSON keys.
var coreFieldNames = strings.NewReplacer(
	"BloomCapacity", "bloomFilterCapacity",
	"BloomErrorRate", "bloomFilterErrorRate",
	"BloomAckThreshold", "bloomAckThreshold",
	"AckWindow", "ackWindowMs",
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
	"RepairPolicy", "repairPolicy",
	"RepairRetryInterval", "repairRetryIntervalMs",
	"RepairResponseWindow", "repairResponseWindowMs",
	"RepairResponseGrace", "repairResponseGraceMs",
	"LogRetention", "logRetentionMs",
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
	case "bool":
		return "true or false"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "struct":
		return "an object"
	}
	return goKind
}
