package oauthclients

import (
	"context"
	"log/slog"
	"time"

	"github.com/iamplane/iam/pkg/service"
)

// RunOnClock is Run with the brute-force limits on clock instead of the wall clock, for
// tests of waits of a second or two: they move the clock themselves, so that a slow
// machine cannot let a wait pass before the test has looked at it.
func RunOnClock(clock func() time.Time) service.RunFunc {
	return func(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(string)) error {
		return run(ctx, environ, logger, onListen, clock)
	}
}
