package sds_test

// Ports of the Nim libsds tests/test_reliability.nim suites "Periodic Tasks
// & Buffer Management" and every "SDS-R: ..." suite. Each test names the
// Nim test it ports. Where our behaviour deliberately differs from the Nim
// library, the test asserts ours and says so (docs/COMPATIBILITY.md).
//
// Time: the Nim tests sleep on the wall clock, or write due times into the
// repair buffers. We drive an injected ManualClock instead: the periodic
// tasks run on its timers, and "force T_req / T_resp into the past" becomes
// "move the clock to the due time". Where a Nim test writes an entry with a
// chosen due time straight into a buffer, we do the same through the
// test-only hooks of export_test.go. Nim's messageHistory[...] = msg seeding
// becomes unwrapping the message (it has no dependencies, so it is
// delivered into the log).

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/wire"
)

// sdsrMessage serializes a peer's message with a sender id and repair
// requests (Nim's SdsMessage.init with senderId / repairRequest).
func sdsrMessage(channelID, id, sender string, lamport uint64, content []byte, history, repair []wire.HistoryEntry) []byte {
	msg := peerMsg(channelID, id, lamport, content, history)
	msg.SenderID, msg.RepairRequest = sender, repair
	return msg.Marshal(wire.FormatNim)
}

func entry(id, sender string) wire.HistoryEntry {
	return wire.HistoryEntry{MessageID: id, SenderID: sender}
}

func repairIDs(es []sds.RepairEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.MessageID
	}
	return out
}

func hasRepair(es []sds.RepairEntry, id string) bool {
	return slices.Contains(repairIDs(es), id)
}

func repairDue(t *testing.T, es []sds.RepairEntry, id string) time.Time {
	t.Helper()
	for _, e := range es {
		if e.MessageID == id {
			return e.Due
		}
	}
	t.Fatalf("no repair entry for %q in %q", id, repairIDs(es))
	return time.Time{}
}

// waitTasks waits until the periodic tasks of one manager have re-armed
// their three timers: whatever the last Advance triggered has run.
func waitTasks(clk *sds.ManualClock) { clk.WaitForTimers(3) }

// ---------------------------------------------------------------------------
// suite "Periodic Tasks & Buffer Management"

func TestNimPeriodicTasks(t *testing.T) {
	deadline(t)
	// Nim: asyncTest "outgoing buffer management"
	t.Run("outgoing buffer management", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t)
		for i := 0; i <= 5; i++ {
			nimWrap(t, m, nimTestChannel, fmt.Sprintf("msg%d", i), []byte{byte(i)})
		}
		if n := len(nimState(t, m, nimTestChannel).Outgoing); n != 6 {
			t.Fatalf("outgoing = %d, want 6", n)
		}
		lamport := nimState(t, m, nimTestChannel).LamportTimestamp
		nimUnwrap(t, m, nimPeerMessage(nimTestChannel, "ack1", lamport+1, []byte{100}, nimHistory("msg0", "msg2", "msg4"), nil))
		nimEqualIDs(t, "outgoing after ack", nimOutgoingIDs(nimState(t, m, nimTestChannel)), []string{"msg1", "msg3", "msg5"})
		if n := rec.count(sds.EventMessageAcknowledged); n != 3 {
			t.Errorf("message_sent events = %d, want 3", n)
		}
	})

	// Nim: asyncTest "periodic buffer sweep and bloom clean"
	//
	// Nim sleeps 500 ms with a 50 ms sweep and a 100 ms resend interval; we
	// advance the manual clock in 50 ms steps. Differences: Nim only counts
	// resend attempts and, when they run out, reports the message as
	// "message_sent"; we hand the bytes back three times
	// (EventMessageResend) and then report EventMessageFailed.
	t.Run("periodic buffer sweep and bloom clean", func(t *testing.T) {
		m, rec, clk := nimManager(t, func(c *sds.Config) {
			c.ResendInterval = 100 * time.Millisecond
			c.PossiblyAckedResendInterval = 200 * time.Millisecond
			c.BufferSweepInterval = 50 * time.Millisecond
			c.BloomCapacity = 2
			c.MaxResendAttempts = 3
		})
		if err := m.EnsureChannel(nimTestChannel); err != nil {
			t.Fatal(err)
		}
		w1 := nimWrap(t, m, nimTestChannel, "msg1", []byte{1})
		if st := nimState(t, m, nimTestChannel); st.Outgoing[0].ResendAttempts != 0 {
			t.Fatalf("initial resend attempts = %d", st.Outgoing[0].ResendAttempts)
		}
		if err := m.StartPeriodicTasks(); err != nil {
			t.Fatal(err)
		}
		defer m.StopPeriodicTasks()
		waitTasks(clk)
		for i := 0; i < 10; i++ {
			clk.Advance(50 * time.Millisecond)
			waitTasks(clk)
		}
		nimWrap(t, m, nimTestChannel, "msg2", []byte{2})
		nimWrap(t, m, nimTestChannel, "msg3", []byte{3})

		st := nimState(t, m, nimTestChannel)
		nimEqualIDs(t, "outgoing", nimOutgoingIDs(st), []string{"msg2", "msg3"})
		if st.Outgoing[0].ResendAttempts != 0 {
			t.Errorf("msg2 resend attempts = %d, want 0", st.Outgoing[0].ResendAttempts)
		}
		resends := rec.of(sds.EventMessageResend)
		if len(resends) != 3 {
			t.Fatalf("resend events = %d, want 3", len(resends))
		}
		for i, e := range resends {
			if e.MessageID != "msg1" || e.Attempt != i+1 {
				t.Errorf("resend %d = %s attempt %d", i, e.MessageID, e.Attempt)
			}
			got := nimDecode(t, e.Payload)
			orig := nimDecode(t, w1)
			if got.MessageID != "msg1" || got.LamportTimestamp != orig.LamportTimestamp || !bytes.Equal(got.Content, []byte{1}) {
				t.Errorf("resend %d payload: %+v", i, got)
			}
		}
		nimEqualIDs(t, "failed", rec.ids(sds.EventMessageFailed), []string{"msg1"})
		if n := rec.count(sds.EventMessageAcknowledged); n != 0 {
			t.Errorf("message_sent events = %d, want 0 (Nim reports the failure as sent)", n)
		}
		// Capacity 2 rolls over at the third id: only msg3 is left.
		f := nimChannelBloom(t, m, nimTestChannel, "probe")
		if f.Contains("msg1") {
			t.Error("bloom filter still holds msg1 after roll-over")
		}
		if !f.Contains("msg3") {
			t.Error("bloom filter lost msg3")
		}
	})

	// Nim: asyncTest "periodic sync callback"
	t.Run("periodic sync callback", func(t *testing.T) {
		m, rec, clk := nimManagerWithChannel(t)
		if err := m.StartPeriodicTasks(); err != nil {
			t.Fatal(err)
		}
		waitTasks(clk)
		if n := rec.count(sds.EventPeriodicSync); n != 1 {
			t.Fatalf("periodic_sync right after start = %d, want 1", n)
		}
		clk.Advance(sds.DefaultSyncMessageInterval)
		waitTasks(clk)
		m.StopPeriodicTasks()
		if n := rec.count(sds.EventPeriodicSync); n != 2 {
			t.Errorf("periodic_sync after one interval = %d, want 2", n)
		}
		for _, e := range rec.of(sds.EventPeriodicSync) {
			if e.ChannelID != "" {
				t.Errorf("periodic_sync names channel %q; it is manager-wide", e.ChannelID)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Computation Functions"

func TestNimSDSRComputation(t *testing.T) {
	tMin, tMax := 30*time.Second, 300*time.Second

	// Nim: test "computeTReq returns duration in [tMin, tMax)"
	t.Run("computeTReq returns duration in [tMin, tMax)", func(t *testing.T) {
		d := sds.ComputeTReq("participant1", "msg1", tMin, tMax)
		if d < tMin || d >= tMax {
			t.Errorf("T_req = %v, want in [%v, %v)", d, tMin, tMax)
		}
	})

	// Nim: test "computeTReq is deterministic for same inputs"
	t.Run("computeTReq is deterministic for same inputs", func(t *testing.T) {
		if a, b := sds.ComputeTReq("p1", "m1", tMin, tMax), sds.ComputeTReq("p1", "m1", tMin, tMax); a != b {
			t.Errorf("T_req %v != %v", a, b)
		}
	})

	// Nim: test "computeTReq varies with different participants"
	t.Run("computeTReq varies with different participants", func(t *testing.T) {
		d1 := sds.ComputeTReq("participant-A", "msg1", tMin, tMax)
		d2 := sds.ComputeTReq("participant-B", "msg1", tMin, tMax)
		if d1 < tMin || d2 < tMin {
			t.Errorf("T_req %v, %v below tMin", d1, d2)
		}
	})

	// Nim: test "computeTResp original sender has zero distance"
	t.Run("computeTResp original sender has zero distance", func(t *testing.T) {
		if d := sds.ComputeTResp("sender1", "sender1", "msg1", tMax); d != 0 {
			t.Errorf("T_resp = %v, want 0", d)
		}
	})

	// Nim: test "computeTResp non-sender has positive backoff"
	t.Run("computeTResp non-sender has positive backoff", func(t *testing.T) {
		if d := sds.ComputeTResp("other-node", "sender1", "msg1", tMax); d < 0 {
			t.Errorf("T_resp = %v", d)
		}
	})

	// Nim: test "isInResponseGroup all in same group when numGroups =1"
	t.Run("isInResponseGroup all in same group when numGroups =1", func(t *testing.T) {
		if !sds.IsInResponseGroup("p1", "sender1", "msg1", 1) || !sds.IsInResponseGroup("p2", "sender1", "msg1", 1) {
			t.Error("not in the single group")
		}
	})

	// Nim: test "isInResponseGroup sender always in own group"
	t.Run("isInResponseGroup sender always in own group", func(t *testing.T) {
		for groups := 1; groups <= 10; groups++ {
			if !sds.IsInResponseGroup("sender1", "sender1", "msg1", groups) {
				t.Errorf("sender outside its own group with %d groups", groups)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Repair Buffer Management"

func TestNimSDSRRepairBufferManagement(t *testing.T) {
	setup := func(t *testing.T) (*sds.Manager, *nimEvents, *sds.ManualClock) {
		m, rec, clk := nimManager(t, func(c *sds.Config) { c.ParticipantID = "test-participant" })
		if err := m.EnsureChannel(nimTestChannel); err != nil {
			t.Fatal(err)
		}
		return m, rec, clk
	}

	// Nim: asyncTest "missing deps added to outgoing repair buffer"
	t.Run("missing deps added to outgoing repair buffer", func(t *testing.T) {
		m, rec, _ := setup(t)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "msg2", "", 2, []byte{2}, []wire.HistoryEntry{entry("msg1", "sender-A")}, nil))
		if n := rec.count(sds.EventMissingDependencies); n != 1 {
			t.Errorf("missing_dependencies events = %d, want 1", n)
		}
		if !hasRepair(nimState(t, m, nimTestChannel).RepairRequests, "msg1") {
			t.Error("msg1 not in the outgoing repair buffer")
		}
	})

	// Nim: asyncTest "receiving message clears it from repair buffers"
	t.Run("receiving message clears it from repair buffers", func(t *testing.T) {
		m, _, _ := setup(t)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "msg2", "", 2, []byte{2}, []wire.HistoryEntry{entry("msg1", "sender-A")}, nil))
		if !hasRepair(nimState(t, m, nimTestChannel).RepairRequests, "msg1") {
			t.Fatal("msg1 not in the outgoing repair buffer")
		}
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "msg1", "", 1, []byte{1}, nil, nil))
		if hasRepair(nimState(t, m, nimTestChannel).RepairRequests, "msg1") {
			t.Error("msg1 still in the outgoing repair buffer after it arrived")
		}
	})

	// Nim: asyncTest "markDependenciesMet clears repair buffers"
	t.Run("markDependenciesMet clears repair buffers", func(t *testing.T) {
		m, _, _ := setup(t)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "msg2", "", 2, []byte{2}, []wire.HistoryEntry{entry("msg1", "sender-A")}, nil))
		if !hasRepair(nimState(t, m, nimTestChannel).RepairRequests, "msg1") {
			t.Fatal("msg1 not in the outgoing repair buffer")
		}
		if err := m.MarkDependenciesMet(nimTestChannel, []string{"msg1"}); err != nil {
			t.Fatal(err)
		}
		if hasRepair(nimState(t, m, nimTestChannel).RepairRequests, "msg1") {
			t.Error("msg1 still in the outgoing repair buffer")
		}
	})

	// Nim: asyncTest "expired repair requests attached to outgoing messages"
	t.Run("expired repair requests attached to outgoing messages", func(t *testing.T) {
		m, _, clk := setup(t)
		m.InjectRepairRequest(nimTestChannel, entry("missing-msg", "orig-sender"), clk.Now().Add(-10*time.Second))
		msg := nimDecode(t, nimWrap(t, m, nimTestChannel, "new-msg", []byte{1}))
		if len(msg.RepairRequest) != 1 || msg.RepairRequest[0].MessageID != "missing-msg" || msg.RepairRequest[0].SenderID != "orig-sender" {
			t.Errorf("repair requests = %+v", msg.RepairRequest)
		}
		if hasRepair(nimState(t, m, nimTestChannel).RepairRequests, "missing-msg") {
			t.Error("attached request still in the buffer")
		}
	})

	// Nim: asyncTest "expired repair requests attach the most-overdue first when capped"
	t.Run("expired repair requests attach the most-overdue first when capped", func(t *testing.T) {
		m, _, clk := setup(t)
		now := clk.Now()
		expected := []string{"oldest", "second", "third", "fourth", "newest"}
		for i, id := range expected {
			m.InjectRepairRequest(nimTestChannel, entry(id, "sender"), now.Add(-time.Duration(50-i*10)*time.Second))
		}
		msg := nimDecode(t, nimWrap(t, m, nimTestChannel, "outbound", []byte{1}))
		nimEqualIDs(t, "attached", nimIDs(msg.RepairRequest), []string{"oldest", "second", "third"})
		nimEqualIDs(t, "left in the buffer", repairIDs(nimState(t, m, nimTestChannel).RepairRequests), []string{"fourth", "newest"})
	})

	// Nim: asyncTest "incoming repair request adds to incoming repair buffer when eligible"
	t.Run("incoming repair request adds to incoming repair buffer when eligible", func(t *testing.T) {
		m, _, _ := setup(t)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "cached-msg", "", 1, []byte{99}, nil, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "requester-msg", "", 5, []byte{3}, nil,
			[]wire.HistoryEntry{entry("cached-msg", "test-participant")}))
		if !hasRepair(nimState(t, m, nimTestChannel).RepairResponses, "cached-msg") {
			t.Error("cached-msg not in the incoming repair buffer")
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Protobuf Roundtrip"

func TestNimSDSRProtobufRoundtrip(t *testing.T) {
	roundtrip := func(t *testing.T, msg wire.Message) wire.Message {
		t.Helper()
		got, _, err := wire.Decode(msg.Marshal(wire.FormatNim), wire.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// Nim: test "senderId in HistoryEntry roundtrips through protobuf"
	t.Run("senderId in HistoryEntry roundtrips through protobuf", func(t *testing.T) {
		got := roundtrip(t, wire.Message{
			MessageID: "msg1", LamportTimestamp: 100, HasLamport: true, ChannelID: "ch1", Content: []byte{42},
			CausalHistory: []wire.HistoryEntry{
				{MessageID: "dep1", RetrievalHint: []byte{1, 2}, SenderID: "sender-A"},
				{MessageID: "dep2", SenderID: "sender-B"},
			},
		})
		h := got.CausalHistory
		if len(h) != 2 || h[0].MessageID != "dep1" || h[0].SenderID != "sender-A" || !bytes.Equal(h[0].RetrievalHint, []byte{1, 2}) ||
			h[1].MessageID != "dep2" || h[1].SenderID != "sender-B" {
			t.Errorf("causal history = %+v", h)
		}
	})

	// Nim: test "repairRequest field roundtrips through protobuf"
	t.Run("repairRequest field roundtrips through protobuf", func(t *testing.T) {
		got := roundtrip(t, wire.Message{
			MessageID: "msg1", LamportTimestamp: 100, HasLamport: true, ChannelID: "ch1", Content: []byte{42},
			RepairRequest: []wire.HistoryEntry{
				{MessageID: "missing1", SenderID: "sender-X"},
				{MessageID: "missing2", SenderID: "sender-Y", RetrievalHint: []byte{5}},
			},
		})
		r := got.RepairRequest
		if len(r) != 2 || r[0].MessageID != "missing1" || r[0].SenderID != "sender-X" ||
			r[1].MessageID != "missing2" || r[1].SenderID != "sender-Y" || !bytes.Equal(r[1].RetrievalHint, []byte{5}) {
			t.Errorf("repair requests = %+v", r)
		}
	})

	// Nim: test "backward compat: message without repairRequest decodes fine"
	t.Run("backward compat: message without repairRequest decodes fine", func(t *testing.T) {
		got := roundtrip(t, wire.Message{
			MessageID: "msg1", LamportTimestamp: 100, HasLamport: true, ChannelID: "ch1", Content: []byte{42},
			CausalHistory: nimHistory("dep1"),
		})
		if len(got.RepairRequest) != 0 || got.CausalHistory[0].SenderID != "" {
			t.Errorf("decoded = %+v", got)
		}
	})

	// Nim: test "SdsMessage.senderId roundtrips through protobuf"
	t.Run("SdsMessage.senderId roundtrips through protobuf", func(t *testing.T) {
		got := roundtrip(t, wire.Message{MessageID: "m1", LamportTimestamp: 1, HasLamport: true, ChannelID: "ch1", Content: []byte{1}, SenderID: "alice"})
		if got.SenderID != "alice" {
			t.Errorf("sender id = %q", got.SenderID)
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Edge Cases and Defensive Branches"

func TestNimSDSREdgeCases(t *testing.T) {
	tMin, tMax := 30*time.Second, 300*time.Second

	// Nim: test "computeTReq returns tMin when range is degenerate"
	t.Run("computeTReq returns tMin when range is degenerate", func(t *testing.T) {
		if d := sds.ComputeTReq("p", "m", tMin, tMin); d != tMin {
			t.Errorf("tMax == tMin: T_req = %v", d)
		}
		if d := sds.ComputeTReq("p", "m", tMin, 10*time.Second); d != tMin {
			t.Errorf("tMax < tMin: T_req = %v", d)
		}
	})

	// Nim: test "computeTResp returns 0 when tMax is 0"
	t.Run("computeTResp returns 0 when tMax is 0", func(t *testing.T) {
		if d := sds.ComputeTResp("p", "other", "m", 0); d != 0 {
			t.Errorf("T_resp = %v", d)
		}
	})

	// Nim: test "computeTResp always stays within [0, tMax)"
	t.Run("computeTResp always stays within [0, tMax)", func(t *testing.T) {
		for i := 0; i < 500; i++ {
			d := sds.ComputeTResp(fmt.Sprintf("participant-%d", i), fmt.Sprintf("sender-%d", i*13), fmt.Sprintf("msg-%d", i*31), tMax)
			if d < 0 || d >= tMax {
				t.Fatalf("T_resp[%d] = %v", i, d)
			}
		}
	})

	// Nim: test "isInResponseGroup returns true for non-positive numGroups"
	t.Run("isInResponseGroup returns true for non-positive numGroups", func(t *testing.T) {
		if !sds.IsInResponseGroup("p", "sender", "m", 0) || !sds.IsInResponseGroup("p", "sender", "m", -1) {
			t.Error("outside the group")
		}
	})

	// Nim: test "computeTReq bounds across many random inputs"
	t.Run("computeTReq bounds across many random inputs", func(t *testing.T) {
		for i := 0; i < 200; i++ {
			d := sds.ComputeTReq(fmt.Sprintf("p-%d", i), fmt.Sprintf("m-%d", i), tMin, tMax)
			if d < tMin || d >= tMax {
				t.Fatalf("T_req[%d] = %v", i, d)
			}
		}
	})

	// Nim: test "response group distribution is roughly uniform"
	t.Run("response group distribution is roughly uniform", func(t *testing.T) {
		same := 0
		for i := 0; i < 1000; i++ {
			if sds.IsInResponseGroup(fmt.Sprintf("participant-%d", i), "alice", "msg-xyz", 10) {
				same++
			}
		}
		if same < 50 || same > 200 {
			t.Errorf("%d of 1000 in the sender's group, want about 100", same)
		}
	})

	// Nim: test "computeTResp monotonicity: self always fastest"
	t.Run("computeTResp monotonicity: self always fastest", func(t *testing.T) {
		self := sds.ComputeTResp("alice", "alice", "msg-xyz", tMax)
		if self != 0 {
			t.Fatalf("self T_resp = %v", self)
		}
		for i := 0; i < 50; i++ {
			if d := sds.ComputeTResp(fmt.Sprintf("other-%d", i), "alice", "msg-xyz", tMax); d < self {
				t.Errorf("other-%d T_resp %v < self", i, d)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Lifecycle and State"

func TestNimSDSRLifecycle(t *testing.T) {
	// Nim: asyncTest "empty participantId disables outgoing repair creation"
	t.Run("empty participantId disables outgoing repair creation", func(t *testing.T) {
		m, _, _ := nimManager(t, func(c *sds.Config) { c.ParticipantID = "" })
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "m2", "", 2, []byte{2}, []wire.HistoryEntry{entry("m1-missing", "alice")}, nil))
		if n := len(nimState(t, m, nimTestChannel).RepairRequests); n != 0 {
			t.Errorf("repair requests = %d, want 0", n)
		}
	})

	// Nim: asyncTest "empty senderId in incoming repair request is ignored"
	t.Run("empty senderId in incoming repair request is ignored", func(t *testing.T) {
		m, _, _ := nimManager(t, func(c *sds.Config) { c.ParticipantID = "bob" })
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "m-wanted", "", 1, []byte{99, 99, 99}, nil, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "req-msg", "", 5, []byte{1}, nil, []wire.HistoryEntry{entry("m-wanted", "")}))
		if hasRepair(nimState(t, m, nimTestChannel).RepairResponses, "m-wanted") {
			t.Error("answering a request without sender id")
		}
	})

	// Nim: asyncTest "wrapOutgoingMessage records the message in history with our senderId"
	//
	// We have no public view of a log entry's sender and content; the
	// repair path shows both: our own message, requested, comes back from
	// the log with our sender id and its content.
	t.Run("wrapOutgoingMessage records the message in history with our senderId", func(t *testing.T) {
		m, rec, _ := nimManagerWithChannel(t) // participant "alice"
		nimWrap(t, m, nimTestChannel, "m1", []byte{1, 2, 3})
		if !slices.Contains(nimState(t, m, nimTestChannel).MessageHistory, "m1") {
			t.Fatal("m1 not in the history")
		}
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "req", "bob", 9, []byte{9}, nil, []wire.HistoryEntry{entry("m1", "alice")}))
		m.RepairSweep() // our own message: T_resp = 0
		ready := rec.of(sds.EventRepairReady)
		if len(ready) != 1 {
			t.Fatalf("repair_ready events = %d, want 1", len(ready))
		}
		got := nimDecode(t, ready[0].Payload)
		if got.MessageID != "m1" || got.SenderID != "alice" || !bytes.Equal(got.Content, []byte{1, 2, 3}) {
			t.Errorf("repaired message = %+v", got)
		}
	})

	// Nim: asyncTest "getRecentHistoryEntries carries senderId for own messages"
	t.Run("getRecentHistoryEntries carries senderId for own messages", func(t *testing.T) {
		m, _, _ := nimManagerWithChannel(t)
		nimWrap(t, m, nimTestChannel, "m1", []byte{1})
		nimWrap(t, m, nimTestChannel, "m2", []byte{2})
		h := nimDecode(t, nimWrap(t, m, nimTestChannel, "m3", []byte{3})).CausalHistory
		if len(h) != 2 || h[0].SenderID != "alice" || h[1].SenderID != "alice" {
			t.Errorf("causal history = %+v", h)
		}
	})

	// Nim: asyncTest "resetReliabilityManager clears all SDS-R state"
	t.Run("resetReliabilityManager clears all SDS-R state", func(t *testing.T) {
		m, _, _ := nimManagerWithChannel(t)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "c", "someone", 1, []byte{2}, nil, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "d", "x", 3, []byte{3}, []wire.HistoryEntry{entry("a", "x")},
			[]wire.HistoryEntry{entry("c", "someone")}))
		st := nimState(t, m, nimTestChannel)
		if len(st.RepairRequests) != 1 || len(st.RepairResponses) != 1 || len(st.MessageHistory) != 1 {
			t.Fatalf("setup: %d requests, %d responses, %d logged", len(st.RepairRequests), len(st.RepairResponses), len(st.MessageHistory))
		}
		if err := m.Reset(); err != nil {
			t.Fatal(err)
		}
		if err := m.EnsureChannel(nimTestChannel); err != nil {
			t.Fatal(err)
		}
		st = nimState(t, m, nimTestChannel)
		if len(st.RepairRequests) != 0 || len(st.RepairResponses) != 0 || len(st.MessageHistory) != 0 {
			t.Errorf("after reset: %d requests, %d responses, %d logged", len(st.RepairRequests), len(st.RepairResponses), len(st.MessageHistory))
		}
	})

	// Nim: asyncTest "SDS-R state is isolated per channel"
	t.Run("SDS-R state is isolated per channel", func(t *testing.T) {
		m, _, _ := nimManager(t, nil)
		for _, c := range []string{"ch-A", "ch-B"} {
			if err := m.EnsureChannel(c); err != nil {
				t.Fatal(err)
			}
		}
		nimUnwrap(t, m, sdsrMessage("ch-A", "m2", "", 2, []byte{2}, []wire.HistoryEntry{entry("m1-missing", "bob")}, nil))
		if a, b := len(nimState(t, m, "ch-A").RepairRequests), len(nimState(t, m, "ch-B").RepairRequests); a != 1 || b != 0 {
			t.Errorf("repair requests: ch-A %d (want 1), ch-B %d (want 0)", a, b)
		}
	})

	// Nim: asyncTest "duplicate message arrival cancels pending incoming repair entry"
	//
	// Nim writes the pending response into the buffer; we get there by a
	// real request for m1 from another peer.
	t.Run("duplicate message arrival cancels pending incoming repair entry", func(t *testing.T) {
		m, _, _ := nimManager(t, func(c *sds.Config) { c.ParticipantID = "carol" })
		m1 := sdsrMessage(nimTestChannel, "m1", "alice", 1, []byte{1}, nil, nil)
		nimUnwrap(t, m, m1)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "req", "bob", 2, []byte{2}, nil, []wire.HistoryEntry{entry("m1", "alice")}))
		if !hasRepair(nimState(t, m, nimTestChannel).RepairResponses, "m1") {
			t.Fatal("setup: no pending response for m1")
		}
		if res := nimUnwrap(t, m, m1); !res.Duplicate {
			t.Fatal("rebroadcast of m1 not a duplicate")
		}
		if hasRepair(nimState(t, m, nimTestChannel).RepairResponses, "m1") {
			t.Error("pending response for m1 survived its rebroadcast")
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Repair Sweep"

func TestNimSDSRRepairSweep(t *testing.T) {
	setup := func(t *testing.T) (*sds.Manager, *nimEvents, *sds.ManualClock) {
		m, rec, clk := nimManager(t, func(c *sds.Config) { c.ParticipantID = "bob" })
		if err := m.EnsureChannel(nimTestChannel); err != nil {
			t.Fatal(err)
		}
		return m, rec, clk
	}

	// Nim: asyncTest "runRepairSweep fires onRepairReady for expired tResp"
	//
	// Nim hands out the bytes cached with the entry; we re-encode the
	// message from the local log (without a bloom filter), so both messages
	// are delivered first.
	t.Run("runRepairSweep fires onRepairReady for expired tResp", func(t *testing.T) {
		m, rec, clk := setup(t)
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "m-ready", "alice", 1, []byte{1, 2, 3}, nil, nil))
		nimUnwrap(t, m, sdsrMessage(nimTestChannel, "m-not-ready", "alice", 2, []byte{9, 9, 9}, nil, nil))
		now := clk.Now()
		m.InjectRepairResponse(nimTestChannel, entry("m-ready", "alice"), now.Add(-time.Second))
		m.InjectRepairResponse(nimTestChannel, entry("m-not-ready", "alice"), now.Add(10*time.Minute))
		m.RepairSweep()
		ready := rec.of(sds.EventRepairReady)
		if len(ready) != 1 {
			t.Fatalf("repair_ready events = %d, want 1", len(ready))
		}
		if got := nimDecode(t, ready[0].Payload); got.MessageID != "m-ready" || !bytes.Equal(got.Content, []byte{1, 2, 3}) {
			t.Errorf("repaired message = %+v", got)
		}
		if ready[0].ChannelID != nimTestChannel || ready[0].MessageID != "m-ready" {
			t.Errorf("event = %+v", ready[0])
		}
		nimEqualIDs(t, "pending responses", repairIDs(nimState(t, m, nimTestChannel).RepairResponses), []string{"m-not-ready"})
	})

	// Nim: asyncTest "runRepairSweep drops outgoing entries past T_max window"
	t.Run("runRepairSweep drops outgoing entries past T_max window", func(t *testing.T) {
		m, _, clk := setup(t)
		now := clk.Now()
		m.InjectRepairRequest(nimTestChannel, entry("m-stale", "alice"), now.Add(-2*sds.NimRepairTMax))
		m.InjectRepairRequest(nimTestChannel, entry("m-fresh", "alice"), now)
		m.RepairSweep()
		nimEqualIDs(t, "pending requests", repairIDs(nimState(t, m, nimTestChannel).RepairRequests), []string{"m-fresh"})
	})

	// Nim: asyncTest "runRepairSweep no-op when buffers are empty"
	t.Run("runRepairSweep no-op when buffers are empty", func(t *testing.T) {
		m, rec, _ := setup(t)
		m.RepairSweep()
		if n := rec.count(sds.EventRepairReady); n != 0 {
			t.Errorf("repair_ready events = %d", n)
		}
	})
}

// ---------------------------------------------------------------------------
// suite "SDS-R: Multi-Participant Integration"

// sdsrBus is the Nim TestBus: participants on one channel, sharing a manual
// clock; a broadcast reaches every peer but the sender and those told to
// drop it. Repair bytes handed out by repair_ready queue up until drain.
type sdsrBus struct {
	t         *testing.T
	clk       *sds.ManualClock
	names     []string // in joining order
	peers     map[string]*sds.Manager
	delivered map[string][]string
	wireLog   []sdsrWire
	pending   []sdsrWire
}

type sdsrWire struct {
	sender, messageID string
	bytes             []byte
}

func newSDSRBus(t *testing.T) *sdsrBus {
	return &sdsrBus{t: t, clk: sds.NewManualClock(nimStart), peers: map[string]*sds.Manager{}, delivered: map[string][]string{}}
}

func (b *sdsrBus) addPeer(name string, mutate func(*sds.Config)) *sds.Manager {
	b.t.Helper()
	cfg := sds.DefaultConfig()
	nimRules(&cfg)
	cfg.ParticipantID = name
	cfg.Clock = b.clk
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := sds.NewManager(cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { _ = m.Close() })
	if err := m.EnsureChannel(nimTestChannel); err != nil {
		b.t.Fatal(err)
	}
	m.SetEventHandler(func(e sds.Event) {
		switch e.Kind {
		case sds.EventMessageReady:
			b.delivered[name] = append(b.delivered[name], e.MessageID)
		case sds.EventRepairReady:
			b.recordWire(name, e.Payload)
			b.pending = append(b.pending, sdsrWire{sender: name, messageID: e.MessageID, bytes: e.Payload})
		}
	})
	b.names = append(b.names, name)
	b.peers[name] = m
	return m
}

func (b *sdsrBus) recordWire(sender string, bytes []byte) {
	msg, _, err := wire.Decode(bytes, wire.DefaultLimits())
	if err == nil {
		b.wireLog = append(b.wireLog, sdsrWire{sender: sender, messageID: msg.MessageID})
	}
}

func (b *sdsrBus) deliverExcept(sender string, bytes []byte, exclude ...string) {
	b.t.Helper()
	for _, name := range b.names {
		if name == sender || slices.Contains(exclude, name) {
			continue
		}
		if _, err := b.peers[name].Unwrap(bytes); err != nil {
			b.t.Fatalf("%s: Unwrap: %v", name, err)
		}
	}
}

func (b *sdsrBus) drain() {
	for len(b.pending) > 0 {
		batch := b.pending
		b.pending = nil
		for _, w := range batch {
			b.deliverExcept(w.sender, w.bytes)
		}
	}
}

func (b *sdsrBus) broadcast(sender string, content []byte, id string, dropAt ...string) {
	b.t.Helper()
	w, err := b.peers[sender].Wrap(nimTestChannel, id, content)
	if err != nil {
		b.t.Fatal(err)
	}
	b.recordWire(sender, w)
	b.deliverExcept(sender, w, dropAt...)
}

// advanceTo moves the shared clock to t, if it is ahead (Nim's
// forceOutgoingExpired / forceIncomingExpired move the due time instead).
func (b *sdsrBus) advanceTo(t time.Time) {
	if d := t.Sub(b.clk.Now()); d > 0 {
		b.clk.Advance(d)
	}
}

func (b *sdsrBus) state(name string) sds.ChannelState {
	b.t.Helper()
	return nimState(b.t, b.peers[name], nimTestChannel)
}

func TestNimSDSRMultiParticipant(t *testing.T) {
	// Nim: asyncTest "basic single-gap repair (Alice -> Bob misses -> Carol's message triggers repair)"
	t.Run("basic single-gap repair", func(t *testing.T) {
		bus := newSDSRBus(t)
		alice := bus.addPeer("alice", nil)
		bus.addPeer("bob", nil)
		bus.addPeer("carol", nil)

		bus.broadcast("alice", []byte{1}, "m1", "bob")
		if !slices.Contains(bus.state("carol").MessageHistory, "m1") || slices.Contains(bus.state("bob").MessageHistory, "m1") {
			t.Fatal("setup: carol should have m1, bob not")
		}
		bus.broadcast("carol", []byte{2}, "m2")
		bob := bus.state("bob")
		if !hasRepair(bob.RepairRequests, "m1") {
			t.Fatal("bob has no repair request for m1")
		}
		if len(bob.Incoming) != 1 || bob.Incoming[0].MessageID != "m2" || slices.Contains(bus.delivered["bob"], "m2") {
			t.Fatalf("bob should hold m2 undelivered: %+v", bob.Incoming)
		}
		bus.advanceTo(repairDue(t, bob.RepairRequests, "m1"))

		bus.broadcast("bob", []byte{3}, "m3")
		if !hasRepair(bus.state("alice").RepairResponses, "m1") {
			t.Fatal("alice has no pending response for m1")
		}
		alice.RepairSweep() // her T_resp for her own message is 0
		bus.drain()
		if !slices.Contains(bus.delivered["bob"], "m1") || !slices.Contains(bus.delivered["bob"], "m2") {
			t.Errorf("bob delivered %q, want m1 and m2", bus.delivered["bob"])
		}
	})

	// Nim: asyncTest "response cancellation: only one rebroadcast on the wire"
	//
	// Beyond the Nim test: afterwards every participant's sweep runs past
	// the whole response window, and still nobody else rebroadcasts m1.
	t.Run("response cancellation: only one rebroadcast on the wire", func(t *testing.T) {
		bus := newSDSRBus(t)
		alice := bus.addPeer("alice", nil)
		bus.addPeer("bob", nil)
		carol := bus.addPeer("carol", nil)

		bus.broadcast("alice", []byte{1}, "m1", "bob")
		bus.broadcast("carol", []byte{2}, "m2")
		bus.advanceTo(repairDue(t, bus.state("bob").RepairRequests, "m1"))
		bus.broadcast("bob", []byte{3}, "m3")
		if !hasRepair(bus.state("alice").RepairResponses, "m1") || !hasRepair(bus.state("carol").RepairResponses, "m1") {
			t.Fatal("alice and carol should both plan to answer")
		}
		if d := repairDue(t, bus.state("carol").RepairResponses, "m1"); !d.After(bus.clk.Now()) {
			t.Fatalf("carol's T_resp is not in the future (%v): the scenario needs it", d)
		}

		alice.RepairSweep()
		bus.drain()
		if hasRepair(bus.state("carol").RepairResponses, "m1") {
			t.Error("carol's pending response survived alice's rebroadcast")
		}
		before := len(bus.wireLog)
		carol.RepairSweep()
		bus.drain()
		if len(bus.wireLog) != before {
			t.Errorf("carol's sweep put %d messages on the wire", len(bus.wireLog)-before)
		}
		bus.clk.Advance(sds.NimRepairTMax + time.Second)
		for _, name := range bus.names {
			bus.peers[name].RepairSweep()
		}
		bus.drain()

		var m1 []string
		for _, w := range bus.wireLog {
			if w.messageID == "m1" {
				m1 = append(m1, w.sender)
			}
		}
		// The original broadcast and alice's one rebroadcast.
		nimEqualIDs(t, "senders of m1 on the wire", m1, []string{"alice", "alice"})
	})

	// Nim: asyncTest "cancellation on incoming repair request: peer drops its own pending request"
	t.Run("cancellation on incoming repair request: peer drops its own pending request", func(t *testing.T) {
		bus := newSDSRBus(t)
		bus.addPeer("alice", nil)
		bus.addPeer("bob", nil)
		bus.addPeer("carol", nil)

		bus.broadcast("alice", []byte{1}, "m1", "bob", "carol")
		bus.broadcast("alice", []byte{2}, "m2")
		if !hasRepair(bus.state("bob").RepairRequests, "m1") || !hasRepair(bus.state("carol").RepairRequests, "m1") {
			t.Fatal("bob and carol should both plan to request m1")
		}
		bus.advanceTo(repairDue(t, bus.state("bob").RepairRequests, "m1"))
		bus.broadcast("bob", []byte{3}, "m3")
		if hasRepair(bus.state("carol").RepairRequests, "m1") {
			t.Error("carol kept her own request for m1 after bob's")
		}
	})

	// Nim: asyncTest "response group filtering: only group members respond"
	t.Run("response group filtering: only group members respond", func(t *testing.T) {
		groups := func(c *sds.Config) { c.NumResponseGroups = 10 }
		chosen := ""
		for i := 0; i < 1000; i++ {
			c := fmt.Sprintf("probe-%d", i)
			if sds.IsInResponseGroup("bob", "alice", c, 10) && !sds.IsInResponseGroup("carol", "alice", c, 10) {
				chosen = c
				break
			}
		}
		if chosen == "" {
			t.Fatal("no suitable message id")
		}
		bus := newSDSRBus(t)
		bus.addPeer("alice", groups)
		bob := bus.addPeer("bob", groups)
		carol := bus.addPeer("carol", groups)
		bus.broadcast("alice", []byte{1}, chosen)
		bus.addPeer("dave", groups)
		req := sdsrMessage(nimTestChannel, "req-from-dave", "dave", 10, []byte{9}, nil, []wire.HistoryEntry{entry(chosen, "alice")})
		nimUnwrap(t, bob, req)
		nimUnwrap(t, carol, req)
		if !hasRepair(bus.state("bob").RepairResponses, chosen) {
			t.Error("bob (in the group) does not plan to answer")
		}
		if hasRepair(bus.state("carol").RepairResponses, chosen) {
			t.Error("carol (outside the group) plans to answer")
		}
	})

	// Nim: asyncTest "multi-gap batch repair: many missing deps split across requests"
	t.Run("multi-gap batch repair: many missing deps split across requests", func(t *testing.T) {
		bus := newSDSRBus(t)
		bus.addPeer("alice", nil)
		bob := bus.addPeer("bob", nil)
		for i := 1; i <= 5; i++ {
			bus.broadcast("alice", []byte{byte(i)}, fmt.Sprintf("m%d", i), "bob")
		}
		bus.broadcast("alice", []byte{6}, "m6")
		reqs := bus.state("bob").RepairRequests
		if len(reqs) != 5 {
			t.Fatalf("bob's repair requests = %q, want 5", repairIDs(reqs))
		}
		bus.advanceTo(reqs[len(reqs)-1].Due) // all due
		w, err := bob.Wrap(nimTestChannel, "bob-msg-1", []byte{99})
		if err != nil {
			t.Fatal(err)
		}
		attached := nimDecode(t, w).RepairRequest
		if len(attached) != sds.DefaultMaxRepairRequests {
			t.Errorf("attached %d requests, want %d", len(attached), sds.DefaultMaxRepairRequests)
		}
		if n := len(bus.state("bob").RepairRequests); n != 5-len(attached) {
			t.Errorf("%d requests left, want %d", n, 5-len(attached))
		}
	})

	// Nim: asyncTest "markDependenciesMet externally clears pending repair entry"
	t.Run("markDependenciesMet externally clears pending repair entry", func(t *testing.T) {
		bus := newSDSRBus(t)
		bus.addPeer("alice", nil)
		bob := bus.addPeer("bob", nil)
		bus.broadcast("alice", []byte{1}, "m1", "bob")
		bus.broadcast("alice", []byte{2}, "m2")
		if !hasRepair(bus.state("bob").RepairRequests, "m1") {
			t.Fatal("bob has no repair request for m1")
		}
		if err := bob.MarkDependenciesMet(nimTestChannel, []string{"m1"}); err != nil {
			t.Fatal(err)
		}
		if hasRepair(bus.state("bob").RepairRequests, "m1") {
			t.Error("request for m1 survived MarkDependenciesMet")
		}
	})
}
