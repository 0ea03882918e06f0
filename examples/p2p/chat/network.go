package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// envelopeBytes is what gossipsub adds around a published message (sender,
// sequence number, topic, signature and key, with their framing).
const envelopeBytes = 4 << 10

// network is the libp2p host and the participant's gossipsub topic.
type network struct {
	ctx    context.Context // ends when the network closes
	cancel context.CancelFunc
	host   host.Host
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
}

// startNetwork starts a TCP-only host on opt.Listen with the participant's
// key, joins the topic (gossipsub taking messages up to maxMessage bytes)
// and keeps dialing opt.Peers until each is connected.
func startNetwork(opt *Options, maxMessage int) (*network, error) {
	key, err := loadKey(opt.StateDir)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(opt.Listen),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
	)
	if err != nil {
		return nil, err
	}
	net := &network{host: h}
	net.ctx, net.cancel = context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(net.ctx, h, pubsub.WithMaxMessageSize(maxMessage+envelopeBytes))
	if err == nil {
		net.topic, err = ps.Join(opt.Topic)
	}
	if err == nil {
		// Room for bursts (a restarted peer's repairs): a full subscription
		// buffer makes pubsub drop messages.
		net.sub, err = net.topic.Subscribe(pubsub.WithBufferSize(4096))
	}
	if err != nil {
		net.close()
		return nil, err
	}
	for _, a := range opt.Peers {
		ai, err := peer.AddrInfoFromString(a)
		if err != nil {
			net.close()
			return nil, fmt.Errorf("peer %q: %w", a, err)
		}
		go net.keepDialing(*ai)
	}
	return net, nil
}

// keepDialing connects to a peer, again every second while it is not
// connected (it may not run yet, or may be restarting).
func (net *network) keepDialing(ai peer.AddrInfo) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if len(net.host.Network().ConnsToPeer(ai.ID)) == 0 {
			ctx, cancel := context.WithTimeout(net.ctx, 5*time.Second)
			_ = net.host.Connect(ctx, ai)
			cancel()
		}
		select {
		case <-net.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitPeers waits until n peers joined the topic, or timeout passed.
func (net *network) waitPeers(ctx context.Context, n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for len(net.topic.ListPeers()) < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// address is the host's first listen address with its peer id: what
// another participant dials.
func (net *network) address() string {
	addrs := net.host.Addrs()
	if len(addrs) == 0 {
		return "/p2p/" + net.host.ID().String()
	}
	return addrs[0].String() + "/p2p/" + net.host.ID().String()
}

func (net *network) close() {
	net.cancel()
	if net.sub != nil {
		net.sub.Cancel()
	}
	if net.topic != nil {
		_ = net.topic.Close()
	}
	_ = net.host.Close()
}

// loadKey returns the participant's libp2p key, kept in dir so that a
// restarted participant keeps its peer id (a new one without dir).
func loadKey(dir string) (crypto.PrivKey, error) {
	if dir == "" {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		return k, err
	}
	path := filepath.Join(dir, "peer.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return crypto.UnmarshalPrivateKey(b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	if b, err = crypto.MarshalPrivateKey(k); err != nil {
		return nil, err
	}
	return k, os.WriteFile(path, b, 0o600)
}
