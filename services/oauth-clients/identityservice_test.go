package oauthclients_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const jsonAPI = "application/vnd.api+json"

// TestIdentityServiceReplay sends the Identity Service seed's documented requests
// (testdata/identityservice) to the dialect at /clients and checks each answer's status
// and shape against the seed's.
func TestIdentityServiceReplay(t *testing.T) {
	s := mustStart(t)
	token := s.tenantAdmin(t, "acme")
	const seed = "identityservice"
	errShape := fixture(t, seed, "error.400.json")

	created := s.send(t, http.MethodPost, "/clients", token, jsonAPI, fixture(t, seed, "create.request.json"))
	mustStatus(t, "POST /clients", created, http.StatusCreated)
	if ct := created.header.Get("Content-Type"); !strings.HasPrefix(ct, jsonAPI) {
		t.Errorf("content type %q, want %s", ct, jsonAPI)
	}
	mustShape(t, "POST /clients", created, fixture(t, seed, "create.response.json"))
	var doc struct {
		Data struct {
			ID         string `json:"id"`
			Attributes struct {
				Label        string `json:"label"`
				Confidential bool   `json:"confidential"`
				RedirectURL  string `json:"redirect_url"`
				Secret       string `json:"secret"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(created.body, &doc); err != nil {
		t.Fatal(err)
	}
	id, a := doc.Data.ID, doc.Data.Attributes
	if a.Label != "My client" || !a.Confidential || a.RedirectURL != "" || a.Secret == "" {
		t.Fatalf("created %s", created)
	}
	// The secret works at the token endpoint: the client is a real OAuth client.
	s.mustToken(t, "acme", id, a.Secret, "")

	got := s.send(t, http.MethodGet, "/clients/"+id, token, "", nil)
	mustStatus(t, "GET /clients/{id}", got, http.StatusOK)
	mustShape(t, "GET /clients/{id}", got, fixture(t, seed, "get.response.json"))
	if strings.Contains(string(got.body), `"secret"`) {
		t.Errorf("a read shows the secret: %s", got)
	}

	// The seed's own update example names a client that does not exist here.
	update := fixture(t, seed, "update.request.json")
	missing := s.send(t, http.MethodPut, "/clients", token, jsonAPI, update)
	mustStatus(t, "PUT /clients (the seed's id)", missing, http.StatusNotFound)
	mustShape(t, "PUT /clients (the seed's id)", missing, fixture(t, seed, "error.404.json"))
	// With our client's id: its http redirect URL is refused (https only, but for loopback),
	// naming the seed's field, in the seed's 400.
	update = []byte(strings.Replace(string(update), "00000000-0000-0000-0000-000000000000", id, 1))
	insecure := s.send(t, http.MethodPut, "/clients", token, jsonAPI, update)
	mustStatus(t, "PUT /clients (http redirect)", insecure, http.StatusBadRequest)
	mustShape(t, "PUT /clients (http redirect)", insecure, errShape)
	if !strings.Contains(string(insecure.body), "data.attributes.redirect_url") {
		t.Errorf("the refusal does not name redirect_url: %s", insecure)
	}
	update = []byte(strings.Replace(string(update), "http://example.com", "https://example.com", 1))
	updated := s.send(t, http.MethodPut, "/clients", token, jsonAPI, update)
	mustStatus(t, "PUT /clients", updated, http.StatusOK)
	mustShape(t, "PUT /clients", updated, fixture(t, seed, "update.response.json"))
	if err := json.Unmarshal(updated.body, &doc); err != nil {
		t.Fatal(err)
	}
	if a := doc.Data.Attributes; a.Label != "My Label" || a.RedirectURL != "https://example.com" || !a.Confidential {
		t.Errorf("updated %s", updated)
	}
	// Attributes left out stay: the label alone changes the label alone.
	updated = s.send(t, http.MethodPut, "/clients", token, jsonAPI,
		[]byte(`{"data":{"type":"clients","id":"`+id+`","attributes":{"label":"Renamed"}}}`))
	mustStatus(t, "PUT /clients (label)", updated, http.StatusOK)
	if !strings.Contains(string(updated.body), `"redirect_url":"https://example.com"`) {
		t.Errorf("a label change lost the redirect URL: %s", updated)
	}

	// A public client: no secret, the authorization code grant at its redirect URL.
	public := s.send(t, http.MethodPost, "/clients", token, jsonAPI,
		[]byte(`{"data":{"type":"clients","attributes":{"label":"SPA","confidential":false,"redirect_url":"https://app.example.com/cb"}}}`))
	mustStatus(t, "POST /clients (public)", public, http.StatusCreated)
	mustShape(t, "POST /clients (public)", public, fixture(t, seed, "create.response.json"), "data.attributes.secret")
	if strings.Contains(string(public.body), `"secret"`) || !strings.Contains(string(public.body), `"confidential":false`) {
		t.Errorf("public client %s", public)
	}
	// A public client without a redirect URL has no grant it could use.
	noRedirect := s.send(t, http.MethodPost, "/clients", token, jsonAPI,
		[]byte(`{"data":{"type":"clients","attributes":{"label":"SPA","confidential":false}}}`))
	mustStatus(t, "POST /clients (public, no redirect)", noRedirect, http.StatusBadRequest)
	if !strings.Contains(string(noRedirect.body), "data.attributes.redirect_url") {
		t.Errorf("the refusal does not name redirect_url: %s", noRedirect)
	}

	// The list, by page[offset] and page[limit], with the seed's links and meta.
	list := s.send(t, http.MethodGet, "/clients?page%5Boffset%5D=0&page%5Blimit%5D=20", token, "", nil)
	mustStatus(t, "GET /clients", list, http.StatusOK)
	mustShape(t, "GET /clients", list, fixture(t, seed, "list.response.json"), "links.next", "links.prev")
	var page struct {
		Data  []json.RawMessage `json:"data"`
		Links map[string]string `json:"links"`
		Meta  struct{ Count, Found int }
	}
	_ = json.Unmarshal(list.body, &page)
	// The tenant has the admin client, the seed's client and the public one.
	if page.Meta.Found != 3 || page.Meta.Count != 3 || len(page.Data) != 3 {
		t.Errorf("list %s", list)
	}
	second := s.send(t, http.MethodGet, "/clients?page%5Boffset%5D=1&page%5Blimit%5D=1", token, "", nil)
	mustStatus(t, "GET /clients (page 2)", second, http.StatusOK)
	_ = json.Unmarshal(second.body, &page)
	if len(page.Data) != 1 || page.Meta.Found != 3 || page.Links["next"] != "/clients?page%5Blimit%5D=1&page%5Boffset%5D=2" ||
		page.Links["prev"] != "/clients?page%5Blimit%5D=1&page%5Boffset%5D=0" || page.Links["last"] != "/clients?page%5Blimit%5D=1&page%5Boffset%5D=2" {
		t.Errorf("second page %s", second)
	}
	counts := s.send(t, http.MethodGet, "/clients?page%5Blimit%5D=0", token, "", nil)
	_ = json.Unmarshal(counts.body, &page)
	if counts.status != http.StatusOK || len(page.Data) != 0 || page.Meta.Found != 3 {
		t.Errorf("page[limit]=0: %s", counts)
	}

	// Refusals, in the seed's error shape, naming what is wrong.
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		names                           string
	}{
		{"unknown parameter", http.MethodGet, "/clients?page%5Bsize%5D=5", token, "", http.StatusBadRequest, "page[size]"},
		{"limit over 200", http.MethodGet, "/clients?page%5Blimit%5D=201", token, "", http.StatusBadRequest, "page[limit]"},
		{"unknown attribute", http.MethodPost, "/clients", token,
			`{"data":{"type":"clients","attributes":{"label":"x","scopes":["a"]}}}`, http.StatusBadRequest, "scopes"},
		{"wrong type", http.MethodPost, "/clients", token,
			`{"data":{"type":"users","attributes":{"label":"x"}}}`, http.StatusBadRequest, "type"},
		{"no label", http.MethodPost, "/clients", token,
			`{"data":{"type":"clients","attributes":{"confidential":true}}}`, http.StatusBadRequest, "label"},
		{"no token", http.MethodGet, "/clients", "", "", http.StatusUnauthorized, ""},
		{"no such client", http.MethodGet, "/clients/nope", token, "", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			a := s.send(t, tc.method, tc.path, tc.token, jsonAPI, body)
			mustStatus(t, tc.name, a, tc.status)
			mustShape(t, tc.name, a, errShape)
			if !strings.Contains(string(a.body), tc.names) {
				t.Errorf("the refusal does not name %s: %s", tc.names, a)
			}
		})
	}
	// JSON:API's media type is the seed's; a plain JSON body is refused, naming it.
	plain := s.send(t, http.MethodPost, "/clients", token, "application/json", fixture(t, seed, "create.request.json"))
	mustShape(t, "POST /clients as application/json", plain, errShape)
	if plain.status < 400 || plain.status >= 500 || !strings.Contains(string(plain.body), "Content-Type") {
		t.Errorf("POST /clients as application/json: %s", plain)
	}
	unauthorized := s.send(t, http.MethodGet, "/clients", "", "", nil)
	mustShape(t, "401", unauthorized, fixture(t, seed, "error.401.json"))
	reader := s.mustClient(t, "acme", "iam.client_read")
	readOnly := s.mustToken(t, "acme", reader.ClientId, *reader.ClientSecret, "")
	forbidden := s.send(t, http.MethodDelete, "/clients/"+id, readOnly, "", nil)
	mustStatus(t, "DELETE without iam.client_manage", forbidden, http.StatusForbidden)
	mustShape(t, "403", forbidden, fixture(t, seed, "error.403.json"))

	deleted := s.send(t, http.MethodDelete, "/clients/"+id, token, "", nil)
	mustStatus(t, "DELETE /clients/{id}", deleted, http.StatusNoContent)
	gone := s.send(t, http.MethodGet, "/clients/"+id, token, "", nil)
	mustStatus(t, "GET a deleted client", gone, http.StatusNotFound)
	mustShape(t, "404", gone, fixture(t, seed, "error.404.json"))
	// The same client, seen through the native API, is gone too: one registry.
	if resp, err := s.admin.GetClientWithResponse(t.Context(), "acme", id); err != nil || resp.StatusCode() != http.StatusNotFound {
		t.Errorf("native GET of a client the dialect deleted: %v %v", err, resp.StatusCode())
	}
}
