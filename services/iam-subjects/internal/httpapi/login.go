package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pages"
	"github.com/iamplane/iam/pkg/problem"

	subjectpages "github.com/iamplane/iam/services/iam-subjects/internal/httpapi/pages"
	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

// SessionCookie is the login session's cookie, scoped to the tenant's login pages.
const SessionCookie = "iam_session"

// Pages serves the sign-in and sign-out pages: plain echo routes (service.WithPages
// keeps them out of the API's validator and token check) that check their own input and
// answer every failure as a page. Each handler calls one sign-in use case.
type Pages struct {
	signin *signin.Authenticator
	render *pages.Renderer
	logger *slog.Logger
}

// NewPages serves a's pages, logging unexpected failures to logger.
func NewPages(a *signin.Authenticator, logger *slog.Logger) (*Pages, error) {
	r, err := subjectpages.New()
	if err != nil {
		return nil, err
	}
	return &Pages{signin: a, render: r, logger: logger}, nil
}

// Register adds the pages' routes.
func (p *Pages) Register(e *echo.Echo) {
	e.GET("/v1/tenants/:tenant/login", p.loginForm)
	e.POST("/v1/tenants/:tenant/login", p.login)
	e.GET("/v1/tenants/:tenant/login/jwks", p.jwks)
	e.GET("/v1/tenants/:tenant/login/logout", p.logoutPage)
	e.POST("/v1/tenants/:tenant/login/logout", p.logout)
}

// validTenant is the platform's tenant pattern, ^[a-z0-9][a-z0-9-]{0,62}$ (common.yaml):
// the pages, outside the spec's validator, check it themselves.
func validTenant(t string) bool {
	if t == "" || len(t) > 63 || t[0] == '-' {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// page is what the handlers have in common: the tenant, checked, and the language from
// Accept-Language (a challenge's ui_locales comes first once it is opened).
func (p *Pages) page(c echo.Context) (tenant, lang string, ok bool) {
	tenant = c.Param("tenant")
	lang = pages.Lang("", c.Request().Header.Get("Accept-Language"))
	return tenant, lang, validTenant(tenant)
}

func (p *Pages) lang(c echo.Context, uiLocales string) string {
	return pages.Lang(uiLocales, c.Request().Header.Get("Accept-Language"))
}

func (p *Pages) badRequest(c echo.Context, lang, what string) error {
	return p.render.Error(c, http.StatusBadRequest, lang, "error.title", "error.bad_request", what)
}

func sessionToken(c echo.Context) string {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// loginPath is the login page of tenant (the form's action and the cookie's path).
func loginPath(tenant string) string { return "/v1/tenants/" + url.PathEscape(tenant) + "/login" }

// loginView is what login.html shows.
type loginView struct {
	Action      string
	Challenge   string
	ClientName  string
	Username    string
	Failure     string // "", "wrong" or "wait"
	WaitSeconds int
}

// loginForm is the login page: GET /v1/tenants/{tenant}/login?login_challenge=.
func (p *Pages) loginForm(c echo.Context) error {
	tenant, lang, ok := p.page(c)
	if !ok {
		return p.badRequest(c, lang, "the tenant is malformed")
	}
	challenge := c.QueryParam("login_challenge")
	if challenge == "" {
		return p.badRequest(c, lang, "login_challenge is missing")
	}
	out, err := p.signin.Begin(c.Request().Context(), tenant, challenge, sessionToken(c))
	if err != nil {
		return p.fail(c, lang, err, false)
	}
	return p.loginOutcome(c, tenant, out)
}

// login checks the submitted form: POST /v1/tenants/{tenant}/login.
func (p *Pages) login(c echo.Context) error {
	tenant, lang, ok := p.page(c)
	if !ok {
		return p.badRequest(c, lang, "the tenant is malformed")
	}
	if err := c.Request().ParseForm(); err != nil {
		return p.badRequest(c, lang, "the form is malformed")
	}
	if err := pages.CheckCSRF(c); err != nil {
		return p.render.Error(c, http.StatusForbidden, lang, "error.title", "error.csrf")
	}
	// Only the body: a password in the query string would end up in logs.
	form := c.Request().PostForm
	challenge := form.Get("login_challenge")
	if challenge == "" {
		return p.badRequest(c, lang, "login_challenge is missing")
	}
	out, err := p.signin.Login(c.Request().Context(), signin.Attempt{Tenant: tenant, Challenge: challenge,
		Login: form.Get("username"), Password: form.Get("password"), Address: c.RealIP(), SessionToken: sessionToken(c)})
	if err != nil {
		return p.fail(c, lang, err, false)
	}
	return p.loginOutcome(c, tenant, out)
}

// loginOutcome sends the browser on, or shows the form or the locked-account page.
func (p *Pages) loginOutcome(c echo.Context, tenant string, out *signin.Outcome) error {
	lang := p.lang(c, out.UILocales)
	switch {
	case out.Redirect != "":
		if out.Session != nil {
			pages.SetCookie(c, SessionCookie, out.Session.Token, loginPath(tenant), int(out.Session.MaxAge.Seconds()))
		}
		return c.Redirect(http.StatusSeeOther, out.Redirect)
	case out.Locked:
		return p.render.Error(c, http.StatusForbidden, lang, "login.locked_title", "login.locked")
	}
	f := out.Form
	view := loginView{Action: loginPath(tenant), Challenge: f.Challenge, ClientName: f.ClientName, Username: f.Username}
	status := http.StatusOK
	switch f.Failure {
	case signin.WrongCredentials:
		view.Failure, status = "wrong", http.StatusUnauthorized
	case signin.MustWait:
		wait := (&signin.Throttled{Wait: f.Wait}).RetryAfter()
		view.Failure, view.WaitSeconds, status = "wait", wait, http.StatusTooManyRequests
		c.Response().Header().Set("Retry-After", strconv.Itoa(wait))
	}
	return p.render.Render(c, status, "login", lang, view)
}

// jwks publishes the keys that verify login verdicts: GET /v1/tenants/{tenant}/login/jwks
// (the same for every tenant). Key sets are public and change rarely: caches may keep
// them a few minutes (a verifier refetches on an unknown kid anyway).
func (p *Pages) jwks(c echo.Context) error {
	keys, err := p.signin.VerdictKeys(c.Request().Context())
	if err != nil {
		return err
	}
	raw := make([]json.RawMessage, 0, len(keys))
	kids := make([]string, 0, len(keys))
	for _, k := range keys {
		b, err := json.Marshal(k)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "encode key")
		}
		kid, _ := k.KeyID()
		raw, kids = append(raw, b), append(kids, kid)
	}
	sort.Sort(byKid{raw, kids})
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Del("Pragma")
	return c.JSON(http.StatusOK, map[string][]json.RawMessage{"keys": raw})
}

type byKid struct {
	keys []json.RawMessage
	kids []string
}

func (b byKid) Len() int           { return len(b.kids) }
func (b byKid) Less(i, j int) bool { return b.kids[i] < b.kids[j] }
func (b byKid) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.kids[i], b.kids[j] = b.kids[j], b.kids[i]
}

// fail shows the page for a failed use case: an invalid or used link, or a service that
// is briefly unavailable. Anything else is logged and shown as unavailable, never as a
// stack trace.
func (p *Pages) fail(c echo.Context, lang string, err error, logout bool) error {
	invalid, used := "error.invalid_link", "error.used_link"
	if logout {
		invalid, used = "logout.invalid_link", "logout.used_link"
	}
	switch {
	case signin.IsChallengeUsed(err):
		return p.render.Error(c, http.StatusConflict, lang, "error.title", used)
	case errs.Is(err, errs.Unauthorized):
		return p.render.Error(c, http.StatusBadRequest, lang, "error.title", invalid)
	case errs.Is(err, errs.Unavailable):
		c.Response().Header().Set("Retry-After", "5")
		return p.render.Error(c, http.StatusServiceUnavailable, lang, "error.title", "error.unavailable")
	}
	p.logger.Error("sign-in page failed", "path", c.Request().URL.Path, "error", err)
	return p.render.Error(c, http.StatusInternalServerError, lang, "error.title", "error.unavailable")
}

// ErrorHandler answers errors on the pages' routes (a 404 or 405 below /login, input
// the platform's input check refused, an oversized body) as pages; everything else goes
// to next, the API's problem handler. The key set is JSON, so it keeps problems.
func (p *Pages) ErrorHandler(next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		path := c.Request().URL.Path
		if c.Response().Committed || !isPagePath(path) || strings.HasSuffix(path, "/login/jwks") {
			next(err, c)
			return
		}
		pr, _ := problem.From(err)
		lang := pages.Lang("", c.Request().Header.Get("Accept-Language"))
		var rendered error
		switch {
		case pr.Status == http.StatusNotFound:
			rendered = p.render.Error(c, pr.Status, lang, "error.title", "error.not_found")
		case pr.Status >= 500:
			p.logger.Error("sign-in page failed", "path", path, "error", err)
			rendered = p.render.Error(c, pr.Status, lang, "error.title", "error.unavailable")
		default:
			what := pr.Detail
			for _, f := range pr.Errors {
				what += "; " + f.Field + " " + f.Message
			}
			rendered = p.render.Error(c, pr.Status, lang, "error.title", "error.bad_request", what)
		}
		if rendered != nil {
			next(errors.Join(err, rendered), c)
		}
	}
}

// isPagePath reports whether path is one of the sign-in pages of some tenant.
func isPagePath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/tenants/")
	if !ok {
		return false
	}
	_, rest, _ = strings.Cut(rest, "/")
	return rest == "login" || strings.HasPrefix(rest, "login/")
}
