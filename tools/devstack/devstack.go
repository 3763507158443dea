// Package devstack runs the whole platform in one process: the four services and the
// gateway that routes by collection, against a PostgreSQL and a NATS the caller provides.
// `make dev`, the end-to-end tests and the load tools all start the platform through it,
// so what the tests exercise is what a newcomer runs.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/iamplane/iam/pkg/service"

	consent "github.com/iamplane/iam/services/consent"
	iampolicies "github.com/iamplane/iam/services/iam-policies"
	iamsubjects "github.com/iamplane/iam/services/iam-subjects"
	oauthclients "github.com/iamplane/iam/services/oauth-clients"
)

// Services are the platform's services by name.
var Services = map[string]service.RunFunc{
	"oauth-clients": oauthclients.Run,
	"iam-subjects":  iamsubjects.Run,
	"iam-policies":  iampolicies.Run,
	"consent":       consent.Run,
}

// Options say where the stack's dependencies are.
type Options struct {
	// Database returns the database URL for a service (one database per service).
	Database func(service string) (string, error)
	// NATSURL returns the NATS URL for a service, with that service's own credentials
	// (natsembed.Server.URLFor): it may publish only on its own subjects.
	NATSURL func(service string) string
	// Addr is the gateway's listen address, e.g. 127.0.0.1:8080 or 127.0.0.1:0.
	Addr            string
	BootstrapID     string
	BootstrapSecret string
	Logger          *slog.Logger
	// Env adds or overrides service configuration (e.g. LOG_LEVEL).
	Env map[string]string
}

// Stack is a running platform.
type Stack struct {
	URL    string            // the gateway, e.g. http://127.0.0.1:8080
	Addrs  map[string]string // each service's own address
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	server *http.Server
}

// Start runs the gateway and every service and returns once all of them serve.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("gateway listen %s: %w", o.Addr, err)
	}
	gw := &Gateway{}
	s := &Stack{URL: "http://" + ln.Addr().String(), Addrs: map[string]string{}, server: &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.server.Serve(ln) }()

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	ready := make(chan string, len(Services))
	for name, run := range Services {
		dbURL, err := o.Database(name)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("database for %s: %w", name, err)
		}
		env := map[string]string{
			"HTTP_ADDR":      "127.0.0.1:0",
			"DATABASE_URL":   dbURL,
			"NATS_URL":       o.NATSURL(name),
			"IAM_ISSUER_URL": s.URL,
			"LOG_LEVEL":      "warn",
		}
		// The gateway runs in this process and reaches the services over loopback: its
		// X-Forwarded-For names the caller that the brute-force limits count and the
		// privacy ledger records.
		env["IAM_TRUSTED_PROXIES"] = "127.0.0.0/8,::1/128"
		if name == "oauth-clients" {
			env["IAM_BOOTSTRAP_CLIENT_ID"] = o.BootstrapID
			env["IAM_BOOTSTRAP_CLIENT_SECRET"] = o.BootstrapSecret
		}
		for k, v := range o.Env {
			env[k] = v
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := run(runCtx, env, o.Logger, func(addr string) {
				s.mu.Lock()
				s.Addrs[name] = addr
				s.mu.Unlock()
				gw.Route(name, addr)
				ready <- name
			})
			if err != nil {
				s.mu.Lock()
				s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
				s.mu.Unlock()
				ready <- ""
			}
		}()
	}
	timeout := time.After(60 * time.Second)
	for range Services {
		select {
		case name := <-ready:
			if name == "" {
				err := s.Err()
				s.Close()
				return nil, err
			}
		case <-timeout:
			s.Close()
			return nil, errors.New("services did not start within 60s")
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// Err reports services that stopped with an error.
func (s *Stack) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

// Close stops every service gracefully and then the gateway.
func (s *Stack) Close() {
	s.cancel()
	s.wg.Wait()
	_ = s.server.Close()
}
