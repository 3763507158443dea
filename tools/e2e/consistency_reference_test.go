package e2e

import (
	"context"
	"net/http"
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
