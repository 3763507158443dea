// Package oauthclients wires the oauth-clients service: OAuth client registry, secrets,
// signing keys and the tenant token endpoints.
package oauthclients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/dialect"
	"github.com/iamplane/iam/pkg/egress"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/handshake"
	"github.com/iamplane/iam/pkg/keyring"
	"github.com/iamplane/iam/pkg/service"
	"github.com/iamplane/iam/pkg/throttle"

	"github.com/iamplane/iam/services/oauth-clients/api"
	v0api "github.com/iamplane/iam/services/oauth-clients/api/aritmav0"
	ceapi "github.com/iamplane/iam/services/oauth-clients/api/cloudentity"
	isapi "github.com/iamplane/iam/services/oauth-clients/api/identityservice"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/events"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi/aritmav0"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi/cloudentity"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi/identityservice"
	"github.com/iamplane/iam/services/oauth-clients/internal/postgres"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
	"github.com/iamplane/iam/services/oauth-clients/internal/signin"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
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
	// RefreshTTL is how long a person's refresh token may be used after it was issued;
	// each use rotates it and issues a new one for as long again, so a family lives while
	// it is used at least this often. (Codes live tokens.CodeTTL, 60 s, fixed.)
	RefreshTTL time.Duration `env:"IAM_REFRESH_TTL" envDefault:"720h"`
	// LoginJWKSURL and ConsentJWKSURL are where the keys of the login verdicts
	// (iam-subjects) and consent verdicts (consent) are fetched, cached like the access
	// tokens' keys; by default handshake.LoginJWKS and handshake.ConsentJWKS of
	// IAM_ISSUER_URL (through the gateway).
	LoginJWKSURL   string `env:"IAM_LOGIN_JWKS_URL"`
	ConsentJWKSURL string `env:"IAM_CONSENT_JWKS_URL"`
	// EntitlementsCacheTTL bounds how long a replica may grant scopes from a scope set
	// another replica has already replaced.
	EntitlementsCacheTTL time.Duration `env:"IAM_ENTITLEMENTS_CACHE_TTL" envDefault:"1s"`
	// The bootstrap admin client of the system tenant, created (idempotently) at start-up.
	BootstrapClientID     string `env:"IAM_BOOTSTRAP_CLIENT_ID"`
	BootstrapClientSecret string `env:"IAM_BOOTSTRAP_CLIENT_SECRET,unset"`
	// CredentialsCacheTTL bounds how long a replica may authenticate with credentials
	// changed on another replica, should the change's event be held up (see
	// clients.CredentialCache). 0 disables the cache.
	CredentialsCacheTTL time.Duration `env:"IAM_CREDENTIALS_CACHE_TTL" envDefault:"30s"`
	// KeyRotationInterval is how old the signing key may get before a new one takes over
	// (retired keys stay published until their tokens have expired); 0 turns scheduled
	// rotation off.
	KeyRotationInterval time.Duration `env:"IAM_KEY_ROTATION_INTERVAL" envDefault:"720h"`
	// Brute-force limits on client authentication (token, introspection, revocation), per
	// replica (see clients.NewFailureLimiter). Failures count per (tenant, client, caller
	// address) pair: a pair may fail AuthFailuresPerPair times, then waits 1 s, 2 s, 4 s,
	// ... up to the window before its next attempt is checked (429 slow_down). Past
	// AuthFailuresPerClient failures of one client, or AuthFailuresPerAddress from one
	// address, in a window, pairs that have failed are refused unchecked until the window
	// ends. A pair that has not failed is always checked: nobody can lock others out.
	AuthFailuresPerPair    int           `env:"IAM_AUTH_FAILURES_PER_PAIR" envDefault:"5"`
	AuthFailuresPerClient  int           `env:"IAM_AUTH_FAILURES_PER_CLIENT" envDefault:"1000"`
	AuthFailuresPerAddress int           `env:"IAM_AUTH_FAILURES_PER_ADDRESS" envDefault:"100"`
	AuthFailureWindow      time.Duration `env:"IAM_AUTH_FAILURE_WINDOW" envDefault:"1m"`
	// EgressAllow lists internal networks a client's jwksUri may point at anyway (an
	// on-premises key server); otherwise loopback, link-local and private addresses are
	// never fetched from.
	EgressAllow []string `env:"IAM_EGRESS_ALLOW"`
}

// Run serves oauth-clients until ctx ends. environ is the configuration (KEY=value);
// onListen learns the bound HTTP address. oauth-clients is the issuer: its HTTP server
// verifies tokens against its own key ring, and its request log is quieter on the token
// endpoint (quietTokenLog).
func Run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string)) error {
	return run(ctx, environ, logger, onListen, time.Now)
}

// run is Run with the time the brute-force limits run on: the wall clock, or a test's
// own, which a slow machine cannot move.
func run(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(addr string), clock func() time.Time) error {
	var (
		cfg  Config
		keys *keyring.Ring
	)
	p, e, err := service.Boot(ctx, Name, Version, environ, logger, &cfg, postgres.Migrations(), api.GetSpec,
		service.WithOwnKeys(func(ctx context.Context, p *service.Platform) (auth.KeySource, error) {
			keys = keyring.New(&keyring.Postgres{DB: p.DB}, cfg.TokenTTL)
			return keys, keys.Load(ctx)
		}),
		service.WithRequestLog(func(h slog.Handler) slog.Handler { return quietTokenLog{h} }),
		service.WithPages(httpapi.Pages...), service.WithDialects(dialects...))
	if err != nil {
		return err
	}
	if cfg.TokenTTL > cfg.MaxTokenTTL {
		// Every service remembers revocations for IAM_MAX_TOKEN_TTL only.
		p.Close()
		return fmt.Errorf("IAM_TOKEN_TTL %s exceeds IAM_MAX_TOKEN_TTL %s", cfg.TokenTTL, cfg.MaxTokenTTL)
	}
	uc, err := start(ctx, p, cfg, keys, clock)
	if err != nil {
		p.Close()
		return err
	}
	p.Publishes("clients", uc.clientStore.Republish)
	e.Pre(httpapi.BearerChallenge)
	e.Use(httpapi.BodyOnlyParameters)
	api.RegisterHandlers(e, api.NewStrictHandler(httpapi.NewServer(uc.clients, uc.scopes, uc.issuer, uc.introspector, uc.keys,
		uc.profiles, cfg.IssuerURL), nil))
	e.Use(identityservice.JSONAPIBodies)
	isapi.RegisterHandlers(e, isapi.NewStrictHandler(identityservice.NewServer(uc.clients), nil))
	v0api.RegisterHandlers(e, v0api.NewStrictHandler(aritmav0.NewServer(uc.clients), nil))
	ceapi.RegisterHandlers(e, ceapi.NewStrictHandler(cloudentity.NewServer(uc.clients, uc.scopes), nil))
	if err := httpapi.RegisterPages(e, uc.authorizer, p.Logger); err != nil {
		p.Close()
		return err
	}
	return p.Serve(ctx, e, []*pkgevents.Consumer{events.Entitlements(uc.entitlements), events.ClientAccess(uc.accessRevocations),
		events.Users(uc.users)}, onListen, workers(p, cfg, uc, clock)...)
}

// dialects are the seed APIs oauth-clients serves beside its own (DESIGN.md, "Seed
// dialects"); their handlers are in internal/httpapi/<seed>.
var dialects = []service.Dialect{
	{Name: "identityservice", Prefixes: []string{"/clients"}, Spec: isapi.GetSpec, Errors: dialect.IdentityServiceErrors},
	// Aritma's errors are the native RFC 9457 problems (its v1 API answers them).
	{Name: "aritma-v0", Prefixes: []string{aritmav0.Base + "/"}, Spec: v0api.GetSpec},
	{Name: "cloudentity", Prefixes: []string{"/api/admin/", "/api/developer/"}, Spec: ceapi.GetSpec, TenantParam: "tid",
		Errors: dialect.CloudentityErrors},
}

// useCases are the service's use cases and the stores its workers and consumers keep.
type useCases struct {
	clients      *clients.Registry
	scopes       *scopes.Registry
	issuer       *tokens.Issuer
	introspector *tokens.Introspector
	keys         *keyring.Ring
	authorizer   *signin.Authorizer
	profiles     *users.Profiles

	clientStore       *postgres.Clients
	cache             *clients.CredentialCache // nil: credentials are not cached
	limiter           *throttle.Limiter
	revocations       *postgres.Revocations
	accessRevocations *postgres.AccessRevocations
	entitlements      *postgres.Entitlements
	grants            *postgres.Grants
	users             *postgres.Users
}

// start builds the use cases on p and the loaded key ring, the brute-force limits on
// clock, and prepares what they need in the database (built-in scopes, the bootstrap
// client).
func start(ctx context.Context, p *service.Platform, cfg Config, keys *keyring.Ring, clock func() time.Time) (*useCases, error) {
	// Revocations reach every service's deny set through their events: those that are
	// their subject's last go out as soon as they commit (see pkgevents.Expediter).
	expedite := &pkgevents.Expediter{NATS: p.NATS, Logger: p.Logger}
	uc := &useCases{
		clientStore:       &postgres.Clients{DB: p.DB, Expedite: expedite},
		revocations:       &postgres.Revocations{DB: p.DB, Expedite: expedite},
		accessRevocations: &postgres.AccessRevocations{DB: p.DB},
		entitlements:      &postgres.Entitlements{DB: p.DB, TTL: cfg.EntitlementsCacheTTL},
		grants:            postgres.NewGrants(p.DB),
		users:             &postgres.Users{DB: p.DB},
		keys:              keys,
		limiter: clients.NewFailureLimiter(throttle.Limits{FreeFailures: cfg.AuthFailuresPerPair,
			PerPrincipal: cfg.AuthFailuresPerClient, PerAddress: cfg.AuthFailuresPerAddress, Window: cfg.AuthFailureWindow}),
	}
	if cfg.CredentialsCacheTTL > 0 {
		uc.cache = &clients.CredentialCache{TTL: cfg.CredentialsCacheTTL}
	}
	uc.scopes = scopes.NewRegistry(&postgres.Scopes{DB: p.DB}, uc.cache.Forget, nil)
	allow, err := egress.ParseAllow(cfg.EgressAllow)
	if err != nil {
		return nil, err
	}
	uc.clients = clients.NewRegistry(uc.clientStore, uc.scopes, &clients.RemoteKeys{Guard: &egress.Guard{Allow: allow}}, uc.cache, nil)
	if err := uc.scopes.EnsureBuiltIn(ctx, auth.SystemTenant); err != nil {
		return nil, fmt.Errorf("built-in scopes: %w", err)
	}
	if cfg.BootstrapClientID != "" {
		if err := uc.clients.Bootstrap(ctx, auth.SystemTenant, cfg.BootstrapClientID, cfg.BootstrapClientSecret); err != nil {
			return nil, fmt.Errorf("bootstrap client: %w", err)
		}
	}
	authenticator := clients.NewAuthenticator(uc.clients, uc.limiter, cfg.IssuerURL, p.Logger, clock)
	verifier := p.Verifier(keys)
	uc.issuer = tokens.NewIssuer(authenticator, keys, uc.entitlements, uc.grants, cfg.IssuerURL, cfg.Audience, cfg.TokenTTL, cfg.RefreshTTL, nil)
	uc.introspector = tokens.NewIntrospector(authenticator, verifier, uc.clients, uc.revocations, uc.accessRevocations, uc.grants)
	uc.profiles = users.NewProfiles(uc.users)
	loginJWKS, consentJWKS := cfg.LoginJWKSURL, cfg.ConsentJWKSURL
	if loginJWKS == "" {
		loginJWKS = handshake.LoginJWKS(cfg.IssuerURL)
	}
	if consentJWKS == "" {
		consentJWKS = handshake.ConsentJWKS(cfg.IssuerURL)
	}
	uc.authorizer = signin.NewAuthorizer(uc.clients, &postgres.Authorizations{DB: p.DB},
		signin.Keys{Signer: keys, Own: keys, Login: &auth.RemoteJWKS{URL: loginJWKS}, Consent: &auth.RemoteJWKS{URL: consentJWKS}},
		uc.entitlements, uc.grants, cfg.IssuerURL, p.Logger, nil)
	return uc, nil
}

// workers are the service's background work: key ring refresh and rotation, pruning,
// and following other replicas' credential changes.
func workers(p *service.Platform, cfg Config, uc *useCases, clock func() time.Time) []func(context.Context) error {
	// Each kind is pruned even when another one fails.
	prune := func(ctx context.Context) error {
		gone, err := uc.revocations.Prune(ctx)
		if err == nil {
			purgeRevocations(ctx, p, gone)
		}
		return errors.Join(err, uc.accessRevocations.Prune(ctx, cfg.TokenTTL), uc.clientStore.PruneAssertions(ctx),
			uc.grants.Prune(ctx, cfg.TokenTTL))
	}
	// Quiet failure counts are pruned every window; a window of 0 is the limiter's
	// default, a minute (and a ticker of 0 would panic).
	pruneFailures := cfg.AuthFailureWindow
	if pruneFailures <= 0 {
		pruneFailures = time.Minute
	}
	ws := append(uc.keys.Workers(cfg.KeyRotationInterval, p.Logger),
		service.Every(pruneFailures, p.Logger, "pruning quiet failure counts", func(context.Context) error {
			uc.limiter.Prune(clock())
			return nil
		}),
		// Revocations (of tokens and lifted ones of client access), used assertion ids,
		// authorizations, codes and token families are kept only until they would have
		// expired.
		service.Every(10*time.Minute, p.Logger, "pruning expired revocations, assertions and grants", prune))
	if uc.cache != nil {
		invalidator := &events.Invalidator{JS: p.JS, Logger: p.Logger, Forget: uc.cache.Invalidate, Flush: uc.cache.Flush}
		ws = append(ws, invalidator.Run)
	}
	return ws
}

// purgeRevocations drops the events of expired revocations from the stream, which keeps
// one message per revoked jti otherwise. Best effort: a revocation left behind (NATS
// away) only costs stream space, since the deny sets forget it at its expiresAt anyway.
func purgeRevocations(ctx context.Context, p *service.Platform, subjects []string) {
	if len(subjects) == 0 {
		return
	}
	stream, err := p.JS.Stream(ctx, pkgevents.StreamName)
	if err != nil {
		p.Logger.Warn("purging expired revocation events failed", "error", err)
		return
	}
	for _, s := range subjects {
		if err := stream.Purge(ctx, jetstream.WithPurgeSubject(s)); err != nil {
			p.Logger.Warn("purging expired revocation events failed", "error", err)
			return
		}
	}
}
