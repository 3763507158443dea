package oauthclients_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAritmaV0Replay sends Aritma IAM API (0)'s documented client and secret requests
// (testdata/aritma-v0) to the dialect under /core/iam and checks each answer's status and
// shape against the seed's.
func TestAritmaV0Replay(t *testing.T) {
	s := mustStart(t)
	token := s.tenantAdmin(t, "acme")
	const seed, base = "aritma-v0", "/core/iam"
	s.mustScope(t, "acme", "billing.read")

	// The seed's example body has a placeholder in every list: each is refused by name.
	placeholder := s.send(t, http.MethodPost, base+"/clients", token, "application/json", fixture(t, seed, "client.request.json"))
	mustStatus(t, "POST /clients (the seed's example)", placeholder, http.StatusUnprocessableEntity)
	for _, field := range []string{"allowedGrantTypes.0", "redirectUris.0"} {
		if !strings.Contains(string(placeholder.body), `"field":"`+field+`"`) {
			t.Errorf("the refusal does not name %s: %s", field, placeholder)
		}
	}
	// Scopes are checked against the tenant's definitions once the rest is valid.
	undefined := s.send(t, http.MethodPost, base+"/clients", token, "application/json",
		[]byte(`{"name":"string","description":"string","allowedGrantTypes":["client_credentials"],"redirectUris":[],"allowedScopes":["string"]}`))
	mustStatus(t, "POST /clients (undefined scope)", undefined, http.StatusUnprocessableEntity)
	if !strings.Contains(string(undefined.body), `"field":"allowedScopes.0"`) {
		t.Errorf("the refusal does not name allowedScopes.0: %s", undefined)
	}

	body := `{"name":"Billing","description":"Bills nightly","allowedGrantTypes":["client_credentials","authorization_code"],` +
		`"redirectUris":["https://billing.example.com/cb"],"allowedScopes":["billing.read"]}`
	created := s.send(t, http.MethodPost, base+"/clients", token, "application/json", []byte(body))
	mustStatus(t, "POST /clients", created, http.StatusOK)
	if len(created.body) != 0 {
		t.Errorf("the seed answers no content: %s", created)
	}
	location := created.header.Get("Location")
	if !strings.HasPrefix(location, base+"/clients/") {
		t.Fatalf("Location %q", location)
	}
	id := strings.TrimPrefix(location, base+"/clients/")

	got := s.send(t, http.MethodGet, location, token, "", nil)
	mustStatus(t, "GET /clients/{clientId}", got, http.StatusOK)
	mustShape(t, "GET /clients/{clientId}", got, fixture(t, seed, "client.response.json"))
	var client struct {
		ClientID, Name, Description                    string
		AllowedGrantTypes, RedirectUris, AllowedScopes []string
	}
	_ = json.Unmarshal(got.body, &client)
	if client.ClientID != id || client.Name != "Billing" || client.Description != "Bills nightly" ||
		len(client.AllowedGrantTypes) != 2 || client.AllowedScopes[0] != "billing.read" || client.RedirectUris[0] != "https://billing.example.com/cb" {
		t.Errorf("client %s", got)
	}

	list := s.send(t, http.MethodGet, base+"/clients?searchText=Bill&page=1&pageSize=10", token, "", nil)
	mustStatus(t, "GET /clients", list, http.StatusOK)
	mustShape(t, "GET /clients", list, fixture(t, seed, "clients.response.json"))
	if !strings.Contains(string(list.body), `"totalCount":1`) || !strings.Contains(string(list.body), id) {
		t.Errorf("list %s", list)
	}

	update := `{"name":"Billing v2","description":"","allowedGrantTypes":["client_credentials"],"redirectUris":[],"allowedScopes":[]}`
	updated := s.send(t, http.MethodPut, location, token, "application/json", []byte(update))
	mustStatus(t, "PUT /clients/{clientId}", updated, http.StatusOK)
	got = s.send(t, http.MethodGet, location, token, "", nil)
	if !strings.Contains(string(got.body), `"name":"Billing v2"`) || !strings.Contains(string(got.body), `"allowedScopes":[]`) {
		t.Errorf("after the update %s", got)
	}

	// Secrets: the seed's example value is a valid secret; it authenticates until deleted.
	added := s.send(t, http.MethodPost, location+"/secrets", token, "application/json", fixture(t, seed, "secret.request.json"))
	mustStatus(t, "POST /clients/{clientId}/secrets", added, http.StatusOK)
	s.mustToken(t, "acme", id, "stringst", "")
	secrets := s.send(t, http.MethodGet, location+"/secrets?page=1&pageSize=10", token, "", nil)
	mustStatus(t, "GET /clients/{clientId}/secrets", secrets, http.StatusOK)
	mustShape(t, "GET /clients/{clientId}/secrets", secrets, fixture(t, seed, "secrets.response.json"))
	var page struct {
		Items []struct {
			ID          int32  `json:"id"`
			Description string `json:"description"`
		}
	}
	_ = json.Unmarshal(secrets.body, &page)
	var number int32 = -1
	for _, it := range page.Items {
		if it.Description == "string" {
			number = it.ID
		}
	}
	if number < 0 || strings.Contains(string(secrets.body), "stringst") {
		t.Fatalf("secrets %s", secrets)
	}
	deleted := s.send(t, http.MethodDelete, location+"/secrets/"+jsonNumber(number), token, "", nil)
	mustStatus(t, "DELETE /clients/{clientId}/secrets/{clientSecretId}", deleted, http.StatusOK)
	if resp := s.tokenResponse(t, "acme", id, "stringst", ""); resp.JSON200 != nil {
		t.Error("a deleted secret still authenticates")
	}
	again := s.send(t, http.MethodDelete, location+"/secrets/"+jsonNumber(number), token, "", nil)
	mustStatus(t, "DELETE a deleted secret", again, http.StatusNotFound)

	// Refusals naming what is wrong.
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		names                    string
	}{
		{"unknown parameter", http.MethodGet, base + "/clients?pageNumber=2", "", http.StatusBadRequest, "pageNumber"},
		{"unknown field", http.MethodPost, base + "/clients", strings.Replace(body, `"name"`, `"clientSecret":"x","name"`, 1), http.StatusBadRequest, "clientSecret"},
		{"missing field", http.MethodPut, location, `{"name":"x"}`, http.StatusBadRequest, "description"},
		{"short secret", http.MethodPost, location + "/secrets", `{"value":"short","description":"d"}`, http.StatusBadRequest, "value"},
		{"password grant", http.MethodPut, location, strings.Replace(update, `"client_credentials"`, `"password"`, 1), http.StatusUnprocessableEntity, "allowedGrantTypes.0"},
		{"secret id not a number", http.MethodDelete, location + "/secrets/abc", "", http.StatusBadRequest, "clientSecretId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.body != "" {
				b = []byte(tc.body)
			}
			a := s.send(t, tc.method, tc.path, token, "application/json", b)
			mustStatus(t, tc.name, a, tc.status)
			if !strings.Contains(string(a.body), tc.names) {
				t.Errorf("the refusal does not name %s: %s", tc.names, a)
			}
		})
	}

	gone := s.send(t, http.MethodDelete, location, token, "", nil)
	mustStatus(t, "DELETE /clients/{clientId}", gone, http.StatusOK)
	mustStatus(t, "GET a deleted client", s.send(t, http.MethodGet, location, token, "", nil), http.StatusNotFound)
}

func jsonNumber(n int32) string { b, _ := json.Marshal(n); return string(b) }
