package chat

import (
	"path/filepath"

	"github.com/libsds-go/libsds/examples/p2p/record"
	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/bolt"
)

// openStore opens the participant's durable SDS store in dir (fsynced
// writes, one file) with the limits of cfg, the manager's configuration;
// the manager gets it as Config.Persistence, and it is closed after the
// manager.
func openStore(dir string, cfg *sds.Config) (persist.Backend, func() error, error) {
	s, err := bolt.Open(filepath.Join(dir, "sds.db"), &bolt.Options{Limits: cfg.PersistLimits()})
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// reconcile prints what the store holds but the previous run did not print
// (it was killed between the store's write, which comes first, and the
// print): our messages it does not show sent, acknowledgements (our
// message left the outgoing buffer), and deliveries. Without a JSON
// output file there is no record to compare with, and nothing is printed.
// It returns the number of our next message: one past the last of ours in
// the log or the record.
func (n *node) reconcile(shown journal) (nextSeq int) {
	last := shown.lastSeq(n.opt.ID)
	st, _ := n.m.ChannelState(n.channel)
	printed, settled := map[string]bool{}, map[string]bool{}
	for _, r := range shown {
		switch r.Ev {
		case record.Sent, record.Delivered:
			printed[r.Msg] = true
		case record.Acked, record.Failed:
			settled[r.Msg] = true
		}
	}
	waiting := map[string]bool{}
	for _, o := range st.Outgoing {
		waiting[o.MessageID] = true
	}
	check := n.opt.JSON && n.opt.Out != ""
	for _, id := range st.MessageHistory {
		msg, ok := n.m.LoggedMessage(n.channel, id)
		if !ok {
			continue
		}
		r := record.Record{Msg: id, Bytes: len(msg.Content), Text: shortText(msg.Content), Recovered: true}
		if msg.SenderID == n.opt.ID {
			if s, ok := seqOf(id, n.opt.ID); ok && s > last {
				last = s
			}
			if check && !printed[id] {
				r.Ev, r.Deps = record.Sent, entryIDs(msg.CausalHistory)
				n.out.emit(r)
			}
			if check && !waiting[id] && !settled[id] {
				n.out.emit(record.Record{Ev: record.Acked, Msg: id, Recovered: true})
			}
			continue
		}
		if check && !printed[id] {
			r.Ev, r.From = record.Delivered, msg.SenderID
			n.out.emit(r)
		}
	}
	return last + 1
}
