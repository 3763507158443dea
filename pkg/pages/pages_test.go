package pages

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestLang(t *testing.T) {
	for _, c := range []struct{ ui, accept, want string }{
		{"", "", "en"},
		{"de-CH fr", "", "de"},
		{"fr", "nn-NO,en;q=0.5", "nb"},
		{"", "fr, de;q=0.8", "de"},
		{"no", "de", "nb"},
	} {
		if got := Lang(c.ui, c.accept); got != c.want {
			t.Errorf("Lang(%q, %q) = %q, want %q", c.ui, c.accept, got, c.want)
		}
	}
}

func TestErrorPageIsSafeAndLocalized(t *testing.T) {
	r, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	for _, lang := range Languages {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/v1/tenants/acme/login", nil), rec)
		if err := r.Error(c, http.StatusBadRequest, lang, "error.title", "error.bad_request", "<script>x</script>"); err != nil {
			t.Fatal(err)
		}
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(body, r.Text(lang, "error.title")) {
			t.Fatalf("%s: %d %s", lang, rec.Code, body)
		}
		if strings.Contains(body, "<script>") {
			t.Fatalf("%s: detail not escaped: %s", lang, body)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Fatalf("CSP %q", csp)
		}
		if rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(rec.Header().Get("Set-Cookie"), "Path=/v1/tenants/acme/") {
			t.Fatalf("headers %v", rec.Header())
		}
	}
}

func TestCheckCSRF(t *testing.T) {
	e := echo.New()
	post := func(cookie, field string) error {
		form := url.Values{}
		if field != "" {
			form.Set("csrf_token", field)
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/tenants/acme/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: csrfCookie, Value: cookie})
		}
		return CheckCSRF(e.NewContext(req, httptest.NewRecorder()))
	}
	token := "abcdefghijklmnopqrstuvwxyz012345"
	if err := post(token, token); err != nil {
		t.Fatalf("matching token refused: %v", err)
	}
	for name, c := range map[string][2]string{"no field": {token, ""}, "no cookie": {"", token}, "different": {token, token + "x"}} {
		if err := post(c[0], c[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
