package revocation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/events"
)

// Follower feeds a Set from the IAM stream with an ordered, ephemeral consumer: every
// replica of every service needs every entry, so no durable consumer is shared. It starts
// at now minus the longest token lifetime (and Leeway): anything older no longer covers
// a valid token. When NATS is lost the set keeps what it has and the service goes on
// serving with it (iam_nats_connected shows the outage); the consumer resumes where it
// stopped, or reattaches from the window's start, once NATS is back.
type Follower struct {
	Set    *Set
	JS     jetstream.JetStream
	Logger *slog.Logger
	// PruneEvery is how often expired entries are dropped; default one minute.
	PruneEvery time.Duration

	started  time.Time
	caughtUp prometheus.Gauge
	catchUp  prometheus.Gauge
	entries  prometheus.GaugeFunc
	applied  prometheus.Counter
	unread   prometheus.Counter
	timeouts prometheus.Counter
	refused  prometheus.CounterFunc
}

// Register adds the follower's metrics.
func (f *Follower) Register(reg prometheus.Registerer) {
	f.caughtUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_revocation_caught_up",
		Help: "1 once the token deny set has read the revocation events up to the stream's head."})
	f.catchUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iam_revocation_catchup_seconds",
		Help: "How long the token deny set took to read the revocation events at start-up."})
	f.entries = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iam_revocation_entries",
		Help: "Entries in the token deny set (revoked tokens, deleted clients, deleted or locked users, withdrawn client access)."},
		func() float64 { return float64(f.Set.Len()) })
	f.applied = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_revocation_events_total",
		Help: "Revocation-relevant events read into the token deny set."})
	f.unread = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_revocation_unreadable_events_total",
		Help: "Events the token deny set could not read (logged and skipped)."})
	f.timeouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "iam_revocation_catchup_timeouts_total",
		Help: "Start-ups that began accepting tokens before the deny set had caught up (NATS unreachable or slow)."})
	f.refused = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "iam_revocation_refused_total",
		Help: "Tokens refused because they were revoked after they were issued."},
		func() float64 { return float64(f.Set.Refused()) })
	reg.MustRegister(f.caughtUp, f.catchUp, f.entries, f.applied, f.unread, f.timeouts, f.refused)
}

// Hold makes the set refuse tokens with 503 until it has caught up, for at most wait;
// past that, the service serves with what the set holds, logs it and counts it.
func (f *Follower) Hold(wait time.Duration) {
	f.started = time.Now()
	f.Set.HoldUntilCaughtUp(wait, func() {
		if f.timeouts != nil {
			f.timeouts.Inc()
		}
		f.Logger.Error("token revocations not loaded in time; accepting tokens with the deny set as it stands",
			"wait", wait)
	})
}

// Run follows the stream until ctx ends, reattaching after an error, and prunes expired
// entries.
func (f *Follower) Run(ctx context.Context) error {
	if f.caughtUp == nil {
		f.Register(prometheus.NewRegistry())
	}
	if f.started.IsZero() {
		f.started = time.Now()
	}
	every := f.PruneEvery
	if every <= 0 {
		every = time.Minute
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				f.Set.Prune(now)
			}
		}
	}()
	for ctx.Err() == nil {
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		f.Logger.Warn("token revocation feed interrupted; reattaching", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (f *Follower) follow(ctx context.Context) error {
	start := time.Now().Add(-f.Set.MaxTTL - Leeway)
	cons, err := f.JS.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: Subjects,
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		f.markCaughtUp()
	}
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return nil
			}
			return err
		}
		f.apply(msg)
		if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 {
			f.markCaughtUp()
		}
	}
}

func (f *Follower) apply(msg jetstream.Msg) {
	ev, err := events.Parse(msg.Subject(), msg.Data())
	if err == nil {
		err = f.Set.Apply(ev)
	}
	if err != nil {
		f.unread.Inc()
		f.Logger.Warn("unreadable event skipped by the token deny set", "subject", msg.Subject(), "error", err)
		return
	}
	f.applied.Inc()
}

func (f *Follower) markCaughtUp() {
	if f.Set.CaughtUp() {
		return
	}
	f.Set.MarkCaughtUp()
	f.caughtUp.Set(1)
	took := time.Since(f.started)
	f.catchUp.Set(took.Seconds())
	f.Logger.Info("token revocations loaded", "took", took, "entries", f.Set.Len())
}
