// Package testenv gives tests a real PostgreSQL database and a real NATS server. Tests
// never skip for want of either: if no server can be had, they fail saying what is
// missing.
//
// The PostgreSQL server is chosen once per test binary: $IAM_TEST_DATABASE_URL if set
// (an admin URL, e.g. postgres://postgres@db:5432/postgres?sslmode=disable), else the
// local server on 127.0.0.1:5432 if it answers, else a private throwaway cluster started
// from the installed PostgreSQL binaries. Because a private cluster must be stopped when
// the binary ends, every package using NewDatabase calls Main from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/pgcluster"
)

const envDatabaseURL = "IAM_TEST_DATABASE_URL"

// servers is the process-wide choice of PostgreSQL server. It is package state because
// tests of one binary share the server, and only Main can stop it.
var servers = &provider{envVar: envDatabaseURL, localURL: pgcluster.LocalURL}

// Main runs the tests and then stops the private PostgreSQL cluster, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if err := servers.close(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// NewDatabase creates a fresh, empty database for this test and returns its URL. The
// database is dropped in tb.Cleanup, with any connections the test left open.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return servers.newDatabase(tb)
}

// NewNATS starts an embedded JetStream server storing in tb.TempDir() and stops it in
// tb.Cleanup.
func NewNATS(tb testing.TB) *natsembed.Server {
	tb.Helper()
	s, err := natsembed.Start(natsembed.Options{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("testenv: start embedded NATS: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Logger returns a debug-level logger writing through tb.Log, so a test's log shows up
// with the test and only when it fails or runs with -v.
func Logger(tb testing.TB) *slog.Logger {
	w := &tbWriter{tb: tb}
	tb.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tbWriter hands each record to tb.Log. Goroutines of the code under test may still log
// after the test has finished, which would make tb.Log panic; those records are dropped.
type tbWriter struct {
	tb   testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// provider picks a PostgreSQL server on first use and creates test databases on it.
type provider struct {
	envVar   string // names an explicit server; "" ignores the environment
	localURL string // tried before starting a private cluster

	mu       sync.Mutex
	decided  bool
	err      error
	adminURL *url.URL
	admin    *sql.DB
	cluster  *pgcluster.Cluster // the private cluster, if one was started
	dir      string             // its data directory
}

func (p *provider) newDatabase(tb testing.TB) string {
	tb.Helper()
	admin, adminURL, err := p.server()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	// The pid keeps names apart between test binaries sharing a server; the random part
	// within one.
	name := fmt.Sprintf("t_%d_%s", os.Getpid(), randomHex(6))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		tb.Fatalf("testenv: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends the connections the test's pools still hold, which would block the drop.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u := *adminURL
	u.Path = "/" + name
	return u.String()
}

// server returns the admin connection, choosing the server on first call. A failed
// choice is kept: every test then fails with the same explanation.
func (p *provider) server() (*sql.DB, *url.URL, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.decided {
		p.decided = true
		if p.adminURL, p.err = p.pick(); p.err == nil {
			p.admin, p.err = sql.Open("postgres", p.adminURL.String())
		}
	}
	return p.admin, p.adminURL, p.err
}

func (p *provider) pick() (*url.URL, error) {
	if v := os.Getenv(p.envVar); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			// The value is not echoed: a key=value DSN would show its password.
			return nil, fmt.Errorf("%s must be a postgres:// URL", p.envVar)
		}
		if err := pgcluster.Ping(v, 10*time.Second); err != nil {
			return nil, fmt.Errorf("%s=%s does not answer: %w", p.envVar, u.Redacted(), err)
		}
		return u, nil
	}
	localErr := pgcluster.Ping(p.localURL, time.Second)
	if localErr == nil {
		return url.Parse(p.localURL)
	}
	dir, err := os.MkdirTemp("", "iam-testenv-pg-")
	if err != nil {
		return nil, fmt.Errorf("private PostgreSQL cluster: %w", err)
	}
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("no PostgreSQL server for tests: %s is not set, %s does not answer (%v), "+
			"and a private cluster could not be started: %w", envDatabaseURL, p.localURL, localErr, err)
	}
	p.cluster, p.dir = c, dir
	return url.Parse(c.URL("postgres"))
}

// close releases the server: the admin pool and, if started, the private cluster and its
// data. The next use chooses again.
func (p *provider) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	if p.admin != nil {
		errs = append(errs, p.admin.Close())
	}
	if p.cluster != nil {
		errs = append(errs, p.cluster.Remove(), os.RemoveAll(p.dir))
	}
	p.decided, p.err, p.adminURL, p.admin, p.cluster, p.dir = false, nil, nil, nil, nil, ""
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
