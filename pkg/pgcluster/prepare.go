package pgcluster

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// every candidate must actually hold the server.
func binDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	// Debian keeps one directory per major version; prefer the newest.
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versioned, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	for _, dir := range append(candidates, versioned...) {
		if fi, err := os.Stat(filepath.Join(dir, "postgres")); err == nil && fi.Mode().IsRegular() {
			return dir, nil
		}
	}
	return "", errors.New("pgcluster: no PostgreSQL server binaries found via pg_config --bindir " +
		"or in /usr/lib/postgresql/*/bin; install the PostgreSQL server package")
}

// version parses the major version out of /usr/lib/postgresql/<version>/bin ("9.6", "15").
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
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
	uid, uidErr := strconv.ParseUint(u.Uid, 10, 32)
	gid, gidErr := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(uidErr, gidErr); err != nil {
		return nil, fmt.Errorf("pgcluster: ids of the postgres OS user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// reachableDir returns where the cluster for dir lives. Running as ourselves, that is dir.
// As root, PostgreSQL runs as the postgres OS user, which must be able to enter every
// parent of its data directory; a clone in root's home (mode 0700, like most homes and
// every mktemp -d) is not. Such a cluster lives instead in a folder of its own under
// /var/tmp, named after dir, so the same dir finds the same cluster on the next start.
func reachableDir(dir string, cred *syscall.Credential) (string, error) {
	if cred == nil || enterable(filepath.Dir(dir), cred) {
		return dir, nil
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(relocationRoot, "iam-pg-"+hex.EncodeToString(sum[:6]), filepath.Base(dir)), nil
}

// relocationRoot is world-enterable and survives reboots, unlike /tmp on many machines.
const relocationRoot = "/var/tmp"

// enterable reports whether the user of cred can enter dir and every parent of it.
// A parent that does not exist yet is created by prepareDir with mode 0755.
func enterable(dir string, cred *syscall.Credential) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				return true // not a Unix file system: nothing to check
			}
			mode := fi.Mode().Perm()
			switch {
			case st.Uid == cred.Uid:
				if mode&0o100 == 0 {
					return false
				}
			case st.Gid == cred.Gid:
				if mode&0o010 == 0 {
					return false
				}
			case mode&0o001 == 0:
				return false
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
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
		hint := ""
		if cred != nil {
			hint = " (running as the postgres OS user: every parent of the directory must be enterable by it)"
		}
		return fmt.Errorf("pgcluster: initdb %s%s: %w\n%s", dir, hint, err, out)
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

// freePort asks the kernel for an unused port. It comes from the ephemeral range (32768
// and up on Linux), so never a system server's 5432 or 4222. Another process could take
// it before postgres binds it; that shows up as a start-up error.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
