package service

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// Configurable is a service's configuration struct, which embeds Config.
type Configurable interface{ base() Config }

func (c Config) base() Config { return c }

// Boot is the start of every service's Run: read cfg from environ, open the platform
// (database and its migrations, NATS) and build the HTTP server for the service's spec,
// verifying tokens against the issuer's JWKS. The caller registers its handlers and
// calls Serve.
func Boot(ctx context.Context, name, version string, environ map[string]string, logger *slog.Logger,
	cfg Configurable, migrations fs.FS, spec func() (*openapi3.T, error)) (*Platform, *echo.Echo, error) {
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
	return p, p.HTTP(doc, version, nil), nil
}
