package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Services are the platform's four services, in the order they are started.
var Services = []string{"oauth-clients", "iam-subjects", "iam-policies", "consent"}

// Build compiles the four service binaries from the workspace at repo into dir, once per
// suite: every scenario runs them as separate processes, so a SIGKILL is a real one.
func Build(ctx context.Context, repo, dir string) error {
	for _, s := range Services {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, s), "./services/"+s+"/cmd/"+s)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", s, err, out)
		}
	}
	return nil
}

// process is one replica of a service, run from its binary with an environment of its
// own, on a fixed address (a restart comes back where the gateway expects it).
type process struct {
	service string
	replica int
	bin     string
	env     []string
	addr    string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newProcess(service string, replica int, bin, logDir string, env map[string]string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env["HTTP_ADDR"] = addr
	// Only what a service needs: nothing leaks in from the caller's environment (a
	// DATABASE_URL of its own, say).
	list := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return &process{service: service, replica: replica, bin: bin, env: list, addr: addr,
		logPath: filepath.Join(logDir, fmt.Sprintf("%s-%d.log", service, replica))}, nil
}

func (p *process) name() string { return fmt.Sprintf("%s#%d", p.service, p.replica) }

// start runs the binary and waits until /health/ready answers 200 (database reachable
// and migrated).
func (p *process) start(ctx context.Context) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return nil
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The kernel kills the service if the suite dies: no orphan keeps a port or a database.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", p.name(), err)
	}
	_ = logFile.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	return p.waitReady(ctx, exited)
}

func (p *process) waitReady(ctx context.Context, exited chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/health/ready", nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited during start-up; see %s", p.name(), p.logPath)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; see %s", p.name(), ctx.Err(), p.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL: no graceful shutdown, nothing acknowledged or flushed.
func (p *process) kill() { p.signal(syscall.SIGKILL, 0) }

// stop asks for a graceful shutdown (SIGTERM) and kills after a while.
func (p *process) stop() { p.signal(syscall.SIGTERM, 20*time.Second) }

func (p *process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// running reports whether the process is up (not exited by itself).
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errDown is what the gateway answers with when no replica of a service accepts.
var errDown = errors.New("no replica accepts connections")
