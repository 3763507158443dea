// Package iamsubjects wires the iam-subjects service: users, groups, memberships and the
// subject search, including client subjects kept from oauth-clients' events.
package iamsubjects

import (
	"context"
	"log/slog"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/httpapi"
	"github.com/iamplane/iam/services/iam-subjects/internal/postgres"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Name and Version identify the service on GET /.
const (
	Name    = "iam-subjects"
	Version = "0.1.0"
)

// Config is iam-subjects' configuration.
type Config struct {
	service.Config
}

// Run serves iam-subjects until ctx ends.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var cfg Config
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec)
	if err != nil {
		return err
	}
	store := &postgres.Directory{DB: p.DB}
	p.Publishes("subjects", store.Republish)
	directory := subjects.NewDirectory(store, subjects.WallClock)
	api.RegisterHandlers(e, api.NewStrictHandler(httpapi.NewServer(directory), nil))
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.ClientSubjects(store)}, onListen)
}
