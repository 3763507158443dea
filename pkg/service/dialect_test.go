package service

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/problem"
)

func TestEchoPath(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"/v1/tenants/{tenant}/users", "/v1/tenants/:tenant/users"},
		{"/v1/tenants/{tenant}/users/{userId}/groups/{groupId}", "/v1/tenants/:tenant/users/:userId/groups/:groupId"},
		{"/clients", "/clients"},
		{"/api/admin/{tid}/consents/{id}", "/api/admin/:tid/consents/:id"},
	} {
		if got := echoPath(tc.spec); got != tc.want {
			t.Errorf("echoPath(%q) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestUndeclaredQuery(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData([]byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /v1/tenants/{tenant}/users:
    parameters: [{name: tenant, in: path, required: true, schema: {type: string}}]
    get:
      parameters:
        - {name: pageSize, in: query, schema: {type: integer}}
        - {name: page, in: query, style: deepObject, schema: {type: object}}
      responses: {"200": {description: ok}}
`))
	if err != nil {
		t.Fatal(err)
	}
	declared := queryParams{}
	declared.addSpec(spec)
	e := echo.New()
	e.HTTPErrorHandler = problem.Handler(slog.New(slog.DiscardHandler), nil)
	e.Use(declared.undeclaredQuery)
	e.GET("/v1/tenants/:tenant/users", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	for _, tc := range []struct {
		query string
		code  int
		named string
	}{
		{"", http.StatusOK, ""},
		{"pageSize=10&consistencyToken=x", http.StatusOK, ""},
		{"page[offset]=20", http.StatusOK, ""},
		{"pageNumber=2&pageSize=10", http.StatusBadRequest, "pageNumber"},
		{"sort=name", http.StatusBadRequest, "sort"},
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/tenants/acme/users?"+tc.query, nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.named) {
			t.Errorf("?%s: %d %s, want %d naming %q", tc.query, rec.Code, rec.Body, tc.code, tc.named)
		}
	}
}
