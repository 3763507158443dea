// Command iamctl is the admin CLI of the IAM platform, built on the services' generated Go
// clients: log in with client credentials, list, get, create and delete resources, and
// export a tenant's configuration as YAML and apply it again, idempotently, so a tenant
// can be kept in git.
//
//	iamctl login --url http://127.0.0.1:8080 --client-id iam-admin --client-secret dev-admin-secret
//	iamctl groups list --tenant acme -o table
//	iamctl export --tenant acme > acme.yaml
//	iamctl apply -f acme.yaml --tenant acme-staging
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot(os.Getenv, os.Stdin).ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}

// app holds what every command needs, resolved once from flags and the config file.
type app struct {
	getenv     func(string) string
	stdin      io.Reader
	configPath string
	tenant     string
	output     string
}

func newRoot(getenv func(string) string, stdin io.Reader) *cobra.Command {
	a := &app{getenv: getenv, stdin: stdin}
	root := &cobra.Command{
		Use:           "iamctl",
		Short:         "Administer the IAM platform",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", defaultConfigPath(getenv), "config file written by login")
	root.PersistentFlags().StringVar(&a.tenant, "tenant", "", "tenant to act on (default: the tenant you logged in to)")
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(a.loginCmd(), a.exportCmd(), a.applyCmd(), a.effectiveCmd())
	for _, r := range slices.Concat(resources, rbacResources) {
		root.AddCommand(a.resourceCmd(r))
	}
	return root
}

func (a *app) target(cfg *config) string {
	if a.tenant != "" {
		return a.tenant
	}
	return cfg.Tenant
}

func fail(format string, args ...any) error { return fmt.Errorf(format, args...) }
