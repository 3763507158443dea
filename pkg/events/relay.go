package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// relayLockKey is the advisory lock that lets one relay replica publish at a time. Rows
// of one entity are inserted in commit order (writers lock the entity first), and a
// single publisher sends them in that order, so the stream's last message per subject
// is always the newest state. Other replicas wait as hot standbys.
const relayLockKey = 0x1a3_0b0c

// Relay publishes committed outbox rows to JetStream. NATS being down never fails a
// write: rows wait in the outbox and go out, in order, once NATS answers again.
type Relay struct {
	DB        *sqlx.DB
	JS        jetstream.JetStream
	DSN       string // for LISTEN, which needs its own connection
	Logger    *slog.Logger
	Batch     int           // rows per publish round (default 500)
	Poll      time.Duration // fallback poll when no NOTIFY arrives (default 1s)
	Retention time.Duration // how long sent rows stay for replay (default 24h)

	backlog   prometheus.Gauge
	published prometheus.Counter
	failures  prometheus.Counter
}

// Register adds the relay's metrics: the unsent backlog is the first thing to alert on.
func (r *Relay) Register(reg prometheus.Registerer) {
	r.backlog = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_outbox_backlog", Help: "Outbox events committed but not yet acknowledged by JetStream."})
	r.published = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_outbox_published_total", Help: "Outbox events published and acknowledged."})
	r.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_outbox_publish_failures_total", Help: "Publish rounds that failed and will be retried."})
	reg.MustRegister(r.backlog, r.published, r.failures)
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	if r.Batch == 0 {
		r.Batch = 500
	}
	if r.Poll == 0 {
		r.Poll = time.Second
	}
	if r.Retention == 0 {
		r.Retention = 24 * time.Hour
	}
	if r.backlog == nil {
		r.Register(prometheus.NewRegistry())
	}
	listener := pq.NewListener(r.DSN, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			r.Logger.Warn("outbox listener", "error", err)
		}
	})
	defer listener.Close()
	if err := listener.Listen(notifyChannel); err != nil {
		r.Logger.Warn("outbox listen failed; polling only", "error", err)
	}

	backoff := time.Duration(0)
	lastPrune := time.Time{}
	for {
		n, err := r.relayOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.failures.Inc()
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			r.Logger.Warn("outbox publish failed; will retry", "error", err, "retryIn", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		if time.Since(lastPrune) > time.Minute {
			r.prune(ctx)
			lastPrune = time.Now()
		}
		if n == r.Batch {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-listener.Notify:
		case <-time.After(r.Poll):
		}
	}
}

// relayOnce claims up to Batch unsent rows, publishes them and marks them sent in one
// transaction. A crash between publish and commit republishes the rows on the next
// round; the Nats-Msg-Id header makes JetStream drop those duplicates.
//
// An event's lag is mostly the round trips before its publish, so there are two: BEGIN,
// and one statement that takes the relay lock and claims the rows. The backlog gauge is
// counted afterwards, with the rows marked sent.
func (r *Relay) relayOnce(ctx context.Context) (int, error) {
	tx, err := r.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()

	var rows []struct {
		ID      string `db:"id"`
		Subject string `db:"subject"`
		Payload []byte `db:"payload"`
	}
	// Claiming unsent rows (not "id > last seen") cannot skip a row that committed late.
	// The lock is taken (once, MATERIALIZED) before any row is returned; a row another
	// relay sent meanwhile fails the sent_at recheck of FOR UPDATE and is left out.
	if err := tx.SelectContext(ctx, &rows, `
		WITH leader AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($2) AS ok)
		SELECT o.id, o.subject, o.payload FROM leader, outbox o
		WHERE leader.ok AND o.sent_at IS NULL ORDER BY o.seq LIMIT $1
		FOR UPDATE OF o SKIP LOCKED`, r.Batch, relayLockKey); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		// Idle (or another replica's turn): the backlog, if this replica is the relay.
		var leader bool
		if err := tx.GetContext(ctx, &leader, `SELECT pg_try_advisory_xact_lock($1)`, relayLockKey); err != nil {
			return 0, err
		}
		var backlog int
		if leader {
			if err := tx.GetContext(ctx, &backlog, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`); err == nil {
				r.backlog.Set(float64(backlog))
			}
		}
		return 0, nil
	}

	acks := make([]jetstream.PubAckFuture, 0, len(rows))
	for _, row := range rows {
		f, err := r.JS.PublishMsgAsync(outboxMsg(row.ID, row.Subject, row.Payload))
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", row.Subject, err)
		}
		acks = append(acks, f)
	}
	timeout := time.After(10 * time.Second)
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return 0, fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
		case <-timeout:
			return 0, errors.New("publish: no acknowledgement within 10s")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	// The count reads the statement's snapshot, before the update: it still holds the
	// rows just sent.
	var backlog int
	if err := tx.GetContext(ctx, &backlog, `
		WITH sent AS (UPDATE outbox SET sent_at = now() WHERE id = ANY($1) RETURNING 1)
		SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL) - (SELECT count(*) FROM sent)`, pq.Array(ids)); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	r.published.Add(float64(len(rows)))
	r.backlog.Set(float64(max(backlog, 0)))
	return len(rows), nil
}

// prune drops sent rows older than the replay window.
func (r *Relay) prune(ctx context.Context) {
	if _, err := r.DB.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at < now() - $1::interval`,
		fmt.Sprintf("%d seconds", int(r.Retention.Seconds()))); err != nil && ctx.Err() == nil {
		r.Logger.Warn("outbox prune failed", "error", err)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
