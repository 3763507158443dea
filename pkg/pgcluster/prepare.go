package pgcluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// binDir finds the server binaries. pg_config may come from a client-only package, so
// every candidate must actually hold initdb and postgres.
func binDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	// Debian keeps one directory per major version; prefer the newest.
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versioned, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	candidates = append(candidates, versioned...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errors.New("pgcluster: no PostgreSQL server binaries (initdb, postgres) found via " +
		"pg_config --bindir, /usr/lib/postgresql/*/bin or $PATH; install the PostgreSQL server package")
}

// version parses the major version out of /usr/lib/postgresql/<version>/bin ("9.6", "15").
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// credential returns whom to run PostgreSQL as: nil (ourselves) unless we are root, which
// initdb and postgres refuse to be.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, so PostgreSQL must run as the postgres OS user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: uid of postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: gid of postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDir creates dir and, as root, hands it to the postgres user.
func prepareDir(dir string, cred *syscall.Credential) error {
	// Parents are created enterable so the postgres user can reach dir when we are root;
	// dir itself must be private or postgres refuses it.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("pgcluster: create data directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pgcluster: create data directory: %w", err)
	}
	if cred == nil {
		return nil
	}
	if err := checkReachable(dir, cred); err != nil {
		return err
	}
	return chownAll(dir, cred)
}

// checkReachable fails early and clearly where PostgreSQL would only say "Permission
// denied": an ancestor of dir the postgres user cannot enter (Go's t.TempDir() as root).
// Supplementary groups are not consulted because the child runs without any.
func checkReachable(dir string, cred *syscall.Credential) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		perm := fi.Mode().Perm()
		var search bool
		switch {
		case st.Uid == cred.Uid:
			search = perm&0o100 != 0
		case st.Gid == cred.Gid:
			search = perm&0o010 != 0
		default:
			search = perm&0o001 != 0
		}
		if !search {
			return fmt.Errorf("pgcluster: the postgres OS user cannot reach %s: %s has mode %s; "+
				"use a data directory whose parents it may enter (e.g. under /tmp)", dir, p, perm)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func chownAll(dir string, cred *syscall.Credential) error {
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("pgcluster: hand %s to the postgres user: %w", dir, err)
	}
	return nil
}

// initIfNeeded creates a cluster in dir unless there is one already. The C locale keeps
// the cluster independent of which locales the machine has installed.
func initIfNeeded(ctx context.Context, bin, dir string, fsync bool, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pgcluster: inspect data directory: %w", err)
	}
	args := []string{"-D", dir, "--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"}
	if !fsync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), args...)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr(cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: initdb %s: %w\n%s", dir, err, out)
	}
	return nil
}

// removeStalePID deletes the postmaster.pid a killed server left behind, if its process
// is gone. A live pid is left for postgres to judge: it may really be running.
func removeStalePID(dir string) error {
	path := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: read %s: %w", path, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 0 &&
		!errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("pgcluster: remove stale %s: %w", path, err)
	}
	return nil
}

// freePort asks the kernel for an unused port. It comes from the ephemeral range, but the
// well-known PostgreSQL and NATS ports are refused outright in case that range was
// widened: a system server may want them later. Another process could take the port
// before postgres binds it; that shows up as a start-up error.
func freePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port != 5432 && port != 4222 {
			l.Close()
			return port, nil
		}
		defer l.Close() // held until we return, so the next Listen gets another port
	}
}

// maxSocketPath stays below sun_path (108 bytes on Linux, 104 on macOS).
const maxSocketPath = 100

// socketDir is dir itself unless the socket path would be too long for a Unix socket;
// then a fresh directory under /tmp (not $TMPDIR, which is long on macOS).
func socketDir(dir string, port int, cred *syscall.Credential) (string, bool, error) {
	if len(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))) < maxSocketPath {
		return dir, false, nil
	}
	tmp, err := os.MkdirTemp("/tmp", "pgsock")
	if err != nil {
		return "", false, fmt.Errorf("pgcluster: socket directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(tmp)
			return "", false, fmt.Errorf("pgcluster: socket directory: %w", err)
		}
	}
	return tmp, true, nil
}
