package httpapi

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/localize"
	"github.com/iamplane/iam/pkg/pages"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

//go:embed pages/*.html
var pageFiles embed.FS

// ConsentScreen serves the consent screen (the browser pages of the sign-in handshake,
// below /v1/tenants/{tenant}/consent-screen) and the keys of its verdicts. Like every
// handler it translates HTTP to one use-case call and back; its failures are HTML pages.
type ConsentScreen struct {
	screen *consents.Screen
	pages  *pages.Renderer
	logger *slog.Logger
}

// NewConsentScreen serves screen's pages; logger records failures that are not the
// visitor's.
func NewConsentScreen(screen *consents.Screen, logger *slog.Logger) (*ConsentScreen, error) {
	files, err := fs.Sub(pageFiles, "pages")
	if err != nil {
		return nil, err
	}
	r, err := pages.New(files, screenTexts)
	if err != nil {
		return nil, err
	}
	return &ConsentScreen{screen: screen, pages: r, logger: logger}, nil
}

// Register adds the screen's routes to e (declared to service.Boot with
// service.WithPages("/consent-screen"), so the API's validator and token check skip them).
func (h *ConsentScreen) Register(e *echo.Echo) {
	e.GET("/v1/tenants/:tenant/consent-screen", h.show)
	e.POST("/v1/tenants/:tenant/consent-screen", h.decide)
	e.GET("/v1/tenants/:tenant/consent-screen/jwks", h.keys)
}

// show answers the browser oauth-clients sent with a consent challenge.
func (h *ConsentScreen) show(c echo.Context) error {
	v := h.visitor(c, "")
	out, err := h.screen.Ask(c.Request().Context(), c.Param("tenant"), c.QueryParam("consent_challenge"), v)
	if err != nil {
		return h.failure(c, v.Language(""), err)
	}
	return h.respond(c, out)
}

// decide takes the person's answer from the screen's form.
func (h *ConsentScreen) decide(c echo.Context) error {
	v := h.visitor(c, c.FormValue("lang"))
	if err := pages.CheckCSRF(c); err != nil {
		return h.failure(c, v.Language(""), err)
	}
	var allow bool
	switch c.FormValue("decision") {
	case "allow":
		allow = true
	case "deny":
	default:
		return h.pages.Error(c, http.StatusBadRequest, v.Language(""), "error.title", "consent.bad_decision")
	}
	form, err := c.FormParams()
	if err != nil {
		return h.failure(c, v.Language(""), errs.Wrap(errs.BadRequest, err, "the form cannot be read"))
	}
	out, err := h.screen.Decide(c.Request().Context(), c.Param("tenant"), c.FormValue("consent_challenge"), allow, form["consent"], v)
	if err != nil {
		return h.failure(c, v.Language(""), err)
	}
	return h.respond(c, out)
}

// keys publishes the public keys of consent verdicts, the same in every tenant. They may
// be cached for a few minutes: a verifier refetches on a kid it does not know.
func (h *ConsentScreen) keys(c echo.Context) error {
	keys, err := h.screen.VerdictKeys(c.Request().Context())
	if err != nil {
		return err
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := keys[i].KeyID()
		b, _ := keys[j].KeyID()
		return a < b
	})
	header := c.Response().Header()
	header.Set("Cache-Control", "public, max-age=300")
	header.Del("Pragma")
	return c.JSON(http.StatusOK, map[string]any{"keys": keys})
}

// maxDevice bounds the browser description the ledger records (its API allows 200).
const maxDevice = 200

// visitor is the person before the screen: the address, the browser, and the language
// of the page (formLang, the one the form was shown in, first; then the challenge's
// ui_locales; then Accept-Language).
func (h *ConsentScreen) visitor(c echo.Context, formLang string) consents.Visitor {
	device := strings.ToValidUTF8(c.Request().UserAgent(), "")
	if len(device) > maxDevice {
		device = strings.ToValidUTF8(device[:maxDevice], "")
	}
	accept := c.Request().Header.Get("Accept-Language")
	return consents.Visitor{IP: c.RealIP(), Device: device, Language: func(uiLocales string) string {
		return pages.Lang(strings.TrimSpace(formLang+" "+uiLocales), accept)
	}}
}

// respond sends the browser on with its verdict, or shows the screen.
func (h *ConsentScreen) respond(c echo.Context, out *consents.ScreenOutcome) error {
	if out.Page == nil {
		return c.Redirect(http.StatusSeeOther, out.Redirect)
	}
	view := h.screenView(c, out.Language, out.Page)
	status := http.StatusOK
	if view.Missing != "" {
		status = http.StatusUnprocessableEntity
	}
	return h.pages.Render(c, status, "consent-screen", out.Language, view)
}

// failure shows err as a page: what went wrong in words the person can act on, never
// the error's internals.
func (h *ConsentScreen) failure(c echo.Context, lang string, err error) error {
	switch kind := errs.KindOf(err); {
	case errors.Is(err, consents.ErrChallengeUsed):
		return h.pages.Error(c, http.StatusConflict, lang, "error.title", "error.used_link")
	case kind == errs.Unauthorized:
		return h.pages.Error(c, http.StatusBadRequest, lang, "error.title", "error.invalid_link")
	case kind == errs.Forbidden:
		return h.pages.Error(c, http.StatusForbidden, lang, "error.title", "error.csrf")
	case kind == errs.NotFound:
		return h.pages.Error(c, http.StatusNotFound, lang, "error.title", "consent.unknown_client")
	case kind == errs.Invalid || kind == errs.BadRequest || kind == errs.Conflict:
		var e *errs.Error
		errors.As(err, &e)
		return h.pages.Error(c, http.StatusBadRequest, lang, "error.title", "error.bad_request", e.Detail)
	case kind == errs.Unavailable:
		h.logger.Warn("consent screen unavailable", "error", err)
		return h.pages.Error(c, http.StatusServiceUnavailable, lang, "error.title", "error.unavailable")
	default:
		h.logger.Error("consent screen failed", "error", err)
		return h.pages.Error(c, http.StatusInternalServerError, lang, "error.title", "consent.failed")
	}
}

// screenView is what the consent-screen template shows.
type screenView struct {
	Action    string // where the form posts: this page
	Challenge string
	Client    consents.ScreenClient
	Scopes    []scopeView
	Consents  []consentView
	Missing   string // the titles of the required consents left unticked
}

type scopeView struct {
	Name, Title, Description string
	Granted                  bool
}

type consentView struct {
	ID, Title, Description    string
	TextLang                  string // the texts' language, when it is not the page's
	Version                   int64
	Required, Choice, Checked bool
	Missing                   bool
}

// screenView puts the screen into words of lang: built-in texts for the OpenID scopes,
// a scope's definition otherwise; a consent's texts in lang (localize.Pick), else its name
// and description. Links go only to http(s) addresses.
func (h *ConsentScreen) screenView(c echo.Context, lang string, p *consents.ScreenPage) screenView {
	client := p.Client
	client.LogoURI, client.ClientURI = webAddress(client.LogoURI), webAddress(client.ClientURI)
	client.PolicyURI, client.TosURI = webAddress(client.PolicyURI), webAddress(client.TosURI)
	if client.Name == "" {
		client.Name = client.ID
	}
	v := screenView{Action: c.Request().URL.Path, Challenge: p.Challenge, Client: client}
	for _, sc := range p.Scopes {
		s := scopeView{Name: sc.Name, Title: sc.DisplayName, Description: sc.Description, Granted: sc.Granted}
		if key := "scope." + sc.Name + ".title"; h.pages.Text(lang, key) != key {
			s.Title, s.Description = h.pages.Text(lang, key), h.pages.Text(lang, "scope."+sc.Name+".description")
		}
		if s.Title == "" {
			s.Title = sc.Name
		}
		v.Scopes = append(v.Scopes, s)
	}
	var missing []string
	for _, ch := range p.Consents {
		cv := consentView{ID: ch.ID, Title: ch.Name, Description: ch.Description, Version: ch.CurrentVersion,
			Required: ch.Required, Choice: ch.Choice, Checked: ch.Checked, Missing: ch.Missing}
		if textLang, ok := consentTextLang(ch.Texts, lang); ok {
			cv.Title, cv.Description = ch.Texts[textLang].Title, ch.Texts[textLang].Description
			if pages.Lang(textLang, "") != lang {
				cv.TextLang = textLang
			}
		}
		if cv.Missing {
			missing = append(missing, cv.Title)
		}
		v.Consents = append(v.Consents, cv)
	}
	v.Missing = strings.Join(missing, ", ")
	return v
}

// consentTextLang picks the language of a consent's texts for a page in lang (Norwegian
// also from no or nn), else English, else the first language.
func consentTextLang(texts map[string]consents.ConsentText, lang string) (string, bool) {
	if len(texts) == 0 {
		return "", false
	}
	langs := make(map[string]string, len(texts))
	for l := range texts {
		langs[l] = l
	}
	accept := lang
	if lang == "nb" {
		accept = "nb, no, nn"
	}
	return localize.Pick(langs, accept), true
}

// webAddress is s if it is an http(s) address, else nothing: a link on the screen never
// runs script or opens another scheme.
func webAddress(s string) string {
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return s
	}
	return ""
}
