package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"
)

// Apply writes one event into a view, inside the transaction the consumer opened. It is
// called only for an event newer than what the view holds.
type Apply func(ctx context.Context, tx *sqlx.Tx, ev Envelope) error

// ApplyBatch writes a batch of events into a view, inside the transaction the consumer
// opened: only events newer than what the view holds, at most one per entity (the newest
// of the batch), in stream order. A view that derives state from sets (a closure, a
// subject's scope set) changes its sets for the whole batch and derives once.
type ApplyBatch func(ctx context.Context, tx *sqlx.Tx, evs []Envelope) error

// Consumer is a durable JetStream pull consumer shared by all replicas of one service. It
// applies the events waiting together in one database transaction with the version guard
// and acknowledges them only after commit: redelivery and reordering are harmless, and
// nothing acknowledged can be lost.
type Consumer struct {
	Name     string   // durable name, one per consuming service and view
	Subjects []string // e.g. iam.*.clients.client.*
	DB       *sqlx.DB
	JS       jetstream.JetStream
	// Apply applies one event at a time; ApplyBatch, when set, a batch at once (and
	// Apply is not used).
	Apply      Apply
	ApplyBatch ApplyBatch
	Logger     *slog.Logger

	AckWait       time.Duration // default 30s
	MaxDeliver    int           // default 8 failures of the event's own; then it is dead-lettered
	MaxAckPending int           // default 1000
	// MaxBatch is how many waiting events one transaction applies at most (default 100,
	// 500 with ApplyBatch): a burst (a bulk load, NATS back after an outage) costs a
	// commit per batch rather than one per event, and with ApplyBatch one derivation.
	MaxBatch int

	lag       prometheus.Gauge
	applied   prometheus.Gauge
	events    prometheus.Counter
	batchSize prometheus.Histogram
	dead      prometheus.Counter
	paused    prometheus.Gauge
	retries   prometheus.Counter
}

// Register adds the consumer's metrics, labelled with its name.
func (c *Consumer) Register(reg prometheus.Registerer) {
	labels := prometheus.Labels{"consumer": c.Name}
	c.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_consumer_lag", Help: "Events in the stream not yet applied by this consumer.", ConstLabels: labels})
	c.applied = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_consumer_last_applied_sequence", Help: "Stream sequence of the last event this consumer applied.", ConstLabels: labels})
	c.events = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_consumer_applied_events_total", Help: "Events this consumer committed and acknowledged (those the version guard found stale included): rate() is its throughput.", ConstLabels: labels})
	c.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "iam_consumer_batch_size", Help: "Events per transaction this consumer committed.", ConstLabels: labels,
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}})
	c.dead = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_consumer_dead_letters_total", Help: "Events this consumer gave up on and dead-lettered.", ConstLabels: labels})
	c.paused = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_consumer_paused", Help: "1 while this consumer waits for its database to come back.", ConstLabels: labels})
	c.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_consumer_dependency_retries_total", Help: "Attempts this consumer repeated because its own database was unavailable.", ConstLabels: labels})
	reg.MustRegister(c.lag, c.applied, c.events, c.batchSize, c.dead, c.paused, c.retries)
}

// Run consumes until ctx ends, re-attaching if NATS restarts.
func (c *Consumer) Run(ctx context.Context) error {
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 8
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1000
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 100
		if c.ApplyBatch != nil {
			c.MaxBatch = 500
		}
	}
	if c.lag == nil {
		c.Register(prometheus.NewRegistry())
	}
	for ctx.Err() == nil {
		if err := c.consume(ctx); err != nil && ctx.Err() == nil {
			c.Logger.Warn("consumer interrupted; reattaching", "consumer", c.Name, "error", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

func (c *Consumer) consume(ctx context.Context) error {
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:        c.Name,
		FilterSubjects: c.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckWait:        c.AckWait,
		// JetStream itself never gives up on an event (it would drop it silently);
		// the consumer dead-letters after MaxDeliver failures of the event's own.
		MaxDeliver:    -1,
		MaxAckPending: c.MaxAckPending,
		BackOff:       nil,
	})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", c.Name, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(max(256, min(2*c.MaxBatch, c.MaxAckPending))))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	// The iterator blocks; a reader hands its messages over so that whatever is already
	// waiting can be taken as one batch.
	msgs, done := make(chan jetstream.Msg, c.MaxBatch), make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			msg, err := it.Next()
			if err != nil {
				done <- err
				return
			}
			msgs <- msg
		}
	}()
	for {
		msg, ok := <-msgs
		if !ok {
			if err := <-done; !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return err
			}
			return nil
		}
		batch := []jetstream.Msg{msg}
	waiting:
		for len(batch) < c.MaxBatch {
			select {
			case m, ok := <-msgs:
				if !ok {
					break waiting
				}
				batch = append(batch, m)
			default:
				break waiting
			}
		}
		c.handleBatch(ctx, batch)
	}
}

// handleBatch applies events that were waiting together in one transaction and
// acknowledges them after its commit. While the consumer's own database is away the
// batch waits for it as a whole (applyPatiently). If anything in it fails on its own
// merits, nothing of it is kept and each event goes its own way through handle:
// redelivery and dead letters work exactly as for a single event. (Views are sets, so an
// event retried after the rest of its batch ends the same.)
func (c *Consumer) handleBatch(ctx context.Context, batch []jetstream.Msg) {
	if len(batch) == 1 {
		c.handle(ctx, batch[0])
		return
	}
	evs := make([]Envelope, 0, len(batch))
	for _, msg := range batch {
		ev, err := Parse(msg.Subject(), msg.Data())
		if err != nil {
			c.handleEach(ctx, batch)
			return
		}
		evs = append(evs, ev)
	}
	stopProgress := keepInProgress(batch, c.AckWait/2)
	err := c.applyPatiently(ctx, evs)
	stopProgress()
	if ctx.Err() != nil {
		for _, msg := range batch {
			_ = msg.Nak() // shutting down: another replica, or the next start, takes them
		}
		return
	}
	if err != nil {
		c.Logger.Info("batch not applied; applying its events one by one", "consumer", c.Name, "events", len(batch), "error", err)
		c.handleEach(ctx, batch)
		return
	}
	c.acknowledge(batch)
}

// acknowledge acks a committed batch (a failed ack is harmless: the view is committed
// and a redelivery is dropped by the version guard) and records the progress.
func (c *Consumer) acknowledge(batch []jetstream.Msg) {
	for _, msg := range batch {
		if err := msg.Ack(); err != nil {
			c.Logger.Warn("ack failed", "consumer", c.Name, "error", err)
		}
	}
	c.events.Add(float64(len(batch)))
	c.batchSize.Observe(float64(len(batch)))
	if meta, err := batch[len(batch)-1].Metadata(); err == nil {
		c.lag.Set(float64(meta.NumPending))
		c.applied.Set(float64(meta.Sequence.Stream))
	}
}

func (c *Consumer) handleEach(ctx context.Context, batch []jetstream.Msg) {
	for _, msg := range batch {
		c.handle(ctx, msg)
	}
}

func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	meta, _ := msg.Metadata()
	ev, err := Parse(msg.Subject(), msg.Data())
	if err != nil {
		c.deadLetter(ctx, msg, err)
		return
	}
	// A long apply (a group with many members), or a pause while the database is away,
	// tells JetStream the consumer is still working on the event, so it is not
	// redelivered to another replica meanwhile.
	stopProgress := keepInProgress([]jetstream.Msg{msg}, c.AckWait/2)
	err = c.applyPatiently(ctx, []Envelope{ev})
	stopProgress()
	if ctx.Err() != nil {
		_ = msg.Nak() // shutting down: another replica, or the next start, takes it
		return
	}
	if err != nil {
		if meta != nil && int(meta.NumDelivered) >= c.MaxDeliver {
			c.deadLetter(ctx, msg, err)
			return
		}
		c.Logger.Warn("event not applied; will be redelivered", "consumer", c.Name, "subject", ev.Subject, "error", err)
		delay := time.Second
		if meta != nil {
			delay = min(time.Duration(meta.NumDelivered)*time.Second, 30*time.Second)
		}
		_ = msg.NakWithDelay(delay)
		return
	}
	c.acknowledge([]jetstream.Msg{msg})
}

// Backoff bounds for events held while the consumer's own dependencies fail.
const (
	pauseMin = 100 * time.Millisecond
	pauseMax = 10 * time.Second
)

// applyPatiently applies evs, waiting out failures of the consumer's own dependencies
// (its database refusing connections during a failover, a timeout): those say nothing
// about the events, so they never count towards MaxDeliver or dead-letter one. The
// consumer pauses on the events, backing off, and resumes where it stopped, in order.
// Only an error of the events' own (bad data, a broken rule) is returned.
func (c *Consumer) applyPatiently(ctx context.Context, evs []Envelope) error {
	for pause := pauseMin; ; pause = min(2*pause, pauseMax) {
		_, err := c.ApplyEvents(ctx, evs)
		if err == nil || !transient(err) || ctx.Err() != nil {
			c.paused.Set(0)
			return err
		}
		c.paused.Set(1)
		c.retries.Inc()
		c.Logger.Warn("database unavailable; consumer paused", "consumer", c.Name, "subject", evs[0].Subject, "events", len(evs),
			"retryIn", pause, "error", err)
		sleep(ctx, pause)
	}
}

// transient reports whether err is a failure of the consumer's dependencies rather than
// of the event.
func transient(err error) bool {
	return postgres.Unreachable(err) || errors.Is(err, context.DeadlineExceeded) || errs.Is(err, errs.Unavailable)
}

// ApplyEvents runs the version guard and the view change of evs (in stream order) in one
// transaction, exactly as Run applies a batch, and reports how many events the guard
// found fresh. Run calls it; a test calls it to apply the events it chose, batched as it
// chose, the way the consumer would.
func (c *Consumer) ApplyEvents(ctx context.Context, evs []Envelope) (fresh int, err error) {
	tx, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	if c.ApplyBatch != nil {
		newer, err := ClaimNewest(ctx, tx, evs)
		if err != nil {
			return 0, err
		}
		if len(newer) > 0 {
			if err := c.ApplyBatch(ctx, tx, newer); err != nil {
				return 0, err
			}
		}
		fresh = len(newer)
	} else if newer := Newest(evs); len(newer) == len(evs) {
		// No entity twice: one statement claims them all, exactly as one claim each
		// would, and the fresh ones are applied one by one, in order.
		if newer, err = ClaimNewest(ctx, tx, evs); err != nil {
			return 0, err
		}
		for _, ev := range newer {
			if err := c.Apply(ctx, tx, ev); err != nil {
				return 0, err
			}
		}
		fresh = len(newer)
	} else {
		for _, ev := range evs {
			ok, err := Claim(ctx, tx, ev)
			if err != nil {
				return 0, err
			}
			if !ok {
				continue
			}
			if err := c.Apply(ctx, tx, ev); err != nil {
				return 0, err
			}
			fresh++
		}
	}
	return fresh, tx.Commit()
}

// Claim is the version guard: it records ev's version for its entity and reports whether
// ev is newer than anything applied before. A duplicate or an older event returns false
// and must not touch the view.
func Claim(ctx context.Context, tx *sqlx.Tx, ev Envelope) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO event_versions (subject, version, event_id, tenant, deleted) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (subject) DO UPDATE SET version = EXCLUDED.version, event_id = EXCLUDED.event_id,
			deleted = EXCLUDED.deleted, tenant = EXCLUDED.tenant, applied_at = now()
		WHERE event_versions.version < EXCLUDED.version`, ev.Subject, ev.EntityVersion, ev.ID, ev.Tenant, ev.Deleted)
	if err != nil {
		return false, fmt.Errorf("version guard: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimNewest is the version guard for a batch: of each entity's events in evs only the
// newest can be fresh (the compact stream itself keeps no more than the newest), and it
// is if newer than anything applied before. It records the fresh versions in one
// statement and returns the fresh events in stream order.
func ClaimNewest(ctx context.Context, tx *sqlx.Tx, evs []Envelope) ([]Envelope, error) {
	candidates := Newest(evs)
	if len(candidates) == 0 {
		return nil, nil
	}
	subjects, versions, ids := make([]string, len(candidates)), make([]int64, len(candidates)), make([]string, len(candidates))
	tenants, deleted := make([]string, len(candidates)), make([]bool, len(candidates))
	for i, ev := range candidates {
		subjects[i], versions[i], ids[i], tenants[i], deleted[i] = ev.Subject, ev.EntityVersion, ev.ID, ev.Tenant, ev.Deleted
	}
	// Rows are written in subject order, so two replicas claiming overlapping batches
	// lock them in the same order and cannot deadlock.
	var claimed []string
	if err := tx.SelectContext(ctx, &claimed, `
		INSERT INTO event_versions AS v (subject, version, event_id, tenant, deleted)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::boolean[]) ORDER BY 1
		ON CONFLICT (subject) DO UPDATE SET version = EXCLUDED.version, event_id = EXCLUDED.event_id,
			deleted = EXCLUDED.deleted, tenant = EXCLUDED.tenant, applied_at = now()
		WHERE v.version < EXCLUDED.version
		RETURNING v.subject`,
		pq.Array(subjects), pq.Array(versions), pq.Array(ids), pq.Array(tenants), pq.BoolArray(deleted)); err != nil {
		return nil, fmt.Errorf("version guard: %w", err)
	}
	won := make(map[string]bool, len(claimed))
	for _, s := range claimed {
		won[s] = true
	}
	return slices.DeleteFunc(candidates, func(ev Envelope) bool { return !won[ev.Subject] }), nil
}

// Newest keeps, of each entity's events in evs, the one with the highest version (the
// first of equals), in stream order.
func Newest(evs []Envelope) []Envelope {
	newest := make(map[string]int, len(evs))
	for i, ev := range evs {
		if j, ok := newest[ev.Subject]; !ok || ev.EntityVersion > evs[j].EntityVersion {
			newest[ev.Subject] = i
		}
	}
	out := make([]Envelope, 0, len(newest))
	for i, ev := range evs {
		if newest[ev.Subject] == i {
			out = append(out, ev)
		}
	}
	return out
}

// deadLetter parks a poison event on iamdlq.<consumer>.<subject> and terminates it, so one
// bad event never blocks the stream.
func (c *Consumer) deadLetter(ctx context.Context, msg jetstream.Msg, cause error) {
	c.Logger.Error("event dead-lettered", "consumer", c.Name, "subject", msg.Subject(), "error", cause)
	out := &nats.Msg{Subject: deadLetterPrefix + "." + c.Name + "." + msg.Subject(), Data: msg.Data(), Header: nats.Header{}}
	out.Header.Set("Iam-Dead-Letter-Reason", cause.Error())
	if _, err := c.JS.PublishMsg(ctx, out); err != nil {
		c.Logger.Error("dead-letter publish failed; event will be redelivered", "error", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	c.dead.Inc()
	_ = msg.Term()
}

// keepInProgress extends the ack deadline of msgs every interval until the returned func
// runs.
func keepInProgress(msgs []jetstream.Msg, interval time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, msg := range msgs {
					_ = msg.InProgress()
				}
			}
		}
	}()
	return func() { close(done) }
}
