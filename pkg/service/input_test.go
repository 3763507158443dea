package service

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/problem"
)

func TestCleanInput(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = problem.Handler(slog.New(slog.DiscardHandler), nil)
	e.Use(cleanInput)
	echoBody := func(c echo.Context) error {
		b, _ := io.ReadAll(c.Request().Body)
		return c.Blob(http.StatusOK, "text/plain", b)
	}
	e.Any("/v1/tenants/:tenant/*", echoBody)
	tests := []struct {
		name, method, target, contentType, body string
		status                                  int
		field                                   string // named in the answer
	}{
		{"clean JSON passes, body intact", "POST", "/v1/tenants/acme/groups", "application/json", `{"displayName":"Ops","metadata":{"version":1}}`, 200, ""},
		{"NUL in a JSON string", "POST", "/v1/tenants/acme/groups", "application/json", `{"displayName":"a\u0000b"}`, 400, "body.displayName"},
		{"NUL deep in an array", "POST", "/v1/tenants/acme/groups", "application/json", `{"ids":["x","\u0000"]}`, 400, "body.ids.1"},
		{"keys differing only in case", "PUT", "/v1/tenants/acme/groups/g", "application/json", `{"metadata":{"version":1,"Version":7}}`, 400, "body.metadata.Version"},
		{"keys differing only by Unicode folding", "PUT", "/v1/tenants/acme/groups/g", "application/json", `{"metadata":{"version":1,"ver\u017fion":7}}`, 400, "body.metadata.ver"},
		{"invalid UTF-8 in JSON", "POST", "/v1/tenants/acme/groups", "application/json", "{\"displayName\":\"\xff\"}", 400, "body"},
		{"NUL in the query", "GET", "/v1/tenants/acme/subjects?searchQuery=a%00b", "", "", 400, "query.searchQuery"},
		{"NUL in the path", "GET", "/v1/tenants/acme/users/a%00b", "", "", 400, "path"},
		{"NUL in a form, OAuth error object", "POST", "/v1/tenants/acme/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=a%00", 400, "invalid_request"},
		{"clean form passes", "POST", "/v1/tenants/acme/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", 200, ""},
		{"malformed JSON is left to the validator", "POST", "/v1/tenants/acme/groups", "application/json", `{"a":`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 && rec.Body.String() != tt.body {
				t.Fatalf("body reached the handler as %q", rec.Body)
			}
			if tt.field != "" && !strings.Contains(rec.Body.String(), tt.field) {
				t.Fatalf("answer does not name %q: %s", tt.field, rec.Body)
			}
			if tt.status == 400 && !strings.Contains(tt.target, "/oauth2/") {
				var p problem.Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 400 || len(p.Errors) == 0 {
					t.Fatalf("not a problem naming fields: %s", rec.Body)
				}
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	e := echo.New()
	e.Use(noStore)
	e.Any("/*", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	for path, want := range map[string]string{
		"/v1/tenants/acme/clients":                                "no-store",
		"/v1/tenants/acme/oauth2/token":                           "no-store",
		"/v1/tenants/acme/oauth2/jwks":                            "",
		"/v1/tenants/acme/.well-known/oauth-authorization-server": "",
		"/health": "",
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Header().Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
		}
	}
}

func TestIsPage(t *testing.T) {
	pages := []string{"/login", "/oauth2/authorize"}
	for path, want := range map[string]bool{
		"/v1/tenants/acme/login":                   true,
		"/v1/tenants/acme/login/logout":            true,
		"/v1/tenants/acme/loginx":                  false,
		"/v1/tenants/acme/oauth2/authorize":        true,
		"/v1/tenants/acme/oauth2/authorize/resume": true,
		"/v1/tenants/acme/oauth2/token":            false,
		"/v1/tenants/login":                        false,
		"/login":                                   false,
	} {
		if got := isPage(path, pages); got != want {
			t.Errorf("isPage(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestCrossOrigin: a page of another origin may call the API (preflight answered, no
// credentials mode), but pages get no CORS headers.
func TestCrossOrigin(t *testing.T) {
	e := echo.New()
	e.Use(crossOrigin([]string{"/login"}))
	e.Any("/*", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	preflight := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, path, nil)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	api := preflight("/v1/tenants/acme/oauth2/token")
	if api.Header().Get("Access-Control-Allow-Origin") != "*" || api.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("API preflight: %v", api.Header())
	}
	if page := preflight("/v1/tenants/acme/login"); page.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("page preflight got CORS headers: %v", page.Header())
	}
}
