// Command sds-demo shows SDS at work: three participants share a channel
// over a simulated broadcast that drops and reorders messages. Receivers
// notice the gaps from causal history, fetch the missing messages from a
// store (as an application would from a Waku store node), and deliver
// everything in causal order; senders see their messages acknowledged.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/libsds-go/libsds/sds"
)

const channelID = "demo-room"

type participant struct {
	name     string
	m        *sds.Manager
	ready    []string
	acked    int
	inbox    [][]byte
	reported int
}

func main() {
	loss := flag.Float64("loss", 0.3, "probability that a broadcast misses a receiver")
	rounds := flag.Int("messages", 12, "messages to send in total")
	seed := flag.Uint64("seed", 7, "random seed (runs are deterministic)")
	flag.Parse()
	if err := run(*loss, *rounds, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "sds-demo:", err)
		os.Exit(1)
	}
}

func run(loss float64, total int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x5d5))
	clock := sds.NewManualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	store := map[string][]byte{} // every published message, by id
	var ps []*participant
	for _, name := range []string{"alice", "bob", "carol"} {
		cfg := sds.DefaultConfig()
		cfg.ParticipantID = name
		cfg.Clock = clock
		m, err := sds.NewManager(cfg)
		if err != nil {
			return err
		}
		p := &participant{name: name, m: m}
		m.SetEventHandler(func(e sds.Event) {
			switch e.Kind {
			case sds.EventMessageReady:
				p.ready = append(p.ready, e.MessageID)
			case sds.EventMessageAcknowledged:
				p.acked++
				fmt.Printf("  %-5s  ✓ %s acknowledged by a peer\n", p.name, e.MessageID)
			case sds.EventMissingDependencies:
				var ids []string
				for _, d := range e.MissingDeps {
					ids = append(ids, d.MessageID)
				}
				p.reported++
				fmt.Printf("  %-5s  ? %s waits for %s\n", p.name, e.MessageID, strings.Join(ids, ", "))
			}
		})
		ps = append(ps, p)
	}
	fmt.Printf("SDS demo: 3 participants, %d messages, %.0f%% loss, seed %d\n\n", total, loss*100, seed)

	for i := 1; i <= total; i++ {
		clock.Advance(time.Second)
		sender := ps[rng.IntN(len(ps))]
		id := fmt.Sprintf("%s-%d", sender.name, i)
		wire, err := sender.m.Wrap(channelID, id, []byte(fmt.Sprintf("hello #%d from %s", i, sender.name)))
		if err != nil {
			return err
		}
		store[id] = wire
		var got []string
		for _, p := range ps {
			if p != sender && rng.Float64() >= loss {
				p.inbox = append(p.inbox, wire)
				got = append(got, p.name)
			}
		}
		fmt.Printf("%s sends %s (%d bytes on the wire) → reaches [%s]\n", sender.name, id, len(wire), strings.Join(got, " "))
		// Each receiver processes its inbox in a shuffled order: reordering.
		for _, p := range ps {
			rng.Shuffle(len(p.inbox), func(a, b int) { p.inbox[a], p.inbox[b] = p.inbox[b], p.inbox[a] })
			for _, b := range p.inbox {
				if _, err := p.m.Unwrap(b); err != nil {
					return err
				}
			}
			p.inbox = p.inbox[:0]
		}
	}

	fmt.Println("\nRepair: each participant fetches what it is missing from the store")
	for _, p := range ps {
		for pass := 0; ; pass++ {
			st, _ := p.m.ChannelState(channelID)
			// Everything published that this participant neither delivered
			// nor holds waiting: what its missing-dependency events named,
			// and messages no later message has pointed at yet.
			held := map[string]bool{}
			for _, id := range st.MessageHistory {
				held[id] = true
			}
			for _, in := range st.Incoming {
				held[in.MessageID] = true
			}
			want := map[string]bool{}
			for id := range store {
				if !held[id] {
					want[id] = true
				}
			}
			if len(want) == 0 {
				break
			}
			ids := make([]string, 0, len(want))
			for id := range want {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			fmt.Printf("  %-5s  fetches %s\n", p.name, strings.Join(ids, ", "))
			for _, id := range ids {
				if _, err := p.m.Unwrap(store[id]); err != nil {
					return err
				}
			}
		}
	}

	fmt.Println("\nOne more round so everyone's bloom filter acknowledges the rest")
	for _, sender := range ps {
		clock.Advance(time.Second)
		id := sender.name + "-bye"
		wire, err := sender.m.Wrap(channelID, id, []byte("bye"))
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p != sender {
				if _, err := p.m.Unwrap(wire); err != nil {
					return err
				}
			}
		}
	}

	fmt.Println("\nResult")
	ok := true
	for _, p := range ps {
		st, _ := p.m.ChannelState(channelID)
		fmt.Printf("  %-5s delivered %2d messages in causal order, %d acknowledged, %d still unacknowledged, %d waiting\n",
			p.name, len(p.ready), p.acked, len(st.Outgoing), len(st.Incoming))
		if len(st.Incoming) != 0 || len(st.MessageHistory) != total+len(ps) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("participants did not converge")
	}
	fmt.Println("\nAll participants hold the same", total+len(ps), "messages.")
	return nil
}
