// Command iam-policies serves the policies, RBAC and access checks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/caarlos0/env/v11"

	iampolicies "github.com/iamplane/iam/services/iam-policies"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := iampolicies.Run(ctx, env.ToMap(os.Environ()), nil, nil); err != nil {
		fmt.Fprintln(os.Stderr, "iam-policies:", err)
		os.Exit(1)
	}
}
