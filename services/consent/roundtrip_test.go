package consent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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

// TestNativeLedgerFilters: every parameter of the native ledger is honoured, and one it
// does not have is refused by name rather than ignored (the tenant's whole ledger).
func TestNativeLedgerFilters(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	token := s.Issuer.Token(t, "acme", "client-acme-caller", "services.iam")
	news := s.consent(t, "news", true)
	before := time.Now().UTC().Add(-time.Second)
	for _, subject := range []string{"user-a", "user-a", "user-b"} {
		if r := s.change(t, subject, true, "explicit", news.Id); r.JSON200 == nil {
			t.Fatalf("grant: %d %s", r.StatusCode(), r.Body)
		}
	}
	ledger := s.URL + "/v1/tenants/acme/privacy-ledger"
	stamp := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
	for _, tc := range []struct {
		query      string
		want       int // events in data
		wantTotal  int
		allSubject string
	}{
		{"", 3, 3, ""},
		{"?subject=user-a", 2, 2, "user-a"},
		{"?subject=user-b", 1, 1, "user-b"},
		{"?subject=user-none", 0, 0, ""},
		{"?from=" + stamp(before), 3, 3, ""},
		{"?from=" + stamp(time.Now().Add(time.Hour)), 0, 0, ""},
		{"?to=" + stamp(before), 0, 0, ""},
		{"?subject=user-a&from=" + stamp(before) + "&to=" + stamp(time.Now().Add(time.Hour)), 2, 2, "user-a"},
		{"?pageSize=10&page=2", 0, 3, ""},
		{"?pageSize=10&page=1", 3, 3, ""},
	} {
		status, got := do(t, http.MethodGet, ledger+tc.query, token, nil)
		if status != http.StatusOK {
			t.Errorf("ledger%s: %d %v", tc.query, status, got)
			continue
		}
		data := got["data"].([]any)
		if len(data) != tc.want || got["total"] != float64(tc.wantTotal) {
			t.Errorf("ledger%s: %d events, total %v; want %d, total %d", tc.query, len(data), got["total"], tc.want, tc.wantTotal)
		}
		for _, ev := range data {
			if tc.allSubject != "" && ev.(map[string]any)["subject"] != tc.allSubject {
				t.Errorf("ledger%s: an event of %v", tc.query, ev.(map[string]any)["subject"])
			}
		}
	}
	for _, bad := range []string{"sub", "consentId"} {
		status, got := do(t, http.MethodGet, ledger+"?"+bad+"=user-a", token, nil)
		if status != http.StatusBadRequest || !namesField(got, bad) {
			t.Errorf("ledger?%s=: %d %v, want 400 naming it", bad, status, got)
		}
	}
}

// TestNativeIDsKept: the native API keeps the ids a create names (an import), under the
// id rule, and names such as EULA; primary purposes round-trip.
func TestNativeIDsKept(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	token := s.Issuer.Token(t, "acme", "client-acme-caller", "services.iam")
	base := s.URL + "/v1/tenants/acme"
	consent := map[string]any{"id": "1", "name": "EULA", "services": []any{
		map[string]any{"name": "app", "type": "internal", "purposes": []any{"core", "stats"}, "primaryPurposes": []any{"core"}}}}
	status, got := do(t, http.MethodPost, base+"/consents", token, consent)
	if status != http.StatusCreated || got["id"] != "1" || got["name"] != "EULA" {
		t.Fatalf("create with an id: %d %v", status, got)
	}
	if svc := got["services"].([]any)[0].(map[string]any); fmt.Sprint(svc["primaryPurposes"]) != "[core]" || fmt.Sprint(svc["purposes"]) != "[core stats]" {
		t.Errorf("services %v", svc)
	}
	status, got = do(t, http.MethodPost, base+"/consent-actions", token, map[string]any{"id": "signup-1", "name": "signup",
		"consents": []any{map[string]any{"consentId": "1", "required": true}}})
	if status != http.StatusCreated || got["id"] != "signup-1" {
		t.Fatalf("create an action with an id: %d %v", status, got)
	}
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		status     int
		field      string
	}{
		{"an id taken", "/consents", map[string]any{"id": "1", "name": "other"}, 409, ""},
		{"an action id taken", "/consent-actions", map[string]any{"id": "signup-1", "name": "other"}, 409, ""},
		{"an id breaking the rule", "/consents", map[string]any{"id": "a b", "name": "other"}, 400, "body.id"},
		{"a version other than 1", "/consents", map[string]any{"id": "2", "name": "other", "version": 3}, 422, "version"},
		{"a primary purpose not among the purposes", "/consents", map[string]any{"name": "other", "services": []any{
			map[string]any{"name": "app", "type": "internal", "purposes": []any{"core"}, "primaryPurposes": []any{"ads"}}}}, 422, "services[0].primaryPurposes"},
	} {
		status, got := do(t, http.MethodPost, base+tc.path, token, tc.body)
		if status != tc.status || (tc.field != "" && !namesField(got, tc.field)) {
			t.Errorf("%s: %d %v, want %d naming %q", tc.name, status, got, tc.status, tc.field)
		}
	}
}
