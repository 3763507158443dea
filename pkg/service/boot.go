package service

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/auth"
)

// Configurable is a service's configuration struct, which embeds Config.
type Configurable interface{ base() Config }

func (c Config) base() Config { return c }

// BootOption changes one thing about how Boot builds a service.
type BootOption func(*bootOptions)

type bootOptions struct {
	keys       func(context.Context, *Platform) (auth.KeySource, error)
	requestLog func(slog.Handler) slog.Handler
	pages      []string
	dialects   []Dialect
}

// WithPages declares the service's browser pages: paths below /v1/tenants/{tenant} (for
// example "/login") that, with everything under them, are served as HTML forms and
// redirects rather than spec operations. The request validator and token check skip
// them; the page handlers check their own input and answer failures as pages.
func WithPages(prefixes ...string) BootOption {
	return func(o *bootOptions) { o.pages = append(o.pages, prefixes...) }
}

// WithOwnKeys makes the service verify tokens against keys it holds itself rather than
// the issuer's JWKS: the issuer (oauth-clients) would otherwise fetch the very JWKS it
// serves, and miss a key it has just rotated in. keys runs once the platform is open.
func WithOwnKeys(keys func(context.Context, *Platform) (auth.KeySource, error)) BootOption {
	return func(o *bootOptions) { o.keys = keys }
}

// WithRequestLog wraps the request log's handler, e.g. to demote the access log of an
// endpoint that answers thousands of times a second.
func WithRequestLog(wrap func(slog.Handler) slog.Handler) BootOption {
	return func(o *bootOptions) { o.requestLog = wrap }
}

// Boot is the start of every service's Run: read cfg from environ, open the platform
// (database and its migrations, NATS) and build the HTTP server for the service's spec,
// verifying tokens against the issuer's JWKS (or the service's own keys). The caller
// registers its handlers and calls Serve.
func Boot(ctx context.Context, name, version string, environ map[string]string, logger *slog.Logger,
	cfg Configurable, migrations fs.FS, spec func() (*openapi3.T, error), options ...BootOption) (*Platform, *echo.Echo, error) {
	var o bootOptions
	for _, opt := range options {
		opt(&o)
	}
	if err := Parse(cfg, environ); err != nil {
		return nil, nil, err
	}
	p, err := Open(ctx, name, cfg.base(), migrations, logger)
	if err != nil {
		return nil, nil, err
	}
	doc, err := spec()
	if err != nil {
		p.Close()
		return nil, nil, fmt.Errorf("load spec: %w", err)
	}
	dialects, err := loadDialects(o.dialects)
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	var keys auth.KeySource = &auth.RemoteJWKS{URL: p.Config.JWKS()}
	if o.keys != nil {
		if keys, err = o.keys(ctx, p); err != nil {
			p.Close()
			return nil, nil, err
		}
	}
	requestLog := p.Logger
	if o.requestLog != nil {
		requestLog = slog.New(o.requestLog(p.Logger.Handler()))
	}
	e := NewHTTP(HTTPOptions{
		Info: Info{Name: p.Name, Version: version}, Spec: doc, Logger: requestLog, Registry: p.Registry,
		Ready: p.ReadyChecks(), Verifier: p.Verifier(keys), Waiter: p.Waiter, Pages: o.pages,
		dialects: dialects,
	})
	if e.IPExtractor, err = callerAddress(p.Config.TrustedProxies); err != nil {
		p.Close()
		return nil, nil, err
	}
	return p, e, nil
}

// callerAddress tells callers apart by the address they connect from, or by
// X-Forwarded-For when they connect through one of the trusted proxy networks.
func callerAddress(trusted []string) (echo.IPExtractor, error) {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range trusted {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("IAM_TRUSTED_PROXIES: %q is not a CIDR", cidr)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}
