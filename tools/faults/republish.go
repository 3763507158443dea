package faults

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
)

// Republish (6): stale and duplicate copies of real events are published again onto
// their subjects (with full rights, as a confused tool or a replayed backup would): every
// older event of an entity, and the newest one once more. The views must not change: the
// version guard drops them all. Copies carry no Nats-Msg-Id, so the stream's duplicate
// window does not stop them before the consumers.
func Republish(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	var mu sync.Mutex
	seen := map[string][]*nats.Msg{} // subject -> its events, oldest first
	sub, err := p.NC.Subscribe("iam.>", func(m *nats.Msg) {
		mu.Lock()
		seen[m.Subject] = append(seen[m.Subject], m)
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	_ = sub.SetPendingLimits(-1, -1)
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	w.Run(ctx, s.writes(1200), 0)
	if c := p.WaitConverged(ctx, s.Bound); !c.Converged {
		return fmt.Errorf("views did not converge before the fault: %s", c.Last)
	}
	_ = sub.Unsubscribe()
	before, err := viewContents(ctx, p)
	if err != nil {
		return err
	}

	js, err := jetstream.New(p.NC)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(s.Seed, 6))
	var copies []*nats.Msg
	mu.Lock()
	for _, subject := range slices.Sorted(maps.Keys(seen)) {
		msgs := seen[subject]
		copies = append(copies, msgs[:len(msgs)-1]...) // every stale one
		copies = append(copies, msgs[len(msgs)-1])     // and the newest, a duplicate
		if rng.IntN(4) == 0 {
			copies = append(copies, msgs[0], msgs[len(msgs)-1]) // some twice
		}
	}
	mu.Unlock()
	rng.Shuffle(len(copies), func(i, j int) { copies[i], copies[j] = copies[j], copies[i] })
	stale := 0
	for _, m := range copies {
		out := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		for k, v := range m.Header {
			if k != nats.MsgIdHdr {
				out.Header[k] = v
			}
		}
		if _, err := js.PublishMsg(ctx, out); err != nil {
			return fmt.Errorf("republish %s: %w", m.Subject, err)
		}
	}
	for _, msgs := range seen {
		stale += len(msgs) - 1
	}
	faultEnd := time.Now()
	r.note("republished %d copies of %d subjects' events: %d stale, the rest duplicates of the newest", len(copies), len(seen), stale)
	if err := drained(ctx, js, s.Bound); err != nil {
		return err
	}
	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	after, err := viewContents(ctx, p)
	if err != nil {
		return err
	}
	changed := 0
	for k, v := range before {
		if after[k] != v {
			changed++
			if changed <= 3 {
				r.note("view changed by the copies: %s", k)
			}
		}
	}
	if changed > 0 || len(after) != len(before) {
		return fmt.Errorf("%d view rows changed (%d rows before, %d after) after stale and duplicate events", changed, len(before), len(after))
	}
	r.note("%d view rows compared before and after the copies: unchanged", len(before))
	return deadLetters(ctx, p, r)
}

// viewContents is every view row CompareViews looks at, keyed by view, tenant and row.
func viewContents(ctx context.Context, p *Platform) (map[string]string, error) {
	out := map[string]string{}
	for _, t := range Tenants {
		for _, c := range viewChecks {
			rows, err := p.rows(ctx, c.viewService, c.view, t)
			if err != nil {
				return nil, err
			}
			for k, v := range rows {
				out[c.name+" "+t+" "+k] = v
			}
		}
	}
	return out, nil
}

// drained waits until every durable consumer of the event stream has nothing pending and
// nothing unacknowledged.
func drained(ctx context.Context, js jetstream.JetStream, bound time.Duration) error {
	st, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return err
	}
	return until(ctx, bound, func() (bool, error) {
		lister := st.ListConsumers(ctx)
		busy := 0
		for info := range lister.Info() {
			busy += int(info.NumPending) + info.NumAckPending
		}
		return busy == 0, lister.Err()
	})
}
