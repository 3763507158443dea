package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	echomw "github.com/oapi-codegen/echo-middleware"

	"github.com/iamplane/iam/pkg/errs"
)

type claimsKey struct{}

// WithClaims stores the verified caller in ctx.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the verified caller; nil only on operations without security.
func FromContext(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// SchemeName is the security scheme every spec declares for bearer access tokens.
const SchemeName = "oauth2"

// TenantParam is the native API's path parameter naming the tenant.
const TenantParam = "tenant"

// Authenticate is the OpenAPI request validator's AuthenticationFunc. It runs once per
// security alternative of an operation (e.g. [services.iam] or [iam.client_read]) and
// succeeds when the token is valid, carries that alternative's scopes and belongs to
// the path's tenant. The token is verified once per request and cached on the echo
// context.
func (v *Verifier) Authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	return v.authenticate(ctx, in, TenantParam)
}

// AuthenticateTenant is Authenticate for an API whose path names the tenant in the
// parameter tenantParam (a seed dialect's "tid", say); "" when the path names no tenant
// and the token's tenant is the one meant.
func (v *Verifier) AuthenticateTenant(tenantParam string) openapi3filter.AuthenticationFunc {
	return func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
		return v.authenticate(ctx, in, tenantParam)
	}
}

func (v *Verifier) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput, tenantParam string) error {
	if in.SecuritySchemeName != SchemeName {
		return echo.NewHTTPError(http.StatusUnauthorized).SetInternal(
			errs.E(errs.Unauthorized, "unsupported security scheme %q", in.SecuritySchemeName))
	}
	c, err := v.claimsFor(ctx, in.RequestValidationInput.Request)
	if errs.Is(err, errs.Unavailable) {
		// Not the token's fault: the keys or the revocations cannot be consulted yet.
		return echo.NewHTTPError(http.StatusServiceUnavailable).SetInternal(err)
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusUnauthorized).SetInternal(err)
	}
	if tenant := in.RequestValidationInput.PathParams[tenantParam]; tenantParam != "" && tenant != "" && tenant != c.Tenant && !c.PlatformAdmin() {
		return echo.NewHTTPError(http.StatusForbidden).SetInternal(
			errs.E(errs.Forbidden, "the token belongs to tenant %q, not %q", c.Tenant, tenant))
	}
	for _, s := range in.Scopes {
		if !c.HasScope(s) {
			return echo.NewHTTPError(http.StatusForbidden).SetInternal(&MissingScopeError{Scopes: in.Scopes})
		}
	}
	return nil
}

// MissingScopeError says which scopes one security alternative of an operation needs;
// the server joins the alternatives into one answer.
type MissingScopeError struct{ Scopes []string }

func (e *MissingScopeError) Error() string { return strings.Join(e.Scopes, " ") }

func (v *Verifier) claimsFor(ctx context.Context, r *http.Request) (*Claims, error) {
	ec, _ := ctx.Value(echomw.EchoContextKey).(echo.Context)
	if ec != nil {
		if c, ok := ec.Get(echoClaimsKey).(*Claims); ok {
			return c, nil
		}
	}
	token, ok := BearerToken(r)
	if !ok {
		return nil, errs.E(errs.Unauthorized, "a bearer access token is required")
	}
	c, err := v.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if ec != nil {
		// Only noted here: replacing the request while the validator still reads its body
		// would hand the handler an already-drained body. ClaimsToContext moves it over.
		ec.Set(echoClaimsKey, c)
	}
	return c, nil
}

const echoClaimsKey = "auth.claims"

// ClaimsToContext is the echo middleware, placed after the request validator, that puts
// the verified caller into the request context handlers receive.
func ClaimsToContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if claims, ok := c.Get(echoClaimsKey).(*Claims); ok {
			c.SetRequest(c.Request().WithContext(WithClaims(c.Request().Context(), claims)))
		}
		return next(c)
	}
}

// BearerToken extracts the RFC 6750 bearer token from the Authorization header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// Require checks, inside a handler, a rule the spec cannot express (e.g. "platform
// admins only").
func Require(ctx context.Context, ok func(*Claims) bool, detail string) error {
	c := FromContext(ctx)
	if c == nil || !ok(c) {
		return errs.E(errs.Forbidden, "%s", detail)
	}
	return nil
}
