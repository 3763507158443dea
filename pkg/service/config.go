// Package service is the one bootstrap every service runs: configuration, logging, the
// database and its migrations, NATS and the event streams, the outbox relay and event
// consumers, and an echo server with request validation, auth, problems, metrics and
// health endpoints, shut down gracefully.
package service

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is what every service reads from its environment, once, at start-up.
type Config struct {
	HTTPAddr    string `env:"HTTP_ADDR" envDefault:":8080"`
	DatabaseURL string `env:"DATABASE_URL,required" envDefault:""`
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	// IssuerURL is the public base URL of oauth-clients (the gateway in the dev stack);
	// tenant T's tokens carry iss = IssuerURL/v1/tenants/T.
	IssuerURL string `env:"IAM_ISSUER_URL" envDefault:"http://127.0.0.1:8080"`
	// JWKSURL is where services other than oauth-clients fetch the signing keys.
	JWKSURL        string     `env:"IAM_JWKS_URL"`
	Audience       string     `env:"IAM_AUDIENCE" envDefault:"iam"`
	LogLevel       slog.Level `env:"LOG_LEVEL" envDefault:"info"`
	StreamReplicas int        `env:"NATS_STREAM_REPLICAS" envDefault:"1"`
	// ConsistencyWait bounds how long a read passing consistencyToken waits for this
	// service's views to catch up before answering 503.
	ConsistencyWait time.Duration `env:"IAM_CONSISTENCY_WAIT" envDefault:"5s"`
	// ReconcileInterval is how often the service compares each of its views with the
	// view's source (per-tenant digests) and has what differs resent; 0 turns it off.
	ReconcileInterval time.Duration `env:"IAM_RECONCILE_INTERVAL" envDefault:"1m"`
	// MaxTokenTTL is the longest lifetime of any access token the platform issues
	// (oauth-clients refuses an IAM_TOKEN_TTL above it): how far back every service reads
	// revocation events at start-up, and how long it remembers them.
	MaxTokenTTL time.Duration `env:"IAM_MAX_TOKEN_TTL" envDefault:"1h"`
	// RevocationWait bounds how long a starting service answers requests carrying a token
	// with 503 while it reads the revocation events; then it serves with what it has.
	RevocationWait time.Duration `env:"IAM_REVOCATION_WAIT" envDefault:"10s"`
	// TrustedProxies are the networks (CIDRs; the gateway's or ingress's, set explicitly)
	// whose X-Forwarded-For is believed when telling callers' addresses apart, for the
	// brute-force limits and the privacy ledger. By default none is, and the address is
	// the connection's: believing X-Forwarded-For from anyone would let any caller name
	// the address its failures count against.
	TrustedProxies []string `env:"IAM_TRUSTED_PROXIES"`
}

// JWKS returns the configured JWKS URL or the issuer's default one.
func (c Config) JWKS() string {
	if c.JWKSURL != "" {
		return c.JWKSURL
	}
	return strings.TrimRight(c.IssuerURL, "/") + "/v1/tenants/system/oauth2/jwks"
}

// Parse fills cfg (a struct embedding Config) from environ, a KEY=value map, so tests and
// the dev stack pass configuration explicitly instead of mutating the process
// environment.
func Parse(cfg any, environ map[string]string) error {
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}
