// Package pages renders the platform's browser pages (sign-in, consent, sign-out, and the
// errors on the way) the same way in every service that has them: server-side HTML from
// embedded templates that works without JavaScript, in the person's language, with a
// strict Content-Security-Policy, no framing, no caching and a CSRF token on every form.
package pages

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
)

//go:embed templates/*.html
var baseTemplates embed.FS

// Languages are the languages every page is written in; the first is the fallback.
var Languages = []string{"en", "de", "nb"}

// Catalog holds a page set's texts: language -> key -> text (a fmt format).
type Catalog map[string]map[string]string

// Renderer renders one service's pages, each a template file defining "title" and
// "content", inside the shared layout.
type Renderer struct {
	pages   map[string]*template.Template
	catalog Catalog
}

// New parses every *.html in pagesFS as a page named by its file name without ".html",
// with texts from catalog (merged over the shared texts of the layout and error page).
func New(pagesFS fs.FS, catalog Catalog) (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, catalog: Catalog{}}
	for _, c := range []Catalog{common, catalog} {
		for lang, texts := range c {
			if r.catalog[lang] == nil {
				r.catalog[lang] = map[string]string{}
			}
			for k, v := range texts {
				r.catalog[lang][k] = v
			}
		}
	}
	funcs := template.FuncMap{"t": r.Text}
	add := func(fsys fs.FS, pattern string) error {
		files, err := fs.Glob(fsys, pattern)
		if err != nil {
			return err
		}
		for _, f := range files {
			name := strings.TrimSuffix(f[strings.LastIndex(f, "/")+1:], ".html")
			if name == "layout" {
				continue
			}
			t, err := template.New("layout.html").Funcs(funcs).ParseFS(baseTemplates, "templates/layout.html")
			if err != nil {
				return err
			}
			if t, err = t.ParseFS(fsys, f); err != nil {
				return fmt.Errorf("page %s: %w", f, err)
			}
			r.pages[name] = t
		}
		return nil
	}
	if err := add(baseTemplates, "templates/*.html"); err != nil {
		return nil, err
	}
	if pagesFS != nil {
		if err := add(pagesFS, "*.html"); err != nil {
			return nil, err
		}
	}
	// Every text must exist in every language, so no page shows a key.
	for _, lang := range Languages {
		for key := range r.catalog["en"] {
			if _, ok := r.catalog[lang][key]; !ok {
				return nil, fmt.Errorf("pages: text %q has no %s translation", key, lang)
			}
		}
	}
	return r, nil
}

// Text is the text key in lang, formatted with args; a missing key shows as itself.
func (r *Renderer) Text(lang, key string, args ...any) string {
	s, ok := r.catalog[lang][key]
	if !ok {
		if s, ok = r.catalog["en"][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// View is what a page template sees: .Lang for {{t .Lang "key"}}, .Nonce for the
// layout's style element, .CSRF for forms, and the page's own .Data.
type View struct {
	Lang  string
	Nonce string
	CSRF  string
	Data  any
}

// Render writes page with data in lang, with the headers every page carries.
func (r *Renderer) Render(c echo.Context, status int, page, lang string, data any) error {
	t, ok := r.pages[page]
	if !ok {
		return errs.E(errs.Internal, "no page %q", page)
	}
	nonce := random(16)
	v := View{Lang: lang, Nonce: nonce, CSRF: CSRFToken(c), Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return errs.Wrap(errs.Internal, err, "render page")
	}
	h := c.Response().Header()
	// Nothing but our own inline style (by nonce) and images over https or data: no
	// script at all, no plug-ins, no framing, no <base> tricks.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; img-src https: data:; "+
		"base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// The URL of a page carries a challenge; it must not leak to a logo's or link's host.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Language", lang)
	return c.HTMLBlob(status, buf.Bytes())
}

// ErrorData is what the shared error page shows.
type ErrorData struct {
	Title  string // already in the page's language
	Detail string
	// Back, if set, is a link the person may follow (e.g. the application's home).
	Back string
}

// Error renders the shared error page: a plain explanation, never a stack trace, never a
// redirect to an address we have not checked.
func (r *Renderer) Error(c echo.Context, status int, lang, titleKey, detailKey string, args ...any) error {
	return r.Render(c, status, "error", lang, ErrorData{Title: r.Text(lang, titleKey), Detail: r.Text(lang, detailKey, args...)})
}

// Lang picks the page language: the first of ui_locales (OIDC, space separated, in order
// of preference) we speak, else the first of Accept-Language, else English. Norwegian
// (no, nn, nb) is written as Bokmål.
func Lang(uiLocales, acceptLanguage string) string {
	pick := func(tag string) string {
		tag = strings.ToLower(strings.TrimSpace(strings.SplitN(tag, ";", 2)[0]))
		base, _, _ := strings.Cut(tag, "-")
		switch base {
		case "no", "nn", "nb":
			return "nb"
		}
		for _, l := range Languages {
			if base == l {
				return l
			}
		}
		return ""
	}
	for _, tag := range strings.Fields(uiLocales) {
		if l := pick(tag); l != "" {
			return l
		}
	}
	for _, tag := range strings.Split(acceptLanguage, ",") {
		if l := pick(tag); l != "" {
			return l
		}
	}
	return Languages[0]
}

// Secure reports whether the browser reached us over TLS (directly, or through the
// gateway or ingress, which terminates it and says so). Cookies are Secure then.
func Secure(c echo.Context) bool {
	return c.Request().TLS != nil || strings.EqualFold(c.Request().Header.Get("X-Forwarded-Proto"), "https")
}

// SetCookie sets an HttpOnly, SameSite=Lax cookie for path (Secure over TLS); maxAge 0
// makes it a session cookie, a negative maxAge deletes it.
func SetCookie(c echo.Context, name, value, path string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: Secure(c), SameSite: http.SameSiteLaxMode})
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfCookie holds the CSRF secret of a browser (double-submit): a form carries the same
// value in csrf_token, which a page of another site can neither read nor set.
const csrfCookie = "iam_csrf"

// CSRFToken returns the browser's CSRF token, setting the cookie on first use. The cookie
// is scoped to the tenant's pages (/v1/tenants/{tenant}/).
func CSRFToken(c echo.Context) string {
	if v, ok := c.Get(csrfCookie).(string); ok {
		return v
	}
	if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 22 {
		c.Set(csrfCookie, ck.Value)
		return ck.Value
	}
	v := random(24)
	c.Set(csrfCookie, v)
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: v, Path: tenantPath(c), HttpOnly: true,
		Secure: Secure(c), SameSite: http.SameSiteStrictMode})
	return v
}

// CheckCSRF refuses a form whose csrf_token does not match the browser's cookie.
func CheckCSRF(c echo.Context) error {
	ck, err := c.Cookie(csrfCookie)
	form := c.FormValue("csrf_token")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		return errs.E(errs.Forbidden, "the form's CSRF token is missing or does not match")
	}
	return nil
}

// tenantPath is /v1/tenants/{tenant}/ of the request, or / outside a tenant.
func tenantPath(c echo.Context) string {
	rest, ok := strings.CutPrefix(c.Request().URL.Path, "/v1/tenants/")
	if !ok {
		return "/"
	}
	tenant, _, _ := strings.Cut(rest, "/")
	return "/v1/tenants/" + tenant + "/"
}
