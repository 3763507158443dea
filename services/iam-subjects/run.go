// Package iamsubjects wires the iam-subjects service: users, groups, memberships and the
// subject search, including client subjects kept from oauth-clients' events; and people
// signing in: passwords, the login and logout pages, login sessions.
package iamsubjects

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
	"github.com/iamplane/iam/pkg/throttle"

	"github.com/iamplane/iam/services/iam-subjects/api"
	emporixapi "github.com/iamplane/iam/services/iam-subjects/api/emporix"
	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/httpapi"
	"github.com/iamplane/iam/services/iam-subjects/internal/httpapi/emporix"
	"github.com/iamplane/iam/services/iam-subjects/internal/postgres"
	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
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
	// LoginSessionTTL is how long a login session lets the person sign in to the
	// tenant's applications without their password.
	LoginSessionTTL time.Duration `env:"IAM_LOGIN_SESSION_TTL" envDefault:"12h"`
	// KeyRotationInterval is how old the key signing login verdicts may get before a new
	// one takes over; 0 turns scheduled rotation off.
	KeyRotationInterval time.Duration `env:"IAM_KEY_ROTATION_INTERVAL" envDefault:"720h"`
	// Throttling of password guesses, per replica (see signin.NewThrottle): a (user, caller
	// address) pair may give LoginFailuresFree wrong passwords, then waits 1 s, 2 s, 4 s,
	// ... up to the window before its next attempt is checked. Past LoginFailuresPerUser
	// failures for one user, or LoginFailuresPerAddress from one address, in a window,
	// pairs that have failed are refused unchecked until the window ends. A pair that has
	// not failed is always checked: nobody can lock others out.
	LoginFailuresFree       int           `env:"IAM_LOGIN_FAILURES_FREE" envDefault:"5"`
	LoginFailuresPerUser    int           `env:"IAM_LOGIN_FAILURES_PER_USER" envDefault:"100"`
	LoginFailuresPerAddress int           `env:"IAM_LOGIN_FAILURES_PER_ADDRESS" envDefault:"100"`
	LoginFailureWindow      time.Duration `env:"IAM_LOGIN_FAILURE_WINDOW" envDefault:"15m"`
}

// Run serves iam-subjects until ctx ends.
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	var (
		cfg Config
		// oauth-clients' keys: they verify access tokens, and sign-in challenges too.
		issuerKeys *auth.RemoteJWKS
	)
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec,
		service.WithPages("/login"),
		service.WithDialects(service.Dialect{Name: "emporix", Prefixes: []string{"/iam/"}, Spec: emporixapi.GetSpec,
			TenantParam: "tenant", Errors: dialect.EmporixErrors}),
		service.WithOwnKeys(func(_ context.Context, p *service.Platform) (auth.KeySource, error) {
			issuerKeys = &auth.RemoteJWKS{URL: p.Config.JWKS()}
			return issuerKeys, nil
		}))
	if err != nil {
		return err
	}
	verdictKeys := keyring.New(&keyring.Postgres{DB: p.DB}, handshake.VerdictTTL)
	if err := verdictKeys.Load(ctx); err != nil {
		p.Close()
		return err
	}
	store := &postgres.Directory{DB: p.DB}
	p.Publishes("subjects", store.Republish)
	directory := subjects.NewDirectory(store, subjects.WallClock)
	authenticator := signin.NewAuthenticator(&postgres.Credentials{DB: p.DB}, issuerKeys, verdictKeys, signin.Options{
		Base: cfg.IssuerURL, SessionTTL: cfg.LoginSessionTTL,
		Throttle: signin.NewThrottle(throttle.Limits{FreeFailures: cfg.LoginFailuresFree, PerPrincipal: cfg.LoginFailuresPerUser,
			PerAddress: cfg.LoginFailuresPerAddress, Window: cfg.LoginFailureWindow}),
	})
	loginPages, err := httpapi.NewPages(authenticator, p.Logger)
	if err != nil {
		p.Close()
		return fmt.Errorf("login pages: %w", err)
	}
	e.HTTPErrorHandler = loginPages.ErrorHandler(e.HTTPErrorHandler)
	e.Use(httpapi.CallerAddress)
	loginPages.Register(e)
	api.RegisterHandlers(e, api.NewStrictHandler(httpapi.NewServer(directory, authenticator), nil))
	emporixapi.RegisterHandlers(e, emporixapi.NewStrictHandler(emporix.NewServer(directory), nil))
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.ClientSubjects(store)}, onListen,
		workers(p, cfg, verdictKeys, authenticator)...)
}

// workers are the service's background work: the verdict keys' refresh and rotation, and
// forgetting expired sessions, used challenges and quiet throttling state.
func workers(p *service.Platform, cfg Config, keys *keyring.Ring, a *signin.Authenticator) []func(context.Context) error {
	return append(keys.Workers(cfg.KeyRotationInterval, p.Logger),
		service.Every(time.Minute, p.Logger, "pruning expired login sessions and challenges", a.Prune))
}
