// Command sds-chat is a group chat participant over libp2p gossipsub made
// reliable by SDS (see package chat). Two terminals:
//
//	sds-chat -id alice -listen /ip4/127.0.0.1/tcp/7001 -state /tmp/alice
//	sds-chat -id bob -state /tmp/bob -peer "$(cat /tmp/alice/address)"
//
// With -count or -messages it sends a script instead of stdin, and -json
// prints JSON lines (the p2p test runs it so). SIGINT or SIGTERM stops it
// cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/libsds-go/libsds/examples/p2p/chat"
	"github.com/libsds-go/libsds/sds"
)

type peerList []string

func (p *peerList) String() string     { return strings.Join(*p, ",") }
func (p *peerList) Set(s string) error { *p = append(*p, s); return nil }

func main() {
	opt := chat.Options{SDS: sds.DefaultConfig()}
	var peers peerList
	flag.StringVar(&opt.ID, "id", "", "participant id (required)")
	flag.StringVar(&opt.Listen, "listen", "/ip4/127.0.0.1/tcp/0", "libp2p listen address")
	flag.Var(&peers, "peer", "address of a peer to dial, /ip4/…/tcp/…/p2p/<id> (repeatable)")
	flag.StringVar(&opt.Topic, "topic", "sds-chat", "gossipsub topic, also the SDS channel")
	flag.StringVar(&opt.StateDir, "state", "", "directory for the SDS store, the libp2p key and the address file (empty: keep nothing)")
	flag.BoolVar(&opt.JSON, "json", false, "print JSON lines")
	flag.StringVar(&opt.Out, "out", "", "append output to this file (with -json, read back on restart)")
	flag.IntVar(&opt.Count, "count", 0, "send this many scripted messages instead of stdin")
	flag.StringVar(&opt.MessagesFile, "messages", "", "send the lines of this file instead of stdin")
	flag.Float64Var(&opt.Rate, "rate", 2, "scripted messages per second (0: as fast as possible)")
	flag.IntVar(&opt.Size, "size", 0, "pad scripted messages to this many bytes")
	flag.IntVar(&opt.Large, "large", 0, "scripted message number N carries the largest content SDS takes")
	flag.IntVar(&opt.CrashAfter, "crash-after", 0, "SIGKILL itself right after wrapping scripted message N, before printing or publishing it (a test's crash)")
	flag.IntVar(&opt.WaitPeers, "wait-peers", 0, "start the script and the periodic tasks once this many peers joined the topic")
	flag.DurationVar(&opt.WaitTimeout, "wait-timeout", 30*time.Second, "start the script after this long anyway")
	flag.Float64Var(&opt.Loss, "loss", 0, "drop this fraction of received gossip messages before SDS sees them")
	flag.Uint64Var(&opt.Seed, "seed", 1, "seed of the injected loss")
	flag.BoolVar(&opt.Plain, "plain", false, "no SDS: publish and print bare messages (benchmark baseline)")
	sdsFlags(&opt.SDS)
	flag.Parse()
	opt.Peers = peers

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := chat.Run(ctx, opt, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "sds-chat:", err)
		os.Exit(1)
	}
}

// sdsFlags exposes the SDS timers and bounds a test scales down; their
// defaults are the library's.
func sdsFlags(c *sds.Config) {
	flag.DurationVar(&c.ResendInterval, "resend", c.ResendInterval, "resend an unacknowledged message after this long")
	flag.DurationVar(&c.PossiblyAckedResendInterval, "resend-possibly-acked", c.PossiblyAckedResendInterval, "resend interval of a possibly acknowledged message")
	flag.IntVar(&c.MaxResendAttempts, "resend-attempts", c.MaxResendAttempts, "resends before a message fails")
	flag.DurationVar(&c.SyncMessageInterval, "sync", c.SyncMessageInterval, "interval of sync messages")
	flag.DurationVar(&c.BufferSweepInterval, "sweep", c.BufferSweepInterval, "interval of the buffer sweep (resends, re-requests, lost dependencies)")
	flag.DurationVar(&c.MaxDependencyWait, "dependency-wait", c.MaxDependencyWait, "give up on missing dependencies after this long")
	flag.DurationVar(&c.RepairTMin, "repair-min", c.RepairTMin, "SDS-R request backoff, lower bound")
	flag.DurationVar(&c.RepairTMax, "repair-max", c.RepairTMax, "SDS-R request and response backoff, upper bound")
	flag.DurationVar(&c.RepairSweepInterval, "repair-sweep", c.RepairSweepInterval, "interval of the SDS-R sweep")
	flag.IntVar(&c.MaxRepairRequests, "repair-requests", c.MaxRepairRequests, "SDS-R requests attached to one message")
	flag.IntVar(&c.MaxMessageHistory, "history", c.MaxMessageHistory, "messages kept in the local log")
	flag.IntVar(&c.MaxCausalHistory, "causal-history", c.MaxCausalHistory, "log entries each message names as its dependencies")
}
