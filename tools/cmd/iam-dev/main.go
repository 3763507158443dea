// Command iam-dev runs the whole platform on one machine for development: an embedded
// NATS server, PostgreSQL ($DATABASE_URL, else the server answering on 127.0.0.1:5432,
// else, or with IAM_DEV_POSTGRES=private, a private cluster from the installed binaries
// in $IAM_DEV_DIR), the four services and a gateway on 127.0.0.1:8080 ($IAM_DEV_PORT). Data
// lives under .dev/ and is reused by the next run. Ctrl-C stops everything.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/pgcluster"

	"github.com/iamplane/iam/tools/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iam-dev:", err)
		os.Exit(1)
	}
}

func getenv(get func(string) string, key, fallback string) string {
	if v := get(key); v != "" {
		return v
	}
	return fallback
}

func run(ctx context.Context, get func(string) string, out io.Writer) error {
	dir, err := filepath.Abs(getenv(get, "IAM_DEV_DIR", ".dev"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	serverURL := get("DATABASE_URL")
	switch {
	case serverURL != "":
		fmt.Fprintln(out, "using PostgreSQL from DATABASE_URL")
	case get("IAM_DEV_POSTGRES") != "private" && pgcluster.Ping(pgcluster.LocalURL, time.Second) == nil:
		// The machine's own server, in databases of our own (iam_<service>).
		serverURL = pgcluster.LocalURL
		fmt.Fprintln(out, "using the PostgreSQL answering on 127.0.0.1:5432")
	default:
		fmt.Fprintf(out, "starting a private PostgreSQL for %s/postgres ...\n", dir)
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "postgres"), Fsync: true, Logger: logger})
		if err != nil {
			return fmt.Errorf("postgres: %w (set DATABASE_URL to use an existing server)", err)
		}
		defer func() { _ = pg.Stop() }()
		fmt.Fprintf(out, "PostgreSQL data in %s\n", pg.Dir())
		serverURL = pg.URL("postgres")
	}
	ns, err := natsembed.Start(natsembed.Options{StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer ns.Stop()

	id := getenv(get, "IAM_BOOTSTRAP_CLIENT_ID", "iam-admin")
	secret := getenv(get, "IAM_BOOTSTRAP_CLIENT_SECRET", "dev-admin-secret")
	stack, err := devstack.Start(ctx, devstack.Options{
		Database: func(service string) (string, error) {
			return devstack.EnsureDatabase(ctx, serverURL, devstack.DatabaseName(service))
		},
		NATSURL:         ns.URLFor,
		Addr:            "127.0.0.1:" + getenv(get, "IAM_DEV_PORT", "8080"),
		BootstrapID:     id,
		BootstrapSecret: secret,
		Logger:          logger,
		Env:             map[string]string{"LOG_LEVEL": getenv(get, "LOG_LEVEL", "info")},
	})
	if err != nil {
		return err
	}
	defer stack.Close()

	// A person and an application to try sign-in with, on the next port.
	adminToken, err := devstack.ClientToken(ctx, stack.URL, "system", id, secret)
	if err != nil {
		return err
	}
	demo, err := devstack.StartDemo(ctx, stack.URL, adminToken, "127.0.0.1:"+getenv(get, "IAM_DEV_DEMO_PORT", "8081"))
	if err != nil {
		return err
	}
	defer demo.Close()

	fmt.Fprintf(out, `
IAM platform running at %[1]s  (data in %[3]s)
NATS with full rights: %[2]s

Follow the events as another team would, with the reader's credentials:
  go run ./tools/cmd/iam-events -nats '%[6]s' -filter 'iam.acme.>'

Bootstrap admin client (system tenant, scope services.iam):
  client id:     %[4]s
  client secret: %[5]s

Get a token and list the clients of tenant "acme":
  TOKEN=$(curl -s -u %[4]s:%[5]s -d grant_type=client_credentials %[1]s/v1/tenants/system/oauth2/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/v1/tenants/acme/clients

Sign in as a person: open %[11]s and sign in as %[12]s / %[13]s
(a demo application, public client %[14]s of tenant "%[15]s", with PKCE; it shows the ID
token and userinfo it got).

Each service's own endpoints (/health, /health/ready, /metrics, /openapi.json) are at
its address, not through the gateway:
  oauth-clients http://%[7]s   iam-subjects http://%[8]s
  iam-policies  http://%[9]s   consent      http://%[10]s

Press Ctrl-C to stop.
`, stack.URL, ns.URL(), dir, id, secret, ns.URLFor(events.ReaderUser),
		stack.Addrs["oauth-clients"], stack.Addrs["iam-subjects"], stack.Addrs["iam-policies"], stack.Addrs["consent"],
		demo.URL, demo.Username, demo.Password, demo.ClientID, demo.Tenant)
	<-ctx.Done()
	fmt.Fprintln(out, "stopping ...")
	return stack.Err()
}
