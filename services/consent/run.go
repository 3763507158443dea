// Package consent wires the consent service: versioned consents, grants, consent actions
// and the hash-chained privacy ledger.
package consent

import (
	"context"
	"log/slog"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
	"github.com/iamplane/iam/services/consent/internal/events"
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
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec)
	if err != nil {
		return err
	}
	store := &postgres.Store{DB: p.DB}
	p.Publishes("consent", store.Republish)
	book := consents.NewBook(store, nil)
	actions := consents.NewActions(&postgres.ConsentActions{DB: p.DB}, nil)
	api.RegisterHandlers(e, api.NewStrictHandler(httpapi.NewServer(book, actions), nil))
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.Views(store)}, onListen)
}
