package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/service"
)

// StartService runs a service in-process on a fresh database and a free port, with env
// added to its configuration (NATS_URL and IAM_ISSUER_URL usually), and stops it in
// Cleanup. A DATABASE_URL in env is used instead of a fresh database. It returns the service's base URL once it serves.
func StartService(tb testing.TB, run service.RunFunc, env map[string]string) string {
	tb.Helper()
	cfg := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn"}
	for k, v := range env {
		cfg[k] = v
	}
	if cfg["DATABASE_URL"] == "" {
		cfg["DATABASE_URL"] = NewDatabase(tb)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- run(ctx, cfg, Logger(tb), func(addr string) { addrs <- addr }) }()
	select {
	case addr := <-addrs:
		tb.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				tb.Error("service did not stop within 30s")
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		tb.Fatalf("service did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		tb.Fatal("service did not start within 60s")
	}
	return ""
}
