package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/pages"

	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

// logoutView is what logout.html shows.
type logoutView struct {
	Action    string
	Challenge string
	ClientID  string
}

// logoutPage is the logout page: GET /v1/tenants/{tenant}/login/logout?logout_challenge=.
func (p *Pages) logoutPage(c echo.Context) error {
	tenant, lang, ok := p.page(c)
	if !ok {
		return p.badRequest(c, lang, "the tenant is malformed")
	}
	challenge := c.QueryParam("logout_challenge")
	if challenge == "" {
		return p.badRequest(c, lang, "logout_challenge is missing")
	}
	out, err := p.signin.BeginLogout(c.Request().Context(), tenant, challenge, sessionToken(c))
	if err != nil {
		return p.fail(c, lang, err, true)
	}
	return p.logoutOutcome(c, tenant, out)
}

// logout signs out after the person confirmed: POST /v1/tenants/{tenant}/login/logout.
func (p *Pages) logout(c echo.Context) error {
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
	challenge := c.Request().PostForm.Get("logout_challenge")
	if challenge == "" {
		return p.badRequest(c, lang, "logout_challenge is missing")
	}
	out, err := p.signin.Logout(c.Request().Context(), tenant, challenge, sessionToken(c))
	if err != nil {
		return p.fail(c, lang, err, true)
	}
	return p.logoutOutcome(c, tenant, out)
}

// logoutOutcome asks for confirmation, or clears the cookie of the ended session and
// sends the browser to the client or shows that the person is signed out.
func (p *Pages) logoutOutcome(c echo.Context, tenant string, out *signin.LogoutOutcome) error {
	lang := p.lang(c, out.UILocales)
	if out.Confirm != nil {
		return p.render.Render(c, http.StatusOK, "logout", lang, logoutView{Action: loginPath(tenant) + "/logout",
			Challenge: out.Confirm.Challenge, ClientID: out.Confirm.ClientID})
	}
	pages.SetCookie(c, SessionCookie, "", loginPath(tenant), -1)
	if out.Redirect != "" {
		return c.Redirect(http.StatusSeeOther, out.Redirect)
	}
	return p.render.Render(c, http.StatusOK, "signed_out", lang, nil)
}
