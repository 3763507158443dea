// Package oauthclients wires the oauth-clients service: OAuth client registry, secrets,
// signing keys and the tenant token endpoints.
package oauthclients

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
	"github.com/iamplane/iam/services/oauth-clients/internal/postgres"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Name and Version identify the service on GET /.
const (
	Name    = "oauth-clients"
	Version = "0.1.0"
)

// Config is oauth-clients' configuration.
type Config struct {
	service.Config
	TokenTTL time.Duration `env:"IAM_TOKEN_TTL" envDefault:"1h"`
	// The bootstrap admin client of the system tenant, created (idempotently) at start-up.
	BootstrapClientID     string `env:"IAM_BOOTSTRAP_CLIENT_ID"`
	BootstrapClientSecret string `env:"IAM_BOOTSTRAP_CLIENT_SECRET,unset"`
}

// Run serves oauth-clients until ctx ends. environ is the configuration (KEY=value);
// onListen learns the bound HTTP address.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var cfg Config
	if err := service.Parse(&cfg, environ); err != nil {
		return err
	}
	p, err := service.Open(ctx, Name, cfg.Config, postgres.Migrations(), logger)
	if err != nil {
		return err
	}
	store := &postgres.Clients{DB: p.DB}
	registry := &clients.Registry{Store: store}
	scopeRegistry := &scopes.Registry{Store: &postgres.Scopes{DB: p.DB}}
	if err := scopeRegistry.EnsureBuiltIn(ctx, auth.SystemTenant); err != nil {
		p.Close()
		return fmt.Errorf("built-in scopes: %w", err)
	}
	keys := &tokens.KeyRing{DB: p.DB, TokenTTL: cfg.TokenTTL}
	if err := keys.Load(ctx); err != nil {
		p.Close()
		return err
	}
	if cfg.BootstrapClientID != "" {
		if err := registry.Bootstrap(ctx, auth.SystemTenant, cfg.BootstrapClientID, cfg.BootstrapClientSecret); err != nil {
			p.Close()
			return fmt.Errorf("bootstrap client: %w", err)
		}
	}

	spec, err := api.GetSpec()
	if err != nil {
		p.Close()
		return fmt.Errorf("load spec: %w", err)
	}
	// oauth-clients is the issuer: it verifies tokens against its own key ring.
	verifier := &auth.Verifier{Keys: keys, IssuerBase: cfg.IssuerURL, Audience: cfg.Audience, Leeway: 30 * time.Second}
	e := service.NewHTTP(service.HTTPOptions{
		Info: service.Info{Name: Name, Version: Version}, Spec: spec, Verifier: verifier,
		Logger: p.Logger, Registry: p.Registry, Ready: p.ReadyChecks(),
	})
	server := &httpapi.Server{
		Clients:      registry,
		Scopes:       scopeRegistry,
		Tokens:       &tokens.Issuer{Keys: keys, IssuerBase: cfg.IssuerURL, Audience: cfg.Audience, TTL: cfg.TokenTTL},
		Introspector: &tokens.Introspector{Verifier: verifier, Clients: store},
		Keys:         keys,
		IssuerBase:   cfg.IssuerURL,
	}
	api.RegisterHandlers(e, api.NewStrictHandler(server, nil))
	return p.Serve(ctx, e, nil, onListen)
}
