// Package iampolicies wires the iam-policies service: policies, access checks, effective
// policies and scopes, tenant roles, the actions catalog and Emporix-style RBAC, with its
// views of subjects and memberships kept from iam-subjects' events.
package iampolicies

import (
	"context"
	"log/slog"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/events"
	"github.com/iamplane/iam/services/iam-policies/internal/httpapi"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
	"github.com/iamplane/iam/services/iam-policies/internal/postgres"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// Name and Version identify the service on GET /.
const (
	Name    = "iam-policies"
	Version = "0.1.0"
)

// Config is iam-policies' configuration.
type Config struct {
	service.Config
}

// Run serves iam-policies until ctx ends.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var cfg Config
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec)
	if err != nil {
		return err
	}
	scopes := &postgres.ScopeSets{}
	server := &httpapi.Server{
		Actions:  &postgres.Actions{DB: p.DB},
		Policies: &policies.Engine{Store: &postgres.Policies{DB: p.DB, Scopes: scopes}},
		RBAC:     &rbac.Catalog{Store: &postgres.RBAC{DB: p.DB, Scopes: scopes}},
	}
	api.RegisterHandlers(e, api.NewStrictHandler(server, nil))
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.Subjects(&postgres.Views{Scopes: scopes})}, onListen)
}
