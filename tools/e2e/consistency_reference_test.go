package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/iamplane/iam/pkg/events"

	consentapi "github.com/iamplane/iam/services/consent/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// TestClientAccessWaitsForTheClient is the create-then-reference race across two
// services: a client created in oauth-clients reaches consent by an event, so granting
// a subject access to it a moment later could find consent not knowing it yet (422
// unknown client). With the create's consistency token the grant waits for consent's
// views instead: a hundred times in a row, never refused.
func TestClientAccessWaitsForTheClient(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	admin := mustToken(t, p.URL, "system", adminID, adminSecret)
	consent, _ := consentapi.NewClientWithResponses(p.URL, consentapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+admin)
		return nil
	}))
	for i := range 100 {
		created, err := p.clients.CreateClientWithResponse(ctx, "acme", clientsapi.ClientInput{ClientName: "Race client"})
		if err != nil || created.JSON201 == nil {
			t.Fatalf("create client %d: %v %s", i, err, created.Body)
		}
		token := created.HTTPResponse.Header.Get(events.TokenHeader)
		if token == "" {
			t.Fatalf("create client %d answered no %s header", i, events.TokenHeader)
		}
		r, err := consent.GrantClientAccessWithResponse(ctx, "acme", "user-race", &consentapi.GrantClientAccessParams{ConsistencyToken: &token},
			consentapi.ClientAccessInput{ClientId: created.JSON201.ClientId, Scopes: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		if r.JSON200 == nil {
			t.Fatalf("grant %d, right after the client's create, with its token: %d %s", i, r.StatusCode(), r.Body)
		}
	}
}

// TestCloudentityConsentRoutedByTheGateway: Cloudentity's consent paths reach consent
// through the gateway (DialectRoutes), and what they write is the native API's.
func TestCloudentityConsentRoutedByTheGateway(t *testing.T) {
	p := mustPlatform(t)
	admin := mustToken(t, p.URL, "system", adminID, adminSecret)
	send := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		has                string
	}{
		{"POST", "/api/admin/acme/consents", `{"id": "1", "name": "EULA", "update_existing_grants": "explicitAll"}`, 201, `"id":"1"`},
		{"POST", "/api/admin/acme/actions", `{"id": "1", "name": "application_x", "consents": [{"id": "1", "required": true}]}`, 201, `"name":"EULA"`},
		{"GET", "/api/admin/acme/events", "", 200, `"events":[]`},
		{"GET", "/v1/tenants/acme/consents/1", "", 200, `"name":"EULA"`},
		{"GET", "/v1/tenants/acme/consent-actions/application_x", "", 200, `"consentId":"1"`},
		{"GET", "/api/admin/acme/servers", "", 404, ""},
	} {
		status, body := send(tc.method, tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, tc.has) {
			t.Errorf("%s %s: %d %s; want %d with %s", tc.method, tc.path, status, body, tc.status, tc.has)
		}
	}
}
