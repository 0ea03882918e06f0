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

// The way status-go uses sds-go-bindings compiles and works against this
// package: the constructor as a factory value, EventCallbacks with its five
// fields, the pointer fields of UnwrapReceivedMessage's result
// dereferenced, and Cleanup.
func TestStatusGoUsage(t *testing.T) {
	var newManager sdsManagerFactoryFunc = sds.NewReliabilityManager
	logger := zaptest.NewLogger(t)
	alice, err := newManager(logger)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := newManager(logger.Named("bob"))
	if err != nil {
		t.Fatal(err)
	}

	var ready, sent []sds.MessageID
	var missing []sds.HistoryEntry
	synced := make(chan struct{}, 1)
	alice.RegisterCallbacks(sds.EventCallbacks{
		OnMessageSent: func(id sds.MessageID, channelID string) { sent = append(sent, id) },
		RetrievalHintProvider: func(id sds.MessageID) []byte {
			return []byte("hash-of-" + string(id))
		},
	})
	bob.RegisterCallbacks(sds.EventCallbacks{
		OnMessageReady: func(id sds.MessageID, channelID string) { ready = append(ready, id) },
		OnMessageSent:  func(sds.MessageID, string) {},
		OnMissingDependencies: func(id sds.MessageID, deps []sds.HistoryEntry, channelID string) {
			missing = append(missing, deps...)
		},
		OnPeriodicSync: func() {
			select {
			case synced <- struct{}{}:
			default:
			}
		},
		RetrievalHintProvider: func(sds.MessageID) []byte { return nil },
	})

	w1, err := alice.WrapOutgoingMessage([]byte("one"), "m1", "chat")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := alice.WrapOutgoingMessage([]byte("two"), "m2", "chat")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := bob.UnwrapReceivedMessage(w2)
	if err != nil {
		t.Fatal(err)
	}
	content, deps, channelID := *msg.Message, *msg.MissingDeps, *msg.ChannelId
	if string(content) != "two" || channelID != "chat" || len(deps) != 1 || deps[0].MessageID != "m1" ||
		!bytes.Equal(deps[0].RetrievalHint, []byte("hash-of-m1")) {
		t.Fatalf("unwrap m2: content %q, channel %q, deps %+v", content, channelID, deps)
	}
	if !reflect.DeepEqual(missing, deps) {
		t.Errorf("OnMissingDependencies got %+v, the unwrap result says %+v", missing, deps)
	}
	if msg, err = bob.UnwrapReceivedMessage(w1); err != nil || len(*msg.MissingDeps) != 0 {
		t.Fatalf("unwrap m1: %v", err)
	}
	if !slices.Equal(ready, []sds.MessageID{"m1", "m2"}) {
		t.Errorf("ready %v, want [m1 m2]", ready)
	}

	reply, err := bob.WrapOutgoingMessage([]byte("three"), "b1", "chat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UnwrapReceivedMessage(reply); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sent, []sds.MessageID{"m1", "m2"}) {
		t.Errorf("sent %v, want [m1 m2]", sent)
	}

	if err := bob.StartPeriodicTasks(); err != nil {
		t.Fatal(err)
	}
	select { // the first sync signal comes at once, as in Nim
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Error("no OnPeriodicSync within 10 s of StartPeriodicTasks")
	}
	for _, rm := range []*sds.ReliabilityManager{alice, bob} {
		if err := rm.Cleanup(); err != nil {
			t.Error(err)
		}
	}
}
