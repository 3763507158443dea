package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/pgcluster"

	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"

	"github.com/iamplane/iam/tools/devstack"
)

const (
	adminID     = "faults-admin"
	adminSecret = "faults-admin-secret"
)

// Options shape one scenario's platform.
type Options struct {
	Dir  string // the scenario's own directory: databases, NATS stores, service logs
	Bins string // the built service binaries (Build)
	// Replicas of every service; default 1.
	Replicas int
	// OwnPostgres names a service that gets a PostgreSQL cluster of its own, so that its
	// database alone can be taken away.
	OwnPostgres string
	// NATSCluster runs a three-node JetStream cluster and streams with three replicas.
	NATSCluster bool
	// Env adds or overrides every service's configuration.
	Env    map[string]string
	Logger *slog.Logger
}

// Platform is the four services as separate processes, on private PostgreSQL and NATS,
// behind a gateway in this process.
type Platform struct {
	opts Options

	pg      *postgres           // shared by every service but OwnPostgres
	ownPG   *postgres           // OwnPostgres's, if any
	NATS    *natsembed.Server   // single node, or
	Cluster *natsembed.Cluster  // three nodes
	natsURL string              // full rights (the services' and the suite's)
	DBURL   map[string]string   // service -> its database URL
	dbs     map[string]*sqlx.DB // the suite's own connections, opened on demand
	procs   map[string][]*process
	gw      *gateway
	srv     *http.Server
	URL     string // the gateway
	NC      *nats.Conn
	// Progress, if set, hears how a wait for convergence is going every 5 s.
	Progress func(format string, args ...any)
	http     *http.Client
	token    string
	tokenMu  sync.Mutex
	closers  []func()
}

// postgres is a pgcluster that can be stopped and started again on its port and data.
type postgres struct {
	opts    pgcluster.Options
	cluster *pgcluster.Cluster
}

func startPostgres(ctx context.Context, dir string, logger *slog.Logger) (*postgres, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pg := &postgres{opts: pgcluster.Options{Dir: dir, Port: port, Fsync: true, Logger: logger,
		Settings: map[string]string{"max_connections": "300"}}}
	return pg, pg.start(ctx)
}

func (pg *postgres) start(ctx context.Context) error {
	c, err := pgcluster.Start(ctx, pg.opts)
	if err != nil {
		return err
	}
	pg.cluster = c
	return nil
}

func (pg *postgres) stop() error { return pg.cluster.Stop() }

func (pg *postgres) restart(ctx context.Context) error {
	if err := pg.stop(); err != nil {
		return err
	}
	return pg.start(ctx)
}

// Start brings up PostgreSQL, NATS, the gateway and every service, and gets an admin token.
func Start(ctx context.Context, opts Options) (*Platform, error) {
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	p := &Platform{opts: opts, DBURL: map[string]string{}, dbs: map[string]*sqlx.DB{}, procs: map[string][]*process{},
		gw: newGateway(), http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	if err := p.start(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Platform) start(ctx context.Context) error {
	var err error
	if p.pg, err = startPostgres(ctx, filepath.Join(p.opts.Dir, "postgres"), p.opts.Logger); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	p.closers = append(p.closers, func() { _ = p.pg.cluster.Remove() })
	if p.opts.OwnPostgres != "" {
		if p.ownPG, err = startPostgres(ctx, filepath.Join(p.opts.Dir, "postgres-"+p.opts.OwnPostgres), p.opts.Logger); err != nil {
			return fmt.Errorf("postgres of %s: %w", p.opts.OwnPostgres, err)
		}
		p.closers = append(p.closers, func() { _ = p.ownPG.cluster.Remove() })
	}
	for _, s := range Services {
		pg := p.pg
		if s == p.opts.OwnPostgres {
			pg = p.ownPG
		}
		if p.DBURL[s], err = devstack.EnsureDatabase(ctx, pg.cluster.URL("postgres"), devstack.DatabaseName(s)); err != nil {
			return err
		}
	}
	if p.opts.NATSCluster {
		if p.Cluster, err = natsembed.StartCluster(natsembed.ClusterOptions{Dir: filepath.Join(p.opts.Dir, "nats")}); err != nil {
			return err
		}
		p.closers = append(p.closers, p.Cluster.Stop)
		p.natsURL = p.Cluster.URL()
	} else {
		if p.NATS, err = natsembed.Start(natsembed.Options{StoreDir: filepath.Join(p.opts.Dir, "nats")}); err != nil {
			return err
		}
		p.closers = append(p.closers, p.NATS.Stop)
		p.natsURL = p.NATS.URL()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.URL = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: p.gw, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	p.closers = append(p.closers, func() { _ = p.srv.Close() })

	for _, s := range Services {
		for r := range p.opts.Replicas {
			env := map[string]string{
				"DATABASE_URL":           p.DBURL[s],
				"NATS_URL":               p.natsURL,
				"IAM_ISSUER_URL":         p.URL,
				"IAM_JWKS_URL":           p.URL + "/v1/tenants/system/oauth2/jwks",
				"LOG_LEVEL":              "warn",
				"IAM_RECONCILE_INTERVAL": "5s",
			}
			if s == "oauth-clients" {
				env["IAM_BOOTSTRAP_CLIENT_ID"], env["IAM_BOOTSTRAP_CLIENT_SECRET"] = adminID, adminSecret
			}
			if p.opts.NATSCluster {
				env["NATS_STREAM_REPLICAS"] = "3"
			}
			for k, v := range p.opts.Env {
				env[k] = v
			}
			proc, err := newProcess(s, r, filepath.Join(p.opts.Bins, s), filepath.Join(p.opts.Dir, "logs"), env)
			if err != nil {
				return err
			}
			p.procs[s] = append(p.procs[s], proc)
		}
		addrs := make([]string, len(p.procs[s]))
		for i, proc := range p.procs[s] {
			addrs[i] = proc.addr
		}
		p.gw.route(s, addrs)
	}
	// Replicas migrate under an advisory lock; start them together as a deployment would.
	var wg sync.WaitGroup
	errs := make(chan error, len(Services)*p.opts.Replicas)
	for _, s := range Services {
		for _, proc := range p.procs[s] {
			wg.Go(func() { errs <- proc.start(ctx) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	p.closers = append(p.closers, func() {
		for _, s := range Services {
			for _, proc := range p.procs[s] {
				proc.stop()
			}
		}
	})
	if p.NC, err = nats.Connect(p.natsURL, nats.Name("iam-faults"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.RetryOnFailedConnect(true)); err != nil {
		return err
	}
	p.closers = append(p.closers, p.NC.Close)
	return p.refreshToken(ctx)
}

// Close stops everything Start started, in reverse order.
func (p *Platform) Close() {
	for _, db := range p.dbs {
		_ = db.Close()
	}
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

// NATSURL is the full-rights client URL of the platform's NATS.
func (p *Platform) NATSURL() string { return p.natsURL }

// refreshToken gets a token for the bootstrap admin client from oauth-clients' token
// endpoint (client_secret_basic), as any API client does.
func (p *Platform) refreshToken(ctx context.Context) error {
	c, err := clientsapi.NewClientWithResponses(p.URL, clientsapi.WithHTTPClient(p.http))
	if err != nil {
		return err
	}
	gt := "client_credentials"
	var last error
	for range 20 {
		resp, err := c.IssueTokenWithFormdataBodyWithResponse(ctx, "system", clientsapi.IssueTokenFormdataRequestBody{GrantType: &gt},
			func(_ context.Context, r *http.Request) error {
				r.SetBasicAuth(url.QueryEscape(adminID), url.QueryEscape(adminSecret))
				return nil
			})
		if err == nil && resp.JSON200 != nil {
			p.tokenMu.Lock()
			p.token = resp.JSON200.AccessToken
			p.tokenMu.Unlock()
			return nil
		}
		if err == nil {
			err = fmt.Errorf("token endpoint answered %d: %s", resp.StatusCode(), resp.Body)
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("admin token: %w", last)
}

// authorize adds the admin token to a request.
func (p *Platform) authorize(_ context.Context, r *http.Request) error {
	p.tokenMu.Lock()
	defer p.tokenMu.Unlock()
	r.Header.Set("Authorization", "Bearer "+p.token)
	return nil
}

// DB is the suite's own connection to a service's database (to check the source of
// truth, or a view's tables, directly).
func (p *Platform) DB(service string) (*sqlx.DB, error) {
	if db, ok := p.dbs[service]; ok {
		return db, nil
	}
	db, err := sqlx.Open("postgres", p.DBURL[service])
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	p.dbs[service] = db
	return db, nil
}

// Kill sends SIGKILL to replica r of service.
func (p *Platform) Kill(service string, r int) { p.procs[service][r].kill() }

// StartService starts replica r of service again and waits until it is ready.
func (p *Platform) StartService(ctx context.Context, service string, r int) error {
	return p.procs[service][r].start(ctx)
}

// StopService shuts replica r of service down gracefully.
func (p *Platform) StopService(service string, r int) { p.procs[service][r].stop() }

// Down lists the replicas that exited by themselves (a crash, not a kill of ours).
func (p *Platform) Down() []string {
	var down []string
	for _, s := range Services {
		for _, proc := range p.procs[s] {
			proc.mu.Lock()
			started := proc.cmd != nil
			proc.mu.Unlock()
			if started && !proc.running() {
				down = append(down, proc.name()+" (log "+proc.logPath+")")
			}
		}
	}
	return down
}

// reconcileReply is what iamsync.reconcile.<service> answers.
type reconcileReply struct {
	Report events.ReconcileReport `json:"report"`
	Error  string                 `json:"error,omitempty"`
}

// DryRun asks every service to compare its views with their sources, nothing resent, and
// returns the reports by service. A service that does not answer, or answers with an
// error, is an error.
func (p *Platform) DryRun(ctx context.Context) (map[string]events.ReconcileReport, error) {
	out := map[string]events.ReconcileReport{}
	var errs []error
	for _, s := range Services {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		msg, err := p.NC.RequestWithContext(rctx, events.ReconcileSubject(s), []byte(`{"dryRun": true}`))
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			continue
		}
		var r reconcileReply
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			continue
		}
		if r.Error != "" {
			errs = append(errs, fmt.Errorf("%s: %s", s, r.Error))
		}
		out[s] = r.Report
	}
	return out, errors.Join(errs...)
}

// Convergence is what WaitConverged saw.
type Convergence struct {
	Took      time.Duration // from the call to every dry run reporting 0 differing
	Converged bool
	Differing int    // summed over services in the last dry run
	Last      string // the last dry run's reports or errors, for a report
}

// WaitConverged polls the services' dry runs until every report says differing 0, at
// most bound.
func (p *Platform) WaitConverged(ctx context.Context, bound time.Duration) Convergence {
	start := time.Now()
	deadline := start.Add(bound)
	var c Convergence
	lastProgress := time.Now()
	for {
		reports, err := p.DryRun(ctx)
		c.Differing = 0
		for _, r := range reports {
			c.Differing += r.Differing
		}
		c.Last = describe(reports, err)
		if err == nil && c.Differing == 0 && len(reports) == len(Services) {
			c.Took, c.Converged = time.Since(start), true
			return c
		}
		if p.Progress != nil && time.Since(lastProgress) >= 5*time.Second {
			lastProgress = time.Now()
			p.Progress("waiting %s: %s; consumers: %s", time.Since(start).Round(time.Second), c.Last, p.consumers(ctx))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.Took = time.Since(start)
			if err != nil && c.Differing == 0 {
				c.Differing = -1 // unknown: some service did not answer
			}
			return c
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// consumers summarises the durable consumers: events pending and unacknowledged.
func (p *Platform) consumers(ctx context.Context) string {
	js, err := jetstream.New(p.NC)
	if err != nil {
		return err.Error()
	}
	st, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return err.Error()
	}
	var parts []string
	lister := st.ListConsumers(ctx)
	for info := range lister.Info() {
		parts = append(parts, fmt.Sprintf("%s %d pending, %d unacked, %d redelivered", info.Name, info.NumPending, info.NumAckPending, info.NumRedelivered))
	}
	if err := lister.Err(); err != nil {
		parts = append(parts, err.Error())
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

func describe(reports map[string]events.ReconcileReport, err error) string {
	var b strings.Builder
	for _, s := range Services {
		if r, ok := reports[s]; ok {
			b.WriteString(s + ": " + strconv.Itoa(r.Differing) + "/" + strconv.Itoa(r.Tenants) + " differing; ")
		}
	}
	if err != nil {
		b.WriteString("errors: " + err.Error())
	}
	return b.String()
}
