package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// crossOrigin are the endpoints a single-page application calls from its own origin:
// discovery, keys, the token endpoint (code exchange, refresh), revocation and userinfo.
// None of them reads a cookie: each is authorized by what the request itself carries
// (client credentials, a code and its verifier, a refresh or access token), so a page of
// any origin gains nothing from calling them that it does not already hold. Hence any
// origin, without credentials. Introspection, registration and the management API stay
// same-origin (server-to-server), and so do the browser pages, which do use a cookie.
var crossOrigin = []string{
	"/oauth2/token", "/oauth2/revoke", "/oauth2/userinfo", "/oauth2/jwks",
	"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
}

// CORS answers preflights for those endpoints and lets browsers read their answers. It
// runs before routing (echo's Pre), so a preflight never reaches the request validator.
func CORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Header.Get("Origin") == "" || !strings.HasPrefix(req.URL.Path, "/v1/tenants/") || !crossOriginPath(req.URL.Path) {
			return next(c)
		}
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Add("Vary", "Origin")
		if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			return c.NoContent(http.StatusNoContent)
		}
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		return next(c)
	}
}

func crossOriginPath(path string) bool {
	for _, p := range crossOrigin {
		if strings.HasSuffix(path, p) {
			return true
		}
	}
	return false
}
