package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pages"

	"github.com/iamplane/iam/services/oauth-clients/internal/signin"
)

// The browser endpoints of signing in: the authorization endpoint, where the login and
// consent pages send the browser back, and logout. They are pages, not spec operations
// (service.WithPages): each answers a redirect or our error page, never a problem.

// Pages are the paths below /v1/tenants/{tenant} that are pages.
var Pages = []string{"/oauth2/authorize", "/oauth2/logout"}

// browserCookie binds an authorization to the browser that started it: a verdict
// carried to another browser finds no matching cookie there. Scoped to the tenant's
// OAuth endpoints and short-lived, like the challenges.
const (
	browserCookie = "iam_authorize"
	browserMaxAge = 15 * 60
)

// signinPages serves the browser endpoints.
type signinPages struct {
	authorizer *signin.Authorizer
	render     *pages.Renderer
	logger     *slog.Logger
}

// RegisterPages adds the browser endpoints of signing in to e.
func RegisterPages(e *echo.Echo, a *signin.Authorizer, logger *slog.Logger) error {
	r, err := pages.New(nil, catalog)
	if err != nil {
		return err
	}
	p := &signinPages{authorizer: a, render: r, logger: logger}
	e.GET("/v1/tenants/:tenant/oauth2/authorize", p.authorize)
	e.POST("/v1/tenants/:tenant/oauth2/authorize", p.authorize)
	e.GET("/v1/tenants/:tenant/oauth2/authorize/resume", p.resume)
	e.GET("/v1/tenants/:tenant/oauth2/logout", p.logout)
	e.POST("/v1/tenants/:tenant/oauth2/logout", p.logout)
	return nil
}

var tenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// params are the request's parameters: the query string of a GET, the form of a POST
// (never both: RFC 6749 §3.1 lets the authorization endpoint take either).
func params(c echo.Context) (url.Values, error) {
	if c.Request().Method != http.MethodPost {
		return c.Request().URL.Query(), nil
	}
	if err := c.Request().ParseForm(); err != nil {
		return nil, err
	}
	return c.Request().PostForm, nil
}

func (p *signinPages) authorize(c echo.Context) error {
	v, err := params(c)
	lang := pages.Lang(v.Get("ui_locales"), c.Request().Header.Get("Accept-Language"))
	if err != nil || !tenantPattern.MatchString(c.Param("tenant")) {
		return p.render.Error(c, http.StatusBadRequest, lang, "error.title", "error.bad_request", "the form cannot be read")
	}
	ans, err := p.authorizer.Authorize(c.Request().Context(), c.Param("tenant"), signin.RequestOf(v), p.browser(c))
	return p.answer(c, lang, ans, err)
}

func (p *signinPages) resume(c echo.Context) error {
	lang := pages.Lang("", c.Request().Header.Get("Accept-Language"))
	if !tenantPattern.MatchString(c.Param("tenant")) {
		return p.render.Error(c, http.StatusBadRequest, lang, "error.title", signin.TextInvalidLink)
	}
	q := c.Request().URL.Query()
	v := signin.Verdicts{Login: q.Get("login_verdict"), Consent: q.Get("consent_verdict"),
		Repeated: len(q["login_verdict"]) > 1 || len(q["consent_verdict"]) > 1}
	ans, err := p.authorizer.Resume(c.Request().Context(), c.Param("tenant"), v, p.browser(c))
	return p.answer(c, lang, ans, err)
}

func (p *signinPages) logout(c echo.Context) error {
	v, err := params(c)
	lang := pages.Lang(v.Get("ui_locales"), c.Request().Header.Get("Accept-Language"))
	if err != nil || !tenantPattern.MatchString(c.Param("tenant")) {
		return p.render.Error(c, http.StatusBadRequest, lang, "error.title", "error.bad_request", "the form cannot be read")
	}
	ans, err := p.authorizer.Logout(c.Request().Context(), c.Param("tenant"), signin.LogoutRequestOf(v))
	return p.answer(c, lang, ans, err)
}

// browser is the browser-binding cookie's value, "" when the browser has none.
func (p *signinPages) browser(c echo.Context) string {
	if ck, err := c.Cookie(browserCookie); err == nil {
		return ck.Value
	}
	return ""
}

// answer sends the browser on (303, so a POST is not repeated) or shows the error page.
// A fault of ours is the "briefly unavailable" page, logged; never a stack trace.
func (p *signinPages) answer(c echo.Context, lang string, ans *signin.Answer, err error) error {
	if err != nil {
		if errs.Is(err, errs.Unavailable) {
			p.logger.Warn("sign-in page unavailable", "path", c.Request().URL.Path, "error", err)
		} else {
			p.logger.Error("sign-in page failed", "path", c.Request().URL.Path, "error", err)
		}
		c.Response().Header().Set("Retry-After", "5")
		return p.render.Error(c, http.StatusServiceUnavailable, lang, "error.title", "error.unavailable")
	}
	if ans.Browser != "" {
		pages.SetCookie(c, browserCookie, ans.Browser, "/v1/tenants/"+c.Param("tenant")+"/oauth2/", browserMaxAge)
	}
	if ans.Refusal != nil {
		status := http.StatusBadRequest
		switch ans.Refusal.Kind {
		case errs.Forbidden:
			status = http.StatusForbidden
		case errs.NotFound:
			status = http.StatusNotFound
		}
		return p.render.Error(c, status, lang, "error.title", ans.Refusal.Text)
	}
	return c.Redirect(http.StatusSeeOther, ans.Redirect)
}

// catalog are the texts of oauth-clients' error pages, in every language pages speaks.
var catalog = pages.Catalog{
	"en": {
		signin.TextNoClient:         "The sign-in request does not name an application (client_id is missing). Go back to the application and start again.",
		signin.TextUnknownClient:    "The application that sent you here is not known. Go back to the application and start again.",
		signin.TextNoRedirect:       "The sign-in request does not say where to return to (redirect_uri is missing).",
		signin.TextWrongRedirect:    "The address this sign-in would return to is not registered for the application, so you are not sent there.",
		signin.TextRepeated:         "The sign-in request names the application or its return address more than once.",
		signin.TextOtherBrowser:     "This sign-in was started in another browser. Start again from the application in this browser.",
		signin.TextLogoutNoClient:   "The sign-out request names an address to return to but not the application it belongs to.",
		signin.TextLogoutRedirect:   "The address to return to after signing out is not registered for the application, so you are not sent there.",
		signin.TextLogoutHint:       "The sign-out request carries an ID token that was not issued here.",
		signin.TextLogoutClientHint: "The sign-out request names another application than its ID token.",
	},
	"de": {
		signin.TextNoClient:         "Die Anmeldeanfrage nennt keine Anwendung (client_id fehlt). Kehren Sie zur Anwendung zurück und beginnen Sie erneut.",
		signin.TextUnknownClient:    "Die Anwendung, die Sie hierher geschickt hat, ist nicht bekannt. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.",
		signin.TextNoRedirect:       "Die Anmeldeanfrage sagt nicht, wohin es zurückgehen soll (redirect_uri fehlt).",
		signin.TextWrongRedirect:    "Die Rücksprungadresse dieser Anmeldung ist für die Anwendung nicht registriert, deshalb werden Sie nicht dorthin geschickt.",
		signin.TextRepeated:         "Die Anmeldeanfrage nennt die Anwendung oder ihre Rücksprungadresse mehr als einmal.",
		signin.TextOtherBrowser:     "Diese Anmeldung wurde in einem anderen Browser begonnen. Beginnen Sie in diesem Browser erneut bei der Anwendung.",
		signin.TextLogoutNoClient:   "Die Abmeldeanfrage nennt eine Rücksprungadresse, aber nicht die Anwendung, zu der sie gehört.",
		signin.TextLogoutRedirect:   "Die Adresse nach der Abmeldung ist für die Anwendung nicht registriert, deshalb werden Sie nicht dorthin geschickt.",
		signin.TextLogoutHint:       "Die Abmeldeanfrage enthält ein ID-Token, das nicht hier ausgestellt wurde.",
		signin.TextLogoutClientHint: "Die Abmeldeanfrage nennt eine andere Anwendung als ihr ID-Token.",
	},
	"nb": {
		signin.TextNoClient:         "Innloggingsforespørselen oppgir ingen applikasjon (client_id mangler). Gå tilbake til applikasjonen og start på nytt.",
		signin.TextUnknownClient:    "Applikasjonen som sendte deg hit, er ikke kjent. Gå tilbake til applikasjonen og start på nytt.",
		signin.TextNoRedirect:       "Innloggingsforespørselen sier ikke hvor du skal sendes tilbake (redirect_uri mangler).",
		signin.TextWrongRedirect:    "Adressen denne innloggingen ville sende deg tilbake til, er ikke registrert for applikasjonen, så du sendes ikke dit.",
		signin.TextRepeated:         "Innloggingsforespørselen oppgir applikasjonen eller returadressen mer enn én gang.",
		signin.TextOtherBrowser:     "Denne innloggingen ble startet i en annen nettleser. Start på nytt fra applikasjonen i denne nettleseren.",
		signin.TextLogoutNoClient:   "Utloggingsforespørselen oppgir en returadresse, men ikke applikasjonen den tilhører.",
		signin.TextLogoutRedirect:   "Adressen du skulle sendes til etter utlogging, er ikke registrert for applikasjonen, så du sendes ikke dit.",
		signin.TextLogoutHint:       "Utloggingsforespørselen inneholder et ID-token som ikke ble utstedt her.",
		signin.TextLogoutClientHint: "Utloggingsforespørselen oppgir en annen applikasjon enn ID-tokenet sitt.",
	},
}
