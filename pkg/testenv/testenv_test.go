package testenv

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/pkg/pgcluster"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestNewDatabase(t *testing.T) {
	checkDatabases(t, servers)
}

// TestPrivateCluster forces the fallback this machine would otherwise never take: no
// environment override and nothing at the local address.
func TestPrivateCluster(t *testing.T) {
	p := &provider{localURL: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"}
	t.Cleanup(func() {
		dir := p.dir
		if err := p.close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("private cluster directory %s left behind: %v", dir, err)
		}
	})
	checkDatabases(t, p)
	if p.cluster == nil || p.adminURL.Port() == "5432" {
		t.Fatalf("expected a private cluster, got %s", p.adminURL)
	}
}

// An explicit server is used as given, and one that does not answer fails the tests
// instead of being silently replaced.
func TestOverride(t *testing.T) {
	_, admin, err := servers.server()
	if err != nil {
		t.Fatal(err)
	}
	working := admin.String()
	const unreachable = "postgres://postgres:secret@127.0.0.1:1/postgres?sslmode=disable"
	t.Run("answers", func(t *testing.T) {
		t.Setenv("IAM_TEST_OVERRIDE", working)
		p := &provider{envVar: "IAM_TEST_OVERRIDE", localURL: unreachable}
		t.Cleanup(func() { _ = p.close() })
		checkDatabases(t, p)
		if p.adminURL.String() != working || p.cluster != nil {
			t.Fatalf("used %s (private cluster: %v), want %s", p.adminURL, p.cluster != nil, working)
		}
	})
	t.Run("silent", func(t *testing.T) {
		t.Setenv("IAM_TEST_OVERRIDE", unreachable)
		p := &provider{envVar: "IAM_TEST_OVERRIDE", localURL: pgcluster.LocalURL}
		t.Cleanup(func() { _ = p.close() })
		_, _, err := p.server()
		if err == nil || !strings.Contains(err.Error(), "IAM_TEST_OVERRIDE=") || strings.Contains(err.Error(), "secret") {
			t.Fatalf("err = %v, want it to name the variable and hide the password", err)
		}
		if p.cluster != nil {
			t.Fatal("fell back to a private cluster despite an explicit server")
		}
	})
}

// checkDatabases: two databases from p are distinct and usable, and each is gone once
// the test that asked for it has finished.
func checkDatabases(t *testing.T, p *provider) {
	var urls []string
	var pools []*sql.DB
	defer func() {
		for _, db := range pools {
			db.Close()
		}
	}()
	t.Run("create", func(t *testing.T) {
		a, b := p.newDatabase(t), p.newDatabase(t)
		if a == b {
			t.Fatalf("same database twice: %s", a)
		}
		urls = []string{a, b}
		dbA, dbB := open(t, a), open(t, b)
		pools = append(pools, dbA, dbB)
		if _, err := dbA.Exec("CREATE TABLE only_in_a (id int)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := dbB.QueryRow("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("table visible in the other database: n=%d err=%v", n, err)
		}
		// Left open until after the drop on purpose: the drop must end their connections.
	})
	admin, _, err := p.server()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		name := dbName(t, u)
		if !strings.HasPrefix(name, "t_") {
			t.Errorf("database name %q", name)
		}
		var exists bool
		if err := admin.QueryRow("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || exists {
			t.Errorf("database %s after cleanup: exists=%v err=%v", name, exists, err)
		}
	}
}

func open(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("connect to %s: %v", u, err)
	}
	return db
}

func dbName(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(parsed.Path, "/")
}

func TestNewNATS(t *testing.T) {
	s := NewNATS(t)
	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("ping")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("ping", []byte("pong")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil || string(msg.Data) != "pong" {
		t.Fatalf("round trip: %v %v", msg, err)
	}
}

// recorder is a testing.TB whose log and cleanups the test can inspect.
type recorder struct {
	testing.TB
	logs     []string
	cleanups []func()
}

func (r *recorder) Log(args ...any)  { r.logs = append(r.logs, fmt.Sprint(args...)) }
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// Records reach tb.Log at debug level; once the test is over they are dropped, since
// tb.Log would panic.
func TestLogger(t *testing.T) {
	r := &recorder{TB: t}
	logger := Logger(r)
	logger.Debug("during", "k", 1)
	for _, f := range r.cleanups {
		f()
	}
	logger.Info("after")
	if len(r.logs) != 1 || !strings.Contains(r.logs[0], `level=DEBUG msg=during k=1`) || strings.HasSuffix(r.logs[0], "\n") {
		t.Fatalf("logged %q", r.logs)
	}
}
