package service

import (
	"context"
	"log/slog"
	"time"
)

// Every is a background worker (for Platform.Serve) that runs f every d until its
// context ends. A failure is logged as what failed and retried at the next tick: pruning
// and other housekeeping must never stop a service.
func Every(d time.Duration, logger *slog.Logger, what string, f func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := f(ctx); err != nil && ctx.Err() == nil {
					logger.Warn(what+" failed; will retry", "error", err)
				}
			}
		}
	}
}
