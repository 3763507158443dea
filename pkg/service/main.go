package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/caarlos0/env/v11"
)

// RunFunc is a service's Run: it serves until ctx ends.
type RunFunc func(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error

// Main is every service binary's main: the process environment, read once, and a context
// that ends on SIGINT or SIGTERM (graceful shutdown).
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, env.ToMap(os.Environ()), nil, nil)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
