// Command oauth-clients serves the OAuth client registry and token endpoints.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/caarlos0/env/v11"

	oauthclients "github.com/iamplane/iam/services/oauth-clients"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := oauthclients.Run(ctx, env.ToMap(os.Environ()), nil, nil); err != nil {
		fmt.Fprintln(os.Stderr, "oauth-clients:", err)
		os.Exit(1)
	}
}
