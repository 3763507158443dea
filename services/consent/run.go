// Package consent wires the consent service: versioned consents, grants, consent actions,
// the hash-chained privacy ledger, and the consent screen of the sign-in handshake.
package consent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/dialect"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/handshake"
	"github.com/iamplane/iam/pkg/keyring"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/consent/api"
	cloudentityapi "github.com/iamplane/iam/services/consent/api/cloudentity"
	"github.com/iamplane/iam/services/consent/internal/consents"
	"github.com/iamplane/iam/services/consent/internal/events"
	"github.com/iamplane/iam/services/consent/internal/httpapi"
	"github.com/iamplane/iam/services/consent/internal/httpapi/cloudentity"
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
	// KeyRotationInterval is how old the key that signs consent verdicts may get before a
	// new one takes over (retired keys stay published until their verdicts have
	// expired); 0 turns scheduled rotation off.
	KeyRotationInterval time.Duration `env:"IAM_KEY_ROTATION_INTERVAL" envDefault:"720h"`
}

// Run serves consent until ctx ends.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var (
		cfg Config
		// oauth-clients' published keys: they verify access tokens and, on the consent
		// screen, the consent challenges oauth-clients signs.
		issuerKeys *auth.RemoteJWKS
	)
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec,
		service.WithOwnKeys(func(_ context.Context, p *service.Platform) (auth.KeySource, error) {
			issuerKeys = &auth.RemoteJWKS{URL: p.Config.JWKS()}
			return issuerKeys, nil
		}),
		service.WithPages("/consent-screen"),
		service.WithDialects(service.Dialect{Name: "cloudentity", Prefixes: []string{"/api/admin/"},
			Spec: cloudentityapi.GetSpec, TenantParam: "tid", Errors: dialect.CloudentityErrors}))
	if err != nil {
		return err
	}
	// Consent verdicts live a minute; the ring keeps a retired key published that long.
	verdictKeys := keyring.New(&keyring.Postgres{DB: p.DB}, handshake.VerdictTTL)
	if err := verdictKeys.Load(ctx); err != nil {
		p.Close()
		return err
	}
	store := &postgres.Store{DB: p.DB}
	p.Publishes("consent", store.Republish)
	book := consents.NewBook(store, nil)
	actions := consents.NewActions(&postgres.ConsentActions{DB: p.DB}, nil)
	screen := consents.NewScreen(store, issuerKeys, verdictKeys, cfg.IssuerURL, nil)
	pages, err := httpapi.NewConsentScreen(screen, p.Logger)
	if err != nil {
		p.Close()
		return fmt.Errorf("consent screen: %w", err)
	}
	api.RegisterHandlers(e, api.NewStrictHandler(httpapi.NewServer(book, actions), nil))
	cloudentityapi.RegisterHandlers(e, cloudentityapi.NewStrictHandler(cloudentity.NewServer(book, actions), nil))
	pages.Register(e)
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.Views(store)}, onListen, workers(p, cfg, verdictKeys, screen)...)
}

// workers are the service's background work: the verdict keys' refresh and rotation, and
// forgetting used consent challenges once they have expired.
func workers(p *service.Platform, cfg Config, keys *keyring.Ring, screen *consents.Screen) []func(context.Context) error {
	return append(keys.Workers(cfg.KeyRotationInterval, p.Logger),
		service.Every(10*time.Minute, p.Logger, "pruning used consent challenges", screen.PruneChallenges))
}
