package oauthclients_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCloudentityReplay sends Cloudentity's documented client, developer-client and scope
// requests (testdata/cloudentity) to the dialect under /api/admin/{tid} and
// /api/developer/{tid} and checks each answer's status and shape against the seed's. The
// tenant is "default", as in the seed's examples.
func TestCloudentityReplay(t *testing.T) {
	s := mustStart(t)
	const seed, tid = "cloudentity", "default"
	admin := s.tenantAdmin(t, tid)
	const clients, scopes = "/api/admin/" + tid + "/clients", "/api/admin/" + tid + "/scopes"
	errShape := fixture(t, seed, "error.json")
	names := func(t *testing.T, a answer, fields ...string) {
		t.Helper()
		for _, f := range fields {
			if !strings.Contains(string(a.body), `"field":"`+f+`"`) {
				t.Errorf("the refusal does not name %s: %s", f, a)
			}
		}
	}

	// Scopes. The seed's example names a service (issue 18, not served): refused by name.
	scope := s.send(t, http.MethodPost, scopes, admin, "application/json", fixture(t, seed, "scope-create.request.json"))
	mustStatus(t, "POST scopes (the seed's example)", scope, http.StatusUnprocessableEntity)
	mustShape(t, "POST scopes (the seed's example)", scope, errShape)
	names(t, scope, "service_id")
	// Without it: offline_access is one of the platform's own scopes, present in every tenant.
	noService := strings.Replace(string(fixture(t, seed, "scope-create.request.json")), `"service_id": "1",`, "", 1)
	scope = s.send(t, http.MethodPost, scopes, admin, "application/json", []byte(noService))
	mustStatus(t, "POST scopes (offline_access)", scope, http.StatusConflict)
	mustShape(t, "POST scopes (offline_access)", scope, errShape)
	builtIn := s.send(t, http.MethodGet, scopes+"/offline_access", admin, "", nil)
	mustStatus(t, "GET scopes/offline_access", builtIn, http.StatusOK)
	// The caller's id "1" is kept for a scope of its own.
	scope = s.send(t, http.MethodPost, scopes, admin, "application/json",
		[]byte(strings.Replace(noService, "offline_access", "billing.read", 1)))
	mustStatus(t, "POST scopes", scope, http.StatusCreated)
	mustShape(t, "POST scopes", scope, fixture(t, seed, "scope.json"))
	if !strings.Contains(string(scope.body), `"id":"1"`) || !strings.Contains(string(scope.body), `"name":"billing.read"`) {
		t.Errorf("created scope %s", scope)
	}
	got := s.send(t, http.MethodGet, scopes+"/1", admin, "", nil)
	mustStatus(t, "GET scopes/{scp}", got, http.StatusOK)
	mustShape(t, "GET scopes/{scp}", got, fixture(t, seed, "scope-with-service.json"), "service")
	// Read-modify-write: the GET answer goes back as the update.
	var sc map[string]any
	_ = json.Unmarshal(got.body, &sc)
	sc["display_name"] = "Billing read"
	back, _ := json.Marshal(sc)
	updated := s.send(t, http.MethodPut, scopes+"/1", admin, "application/json", back)
	mustStatus(t, "PUT scopes/{scp} (the GET answer)", updated, http.StatusBadRequest) // with_service is an answer's field
	delete(sc, "with_service")
	back, _ = json.Marshal(sc)
	updated = s.send(t, http.MethodPut, scopes+"/1", admin, "application/json", back)
	mustStatus(t, "PUT scopes/{scp}", updated, http.StatusOK)
	mustShape(t, "PUT scopes/{scp}", updated, fixture(t, seed, "scope.json"))
	if !strings.Contains(string(updated.body), `"display_name":"Billing read"`) {
		t.Errorf("updated scope %s", updated)
	}
	// The seed's update example renames the scope: a scope's name cannot change.
	renamed := s.send(t, http.MethodPut, scopes+"/1", admin, "application/json", fixture(t, seed, "scope-update.request.json"))
	mustStatus(t, "PUT scopes/{scp} (the seed's example)", renamed, http.StatusUnprocessableEntity)
	names(t, renamed, "name")
	// The native API sees the same scope, by name.
	if resp, err := s.admin.GetScopeWithResponse(t.Context(), tid, "billing.read"); err != nil || resp.JSON200 == nil || resp.JSON200.DisplayName != "Billing read" {
		t.Errorf("native GET of the scope: %v %s", err, resp.Body)
	}

	// Admin clients. The seed's example has a placeholder in every unsupported field.
	example := s.send(t, http.MethodPost, clients, admin, "application/json", fixture(t, seed, "client.json"))
	mustStatus(t, "POST clients (the seed's example)", example, http.StatusUnprocessableEntity)
	mustShape(t, "POST clients (the seed's example)", example, errShape)
	names(t, example, "client_hashed_secret", "request_uris", "tenant_id", "tls_client_auth_san_dns", "tls_client_auth_subject_dn",
		"tls_client_certificate_bound_access_tokens", "token_endpoint_signing_alg")
	// The same client as a migration would send it: id "1" and its secret kept.
	var c map[string]any
	_ = json.Unmarshal(fixture(t, seed, "client.json"), &c)
	for _, f := range []string{"client_hashed_secret", "tls_client_auth_san_dns", "tls_client_auth_san_email", "tls_client_auth_san_ip",
		"tls_client_auth_san_uri", "tls_client_auth_subject_dn", "token_endpoint_signing_alg", "sector_identifier_uri", "developer_id"} {
		c[f] = ""
	}
	c["tls_client_certificate_bound_access_tokens"] = false
	c["request_uris"] = []string{}
	c["tenant_id"] = tid
	c["client_id"], c["client_secret"] = "1", "correct-horse-42"
	c["client_id_issued_at"] = 1700000000
	c["public"] = false
	c["grant_types"] = []string{"client_credentials", "authorization_code", "refresh_token"}
	c["response_types"] = []string{"code"}
	c["scopes"] = []string{"billing.read", "openid"}
	c["scope"] = "openid billing.read"
	c["jwks_uri"], c["client_uri"], c["logo_uri"], c["policy_uri"], c["tos_uri"] = "", "https://app.example.com", "", "", ""
	c["privacy"] = map[string]any{"scopes": map[string]any{"billing.read": map[string]any{"purpose": "Invoices", "pii_categories": []any{map[string]any{"name": "HIPAA"}}}}}
	body, _ := json.Marshal(c)
	created := s.send(t, http.MethodPost, clients, admin, "application/json", body)
	mustStatus(t, "POST clients", created, http.StatusCreated)
	mustShape(t, "POST clients", created, fixture(t, seed, "client.json"))
	for _, want := range []string{`"client_id":"1"`, `"client_secret":"correct-horse-42"`, `"client_id_issued_at":1700000000`, `"pii_categories":[{"name":"HIPAA"}]`} {
		if !strings.Contains(string(created.body), want) {
			t.Errorf("created client lacks %s: %s", want, created)
		}
	}
	s.mustToken(t, tid, "1", "correct-horse-42", "billing.read")
	taken := s.send(t, http.MethodPost, clients, admin, "application/json", body)
	mustStatus(t, "POST clients (id taken)", taken, http.StatusConflict)

	got = s.send(t, http.MethodGet, clients+"/1", admin, "", nil)
	mustStatus(t, "GET clients/{cid}", got, http.StatusOK)
	mustShape(t, "GET clients/{cid}", got, fixture(t, seed, "client.json"))
	if !strings.Contains(string(got.body), `"client_secret":""`) {
		t.Errorf("a read shows the secret: %s", got)
	}
	// Read-modify-write: the GET answer, changed in one field, goes back.
	_ = json.Unmarshal(got.body, &c)
	c["client_name"] = "Billing"
	body, _ = json.Marshal(c)
	updated = s.send(t, http.MethodPut, clients+"/1", admin, "application/json", body)
	mustStatus(t, "PUT clients/{cid}", updated, http.StatusOK)
	mustShape(t, "PUT clients/{cid}", updated, fixture(t, seed, "client.json"))
	if !strings.Contains(string(updated.body), `"client_name":"Billing"`) {
		t.Errorf("updated %s", updated)
	}
	// Read-only fields cannot change, each refused by name.
	c["client_id_issued_at"], c["system"], c["client_id"] = 1, true, "2"
	body, _ = json.Marshal(c)
	readOnly := s.send(t, http.MethodPut, clients+"/1", admin, "application/json", body)
	mustStatus(t, "PUT clients/{cid} (read-only fields changed)", readOnly, http.StatusUnprocessableEntity)
	names(t, readOnly, "client_id", "client_id_issued_at", "system")
	// The seed's update example: its grant types and placeholders are refused by name.
	example = s.send(t, http.MethodPut, clients+"/1", admin, "application/json", fixture(t, seed, "client.json"))
	mustStatus(t, "PUT clients/{cid} (the seed's example)", example, http.StatusUnprocessableEntity)
	names(t, example, "client_hashed_secret", "client_id", "client_secret")

	// Developer self-service, with a developer's token.
	dev := s.mustClient(t, tid, "iam.developer")
	devToken := s.mustToken(t, tid, dev.ClientId, *dev.ClientSecret, "")
	const devClients = "/api/developer/" + tid + "/clients"
	example = s.send(t, http.MethodPost, devClients, devToken, "application/json", fixture(t, seed, "developer-create.request.json"))
	mustStatus(t, "POST developer clients (the seed's example)", example, http.StatusUnprocessableEntity)
	names(t, example, "request_uris", "tls_client_auth_san_dns")
	var dc map[string]any
	_ = json.Unmarshal(fixture(t, seed, "developer-create.request.json"), &dc)
	for _, f := range []string{"tls_client_auth_san_dns", "tls_client_auth_san_email", "tls_client_auth_san_ip", "tls_client_auth_san_uri",
		"tls_client_auth_subject_dn", "token_endpoint_signing_alg", "sector_identifier_uri", "jwks_uri", "logo_uri", "policy_uri", "tos_uri", "client_uri"} {
		dc[f] = ""
	}
	dc["tls_client_certificate_bound_access_tokens"], dc["public"] = false, false
	dc["request_uris"], dc["grant_types"], dc["response_types"] = []string{}, []string{"client_credentials"}, []string{}
	dc["scopes"], dc["scope"] = []string{"openid"}, "openid"
	dc["privacy"] = map[string]any{"scopes": map[string]any{}}
	body, _ = json.Marshal(dc)
	created = s.send(t, http.MethodPost, devClients, devToken, "application/json", body)
	mustStatus(t, "POST developer clients", created, http.StatusCreated)
	mustShape(t, "POST developer clients", created, fixture(t, seed, "developer-client.json"))
	var mine struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	_ = json.Unmarshal(created.body, &mine)
	if mine.ClientID == "" || mine.ClientSecret == "" {
		t.Fatalf("developer client %s", created)
	}
	list := s.send(t, http.MethodGet, devClients, devToken, "", nil)
	mustStatus(t, "GET developer clients", list, http.StatusOK)
	mustShape(t, "GET developer clients", list, fixture(t, seed, "developer-clients.json"))
	if !strings.Contains(string(list.body), mine.ClientID) || strings.Contains(string(list.body), `"client_id":"1"`) {
		t.Errorf("a developer's list %s", list)
	}
	got = s.send(t, http.MethodGet, devClients+"/"+mine.ClientID, devToken, "", nil)
	mustStatus(t, "GET developer clients/{cid}", got, http.StatusOK)
	mustShape(t, "GET developer clients/{cid}", got, fixture(t, seed, "developer-client.json"))
	_ = json.Unmarshal(got.body, &dc)
	dc["client_name"] = "Renamed"
	body, _ = json.Marshal(dc)
	updated = s.send(t, http.MethodPut, devClients+"/"+mine.ClientID, devToken, "application/json", body)
	mustStatus(t, "PUT developer clients/{cid}", updated, http.StatusOK)
	mustShape(t, "PUT developer clients/{cid}", updated, fixture(t, seed, "developer-client.json"))
	if !strings.Contains(string(updated.body), `"client_name":"Renamed"`) {
		t.Errorf("developer update %s", updated)
	}
	// Another developer's client (the admin's "1") does not exist for this developer.
	mustStatus(t, "GET another's client", s.send(t, http.MethodGet, devClients+"/1", devToken, "", nil), http.StatusNotFound)
	// A developer may not give its client a platform scope.
	dc["scopes"], dc["scope"] = []string{"services.iam"}, ""
	body, _ = json.Marshal(dc)
	platform := s.send(t, http.MethodPut, devClients+"/"+mine.ClientID, devToken, "application/json", body)
	mustStatus(t, "PUT developer clients/{cid} (platform scope)", platform, http.StatusUnprocessableEntity)
	names(t, platform, "scopes")
	mustStatus(t, "DELETE developer clients/{cid}", s.send(t, http.MethodDelete, devClients+"/"+mine.ClientID, devToken, "", nil), http.StatusNoContent)

	// Refusals in the seed's error shape.
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		mentions                        string
	}{
		{"unknown parameter", http.MethodGet, clients + "/1?expand=all", admin, "", http.StatusBadRequest, "expand"},
		{"unknown field", http.MethodPost, scopes, admin, `{"name":"x","color":"red"}`, http.StatusBadRequest, "color"},
		{"another tenant", http.MethodGet, "/api/admin/other/clients/1", admin, "", http.StatusForbidden, ""},
		{"no token", http.MethodGet, clients + "/1", "", "", http.StatusUnauthorized, ""},
		{"no such scope", http.MethodGet, scopes + "/nope", admin, "", http.StatusNotFound, "nope"},
		{"scope in use", http.MethodDelete, scopes + "/1", admin, "", http.StatusConflict, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.body != "" {
				b = []byte(tc.body)
			}
			a := s.send(t, tc.method, tc.path, tc.token, "application/json", b)
			mustStatus(t, tc.name, a, tc.status)
			mustShape(t, tc.name, a, errShape)
			if !strings.Contains(string(a.body), tc.mentions) {
				t.Errorf("the refusal does not mention %s: %s", tc.mentions, a)
			}
		})
	}

	mustStatus(t, "DELETE clients/{cid}", s.send(t, http.MethodDelete, clients+"/1", admin, "", nil), http.StatusNoContent)
	gone := s.send(t, http.MethodGet, clients+"/1", admin, "", nil)
	mustStatus(t, "GET a deleted client", gone, http.StatusNotFound)
	mustShape(t, "GET a deleted client", gone, errShape)
	mustStatus(t, "DELETE scopes/{scp}", s.send(t, http.MethodDelete, scopes+"/1", admin, "", nil), http.StatusNoContent)
}
