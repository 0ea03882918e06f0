package sds_test

import (
	"fmt"

	"github.com/libsds-go/libsds/bindings/sds"
)

// Two participants on one channel: bob receives alice's second message
// before her first, learns what is missing, and gets both in causal order;
// alice learns that bob has her messages.
func Example() {
	alice, err := sds.NewReliabilityManager(nil)
	if err != nil {
		panic(err)
	}
	defer alice.Cleanup()
	bob, err := sds.NewReliabilityManager(nil)
	if err != nil {
		panic(err)
	}
	defer bob.Cleanup()

	alice.RegisterCallbacks(sds.EventCallbacks{
		OnMessageSent: func(id sds.MessageID, channel string) {
			fmt.Printf("alice: %s reached a peer\n", id)
		},
	})
	bob.RegisterCallbacks(sds.EventCallbacks{
		OnMessageReady: func(id sds.MessageID, channel string) {
			fmt.Printf("bob: %s ready on %s\n", id, channel)
		},
		OnMissingDependencies: func(id sds.MessageID, deps []sds.HistoryEntry, channel string) {
			fmt.Printf("bob: %s waits for %s\n", id, deps[0].MessageID)
		},
	})

	first, _ := alice.WrapOutgoingMessage([]byte("hello"), "m1", "room")
	second, _ := alice.WrapOutgoingMessage([]byte("how are you?"), "m2", "room")

	res, _ := bob.UnwrapReceivedMessage(second) // m1 was lost... for now
	fmt.Printf("bob: got %q, %d missing\n", *res.Message, len(*res.MissingDeps))
	bob.UnwrapReceivedMessage(first) // here it is: m1, then m2

	reply, _ := bob.WrapOutgoingMessage([]byte("fine"), "b1", "room")
	alice.UnwrapReceivedMessage(reply) // bob's causal history acknowledges m1 and m2
	// Output:
	// bob: m2 waits for m1
	// bob: got "how are you?", 1 missing
	// bob: m1 ready on room
	// bob: m2 ready on room
	// alice: m1 reached a peer
	// alice: m2 reached a peer
}
