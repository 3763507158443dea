package oauthclients_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/events"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestClientLifecycle(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	created, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{
		ClientName: "Billing", Description: ptr("bills"), Scopes: &[]string{"iam.client_read"},
		RedirectUris: &[]string{"https://billing.example.com/cb", "http://127.0.0.1:9000/cb"},
	})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %d %s", err, created.StatusCode(), created.Body)
	}
	c := *created.JSON201
	if c.ClientSecret == nil || len(*c.ClientSecret) < 40 {
		t.Fatal("a confidential client's secret is shown at creation")
	}
	if c.CreatedBy == nil || *c.CreatedBy != "client-"+adminID || c.Metadata.Version != 1 || c.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Errorf("created %+v", c)
	}
	if created.HTTPResponse.Header.Get("ETag") != `"1"` {
		t.Errorf("ETag %q", created.HTTPResponse.Header.Get("ETag"))
	}
	var stored string
	if err := s.DB.Get(&stored, `SELECT hash FROM client_secrets WHERE client_id = $1`, c.ClientId); err != nil || strings.Contains(stored, *c.ClientSecret) || !strings.HasPrefix(stored, "$sha256$") {
		t.Errorf("secret at rest: %q %v", stored, err)
	}

	got, err := s.admin.GetClientWithResponse(ctx, "acme", c.ClientId)
	if err != nil || got.JSON200 == nil || got.JSON200.ClientSecret != nil || got.JSON200.ClientName != "Billing" {
		t.Fatalf("get: %v %s", err, got.Body)
	}
	if other, _ := s.admin.GetClientWithResponse(ctx, "globex", c.ClientId); other.StatusCode() != 404 {
		t.Errorf("another tenant sees the client: %d", other.StatusCode())
	}

	secrets, err := s.admin.ListClientSecretsWithResponse(ctx, "acme", c.ClientId)
	if err != nil || secrets.JSON200 == nil || len(*secrets.JSON200) != 1 || (*secrets.JSON200)[0].Value != nil {
		t.Fatalf("secrets never show their value: %s", secrets.Body)
	}

	t.Run("update with the current version", func(t *testing.T) {
		resp, err := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, nil, api.ClientInput{
			ClientName: "Billing v2", Scopes: &[]string{"iam.client_read"}, Metadata: &apicommon.Metadata{Version: 1}})
		if err != nil || resp.JSON200 == nil || resp.JSON200.Metadata.Version != 2 || resp.JSON200.ClientName != "Billing v2" {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
	})
	t.Run("a stale version is a conflict, never an overwrite", func(t *testing.T) {
		resp, _ := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, nil, api.ClientInput{
			ClientName: "lost update", Metadata: &apicommon.Metadata{Version: 1}})
		if resp.StatusCode() != 409 || !strings.Contains(problemOf(t, resp.HTTPResponse, resp.Body)["type"].(string), "version-conflict") {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
	})
	t.Run("a stale If-Match is a failed precondition", func(t *testing.T) {
		resp, _ := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, &api.UpdateClientParams{IfMatch: ptr(`"1"`)},
			api.ClientInput{ClientName: "lost update"})
		if resp.StatusCode() != 412 {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		ok, _ := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, &api.UpdateClientParams{IfMatch: ptr(`"2"`)},
			api.ClientInput{ClientName: "Billing v3"})
		if ok.StatusCode() != 200 || ok.HTTPResponse.Header.Get("ETag") != `"3"` {
			t.Fatalf("%d %s", ok.StatusCode(), ok.Body)
		}
	})
	t.Run("an update must name its version", func(t *testing.T) {
		resp, _ := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, nil, api.ClientInput{ClientName: "blind"})
		if resp.StatusCode() != 422 {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
	})

	list, err := s.admin.ListClientsWithResponse(ctx, "acme", &api.ListClientsParams{SearchQuery: ptr("billing v3"), PageSize: ptr[int32](1000)})
	if err != nil || list.JSON200 == nil || list.JSON200.Total != 1 || list.JSON200.PageSize != 200 || list.JSON200.Data[0].ClientId != c.ClientId {
		t.Fatalf("search: %v %s", err, list.Body)
	}

	del, err := s.admin.DeleteClientWithResponse(ctx, "acme", c.ClientId)
	if err != nil || del.StatusCode() != 204 {
		t.Fatalf("delete: %v %d", err, del.StatusCode())
	}
	if again, _ := s.admin.DeleteClientWithResponse(ctx, "acme", c.ClientId); again.StatusCode() != 404 {
		t.Errorf("second delete: %d", again.StatusCode())
	}
	if resp := s.tokenResponse(t, "acme", c.ClientId, *c.ClientSecret, ""); resp.StatusCode() != 401 {
		t.Errorf("a deleted client still gets tokens: %d", resp.StatusCode())
	}
}

func TestSystemClientIsReadOnly(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	upd, _ := s.admin.UpdateClientWithResponse(ctx, "system", adminID, nil, api.ClientInput{ClientName: "x", Metadata: &apicommon.Metadata{Version: 1}})
	del, _ := s.admin.DeleteClientWithResponse(ctx, "system", adminID)
	if upd.StatusCode() != 403 || del.StatusCode() != 403 {
		t.Fatalf("system client changed: update %d, delete %d", upd.StatusCode(), del.StatusCode())
	}
}

// TestBadInput sends every kind of malformed request: each must be answered with a
// problem naming what is wrong, never a 500 and never a partial write.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.mustClient(t, "acme", "iam.client_read")
	token := s.mustToken(t, "system", adminID, adminSecret, "")
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string // a field the problem must name
	}{
		{"missing name", "POST", "/v1/tenants/acme/clients", `{}`, 400, "clientName"},
		{"wrong type", "POST", "/v1/tenants/acme/clients", `{"clientName": 5}`, 400, "clientName"},
		{"unknown field", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "colour": "red"}`, 400, "colour"},
		{"not JSON", "POST", "/v1/tenants/acme/clients", `{"clientName": `, 400, ""},
		// privacy allows extra members, so the validator lets "Scopes" through; Go's decoder
		// would read it as scopes.
		{"a lone case variant of a key", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "privacy": {"Scopes": {}}}`, 400, "body.privacy.Scopes"},
		{"two keys differing only in case", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "ClientName": "y"}`, 400, "body.ClientName"},
		{"unknown grant type", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "grantTypes": ["password"]}`, 400, "grantTypes"},
		{"relative redirect URI", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "redirectUris": ["/cb"]}`, 422, "redirectUris.0"},
		{"redirect URI with fragment", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "redirectUris": ["https://a.example/cb#x"]}`, 422, "redirectUris.0"},
		{"plain http redirect", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "redirectUris": ["http://a.example/cb"]}`, 422, "redirectUris.0"},
		{"public client with client_credentials", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "public": true}`, 422, "grantTypes"},
		{"code flow without redirect", "POST", "/v1/tenants/acme/clients", `{"clientName": "x", "grantTypes": ["authorization_code"]}`, 422, "redirectUris"},
		{"blank name", "POST", "/v1/tenants/acme/clients", `{"clientName": "  "}`, 422, "clientName"},
		{"bad tenant", "GET", "/v1/tenants/ACME!/clients", ``, 400, "tenant"},
		{"bad page size", "GET", "/v1/tenants/acme/clients?pageSize=many", ``, 400, "pageSize"},
		{"bad client id", "GET", "/v1/tenants/acme/clients/bad%20id", ``, 400, "clientId"},
		{"unknown client", "GET", "/v1/tenants/acme/clients/nosuch", ``, 404, ""},
		{"bad If-Match", "PUT", "/v1/tenants/acme/clients/" + c.ClientId, `{"clientName": "x"}`, 422, "If-Match"},
		{"short chosen secret", "POST", "/v1/tenants/acme/clients/" + c.ClientId + "/secrets", `{"value": "short"}`, 400, "value"},
		{"secret expiring in the past", "POST", "/v1/tenants/acme/clients/" + c.ClientId + "/secrets", `{"expiresAt": "2001-01-01T00:00:00Z"}`, 422, "expiresAt"},
		{"unknown secret", "DELETE", "/v1/tenants/acme/clients/" + c.ClientId + "/secrets/nosuch", ``, 404, ""},
		{"unknown path", "GET", "/v1/tenants/acme/nothing", ``, 404, ""},
		{"wrong method", "PATCH", "/v1/tenants/acme/clients", `{}`, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if tc.name == "bad If-Match" {
				req.Header.Set("If-Match", "yesterday")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			p := problemOf(t, resp, body)
			if !strings.HasPrefix(p["type"].(string), "https://iamplane.dev/problems/") || p["detail"] == "" {
				t.Errorf("problem lacks type or detail: %s", body)
			}
			if tc.field != "" && !strings.Contains(string(body), tc.field) {
				t.Errorf("problem does not name %q: %s", tc.field, body)
			}
		})
	}
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM clients WHERE tenant = 'acme'`); err != nil || n != 1 {
		t.Errorf("bad input wrote clients: %d %v", n, err)
	}
}

// TestClientEvents checks that every change reaches JetStream as a state-transfer event.
func TestClientEvents(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	js := s.JetStream
	c := s.mustClient(t, "acme", "iam.client_read")
	upserted, _ := s.lastEvent(t, "iam.acme.clients.client."+c.ClientId, func(events.Envelope) bool { return true })
	created := upserted.EntityVersion
	if _, err := s.admin.DeleteClientWithResponse(ctx, "acme", c.ClientId); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	// The stream keeps the last event per entity; wait for the relay to publish the tombstone.
	var ev events.Envelope
	var msg *jetstream.RawStreamMsg
	for deadline := time.Now().Add(5 * time.Second); !ev.Deleted; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no tombstone within 5s; last %+v", ev)
		}
		if msg, err = stream.GetLastMsgForSubject(ctx, "iam.acme.clients.client."+c.ClientId); err != nil {
			continue
		}
		if ev, err = events.Parse(msg.Subject, msg.Data); err != nil {
			t.Fatal(err)
		}
	}
	// The tombstone's version is past the last state's, so it wins over a late update.
	if ev.EntityVersion <= created || ev.Tenant != "acme" || ev.Type != "dev.iamplane.client.deleted.v1" || msg.Header.Get("Nats-Msg-Id") != ev.ID {
		t.Errorf("event %+v headers %v", ev, msg.Header)
	}
	if strings.Contains(string(msg.Data), *c.ClientSecret) {
		t.Error("an event carries the secret")
	}
}
