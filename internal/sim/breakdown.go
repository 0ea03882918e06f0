package sim

import (
	"cmp"
	"slices"

	"github.com/libsds-go/libsds/sds/wire"
)

// Breakdown says where the time of the delayed deliveries goes. A delivery
// is delayed when it was not made as the message's first broadcast
// arrived: that copy was lost (the message came later, by a repair or a
// resend) or the message waited for others it depends on.
//
// A participant p's wait for a message r is cut at four moments:
//
//   - detected: p first learned that r was missing (a received message or
//     sync named it);
//   - requested: the last repair request for r that anyone broadcast
//     before the answer p received (the one that worked);
//   - answered: the copy of r that reached p first was broadcast;
//   - arrived: that copy reached p.
//
// If r's first broadcast reached p, all four are that broadcast and its
// arrival. A delayed delivery of m, from m's first broadcast to its
// delivery, is split at these moments (each kept within the delivery's
// span and in order) into Detect, Request, Answer, Transit and CausalWait
// (after the arrival); Offline is the part of the time before detection
// during which p or r's sender was offline (Network.Outages, churn), taken
// out of Detect. Own does so with m's own moments: waiting behind
// other messages is CausalWait. ByRootCause does so with the moments of
// the message that held m up last - following the dependency delivered
// last to p, back to a message released by its own arrival - so that a
// wait behind others counts in the phase the blocking message was in;
// CausalWait is then what no arrival explains (dependencies given up).
type Breakdown struct {
	// Delayed counts the delayed deliveries; Repaired those of them where
	// the message's first broadcast did not reach p.
	Delayed     int64     `json:"delayed_deliveries"`
	Repaired    int64     `json:"repaired_deliveries"`
	Own         PhaseView `json:"own"`
	ByRootCause PhaseView `json:"by_root_cause"`
}

// PhaseView splits every delayed delivery (All) and those among them with
// a latency at or above the p90 of all deliveries (Slowest).
type PhaseView struct {
	All     PhaseSet `json:"all_delayed"`
	Slowest PhaseSet `json:"slowest_tenth"`
}

// PhaseSet is the phases of a set of deliveries.
type PhaseSet struct {
	Count      int64 `json:"count"`
	Offline    Phase `json:"offline"`
	Detect     Phase `json:"detect"`
	Request    Phase `json:"request"`
	Answer     Phase `json:"answer"`
	Transit    Phase `json:"transit"`
	CausalWait Phase `json:"causal_wait"`
}

// Phase summarises one phase over a set of deliveries, in seconds; Share
// is its part of their summed latency.
type Phase struct {
	Mean  Seconds `json:"mean_s"`
	P50   Seconds `json:"p50_s"`
	P90   Seconds `json:"p90_s"`
	P99   Seconds `json:"p99_s"`
	Share float64 `json:"share"`
}

// numPhases is the number of phases of a Breakdown.
const numPhases = 6

// Phases returns the set's phases with their names, in order.
func (s *PhaseSet) Phases() [numPhases]struct {
	Name  string
	Phase *Phase
} {
	return [numPhases]struct {
		Name  string
		Phase *Phase
	}{
		{"offline", &s.Offline}, {"detect", &s.Detect}, {"request", &s.Request}, {"answer", &s.Answer},
		{"transit", &s.Transit}, {"causal wait", &s.CausalWait},
	}
}

// copyTrace is what a participant saw of one message, in ms since Start
// + 1 (0: not yet).
type copyTrace struct {
	detected int32 // first named as missing
	arrived  int32 // the first copy arrived
	answered int32 // when that copy was broadcast
	original bool  // that copy was the first broadcast
}

// traceOf returns p's trace of message idx, growing the table as needed.
func (r *run) traceOf(p int, idx int32) *copyTrace {
	part := r.parts[p]
	if int(idx) >= len(part.trace) {
		n := max(len(r.msgs), 2*len(part.trace), 64)
		part.trace = append(part.trace, make([]copyTrace, n-len(part.trace))...)
	}
	return &part.trace[idx]
}

func msStamp(ns int64) int32 { return int32(ns/1e6) + 1 }

// traceArrival records that a copy of pkt reached p.
func (r *run) traceArrival(p int, pkt *packet) {
	if pkt.msg < 0 {
		return
	}
	tr := r.traceOf(p, pkt.msg)
	if tr.arrived == 0 {
		tr.arrived, tr.answered, tr.original = msStamp(r.now), msStamp(pkt.at), pkt.kind == PacketContent
	}
}

// traceMissing records that p learned these messages are missing.
func (r *run) traceMissing(p int, deps []wire.HistoryEntry) {
	for i := range deps {
		if idx, ok := r.index[deps[i].MessageID]; ok {
			if tr := r.traceOf(p, idx); tr.detected == 0 && tr.arrived == 0 {
				tr.detected = msStamp(r.now)
			}
		}
	}
}

// traceRequests records the repair requests a broadcast carries.
func (r *run) traceRequests(reqs []wire.HistoryEntry) {
	for i := range reqs {
		if idx, ok := r.index[reqs[i].MessageID]; ok {
			m := &r.msgs[idx]
			m.requests = append(m.requests, msStamp(r.now))
		}
	}
}

// moments are a wait's detected, requested, answered and arrived times
// (ms since Start + 1).
type moments [4]int32

// momentsOf returns the moments of p's wait for a message whose copies p
// traced as tr, with the repair requests for it at requests.
func momentsOf(tr copyTrace, sent int32, requests []int32) moments {
	arr, ans := tr.arrived, tr.answered
	if tr.original {
		return moments{sent, sent, sent, arr}
	}
	det := ans
	if tr.detected != 0 {
		det = min(tr.detected, ans)
	}
	req := det
	// The last request broadcast at or before the answer.
	if i, _ := slices.BinarySearch(requests, ans+1); i > 0 {
		req = max(requests[i-1], det)
	}
	return moments{det, req, ans, arr}
}

// phasesOf splits [sent, del] at mo, each moment kept within the span and
// after the one before; offline(a, b) is how long the wait was offline
// within [a, b], taken out of the time before detection.
func phasesOf(sent, del int32, mo moments, offline func(a, b int32) int32) [numPhases]int32 {
	var out [numPhases]int32
	prev := sent
	for i, t := range mo {
		t = min(max(t, prev), del)
		out[i+1] = t - prev
		prev = t
	}
	out[numPhases-1] = del - prev
	out[0] = min(offline(sent, sent+out[1]), out[1])
	out[1] -= out[0]
	return out
}

// offlineWithin is how long p or sender was offline within [a, b] (ms
// stamps).
func (r *run) offlineWithin(p, sender int, a, b int32) int32 {
	if b <= a {
		return 0
	}
	var spans [][2]int64
	for _, q := range []int{p, sender} {
		for _, o := range r.parts[q].outages {
			lo, hi := max(o[0], int64(a-1)*1e6), min(o[1], int64(b-1)*1e6)
			if lo < hi {
				spans = append(spans, [2]int64{lo, hi})
			}
		}
	}
	slices.SortFunc(spans, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	var total, end int64
	for _, s := range spans {
		if s[0] > end {
			end = s[0]
		}
		if s[1] > end {
			total += s[1] - end
			end = s[1]
		}
	}
	return int32(total / 1e6)
}

// phaseSamples collects phases of delayed deliveries.
type phaseSamples struct{ all, slow [numPhases][]int32 }

func (s *phaseSamples) add(ph [numPhases]int32, slow bool) {
	for i, v := range ph {
		s.all[i] = append(s.all[i], v)
		if slow {
			s.slow[i] = append(s.slow[i], v)
		}
	}
}

func (s *phaseSamples) view() PhaseView {
	return PhaseView{All: phaseSet(s.all), Slowest: phaseSet(s.slow)}
}

// breakdown computes the Breakdown at the end of the run; p90 is the p90
// latency of all deliveries, in ms.
func (r *run) breakdown(p90 int32) Breakdown {
	var b Breakdown
	var own, root phaseSamples
	roots := make([]int32, len(r.msgs))
	for p, part := range r.parts {
		r.rootsAt(p, roots)
		for idx := range r.msgs {
			m := &r.msgs[idx]
			if p == int(m.sender) || idx >= len(part.delivered) || part.delivered[idx] == 0 {
				continue
			}
			tr := r.traceAt(p, int32(idx))
			del, sent := part.delivered[idx], msStamp(m.sentAt)
			if tr.arrived == 0 || (tr.original && del == tr.arrived) {
				continue // on time (or delivered without a traced copy)
			}
			b.Delayed++
			if !tr.original {
				b.Repaired++
			}
			slow := del-sent >= p90
			offline := func(sender int32) func(a, b int32) int32 {
				return func(a, b int32) int32 { return r.offlineWithin(p, int(sender), a, b) }
			}
			own.add(phasesOf(sent, del, momentsOf(tr, sent, m.requests), offline(m.sender)), slow)
			rm, rs := momentsOf(tr, sent, m.requests), m.sender
			if c := roots[idx]; c >= 0 && c != int32(idx) {
				rc := &r.msgs[c]
				rm, rs = momentsOf(r.traceAt(p, c), msStamp(rc.sentAt), rc.requests), rc.sender
			}
			root.add(phasesOf(sent, del, rm, offline(rs)), slow)
		}
	}
	b.Own, b.ByRootCause = own.view(), root.view()
	return b
}

func (r *run) traceAt(p int, idx int32) copyTrace {
	if t := r.parts[p].trace; int(idx) < len(t) {
		return t[idx]
	}
	return copyTrace{}
}

// rootsAt sets roots[m] to the message whose arrival let p deliver m: m
// itself when it came after all its dependencies, else the root of the
// dependency p delivered last; -1 when no arrival explains the delivery
// (a dependency given up) or p did not deliver m. Dependencies come
// before the messages naming them, so one pass in order suffices.
func (r *run) rootsAt(p int, roots []int32) {
	part := r.parts[p]
	for idx := range r.msgs {
		roots[idx] = -1
		if idx >= len(part.delivered) || part.delivered[idx] == 0 {
			continue
		}
		del := part.delivered[idx]
		arr := r.traceAt(p, int32(idx)).arrived
		if int(r.msgs[idx].sender) == p {
			arr = del // its own message: delivered when sent
		}
		last, lastAt := int32(-1), int32(0)
		for _, d := range r.msgs[idx].deps {
			if at := part.delivered[d]; at > lastAt {
				last, lastAt = d, at
			}
		}
		switch {
		case arr != 0 && arr >= lastAt && arr == del:
			roots[idx] = int32(idx)
		case last >= 0 && lastAt == del:
			roots[idx] = roots[last]
		}
	}
}

func phaseSet(v [numPhases][]int32) PhaseSet {
	s := PhaseSet{Count: int64(len(v[0]))}
	var total float64
	sums := [numPhases]float64{}
	for i := range v {
		for _, x := range v[i] {
			sums[i] += float64(x)
		}
		total += sums[i]
	}
	for i, named := range s.Phases() {
		if len(v[i]) == 0 {
			continue
		}
		slices.Sort(v[i])
		q := func(f float64) Seconds { return Seconds(float64(quantile(v[i], f)) / 1000) }
		*named.Phase = Phase{Mean: Seconds(sums[i] / float64(len(v[i])) / 1000), P50: q(0.5), P90: q(0.9), P99: q(0.99)}
		if total > 0 {
			named.Phase.Share = sums[i] / total
		}
	}
	return s
}
