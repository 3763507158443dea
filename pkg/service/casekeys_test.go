package service

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/problem"
)

func TestCaseVariantKeys(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData([]byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /v1/tenants/{tenant}/things/{id}:
    parameters:
      - {name: tenant, in: path, required: true, schema: {type: string}}
      - {name: id, in: path, required: true, schema: {type: string}}
    put:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing'}
      responses: {"200": {description: ok}}
  /v1/tenants/{tenant}/oauth2/register:
    parameters: [{name: tenant, in: path, required: true, schema: {type: string}}]
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: true
              properties:
                client_name: {type: string}
                grant_types: {type: array, items: {type: string}}
      responses: {"201": {description: ok}}
components:
  schemas:
    Thing:
      allOf:
        - type: object
          properties:
            name: {type: string}
            metadata:
              type: object
              properties:
                version: {type: integer}
        - type: object
          properties:
            labels:
              type: object
              additionalProperties: {$ref: '#/components/schemas/Label'}
            parts:
              type: array
              items: {$ref: '#/components/schemas/Label'}
            attributes:
              type: object
              additionalProperties: true
    Label:
      type: object
      properties:
        text: {type: string}
`))
	if err != nil {
		t.Fatal(err)
	}
	bodies := bodySchemas{}
	bodies.addSpec(spec)
	e := echo.New()
	e.HTTPErrorHandler = problem.Handler(slog.New(slog.DiscardHandler), nil)
	e.Use(bodies.caseVariantKeys)
	echoBody := func(c echo.Context) error {
		b, _ := io.ReadAll(c.Request().Body)
		return c.Blob(http.StatusOK, "text/plain", b)
	}
	e.PUT("/v1/tenants/:tenant/things/:id", echoBody)
	e.POST("/v1/tenants/:tenant/oauth2/register", echoBody)
	for _, tc := range []struct {
		name, path, body string
		status           int
		named            string // the key the answer names
	}{
		{"declared keys pass, body intact", "/v1/tenants/acme/things/x", `{"name":"a","metadata":{"version":3}}`, 200, ""},
		{"an unknown key that matches nothing passes", "/v1/tenants/acme/things/x", `{"name":"a","colour":"red"}`, 200, ""},
		{"a lone case variant of a declared key", "/v1/tenants/acme/things/x", `{"metadata":{"Version":3}}`, 400, "body.metadata.Version"},
		{"a variant at the top, from another allOf member", "/v1/tenants/acme/things/x", `{"Labels":{}}`, 400, "body.Labels"},
		{"Unicode folding as Go's decoder does it (long s)", "/v1/tenants/acme/things/x", `{"metadata":{"ver\u017fion":3}}`, 400, "body.metadata.ver"},
		{"inside a map's values", "/v1/tenants/acme/things/x", `{"labels":{"Name":{"TEXT":"x"}}}`, 400, "body.labels.Name.TEXT"},
		{"a map's own keys are data", "/v1/tenants/acme/things/x", `{"labels":{"Name":{"text":"x"}},"attributes":{"Version":1}}`, 200, ""},
		{"inside array items", "/v1/tenants/acme/things/x", `{"parts":[{"text":"a"},{"Text":"b"}]}`, 400, "body.parts.1.Text"},
		{"malformed JSON is left to the validator", "/v1/tenants/acme/things/x", `{"name":`, 200, ""},
		{"RFC 7591: its own error object", "/v1/tenants/acme/oauth2/register", `{"Client_Name":"x"}`, 400, "invalid_client_metadata"},
		{"RFC 7591: unknown members still ignored", "/v1/tenants/acme/oauth2/register", `{"client_name":"x","software_id":"s"}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodPut
			if strings.Contains(tc.path, "register") {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 200 && rec.Body.String() != tc.body {
				t.Fatalf("body reached the handler as %q", rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.named) {
				t.Fatalf("the answer does not name %q: %s", tc.named, rec.Body)
			}
			if tc.status == 400 && !strings.Contains(tc.path, "/oauth2/") {
				var p problem.Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 400 || len(p.Errors) == 0 {
					t.Fatalf("not a problem naming fields: %s", rec.Body)
				}
			}
		})
	}
}
