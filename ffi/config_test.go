package ffi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

func TestParseConfigDefaults(t *testing.T) {
	for _, text := range []string{"", "  ", "{}", " { } "} {
		st, err := parseConfig([]byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		cfg, level := st.cfg, st.level
		def := sds.DefaultConfig()
		if cfg.ParticipantID != "" || cfg.BloomCapacity != def.BloomCapacity || cfg.MaxCausalHistory != def.MaxCausalHistory ||
			cfg.WireFormat != wire.FormatNim || level != zerolog.InfoLevel {
			t.Errorf("%q: not the defaults: %+v", text, cfg)
		}
	}
}

func TestParseConfigEveryKey(t *testing.T) {
	text := `{"participantId":"p","wireFormat":"rfc","logLevel":"off",
		"bloomFilterCapacity":5000,"bloomFilterErrorRate":0.01,"bloomAckThreshold":2,
		"fullBloomFilter":true,"ackWindowMs":90000,
		"maxMessageHistory":500,"maxCausalHistory":3,"resendIntervalMs":1500,
		"maxResendAttempts":0,"syncMessageIntervalMs":2000,"bufferSweepIntervalMs":3000,
		"repairTMinMs":0,"repairTMaxMs":4000,"numResponseGroups":2,
		"maxRepairRequests":0,"repairSweepIntervalMs":5000,"maxContentSize":100,
		"possiblyAckedResendIntervalMs":7,"maxDependencyWaitMs":8,"onLostDependencies":"drop",
		"maxIncomingBuffer":9,"maxPendingRepairs":10,"rememberDelivered":15,
		"storePath":"/tmp/x.db","persistMaxPending":16,
		"maxChannels":17,"maxIncomingBytes":18,"maxLogBytes":19,
		"repairPolicy":"rfc","repairRequestSync":false,"repairRetryIntervalMs":20,
		"repairResponseWindowMs":21,"repairResponseGraceMs":22,"logRetentionMs":0,
		"limits":{"maxMessageBytes":1000,"maxIdBytes":10,"maxHintBytes":11,
		"maxHistoryEntries":12,"maxRepairEntries":13,"maxBloomBytes":14}}`
	st, err := parseConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg, level := st.cfg, st.level
	want := sds.DefaultConfig()
	want.ParticipantID = "p"
	want.WireFormat = wire.FormatRFC
	want.BloomCapacity, want.BloomErrorRate, want.BloomAckThreshold = 5000, 0.01, 2
	want.FullBloomFilter, want.AckWindow = true, 90*time.Second
	want.MaxMessageHistory, want.MaxCausalHistory = 500, 3
	want.ResendInterval, want.MaxResendAttempts = 1500*time.Millisecond, 0
	want.SyncMessageInterval, want.BufferSweepInterval = 2*time.Second, 3*time.Second
	want.RepairTMin, want.RepairTMax, want.NumResponseGroups = 0, 4*time.Second, 2
	want.MaxRepairRequests, want.RepairSweepInterval, want.MaxContentSize = 0, 5*time.Second, 100
	want.PossiblyAckedResendInterval, want.MaxDependencyWait = 7*time.Millisecond, 8*time.Millisecond
	want.OnLostDependencies, want.MaxIncomingBuffer, want.MaxPendingRepairs, want.RememberDelivered = sds.LostDrop, 9, 10, 15
	want.PersistMaxPending = 16
	want.MaxChannels, want.MaxIncomingBytes, want.MaxLogBytes = 17, 18, 19
	want.RepairPolicy, want.RepairRequestSync, want.RepairRetryInterval = sds.RepairRFC, false, 20*time.Millisecond
	want.RepairResponseWindow, want.RepairResponseGrace, want.LogRetention = 21*time.Millisecond, 22*time.Millisecond, 0
	want.Limits = wire.Limits{MaxMessageBytes: 1000, MaxIDBytes: 10, MaxHintBytes: 11,
		MaxHistoryEntries: 12, MaxRepairEntries: 13, MaxBloomBytes: 14}
	cfg.Clock, want.Clock = nil, nil
	cfg.Logger, want.Logger = zerolog.Logger{}, zerolog.Logger{}
	if fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	if level != zerolog.Disabled || st.storePath != "/tmp/x.db" {
		t.Errorf("level %v, storePath %q", level, st.storePath)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := map[string]string{
		`{"participantid":"x"}`:                      `unknown key "participantid"`,
		`{"PARTICIPANTID":"x"}`:                      `unknown key "PARTICIPANTID"`,
		`{"limits":{"MaxIdBytes":1}}`:                `unknown key "limits.MaxIdBytes"`,
		`{"x":1}`:                                    `unknown key "x"`,
		`"str"`:                                      `not a JSON object`,
		`{"a":}`:                                     `invalid character`,
		`{}x`:                                        `unexpected data after the JSON object`,
		`{"maxCausalHistory":true}`:                  `maxCausalHistory: expected an integer, got JSON bool`,
		`{"repairPolicy":"fast"}`:                    `repairPolicy must be "prompt" or "rfc", got "fast"`,
		`{"repairrequestsync":true}`:                 `unknown key "repairrequestsync"`,
		`{"repairRequestSync":1}`:                    `repairRequestSync: expected true or false, got JSON number`,
		`{"repairRetryIntervalMs":0}`:                `repairRetryIntervalMs must be positive`,
		`{"logRetentionMs":-1}`:                      `logRetentionMs must not be negative`,
		`{"bloomFilterErrorRate":"0.1"}`:             `bloomFilterErrorRate: expected a number, got JSON string`,
		`{"limits":{"maxIdBytes":-1}}`:               `limits.maxIdBytes must be positive, got -1`,
		`{"resendIntervalMs":-1}`:                    `resendIntervalMs must be positive, got -1ms`,
		`{"repairTMaxMs":10}`:                        `need 0 <= repairTMinMs <= repairTMaxMs, got 500ms and 10ms`,
		`{"wireFormat":"NIM"}`:                       `wireFormat must be "nim" or "rfc", got "NIM"`,
		`{"syncMessageIntervalMs":1e400}`:            `syncMessageIntervalMs`,
		`{"bloomFilterCapacity":1e3}`:                `bloomFilterCapacity: expected an integer`,
		`{"maxMessageHistory":99999999999999999999}`: `maxMessageHistory`,
		`{"persistMaxPending":-1}`:                   `persistMaxPending must not be negative, got -1`,
		`{"storePath":1}`:                            `storePath: expected a string, got JSON number`,
		`{"maxChannels":0}`:                          `maxChannels must be positive, got 0`,
		`{"maxLogBytes":-5}`:                         `maxLogBytes must be positive, got -5`,
		`{"maxIncomingBytes":0}`:                     `maxIncomingBytes must be positive, got 0`,
		`{"ackWindowMs":-1}`:                         `ackWindowMs must not be negative, got -1ms`,
		`{"fullBloomFilter":1}`:                      `fullBloomFilter: expected true or false, got JSON number`,
	}
	for text, want := range cases {
		_, err := parseConfig([]byte(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", text, err, want)
		}
	}
}
