package pgcluster

import (
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tempDir is t.TempDir made enterable by the postgres OS user when the test runs as root
// (t.TempDir and its parent are created with mode 0700).
func tempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func start(t *testing.T, dir string) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	if strings.Contains(c.URL("x"), ":5432/") {
		t.Fatalf("private cluster took the system port: %s", c.URL("x"))
	}
	return c
}

func open(t *testing.T, c *Cluster) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRestartKeepsData(t *testing.T) {
	dir := filepath.Join(tempDir(t), "data")

	c := start(t, dir)
	db := open(t, c)
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if _, err := db.Exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("postmaster.pid after a clean stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c = start(t, dir)
	var v string
	if err := open(t, c).QueryRow("SELECT v FROM kept").Scan(&v); err != nil || v != "survives" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if log, err := os.ReadFile(filepath.Join(dir, logName)); err != nil || len(log) == 0 {
		t.Fatalf("server log: %d bytes, %v", len(log), err)
	}
}

// A killed server leaves postmaster.pid behind; the next Start must cope. The data
// directory is deep enough that the socket has to live elsewhere.
func TestStartAfterKillWithLongDir(t *testing.T) {
	dir := filepath.Join(tempDir(t), strings.Repeat("d", 60), strings.Repeat("e", 40))

	c := start(t, dir)
	if c.sockDir == dir || !c.tmpSock {
		t.Fatalf("socket dir %s: expected a short temporary one", c.sockDir)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	c.removeSockDir()
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err != nil {
		t.Fatalf("expected a stale postmaster.pid: %v", err)
	}

	c2 := start(t, dir)
	if err := open(t, c2).Ping(); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	if err := c2.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(c2.sockDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary socket dir left behind: %v", err)
	}
}

// A data directory below a 0700 folder (root's home, t.TempDir) cannot be entered by the
// postgres OS user; as root the cluster moves to a folder of its own, found again on the
// next start. Running as ourselves it stays where it was asked to be.
func TestUnreachableDirIsRelocated(t *testing.T) {
	want := filepath.Join(t.TempDir(), "data") // below a 0700 parent
	c := start(t, want)
	got := c.Dir()
	if os.Geteuid() != 0 {
		if got != want {
			t.Fatalf("Dir() = %s, want %s", got, want)
		}
		return
	}
	if !strings.HasPrefix(got, relocationRoot+"/") {
		t.Fatalf("Dir() = %s, want a folder under %s", got, relocationRoot)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Dir(got)); err == nil {
			t.Errorf("%s left behind", filepath.Dir(got))
			_ = os.RemoveAll(filepath.Dir(got))
		}
	})
	if _, err := open(t, c).Exec("CREATE TABLE kept (x int)"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	again := start(t, want)
	if again.Dir() != got {
		t.Fatalf("second start in %s, first in %s", again.Dir(), got)
	}
	db := open(t, again)
	if _, err := db.Exec("SELECT * FROM kept"); err != nil {
		t.Fatalf("data of the first start: %v", err)
	}
	_ = db.Close()
	if err := again.Remove(); err != nil { // a throwaway cluster leaves nothing behind
		t.Fatalf("Remove: %v", err)
	}
}
