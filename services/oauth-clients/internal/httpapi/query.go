package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// oauthEndpoints are the routes whose parameters belong in the POST body alone.
var oauthEndpoints = map[string]bool{
	"/v1/tenants/:tenant/oauth2/token":      true,
	"/v1/tenants/:tenant/oauth2/introspect": true,
	"/v1/tenants/:tenant/oauth2/revoke":     true,
}

// bodyOnly are the parameters of those endpoints that carry credentials, tokens or the
// request itself.
var bodyOnly = []string{
	"client_id", "client_secret", "client_assertion", "client_assertion_type", "grant_type",
	"token", "token_type_hint", "scope", "code", "refresh_token", "code_verifier", "redirect_uri",
}

// BodyOnlyParameters refuses a request to the token, introspection or revocation
// endpoint that carries one of their parameters in the URL query string: RFC 6749 §2.3.1
// forbids credentials there (URLs end up in logs, proxies and browser history), and the
// form binding would otherwise merge the query into the body. It answers 400
// invalid_request naming the parameter, as RFC 6749 §5.2 does, never cached.
func BodyOnlyParameters(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().URL.RawQuery == "" || !oauthEndpoints[c.Path()] {
			return next(c)
		}
		q := c.QueryParams()
		for _, name := range bodyOnly {
			if _, ok := q[name]; ok {
				desc := name + " must be sent in the request body, not in the URL query string"
				c.Response().Header().Set("Cache-Control", noStore)
				return c.JSON(http.StatusBadRequest, api.OAuthError{Error: "invalid_request", ErrorDescription: &desc})
			}
		}
		return next(c)
	}
}
