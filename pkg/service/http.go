package service

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echomw "github.com/oapi-codegen/echo-middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/problem"
)

// Info names the service on GET /.
type Info struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Pinger is something readiness depends on.
type Pinger func(ctx context.Context) error

// HTTPOptions assemble a service's echo server.
type HTTPOptions struct {
	Info     Info
	Spec     *openapi3.T
	Verifier *auth.Verifier
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Ready    map[string]Pinger // name -> check, for /health/ready
	Waiter   *events.Waiter    // nil: consistency tokens are issued but not awaited
	Pages    []string          // browser pages below /v1/tenants/{tenant} (WithPages)
	dialects []loadedDialect   // seed dialects served beside Spec (WithDialects)
}

// isPage reports whether path is one of pages (or below one) under some tenant.
func isPage(path string, pages []string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/tenants/")
	if !ok || len(pages) == 0 {
		return false
	}
	_, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return false
	}
	rest = "/" + rest
	for _, p := range pages {
		if rest == p || strings.HasPrefix(rest, p+"/") {
			return true
		}
	}
	return false
}

// defineFormats registers the string formats our specs use: kin-openapi validates
// "format" only for registered ones, and its registry is process-wide, hence once.
var defineFormats = sync.OnceFunc(func() {
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(`^[^@\s]+@[^@\s]+\.[^@\s]+$`))
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))
})

// NewHTTP builds the echo server: operational endpoints outside the spec, and the
// validator (with authentication and scope checks) in front of every spec operation. The
// caller registers the generated handlers on the returned echo.
func NewHTTP(o HTTPOptions) *echo.Echo {
	defineFormats()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = problem.Handler(o.Logger, errorWriter(o.dialects))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		o.Logger.Error("panic", "error", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.RequestID())
	e.Use(requestLog(o.Logger))
	e.Use(echoprometheus.NewMiddlewareWithConfig(echoprometheus.MiddlewareConfig{
		Namespace: "iam", Subsystem: strings.ReplaceAll(o.Info.Name, "-", "_"), Registerer: o.Registry,
		DoNotUseRequestPathFor404: true,
	}))
	e.Use(middleware.BodyLimit("4M"))
	e.Use(withEcho)
	e.Use(cleanInput)
	e.Use(noStore)
	e.Use(crossOrigin(o.Pages))

	e.GET("/", func(c echo.Context) error { return c.JSON(http.StatusOK, o.Info) })
	e.GET("/health", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/health/ready", ready(o.Ready))
	e.GET("/health/fault", func(c echo.Context) error {
		return &errs.Error{Kind: "fault", Detail: "a deliberate fault, for diagnostics"}
	})
	e.GET("/metrics", echoprometheus.NewHandlerWithConfig(echoprometheus.HandlerConfig{Gatherer: o.Registry}))
	specJSON, _ := o.Spec.MarshalJSON()
	e.GET("/openapi.json", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, specJSON) })

	native := func(c echo.Context) bool {
		p := c.Request().URL.Path
		return p == "/" || p == "/metrics" || p == "/openapi.json" || strings.HasPrefix(p, "/health") ||
			isPage(p, o.Pages) || dialectOf(o.dialects, p) != nil
	}
	e.Use(validator(o.Spec, native, o.Verifier.Authenticate))
	declared := queryParams{}
	declared.addSpec(o.Spec)
	bodies := bodySchemas{}
	bodies.addSpec(o.Spec)
	for _, d := range o.dialects {
		e.Use(validator(d.spec, func(c echo.Context) bool { return !d.owns(c.Request().URL.Path) },
			o.Verifier.AuthenticateTenant(d.TenantParam)))
		declared.addSpec(d.spec)
		bodies.addSpec(d.spec)
	}
	e.Use(auth.ClaimsToContext)
	e.Use(declared.undeclaredQuery)
	e.Use(bodies.caseVariantKeys)
	e.Use(consistency(o.Info.Name, o.Waiter, o.dialects))
	return e
}

// validator checks requests against spec (parameters, bodies, the token and its scopes)
// unless skip says the request is not spec's.
func validator(spec *openapi3.T, skip middleware.Skipper, authenticate openapi3filter.AuthenticationFunc) echo.MiddlewareFunc {
	spec.Servers = nil // the validator would otherwise match the Host header against them
	return echomw.OapiRequestValidatorWithOptions(spec, &echomw.Options{
		Skipper:              skip,
		DoNotValidateServers: true,
		MultiErrorHandler:    multiError,
		Options: openapi3filter.Options{
			AuthenticationFunc: authenticate,
			MultiError:         true,
		},
	})
}

// consistency gives every successful write a consistency token naming the events it
// recorded, and holds a request passing ?consistencyToken= until this service's views
// have applied them. It runs after authentication, so no anonymous request can wait.
func consistency(service string, w *events.Waiter, dialects []loadedDialect) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if raw := c.QueryParam("consistencyToken"); raw != "" && w != nil {
				t, err := events.ParseToken(raw)
				if err != nil {
					return err
				}
				if err := w.Wait(req.Context(), tenantOf(c, dialects), t); err != nil {
					return err
				}
				req = req.WithContext(events.WithAwaited(req.Context()))
				c.SetRequest(req)
			}
			if req.Method == http.MethodGet || req.Method == http.MethodHead {
				return next(c)
			}
			ctx, marks := events.WithMarks(req.Context())
			c.SetRequest(req.WithContext(ctx))
			res := c.Response()
			res.Before(func() {
				if res.Status < 400 {
					res.Header().Set(events.TokenHeader, marks.Token(service).String())
				}
			})
			return next(c)
		}
	}
}

// multiError puts authentication first: a request without a valid token is a 401 (or
// 403) whatever else is wrong with it; only then is every bad field listed.
func multiError(me openapi3.MultiError) *echo.HTTPError {
	for _, err := range me {
		var se *openapi3filter.SecurityRequirementsError
		if errors.As(err, &se) {
			return securityError(se)
		}
	}
	return &echo.HTTPError{Code: http.StatusBadRequest, Message: "invalid request", Internal: me}
}

// securityError picks the answer for an operation none of whose security alternatives
// the caller met: a bad token or a foreign tenant as it is, or else one 403 listing
// every alternative's scopes.
func securityError(se *openapi3filter.SecurityRequirementsError) *echo.HTTPError {
	var alternatives []string
	for _, inner := range se.Errors {
		var he *echo.HTTPError
		if !errors.As(inner, &he) {
			continue
		}
		var missing *auth.MissingScopeError
		if !errors.As(he.Internal, &missing) {
			return he
		}
		alternatives = append(alternatives, missing.Error())
	}
	return echo.NewHTTPError(http.StatusForbidden).SetInternal(errs.E(errs.Forbidden,
		"the token lacks the scopes this operation needs: %s", strings.Join(alternatives, ", or ")))
}

func ready(checks map[string]Pinger) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		status, code := map[string]string{}, http.StatusOK
		for name, check := range checks {
			if err := check(ctx); err != nil {
				status[name], code = err.Error(), http.StatusServiceUnavailable
			} else {
				status[name] = "ok"
			}
		}
		return c.JSON(code, status)
	}
}

func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// Never the query string or headers: they can carry secrets.
			logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", v.Method), slog.String("path", v.URIPath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("requestId", v.RequestID))
			return nil
		},
	})
}

// crossOrigin lets web applications on any origin call the API and the OAuth endpoints
// (a single-page app exchanging its code, reading /me). It is safe to allow every origin
// because nothing here authenticates a browser by cookie: callers present a bearer token
// or client credentials, which another origin cannot borrow, and credentials mode is never
// allowed. Pages (login, consent) get no CORS headers: they are navigated to, never fetched.
func crossOrigin(pages []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper:       func(c echo.Context) bool { return isPage(c.Request().URL.Path, pages) },
		AllowOrigins:  []string{"*"},
		AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:  []string{"Authorization", "Content-Type", "If-Match", "Accept-Language"},
		ExposeHeaders: []string{"ETag", "Location", "Retry-After", "WWW-Authenticate", events.TokenHeader},
		MaxAge:        600,
	})
}

// noStore keeps every API answer out of shared and browser caches: they are per caller,
// and many carry a secret, a token or personal data (RFC 6749 §5.1 asks it of token
// answers; a client's secret is shown once, at creation). Only what is public and meant
// to be cached is left alone: server metadata and key sets.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/v1/") && !strings.HasSuffix(p, "/oauth2/jwks") && !strings.Contains(p, "/.well-known/") {
			h := c.Response().Header()
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
		}
		return next(c)
	}
}
