package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"
)

// Apply writes one event into a view, inside the transaction the consumer opened. It is
// called only for an event newer than what the view holds.
type Apply func(ctx context.Context, tx *sqlx.Tx, ev Envelope) error

// Consumer is a durable JetStream pull consumer shared by all replicas of one service. It
// applies each event in one database transaction together with the version guard and
// acknowledges only after commit: redelivery and reordering are harmless, and nothing
// acknowledged can be lost.
type Consumer struct {
	Name     string   // durable name, one per consuming service and view
	Subjects []string // e.g. iam.*.clients.client.*
	DB       *sqlx.DB
	JS       jetstream.JetStream
	Apply    Apply
	Logger   *slog.Logger

	AckWait       time.Duration // default 30s
	MaxDeliver    int           // default 8 failures of the event's own; then it is dead-lettered
	MaxAckPending int           // default 1000

	lag     prometheus.Gauge
	applied prometheus.Gauge
	dead    prometheus.Counter
	paused  prometheus.Gauge
	retries prometheus.Counter
}

// Register adds the consumer's metrics, labelled with its name.
func (c *Consumer) Register(reg prometheus.Registerer) {
	labels := prometheus.Labels{"consumer": c.Name}
	c.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_consumer_lag", Help: "Events in the stream not yet applied by this consumer.", ConstLabels: labels})
	c.applied = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_consumer_last_applied_sequence", Help: "Stream sequence of the last event this consumer applied.", ConstLabels: labels})
	c.dead = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_consumer_dead_letters_total", Help: "Events this consumer gave up on and dead-lettered.", ConstLabels: labels})
	c.paused = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_consumer_paused", Help: "1 while this consumer waits for its database to come back.", ConstLabels: labels})
	c.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_consumer_dependency_retries_total", Help: "Attempts this consumer repeated because its own database was unavailable.", ConstLabels: labels})
	reg.MustRegister(c.lag, c.applied, c.dead, c.paused, c.retries)
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
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	// The iterator blocks; a reader hands its messages over so that whatever is already
	// waiting can be taken as one batch.
	msgs, done := make(chan jetstream.Msg, maxBatch), make(chan error, 1)
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
		for len(batch) < maxBatch {
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

// maxBatch is how many waiting events one transaction applies at most: a burst (a bulk
// load, NATS back after an outage) costs a commit per batch rather than one per event.
const maxBatch = 100

// handleBatch applies events that were waiting together in one transaction and
// acknowledges them after its commit. If anything in it fails, nothing of it is kept
// and each event goes its own way through handle: pauses for the database, redelivery
// and dead letters work exactly as for a single event. (Views are sets, so an event
// retried after the rest of its batch ends the same.)
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
	stops := make([]func(), len(batch))
	for i, msg := range batch {
		stops[i] = keepInProgress(msg, c.AckWait/2)
	}
	err := c.applyAll(ctx, evs)
	for _, stop := range stops {
		stop()
	}
	if err != nil {
		c.handleEach(ctx, batch)
		return
	}
	for _, msg := range batch {
		if err := msg.Ack(); err != nil {
			c.Logger.Warn("ack failed", "consumer", c.Name, "error", err)
		}
	}
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

// applyAll runs the version guard and the view change of every event in one
// transaction, in stream order.
func (c *Consumer) applyAll(ctx context.Context, evs []Envelope) error {
	tx, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, ev := range evs {
		fresh, err := Claim(ctx, tx, ev)
		if err != nil {
			return err
		}
		if !fresh {
			continue
		}
		if err := c.Apply(ctx, tx, ev); err != nil {
			return err
		}
	}
	return tx.Commit()
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
	stopProgress := keepInProgress(msg, c.AckWait/2)
	err = c.applyPatiently(ctx, ev)
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
	if err := msg.Ack(); err != nil {
		// The view is committed; a redelivery will be dropped by the version guard.
		c.Logger.Warn("ack failed", "consumer", c.Name, "error", err)
	}
	if meta != nil {
		c.lag.Set(float64(meta.NumPending))
		c.applied.Set(float64(meta.Sequence.Stream))
	}
}

// Backoff bounds for an event held while the consumer's own dependencies fail.
const (
	pauseMin = 100 * time.Millisecond
	pauseMax = 10 * time.Second
)

// applyPatiently applies ev, waiting out failures of the consumer's own dependencies (its
// database refusing connections during a failover, a timeout): those say nothing about
// the event, so they never count towards MaxDeliver or dead-letter it. The consumer
// pauses on the event, backing off, and resumes where it stopped, in order. Only an
// error of the event's own (bad data, a broken rule) is returned.
func (c *Consumer) applyPatiently(ctx context.Context, ev Envelope) error {
	for pause := pauseMin; ; pause = min(2*pause, pauseMax) {
		err := c.applyOnce(ctx, ev)
		if err == nil || !transient(err) || ctx.Err() != nil {
			c.paused.Set(0)
			return err
		}
		c.paused.Set(1)
		c.retries.Inc()
		c.Logger.Warn("database unavailable; consumer paused", "consumer", c.Name, "subject", ev.Subject,
			"retryIn", pause, "error", err)
		sleep(ctx, pause)
	}
}

// transient reports whether err is a failure of the consumer's dependencies rather than
// of the event.
func transient(err error) bool {
	return postgres.Unreachable(err) || errors.Is(err, context.DeadlineExceeded) || errs.Is(err, errs.Unavailable)
}

// applyOnce runs the version guard and the view change in one transaction.
func (c *Consumer) applyOnce(ctx context.Context, ev Envelope) error {
	tx, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	fresh, err := Claim(ctx, tx, ev)
	if err != nil || !fresh {
		return err
	}
	if err := c.Apply(ctx, tx, ev); err != nil {
		return err
	}
	return tx.Commit()
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

// keepInProgress extends msg's ack deadline every interval until the returned func runs.
func keepInProgress(msg jetstream.Msg, interval time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}
