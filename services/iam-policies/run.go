// Package iampolicies wires the iam-policies service: policies, access checks, effective
// policies and scopes, tenant roles, the actions catalog and Emporix-style RBAC, with its
// views of subjects and memberships kept from iam-subjects' events.
package iampolicies

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/dialect"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/iam-policies/api"
	emporixapi "github.com/iamplane/iam/services/iam-policies/api/emporix"
	"github.com/iamplane/iam/services/iam-policies/internal/actions"
	"github.com/iamplane/iam/services/iam-policies/internal/events"
	"github.com/iamplane/iam/services/iam-policies/internal/httpapi"
	"github.com/iamplane/iam/services/iam-policies/internal/httpapi/emporix"
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
	// CheckIndexMaxPolicies is the largest tenant (in policies) whose checks are answered
	// from an in-memory index, about 100 bytes a policy; 0 turns the index off.
	CheckIndexMaxPolicies int `env:"IAM_CHECK_INDEX_MAX_POLICIES" envDefault:"2000000"`
	// CheckIndexIdle drops a tenant's index after this long without a check; 0: never.
	CheckIndexIdle time.Duration `env:"IAM_CHECK_INDEX_IDLE" envDefault:"30m"`
	// CheckIndexMaxBytes is the memory budget of all tenants' indexes together: past it
	// the least recently used are dropped; 0: none.
	CheckIndexMaxBytes int64 `env:"IAM_CHECK_INDEX_MAX_BYTES" envDefault:"536870912"`
}

// Run serves iam-policies until ctx ends.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var cfg Config
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec,
		service.WithDialects(service.Dialect{Name: "emporix", Prefixes: []string{"/iam/"}, Spec: emporixapi.GetSpec,
			TenantParam: "tenant", Errors: dialect.EmporixErrors}))
	if err != nil {
		return err
	}
	scopes := &postgres.ScopeSets{}
	p.Publishes("policies", scopes.Republish)
	var indexes policies.Indexes // none: every check queries the database
	var workers []func(context.Context) error
	if cfg.CheckIndexMaxPolicies > 0 {
		x := &postgres.Indexes{DB: p.DB, DSN: cfg.DatabaseURL, Logger: p.Logger, MaxPolicies: cfg.CheckIndexMaxPolicies,
			IdleAfter: cfg.CheckIndexIdle, MaxBytes: cfg.CheckIndexMaxBytes}
		x.Register(p.Registry)
		indexes, workers = x, append(workers, x.Run)
	}
	engine := policies.NewEngine(&postgres.Policies{DB: p.DB, Scopes: scopes}, indexes, uuid.NewString)
	catalog := rbac.NewCatalog(&postgres.RBAC{DB: p.DB, Scopes: scopes}, time.Now, uuid.NewString)
	server := httpapi.NewServer(actions.NewCatalog(&postgres.Actions{DB: p.DB}, time.Now), engine, catalog)
	api.RegisterHandlers(e, api.NewStrictHandler(server, nil))
	emporixapi.RegisterHandlers(e, emporixapi.NewStrictHandler(emporix.NewServer(engine, catalog), nil))
	views := &postgres.Views{Scopes: scopes}
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.Subjects(views), events.ScopeDefinitions(views)}, onListen, workers...)
}
