package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/revocation"
)

// Platform is what a service's main wires its domain onto: configuration, logger,
// database, NATS and a metrics registry of its own (so that several services can run in
// one process, as in the dev stack and the end-to-end tests).
type Platform struct {
	Config   Config
	Name     string
	Logger   *slog.Logger
	DB       *sqlx.DB
	NATS     *nats.Conn
	JS       jetstream.JetStream
	Registry *prometheus.Registry
	// Waiter holds reads that pass a consistency token until the views have caught up;
	// Serve tells it which events this service consumes.
	Waiter *events.Waiter
	// Revocations is the deny set every token check consults (see revocation.go).
	Revocations *revocation.Set

	source      *events.Source
	revocations *revocation.Follower // what this service publishes, for the views' anti-entropy
}

// Publishes names the area whose events this service publishes (subjects, clients, ...)
// and how it records an entity's current state anew: Serve then answers the views'
// digest, list and resend requests for it (events.Source).
func (p *Platform) Publishes(area string, republish events.Republish) {
	p.source = &events.Source{Area: area, DB: p.DB, Republish: republish, Logger: p.Logger}
}

// Open connects to PostgreSQL (and migrates it) and to NATS. NATS may be down at start:
// the connection keeps retrying, writes still commit to the outbox, and events flow once
// it answers.
func Open(ctx context.Context, name string, cfg Config, migrations fs.FS, logger *slog.Logger) (*Platform, error) {
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	logger = logger.With("service", name)
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, db, migrations, logger); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := events.AdvanceVersions(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name(name),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { logger.Info("nats reconnected") }))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		_ = db.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iam_nats_connected",
			Help: "1 while the service is connected to NATS; events wait in the outbox otherwise."},
			func() float64 {
				if nc.IsConnected() {
					return 1
				}
				return 0
			}))
	p := &Platform{Config: cfg, Name: name, Logger: logger, DB: db, NATS: nc, JS: js, Registry: reg,
		Waiter: &events.Waiter{DB: db, Service: name, Timeout: cfg.ConsistencyWait}}
	p.openRevocations()
	return p, nil
}

// Close releases the connections.
func (p *Platform) Close() {
	p.NATS.Close()
	_ = p.DB.Close()
}

// ReadyChecks are the dependencies /health/ready reports on: the database, and, at
// start-up only, the token revocations (until loaded or IAM_REVOCATION_WAIT has passed).
// NATS is not one: while it is down, writes still commit to the outbox and reads are
// served, so taking every pod out of service would turn a lagging view into an outage.
// Its state is the metric iam_nats_connected (alert on it, with iam_outbox_backlog).
func (p *Platform) ReadyChecks() map[string]Pinger {
	return map[string]Pinger{
		"database":    func(ctx context.Context) error { return p.DB.PingContext(ctx) },
		"revocations": p.revocationsSettled,
	}
}

// Serve runs the HTTP server, the outbox relay, the given consumers and the service's own
// background workers until ctx ends, then shuts down gracefully: in-flight requests
// finish, workers stop, connections close. A worker that fails is logged, not fatal.
// onListen, if set, learns the bound address (tests listen on port 0).
func (p *Platform) Serve(ctx context.Context, handler http.Handler, consumers []*events.Consumer, onListen func(addr string), workers ...func(context.Context) error) error {
	defer p.Close()
	for _, c := range consumers {
		p.Waiter.Subjects = append(p.Waiter.Subjects, c.Subjects...)
	}
	ln, err := net.Listen("tcp", p.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", p.Config.HTTPAddr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	p.Logger.Info("serving", "addr", ln.Addr().String())
	g, gctx := errgroup.WithContext(ctx)
	if onListen != nil {
		// Whoever waits for the service to serve (the dev stack, tests) waits until it
		// accepts tokens: its revocations are loaded, or their bound has passed.
		g.Go(func() error {
			p.Revocations.AwaitSettled(gctx)
			if gctx.Err() == nil {
				onListen(ln.Addr().String())
			}
			return nil
		})
	}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	for _, w := range workers {
		g.Go(func() error {
			if err := w(gctx); err != nil && gctx.Err() == nil {
				p.Logger.Error("background worker stopped", "error", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	g.Go(func() error {
		// Streams must exist before the relay publishes or a consumer attaches; NATS may
		// come up after us, so keep trying.
		for {
			err := events.EnsureStreams(gctx, p.JS, events.StreamOptions{Replicas: p.Config.StreamReplicas})
			if err == nil {
				break
			}
			p.Logger.Warn("event streams not ready; retrying", "error", err)
			select {
			case <-gctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		relay := &events.Relay{DB: p.DB, JS: p.JS, DSN: p.Config.DatabaseURL, Logger: p.Logger}
		relay.Register(p.Registry)
		w, wctx := errgroup.WithContext(gctx)
		w.Go(func() error { return relay.Run(wctx) })
		w.Go(func() error { return p.followRevocations(wctx) })
		for _, c := range consumers {
			c.DB, c.JS, c.Logger = p.DB, p.JS, p.Logger
			c.Register(p.Registry)
			w.Go(func() error { return c.Run(wctx) })
		}
		if p.source != nil {
			w.Go(func() error { return p.source.Run(wctx, p.NATS) })
		}
		if len(consumers) > 0 && p.Config.ReconcileInterval > 0 {
			r := &events.Reconciler{DB: p.DB, NATS: p.NATS, Consumers: consumers, Interval: p.Config.ReconcileInterval,
				Logger: p.Logger, Service: p.Name}
			r.Register(p.Registry)
			w.Go(func() error { return r.Run(wctx) })
		}
		return w.Wait()
	})
	return g.Wait()
}

// Verifier checks tokens of this platform's issuer and audience against keys.
func (p *Platform) Verifier(keys auth.KeySource) *auth.Verifier {
	return &auth.Verifier{Keys: keys, IssuerBase: p.Config.IssuerURL, Audience: p.Config.Audience, Leeway: 30 * time.Second,
		Denylist: p.Revocations}
}
