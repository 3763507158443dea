package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/testenv"
)

// Where a consumer's time goes, on a view whose change is one upsert an event:
//
//	go test -run '^$' -bench 'Consumer|ApplyEvents' -benchtime 5000x ./pkg/events
//
// BenchmarkConsumer is the whole way (pull, parse, guard, view, commit, ack) for events
// already waiting; BenchmarkApplyEvents the transaction alone, a batch of 100 at a time.
func BenchmarkConsumer(b *testing.B) {
	upsert := func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, 'x') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.EntityID())
		return err
	}
	for _, batched := range []bool{false, true} {
		b.Run(map[bool]string{false: "apply", true: "apply-batch"}[batched], func(b *testing.B) {
			w := mustWorld(b)
			ctx := context.Background()
			nc, _ := nats.Connect(w.nats.URL())
			defer nc.Close()
			for i := range b.N {
				raw, _ := json.Marshal(thing(b, "acme", fmt.Sprint("t", i), 1, false, "x"))
				if err := nc.Publish(fmt.Sprint("iam.acme.things.thing.t", i), raw); err != nil {
					b.Fatal(err)
				}
			}
			_ = nc.Flush()
			c := &events.Consumer{Name: "bench", Subjects: []string{"iam.*.things.thing.*"}, DB: w.db, JS: w.js, Apply: upsert, Logger: testenv.Logger(b)}
			if batched {
				c.Apply, c.ApplyBatch = nil, func(ctx context.Context, tx *sqlx.Tx, evs []events.Envelope) error {
					for _, ev := range evs {
						if err := upsert(ctx, tx, ev); err != nil {
							return err
						}
					}
					return nil
				}
			}
			reg := prometheus.NewRegistry()
			c.Register(reg)
			b.ResetTimer()
			start := time.Now()
			w.run(b, c)
			for metric(b, reg, "iam_consumer_applied_events_total") < float64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/metric(b, reg, "iam_consumer_batch_size"), "events/batch")
			_ = ctx
		})
	}
}

func BenchmarkApplyEvents(b *testing.B) {
	upsert := func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, 'x') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.EntityID())
		return err
	}
	for _, tc := range []struct {
		name  string
		c     events.Consumer
		twice bool // an entity twice in every batch: Apply's guard claims one event at a time
	}{
		{"apply-guard-each", events.Consumer{Apply: upsert}, true},
		{"apply", events.Consumer{Apply: upsert}, false},
		{"apply-batch", events.Consumer{ApplyBatch: func(ctx context.Context, tx *sqlx.Tx, evs []events.Envelope) error {
			for _, ev := range evs {
				if err := upsert(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		}}, false},
		{"guard-only", events.Consumer{ApplyBatch: func(context.Context, *sqlx.Tx, []events.Envelope) error { return nil }}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := mustWorld(b)
			c := tc.c
			c.DB = w.db
			evs := make([]events.Envelope, b.N)
			for i := range evs {
				evs[i] = thing(b, "acme", fmt.Sprint("t", i), 1, false, "x")
				if tc.twice && i%100 == 1 {
					evs[i] = thing(b, "acme", fmt.Sprint("t", i-1), 2, false, "x")
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i += 100 {
				if _, err := c.ApplyEvents(context.Background(), evs[i:min(i+100, b.N)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
