// Package consent wires the consent service: versioned consents, grants, client access
// and the privacy ledger. This first slice serves consent actions.
package consent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/httpapi"
	"github.com/iamplane/iam/services/consent/internal/postgres"
)

// Name and Version identify the service on GET /.
const (
	Name    = "consent"
	Version = "0.1.0"
)

// Config is consent's configuration.
type Config struct {
	service.Config
}

// Run serves consent until ctx ends.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var cfg Config
	if err := service.Parse(&cfg, environ); err != nil {
		return err
	}
	p, err := service.Open(ctx, Name, cfg.Config, postgres.Migrations(), logger)
	if err != nil {
		return err
	}
	spec, err := api.GetSpec()
	if err != nil {
		p.Close()
		return fmt.Errorf("load spec: %w", err)
	}
	verifier := &auth.Verifier{Keys: &auth.RemoteJWKS{URL: cfg.JWKS()}, IssuerBase: cfg.IssuerURL, Audience: cfg.Audience, Leeway: 30 * time.Second}
	e := service.NewHTTP(service.HTTPOptions{
		Info: service.Info{Name: Name, Version: Version}, Spec: spec, Verifier: verifier,
		Logger: p.Logger, Registry: p.Registry, Ready: p.ReadyChecks(),
	})
	api.RegisterHandlers(e, api.NewStrictHandler(&httpapi.Server{Actions: &postgres.ConsentActions{DB: p.DB}}, nil))
	return p.Serve(ctx, e, nil, onListen)
}
