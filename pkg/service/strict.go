package service

import (
	"context"

	"github.com/labstack/echo/v4"
)

type echoKey struct{}

// withEcho makes the echo context reachable from a strict handler's context: the few
// handlers that must read a header the spec cannot declare (Authorization on the OAuth
// endpoints) or set one (WWW-Authenticate) use Echo(ctx).
func withEcho(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), echoKey{}, c)))
		return next(c)
	}
}

// Echo returns the request's echo context.
func Echo(ctx context.Context) echo.Context {
	c, _ := ctx.Value(echoKey{}).(echo.Context)
	return c
}
