package consent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// do sends a raw JSON request with the token and answers the status and the decoded body.
func do(tb testing.TB, method, url, token string, body any) (int, map[string]any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("%s %s: %d, not a JSON object: %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// clone copies a decoded JSON object deeply.
func clone(tb testing.TB, m map[string]any) map[string]any {
	tb.Helper()
	raw, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// namesField reports whether a problem (or a Cloudentity error) names field among its errors.
func namesField(body map[string]any, field string) bool {
	raw, _ := json.Marshal(body)
	return strings.Contains(string(raw), `"field":"`+field+`"`)
}

// TestReadModifyWrite: what GET answers for a consent or a consent action can be PUT
// back with a change; read-only fields are ignored when they are what is stored and
// refused, naming the field, when they are not.
func TestReadModifyWrite(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	token := s.Issuer.Token(t, "acme", "client-acme-caller", "services.iam")
	terms := s.consent(t, "terms", false)
	a := s.mustAction(t, "signup", terms)

	for _, tc := range []struct {
		name, url string
		change    func(m map[string]any)
	}{
		{"consent", s.URL + "/v1/tenants/acme/consents/" + terms.Id, func(m map[string]any) { m["description"] = "changed" }},
		{"consent action", s.URL + "/v1/tenants/acme/consent-actions/" + a.Id, func(m map[string]any) { m["description"] = "changed" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := do(t, http.MethodGet, tc.url, token, nil)
			if status != http.StatusOK {
				t.Fatalf("get: %d %v", status, got)
			}
			body := clone(t, got)
			tc.change(body)
			status, put := do(t, http.MethodPut, tc.url, token, body)
			if status != http.StatusOK || put["description"] != "changed" {
				t.Fatalf("put of the GET representation: %d %v", status, put)
			}
			// The answer can be written back again, unchanged.
			status, again := do(t, http.MethodPut, tc.url, token, put)
			if status != http.StatusOK {
				t.Fatalf("put of the PUT answer: %d %v", status, again)
			}

			for _, bad := range []struct {
				field  string
				change func(m map[string]any)
			}{
				{"id", func(m map[string]any) { m["id"] = "another-id" }},
				{"metadata.createdAt", func(m map[string]any) {
					m["metadata"].(map[string]any)["createdAt"] = "2001-01-01T00:00:00Z"
				}},
			} {
				body := clone(t, again)
				bad.change(body)
				status, refused := do(t, http.MethodPut, tc.url, token, body)
				if status != http.StatusUnprocessableEntity || !namesField(refused, bad.field) {
					t.Errorf("changing %s: %d %v, want 422 naming it", bad.field, status, refused)
				}
			}
			// A stale metadata.version stays a conflict.
			stale := clone(t, got)
			status, refused := do(t, http.MethodPut, tc.url, token, stale)
			if status != http.StatusConflict {
				t.Errorf("stale version: %d %v, want 409", status, refused)
			}
		})
	}
	t.Run("consent version", func(t *testing.T) {
		url := s.URL + "/v1/tenants/acme/consents/" + terms.Id
		_, cur := do(t, http.MethodGet, url, token, nil)
		body := clone(t, cur)
		body["version"] = cur["version"].(float64) + 5
		status, refused := do(t, http.MethodPut, url, token, body)
		if status != http.StatusUnprocessableEntity || !namesField(refused, "version") {
			t.Errorf("changing version: %d %v, want 422 naming it", status, refused)
		}
	})
}
