package sds_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/libsds-go/libsds/bindings/sds"
)

// sdsManagerFactoryFunc is status-go's declaration: it passes
// sds.NewReliabilityManager as a value of this type.
type sdsManagerFactoryFunc func(*zap.Logger) (*sds.ReliabilityManager, error)

// statusGoPeer is a manager with the callbacks status-go registers,
// recording what they receive.
type statusGoPeer struct {
	rm      *sds.ReliabilityManager
	ready   []sds.MessageID
	sent    []sds.MessageID
	missing []sds.HistoryEntry
	synced  chan struct{}
}

func newStatusGoPeer(t *testing.T, newManager sdsManagerFactoryFunc, logger *zap.Logger) *statusGoPeer {
	t.Helper()
	rm, err := newManager(logger)
	if err != nil {
		t.Fatal(err)
	}
	p := &statusGoPeer{rm: rm, synced: make(chan struct{}, 1)}
	rm.RegisterCallbacks(sds.EventCallbacks{
		OnMessageReady: func(id sds.MessageID, channelID string) { p.ready = append(p.ready, id) },
		OnMessageSent:  func(id sds.MessageID, channelID string) { p.sent = append(p.sent, id) },
		OnMissingDependencies: func(id sds.MessageID, deps []sds.HistoryEntry, channelID string) {
			p.missing = append(p.missing, deps...)
		},
		OnPeriodicSync: func() {
			select {
			case p.synced <- struct{}{}:
			default:
			}
		},
		RetrievalHintProvider: func(id sds.MessageID) []byte { return []byte("hash-of-" + string(id)) },
	})
	return p
}

func (p *statusGoPeer) wrap(t *testing.T, content, id string) []byte {
	t.Helper()
	b, err := p.rm.WrapOutgoingMessage([]byte(content), sds.MessageID(id), "chat")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The way status-go uses sds-go-bindings compiles and works against this
// package: the constructor as a factory value, EventCallbacks with its five
// fields, the pointer fields of UnwrapReceivedMessage's result
// dereferenced, and Cleanup.
func TestStatusGoUsage(t *testing.T) {
	var newManager sdsManagerFactoryFunc = sds.NewReliabilityManager
	logger := zaptest.NewLogger(t)
	alice, bob := newStatusGoPeer(t, newManager, logger), newStatusGoPeer(t, newManager, logger.Named("bob"))

	w1, w2 := alice.wrap(t, "one", "m1"), alice.wrap(t, "two", "m2")
	msg, err := bob.rm.UnwrapReceivedMessage(w2)
	if err != nil {
		t.Fatal(err)
	}
	content, deps, channelID := *msg.Message, *msg.MissingDeps, *msg.ChannelId
	if string(content) != "two" || channelID != "chat" || len(deps) != 1 || deps[0].MessageID != "m1" ||
		!bytes.Equal(deps[0].RetrievalHint, []byte("hash-of-m1")) {
		t.Fatalf("unwrap m2: content %q, channel %q, deps %+v", content, channelID, deps)
	}
	if !reflect.DeepEqual(bob.missing, deps) {
		t.Errorf("OnMissingDependencies got %+v, the unwrap result says %+v", bob.missing, deps)
	}
	if msg, err = bob.rm.UnwrapReceivedMessage(w1); err != nil || len(*msg.MissingDeps) != 0 {
		t.Fatalf("unwrap m1: %v", err)
	}
	if !slices.Equal(bob.ready, []sds.MessageID{"m1", "m2"}) {
		t.Errorf("ready %v, want [m1 m2]", bob.ready)
	}
	if _, err := alice.rm.UnwrapReceivedMessage(bob.wrap(t, "three", "b1")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(alice.sent, []sds.MessageID{"m1", "m2"}) {
		t.Errorf("sent %v, want [m1 m2]", alice.sent)
	}

	if err := bob.rm.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	select { // the first sync signal comes at once, as in Nim
	case <-bob.synced:
	case <-time.After(10 * time.Second):
		t.Error("no OnPeriodicSync within 10 s of StartPeriodicTasks")
	}
	for _, p := range []*statusGoPeer{alice, bob} {
		if err := p.rm.Cleanup(); err != nil {
			t.Error(err)
		}
	}
}
