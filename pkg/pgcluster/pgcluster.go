// Package pgcluster runs a private PostgreSQL server from the locally installed binaries:
// a persistent one for `make dev` and throwaway ones for tests, so neither depends on a
// system-wide server, its port or its configuration.
package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // driver for the readiness probe
)

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	logName      = "postgres.log"
)

// LocalURL is a PostgreSQL server's usual address on a developer's machine, as the
// trusted superuser. `make dev` and the tests use it, in databases of their own, when it
// answers, before starting a private cluster.
const LocalURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Ping reports whether the server at dbURL accepts a connection within timeout.
func Ping(dbURL string, timeout time.Duration) error {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return db.PingContext(ctx)
}

// Options configures Start.
type Options struct {
	// Dir is the data directory. It is initialised if it holds no cluster yet (no
	// PG_VERSION) and reused as is otherwise. As root, when the postgres OS user cannot
	// reach Dir (it lies below a 0700 directory such as root's home or t.TempDir()'s
	// parent), the cluster lives in a folder under /var/tmp named after Dir instead;
	// Cluster.Dir says where.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Fsync keeps PostgreSQL's durability. Tests turn it off for speed: their data need
	// not survive a crash of the machine.
	Fsync bool
	// Logger receives start and stop events; nil discards them. The server's own log
	// goes to postgres.log in Dir.
	Logger *slog.Logger
	// Settings are extra server settings (name -> value), e.g. shared_buffers.
	Settings map[string]string
}

// Cluster is a running postmaster started by Start.
type Cluster struct {
	dir       string
	relocated bool // dir is a folder of its own under /var/tmp, not the Dir asked for
	sockDir   string
	tmpSock   bool // sockDir was created for this run and is removed by Stop
	port      int
	logger    *slog.Logger
	cmd       *exec.Cmd
	exited    chan struct{} // closed once cmd has been waited for; waitErr is then set
	waitErr   error

	stopOnce sync.Once
	stopErr  error
}

// Start initialises opts.Dir if needed, starts postgres on 127.0.0.1 and returns once it
// accepts connections. The server runs until Stop, or until this process dies (Linux).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: data directory: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	asked := dir
	if dir, err = reachableDir(dir, cred); err != nil {
		return nil, err
	}
	if err := prepareDir(dir, cred); err != nil {
		return nil, err
	}
	if err := initIfNeeded(ctx, bin, dir, opts.Fsync, cred); err != nil {
		return nil, err
	}
	if err := removeStalePID(dir); err != nil {
		return nil, err
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	sockDir, tmpSock, err := socketDir(dir, port, cred)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, sockDir: sockDir, tmpSock: tmpSock, port: port, logger: logger,
		exited: make(chan struct{}), relocated: dir != asked}
	if err := c.start(bin, opts.Fsync, opts.Settings, cred); err != nil {
		c.removeSockDir()
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("pgcluster: start postgres in %s: %w\n--- %s (tail) ---\n%s",
			dir, err, logName, c.logTail())
	}
	logger.Info("postgres started", "dir", dir, "url", c.URL("postgres"))
	return c, nil
}

func (c *Cluster) start(bin string, fsync bool, settings map[string]string, cred *syscall.Credential) error {
	// The log is ours to open: postgres writes it through the inherited descriptor (so its
	// owner does not matter), it stays out of our stdout, and a dev cluster appends to it.
	logFile, err := os.OpenFile(filepath.Join(c.dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: open server log: %w", err)
	}
	defer logFile.Close() // the child keeps its own copy
	args := []string{"-D", c.dir, "-p", strconv.Itoa(c.port), "-k", c.sockDir,
		"-c", "listen_addresses=127.0.0.1"}
	if !fsync {
		// Throwaway data: trade crash safety for speed wherever PostgreSQL allows it.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", name+"="+settings[name])
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	c.cmd.Dir = c.dir // our working directory may be unreadable for the postgres user
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	c.cmd.SysProcAttr = sysProcAttr(cred)
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: run postgres: %w", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()
	return nil
}

// waitReady polls until the server answers; postgres has no readiness signal of its own
// short of pg_ctl's polling, which does the same.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		pingCtx, pingCancel := context.WithTimeout(ctx, time.Second)
		err := db.PingContext(pingCtx)
		pingCancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during start-up: %v", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no connection within %s: %w (last error: %v)", startTimeout, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Remove stops the cluster and deletes its data, with the folder it was relocated to:
// for throwaway clusters (tests, load tools), which must leave nothing behind.
func (c *Cluster) Remove() error {
	err := c.Stop()
	target := c.dir
	if c.relocated {
		target = filepath.Dir(c.dir)
	}
	return errors.Join(err, os.RemoveAll(target))
}

// Dir is the data directory the cluster runs in: Options.Dir, or where it was relocated
// to for the postgres OS user.
func (c *Cluster) Dir() string { return c.dir }

// URL is the connection URL of database on this cluster, as the trusted superuser.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down and waits for it. Calling it again returns the first result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	defer c.removeSockDir()
	// SIGINT is PostgreSQL's fast shutdown: it disconnects clients (tests leave pools open)
	// and still writes a checkpoint, so the next start of a dev cluster needs no recovery.
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgcluster: signal postgres: %w", err)
	}
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("pgcluster: postgres in %s did not stop within %s and was killed", c.dir, stopTimeout)
	}
	if c.waitErr != nil {
		return fmt.Errorf("pgcluster: postgres in %s exited: %w", c.dir, c.waitErr)
	}
	c.logger.Info("postgres stopped", "dir", c.dir)
	return nil
}

func (c *Cluster) removeSockDir() {
	if c.tmpSock {
		_ = os.RemoveAll(c.sockDir)
	}
}

// logTail returns the end of the server log, where a failed start explains itself.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(filepath.Join(c.dir, logName))
	if err != nil {
		return err.Error()
	}
	return string(b[max(0, len(b)-4096):])
}
