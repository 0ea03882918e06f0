// Package vectors loads the test vectors produced by the Nim libsds and by
// the TypeScript SDS implementation. They are committed in data/ and
// embedded, so the tests need nothing beside the repository: a copy of
// the project's shared vectors (README.md and the two files it describes)
// and js_sdsr_vectors.json, SDS-R timing produced by @waku/sds 0.0.8
// itself with jsgen/sdsr.mjs.
package vectors

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
)

// Files holds the vector files: data/*.json and data/README.md.
//
//go:embed data
var Files embed.FS

// Nim is nim_sds_vectors.json.
type Nim struct {
	NimStringHash []struct {
		InputHex string `json:"input_hex"`
		Hash     int64  `json:"hash"`
	} `json:"nim_string_hash"`
	BloomParams []struct {
		FilterParams
		KHashes int `json:"kHashes"`
		MBits   int `json:"mBits"`
		Words   int `json:"words"`
	} `json:"bloom_params"`
	BloomFilters []struct {
		FilterParams
		Inserted      []string `json:"inserted"`
		SerializedHex string   `json:"serialized_hex"`
		Probes        []Probe  `json:"probes"`
	} `json:"bloom_filters"`
	RollingBloom struct {
		FilterParams
		MinCapacity   int      `json:"minCapacity"`
		MaxCapacity   int      `json:"maxCapacity"`
		Added         []string `json:"added"`
		Kept          []string `json:"kept"`
		SerializedHex string   `json:"serialized_hex"`
	} `json:"rolling_bloom"`
	Messages []struct {
		Description      string         `json:"description"`
		MessageID        string         `json:"messageId"`
		LamportTimestamp uint64         `json:"lamportTimestamp"`
		CausalHistory    []HistoryEntry `json:"causalHistory"`
		ChannelID        string         `json:"channelId"`
		ContentHex       string         `json:"content_hex"`
		BloomFilterHex   string         `json:"bloomFilter_hex"`
		SenderID         string         `json:"senderId"`
		RepairRequest    []HistoryEntry `json:"repairRequest"`
		WireHex          string         `json:"wire_hex"`
	} `json:"messages"`
	DecodeCases []struct {
		Description      string   `json:"description"`
		InputHex         string   `json:"input_hex"`
		OK               bool     `json:"ok"`
		ChannelIDOK      bool     `json:"channelId_ok"`
		MessageID        string   `json:"messageId"`
		ChannelID        string   `json:"channelId"`
		LamportTimestamp uint64   `json:"lamportTimestamp"`
		ContentHex       string   `json:"content_hex"`
		CausalHistoryIDs []string `json:"causalHistoryIds"`
	} `json:"decode_cases"`
	TReq          []TReqRow          `json:"t_req"`
	TResp         []TRespRow         `json:"t_resp"`
	ResponseGroup []ResponseGroupRow `json:"response_group"`
	Snapshot      struct {
		ChannelMetaEmptyHex string `json:"channel_meta_empty_hex"`
		ChannelMetaFullHex  string `json:"channel_meta_full_hex"`
		ChannelDataHex      string `json:"channel_data_hex"`
		HistoryUpdateHex    string `json:"history_update_hex"`
		Note                string `json:"note"`
	} `json:"snapshot"`
}

// FilterParams are a bloom filter's construction parameters, as every
// filter in the vectors gives them.
type FilterParams struct {
	Capacity  int     `json:"capacity"`
	ErrorRate float64 `json:"errorRate"`
}

// HistoryEntry is a causal-history or repair-request entry in the vectors.
type HistoryEntry struct {
	MessageID        string `json:"messageId"`
	RetrievalHintHex string `json:"retrievalHint_hex"`
	SenderID         string `json:"senderId"`
}

// Probe is a bloom-filter lookup and the answer the producing library gave.
type Probe struct {
	ID       string `json:"id"`
	Contains bool   `json:"contains"`
}

// JS is js_sds_vectors.json (RFC wire format, TypeScript implementation).
type JS struct {
	Note     string `json:"note"`
	Messages []struct {
		Kind             string `json:"kind"`
		Payload          string `json:"payload"`
		MessageID        string `json:"messageId"`
		LamportTimestamp string `json:"lamportTimestamp"`
		WireHex          string `json:"wire_hex"`
	} `json:"messages"`
	Bloom struct {
		FilterParams
		KHashes   int      `json:"kHashes"`
		TotalBits int      `json:"totalBits"`
		Inserted  []string `json:"inserted"`
		BytesHex  string   `json:"bytes_hex"`
		Probes    []Probe  `json:"probes"`
	} `json:"bloom"`
	HashN []struct {
		Item     string `json:"item"`
		N        int    `json:"n"`
		MaxValue int    `json:"maxValue"`
		HashN    int64  `json:"hashN"`
	} `json:"hashN"`
}

// JSRepair is js_sdsr_vectors.json: @waku/sds's T_req and T_resp offsets
// (ms) and response-group membership, for inputs of the Nim sections.
type JSRepair struct {
	Note          string             `json:"note"`
	TReq          []TReqRow          `json:"t_req"`
	TResp         []TRespRow         `json:"t_resp"`
	ResponseGroup []ResponseGroupRow `json:"response_group"`
}

// TReqRow is an SDS-R request backoff (ms). Error is set, instead of
// TReqMs, where the producing library threw.
type TReqRow struct {
	ParticipantID string `json:"participantId"`
	MessageID     string `json:"messageId"`
	TMinMs        int64  `json:"tMinMs"`
	TMaxMs        int64  `json:"tMaxMs"`
	TReqMs        int64  `json:"tReqMs"`
	Error         string `json:"error"`
}

// TRespRow is an SDS-R response backoff (ms); Error as in TReqRow.
type TRespRow struct {
	ParticipantID string `json:"participantId"`
	SenderID      string `json:"senderId"`
	MessageID     string `json:"messageId"`
	TMaxMs        int64  `json:"tMaxMs"`
	TRespMs       int64  `json:"tRespMs"`
	Error         string `json:"error"`
}

// ResponseGroupRow is an SDS-R response-group membership.
type ResponseGroupRow struct {
	ParticipantID string `json:"participantId"`
	SenderID      string `json:"senderId"`
	MessageID     string `json:"messageId"`
	NumGroups     int    `json:"numGroups"`
	InGroup       bool   `json:"inGroup"`
}

var (
	nimOnce, jsOnce, jsRepairOnce sync.Once
	nim                           Nim
	js                            JS
	jsRepair                      JSRepair
	nimErr, jsErr, jsRepairErr    error
)

// LoadNim parses nim_sds_vectors.json once.
func LoadNim() (*Nim, error) {
	nimOnce.Do(func() { nimErr = load("nim_sds_vectors.json", &nim) })
	return &nim, nimErr
}

// LoadJSRepair parses js_sdsr_vectors.json once.
func LoadJSRepair() (*JSRepair, error) {
	jsRepairOnce.Do(func() { jsRepairErr = load("js_sdsr_vectors.json", &jsRepair) })
	return &jsRepair, jsRepairErr
}

// LoadJS parses js_sds_vectors.json once.
func LoadJS() (*JS, error) {
	jsOnce.Do(func() { jsErr = load("js_sds_vectors.json", &js) })
	return &js, jsErr
}

func load(name string, into any) error {
	raw, err := Files.ReadFile("data/" + name)
	if err != nil {
		return fmt.Errorf("vectors: %w", err)
	}
	return json.Unmarshal(raw, into)
}

// Hex decodes a lowercase hex string from the vectors; it panics on bad hex,
// which only a corrupted vectors file can cause.
func Hex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("vectors: bad hex %q: %v", s, err))
	}
	return b
}
