// Command iam-subjects serves the users, groups, memberships and subjects.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/caarlos0/env/v11"

	iamsubjects "github.com/iamplane/iam/services/iam-subjects"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := iamsubjects.Run(ctx, env.ToMap(os.Environ()), nil, nil); err != nil {
		fmt.Fprintln(os.Stderr, "iam-subjects:", err)
		os.Exit(1)
	}
}
