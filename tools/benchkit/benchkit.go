// Package benchkit is what the load tools under tools/cmd share: a throwaway platform on
// a real PostgreSQL and an embedded NATS, an admin token, and latency percentiles.
package benchkit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/pgcluster"

	"github.com/iamplane/iam/tools/devstack"
)

// Admin credentials of the throwaway platform's bootstrap client.
const (
	AdminID     = "bench-admin"
	AdminSecret = "bench-admin-secret"
)

// Platform is a running throwaway platform.
type Platform struct {
	*devstack.Stack
	NATS      *natsembed.Server
	Databases map[string]string // service -> database URL
	// PostgresDir is the private cluster's data directory ("" on $DATABASE_URL), for
	// tools that measure the server's own CPU.
	PostgresDir string
	close       []func()
}

// Start runs the platform on $DATABASE_URL (a server URL; databases are created and
// dropped) or on a private cluster in a temporary directory.
func Start(ctx context.Context, name string) (*Platform, error) {
	return StartWith(ctx, name, nil)
}

// StartWith is Start with env added to (or overriding) every service's configuration,
// e.g. IAM_RECONCILE_INTERVAL=0 for a tool that writes events no source database holds.
func StartWith(ctx context.Context, name string, env map[string]string) (*Platform, error) {
	p := &Platform{Databases: map[string]string{}}
	tmp, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, err
	}
	p.close = append(p.close, func() { os.RemoveAll(tmp) })
	_ = os.Chmod(tmp, 0o755) // the postgres OS user must reach the data dir when run as root
	serverURL := os.Getenv("DATABASE_URL")
	if serverURL == "" {
		// Sized as a production server would be (PostgreSQL's guidance: a quarter of RAM
		// for shared_buffers), not at the 128 MB default, so a million-row table's hot
		// pages are served from the buffer cache rather than copied in from the kernel's.
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: tmp + "/pg", Fsync: true,
			Settings: map[string]string{"shared_buffers": "2GB", "effective_cache_size": "12GB"}})
		if err != nil {
			p.Close()
			return nil, err
		}
		p.close = append(p.close, func() { _ = pg.Stop() })
		serverURL, p.PostgresDir = pg.URL("postgres"), pg.Dir()
	}
	if p.NATS, err = natsembed.Start(natsembed.Options{StoreDir: tmp + "/nats"}); err != nil {
		p.Close()
		return nil, err
	}
	p.close = append(p.close, p.NATS.Stop)
	suffix := fmt.Sprintf("_%s_%d", strings.ReplaceAll(name, "-", "_"), os.Getpid())
	serviceEnv := map[string]string{"LOG_LEVEL": "error"}
	for k, v := range env {
		serviceEnv[k] = v
	}
	var mu sync.Mutex
	p.Stack, err = devstack.Start(ctx, devstack.Options{
		Database: func(service string) (string, error) {
			db := devstack.DatabaseName(service) + suffix
			u, err := devstack.EnsureDatabase(ctx, serverURL, db)
			mu.Lock()
			p.Databases[service] = u
			p.close = append(p.close, func() { _ = devstack.DropDatabase(context.Background(), serverURL, db) })
			mu.Unlock()
			return u, err
		},
		NATSURL: p.NATS.URLFor, Addr: "127.0.0.1:0", BootstrapID: AdminID, BootstrapSecret: AdminSecret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Env: serviceEnv,
	})
	if err != nil {
		p.Close()
		return nil, err
	}
	p.close = append(p.close, p.Stack.Close)
	return p, nil
}

// Close stops everything and drops the databases, in reverse order of creation.
func (p *Platform) Close() {
	for i := len(p.close) - 1; i >= 0; i-- {
		p.close[i]()
	}
}

// Token gets a client_credentials token from the platform.
func Token(base, tenant, id, secret string) (string, error) {
	return devstack.ClientToken(context.Background(), base, tenant, id, secret)
}

// CreateClient registers a confidential client named name with scopes in tenant, as
// bearer, and returns its id and its secret (shown once).
func CreateClient(hc *http.Client, base, bearer, tenant, name string, scopes ...string) (id, secret string, err error) {
	if scopes == nil {
		scopes = []string{}
	}
	var c struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	api := &devstack.TenantAPI{HTTP: hc, Base: base, Tenant: tenant, Bearer: bearer}
	if err := api.Call(context.Background(), http.MethodPost, "/clients", map[string]any{"clientName": name, "scopes": scopes},
		http.StatusCreated, &c); err != nil {
		return "", "", fmt.Errorf("create client: %w", err)
	}
	return c.ClientID, c.ClientSecret, nil
}

// Percentile is the p-th percentile of xs (p in 0..100).
func Percentile(xs []time.Duration, p int) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[max(0, min(len(s)-1, (len(s)*p+99)/100-1))]
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
