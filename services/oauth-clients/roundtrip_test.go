package oauthclients_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestReadModifyWrite checks that every mutable resource of the native API takes its own
// GET answer back: read-only fields are ignored when they are the resource's and refused,
// naming each, when they are not.
func TestReadModifyWrite(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	token := s.tenantAdmin(t, "acme")
	s.mustScope(t, "acme", "billing.read")
	dev := s.mustClient(t, "acme", "iam.developer")
	devToken := s.mustToken(t, "acme", dev.ClientId, *dev.ClientSecret, "")

	// A native create may choose the client's id, which is kept (an import keeps its ids).
	created := s.send(t, http.MethodPost, "/v1/tenants/acme/clients", token, "application/json",
		[]byte(`{"clientId":"billing-1","clientName":"Billing","scopes":["billing.read"]}`))
	mustStatus(t, "create with a chosen id", created, http.StatusCreated)
	if !strings.Contains(string(created.body), `"clientId":"billing-1"`) {
		t.Errorf("created %s", created)
	}
	refused := s.send(t, http.MethodPost, "/v1/tenants/acme/clients", token, "application/json",
		[]byte(`{"clientName":"Billing","system":true,"createdBy":"me"}`))
	mustStatus(t, "create stating read-only fields", refused, http.StatusUnprocessableEntity)
	for _, f := range []string{`"field":"system"`, `"field":"createdBy"`} {
		if !strings.Contains(string(refused.body), f) {
			t.Errorf("the refusal does not name %s: %s", f, refused)
		}
	}
	devCreated := s.send(t, http.MethodPost, "/v1/tenants/acme/developer/clients", devToken, "application/json",
		[]byte(`{"clientName":"Mine"}`))
	mustStatus(t, "developer create", devCreated, http.StatusCreated)
	var mine struct{ ClientID string }
	_ = json.Unmarshal(devCreated.body, &mine)
	chosen := s.send(t, http.MethodPost, "/v1/tenants/acme/developer/clients", devToken, "application/json",
		[]byte(`{"clientId":"mine","clientName":"Mine"}`))
	mustStatus(t, "developer create with a chosen id", chosen, http.StatusUnprocessableEntity)

	for _, tc := range []struct {
		name, path, tok, field, value string
		readOnly                      map[string]any // a read-only field changed, and the field the refusal names
		named                         string
	}{
		{"client", "/v1/tenants/acme/clients/billing-1", token, "clientName", "Billing v2", map[string]any{"createdAt": "2020-01-01T00:00:00Z"}, "createdAt"},
		{"client id", "/v1/tenants/acme/clients/billing-1", token, "description", "d", map[string]any{"clientId": "other"}, "clientId"},
		{"client metadata", "/v1/tenants/acme/clients/billing-1", token, "description", "e", map[string]any{"metadata": map[string]any{"version": "?", "modifiedAt": "2020-01-01T00:00:00Z"}}, "metadata.modifiedAt"},
		{"developer client", "/v1/tenants/acme/developer/clients/" + mine.ClientID, devToken, "clientName", "Mine v2", map[string]any{"developerId": "someone-else"}, "developerId"},
		{"scope", "/v1/tenants/acme/scopes/billing.read", token, "displayName", "Read bills", map[string]any{"builtIn": true}, "builtIn"},
		{"scope name", "/v1/tenants/acme/scopes/billing.read", token, "description", "d", map[string]any{"name": "billing.write"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.send(t, http.MethodGet, tc.path, tc.tok, "", nil)
			mustStatus(t, "GET", got, http.StatusOK)
			var body map[string]any
			_ = json.Unmarshal(got.body, &body)
			body[tc.field] = tc.value
			b, _ := json.Marshal(body)
			put := s.send(t, http.MethodPut, tc.path, tc.tok, "application/json", b)
			mustStatus(t, "PUT the GET answer", put, http.StatusOK)
			if !strings.Contains(string(put.body), `"`+tc.field+`":"`+tc.value+`"`) {
				t.Errorf("PUT %s", put)
			}
			// Again from the new answer, with a read-only field changed.
			_ = json.Unmarshal(put.body, &body)
			for k, v := range tc.readOnly {
				if m, ok := v.(map[string]any); ok {
					meta := body[k].(map[string]any)
					for mk, mv := range m {
						if mv != "?" {
							meta[mk] = mv
						}
					}
					continue
				}
				body[k] = v
			}
			b, _ = json.Marshal(body)
			bad := s.send(t, http.MethodPut, tc.path, tc.tok, "application/json", b)
			mustStatus(t, "PUT with a read-only field changed", bad, http.StatusUnprocessableEntity)
			if !strings.Contains(string(bad.body), `"field":"`+tc.named+`"`) {
				t.Errorf("the refusal does not name %s: %s", tc.named, bad)
			}
		})
	}
}
