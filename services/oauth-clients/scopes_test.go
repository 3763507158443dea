package oauthclients_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestScopeDefinitionLifecycle(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()

	list, err := s.admin.ListScopesWithResponse(ctx, "acme", &api.ListScopesParams{PageSize: ptr[int32](200)})
	if err != nil || list.JSON200 == nil {
		t.Fatalf("list: %v %s", err, list.Body)
	}
	var builtIn []string
	for _, d := range list.JSON200.Data {
		if d.BuiltIn {
			builtIn = append(builtIn, d.Name)
		}
	}
	for _, want := range []string{"services.iam", "iam.client_read", "iam.scope_manage", "iam.group_read", "manage_consents"} {
		if !slices.Contains(builtIn, want) {
			t.Errorf("built-in %q missing from every tenant: %v", want, builtIn)
		}
	}

	created, err := s.admin.CreateScopeWithResponse(ctx, "acme", api.ScopeInput{Name: "billing.invoices_read",
		Description: ptr("Read invoices."), DeveloperPolicyId: ptr("block")})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	d := *created.JSON201
	if d.DisplayName != "billing.invoices_read" || d.BuiltIn || d.Metadata.Version != 1 || deref(d.CreatedBy) != "client-"+adminID ||
		created.HTTPResponse.Header.Get("ETag") != `"1"` {
		t.Errorf("created %+v", d)
	}
	for name, status := range map[string]int{"billing.invoices_read": 409, "services.iam": 409, "iam.client_read": 409} {
		resp, _ := s.admin.CreateScopeWithResponse(ctx, "acme", api.ScopeInput{Name: name})
		if resp.StatusCode() != status {
			t.Errorf("create %s again: %d %s", name, resp.StatusCode(), resp.Body)
		}
	}
	if resp, _ := s.admin.CreateScopeWithResponse(ctx, "acme", api.ScopeInput{Name: "has/slash"}); resp.StatusCode() != 400 {
		t.Errorf("a name with a slash: %d", resp.StatusCode())
	}
	// The same name in another tenant is another scope.
	s.mustScope(t, "globex", "billing.invoices_read")

	got, _ := s.admin.GetScopeWithResponse(ctx, "acme", "billing.invoices_read")
	if got.JSON200 == nil || got.JSON200.DeveloperPolicyId != "block" {
		t.Fatalf("get: %s", got.Body)
	}
	if got, _ := s.admin.GetScopeWithResponse(ctx, "initech", "billing.invoices_read"); got.StatusCode() != 404 {
		t.Errorf("a tenant sees another's scope: %d", got.StatusCode())
	}
	if got, _ := s.admin.GetScopeWithResponse(ctx, "initech", "services.iam"); got.JSON200 == nil || !got.JSON200.BuiltIn {
		t.Errorf("built-in scope in a fresh tenant: %s", got.Body)
	}

	upd, _ := s.admin.UpdateScopeWithResponse(ctx, "acme", "billing.invoices_read", nil, api.ScopeUpdate{
		DisplayName: ptr("Read invoices"), Metadata: &apicommon.Metadata{Version: 1}})
	if upd.JSON200 == nil || upd.JSON200.Metadata.Version != 2 || upd.JSON200.DisplayName != "Read invoices" || upd.JSON200.DeveloperPolicyId != "" {
		t.Fatalf("update: %d %s", upd.StatusCode(), upd.Body)
	}
	if stale, _ := s.admin.UpdateScopeWithResponse(ctx, "acme", "billing.invoices_read", nil, api.ScopeUpdate{Metadata: &apicommon.Metadata{Version: 1}}); stale.StatusCode() != 409 {
		t.Errorf("stale version: %d", stale.StatusCode())
	}
	if stale, _ := s.admin.UpdateScopeWithResponse(ctx, "acme", "billing.invoices_read", &api.UpdateScopeParams{IfMatch: ptr(`"1"`)}, api.ScopeUpdate{}); stale.StatusCode() != 412 {
		t.Errorf("stale If-Match: %d", stale.StatusCode())
	}
	if blind, _ := s.admin.UpdateScopeWithResponse(ctx, "acme", "billing.invoices_read", nil, api.ScopeUpdate{}); blind.StatusCode() != 422 {
		t.Errorf("update without a version: %d", blind.StatusCode())
	}

	t.Run("built-in scopes are read-only", func(t *testing.T) {
		upd, _ := s.admin.UpdateScopeWithResponse(ctx, "acme", "services.iam", nil, api.ScopeUpdate{Metadata: &apicommon.Metadata{Version: 1}})
		del, _ := s.admin.DeleteScopeWithResponse(ctx, "acme", "iam.client_read", &api.DeleteScopeParams{ForceDelete: ptr(true)})
		if upd.StatusCode() != 403 || del.StatusCode() != 403 {
			t.Fatalf("update %d, delete %d", upd.StatusCode(), del.StatusCode())
		}
	})

	search, _ := s.admin.ListScopesWithResponse(ctx, "acme", &api.ListScopesParams{SearchQuery: ptr("INVOICES")})
	if search.JSON200 == nil || search.JSON200.Total != 1 || search.JSON200.Data[0].Name != "billing.invoices_read" {
		t.Errorf("search: %s", search.Body)
	}

	if del, _ := s.admin.DeleteScopeWithResponse(ctx, "acme", "billing.invoices_read", nil); del.StatusCode() != 204 {
		t.Fatalf("delete: %d %s", del.StatusCode(), del.Body)
	}
	if del, _ := s.admin.DeleteScopeWithResponse(ctx, "acme", "billing.invoices_read", nil); del.StatusCode() != 404 {
		t.Errorf("second delete: %d", del.StatusCode())
	}
}

func TestClientsListOnlyDefinedScopes(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.mustScope(t, "acme", "billing.read")
	s.mustScope(t, "globex", "billing.write")

	bad, _ := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "x",
		Scopes: &[]string{"iam.client_read", "billing.read", "billing.write", "nope"}})
	if bad.StatusCode() != 422 {
		t.Fatalf("unknown scopes: %d %s", bad.StatusCode(), bad.Body)
	}
	p := problemOf(t, bad.HTTPResponse, bad.Body)
	fields, _ := json.Marshal(p["errors"])
	for _, want := range []string{`"scopes.2"`, `billing.write`, `"scopes.3"`, `nope`} {
		if !strings.Contains(string(fields), want) {
			t.Errorf("the refusal does not name %s: %s", want, fields)
		}
	}
	if strings.Contains(string(fields), `"scopes.0"`) || strings.Contains(string(fields), `"scopes.1"`) {
		t.Errorf("defined scopes named as unknown: %s", fields)
	}

	c := s.mustClient(t, "acme", "billing.read", "services.iam")
	upd, _ := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, nil, api.ClientInput{ClientName: "x",
		Scopes: &[]string{"billing.read", "billing.write"}, Metadata: &apicommon.Metadata{Version: 1}})
	if upd.StatusCode() != 422 || !strings.Contains(string(upd.Body), "billing.write") {
		t.Errorf("update to an unknown scope: %d %s", upd.StatusCode(), upd.Body)
	}
	tok := s.tokenResponse(t, "acme", c.ClientId, *c.ClientSecret, "billing.read")
	if tok.JSON200 == nil || *tok.JSON200.Scope != "billing.read" {
		t.Errorf("a defined scope is granted: %s", tok.Body)
	}
}

func TestDeletingAScopeInUse(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.mustScope(t, "acme", "billing.read")
	a := s.mustClient(t, "acme", "billing.read", "iam.client_read")
	b := s.mustClient(t, "acme", "billing.read")
	untouched := s.mustClient(t, "acme", "iam.client_read")

	refused, _ := s.admin.DeleteScopeWithResponse(ctx, "acme", "billing.read", nil)
	if refused.StatusCode() != 409 {
		t.Fatalf("delete in use: %d %s", refused.StatusCode(), refused.Body)
	}
	detail := problemOf(t, refused.HTTPResponse, refused.Body)["detail"].(string)
	if !strings.Contains(detail, a.ClientId) || !strings.Contains(detail, b.ClientId) || strings.Contains(detail, untouched.ClientId) {
		t.Errorf("the refusal should name exactly the clients using it: %s", detail)
	}

	forced, _ := s.admin.DeleteScopeWithResponse(ctx, "acme", "billing.read", &api.DeleteScopeParams{ForceDelete: ptr(true)})
	if forced.StatusCode() != 204 {
		t.Fatalf("forced delete: %d %s", forced.StatusCode(), forced.Body)
	}
	got, _ := s.admin.GetClientWithResponse(ctx, "acme", a.ClientId)
	if got.JSON200 == nil || slices.Contains(got.JSON200.Scopes, "billing.read") || !slices.Contains(got.JSON200.Scopes, "iam.client_read") ||
		got.JSON200.Metadata.Version != 2 {
		t.Fatalf("client after forced delete: %s", got.Body)
	}
	// The client's change is published like any other, so views drop the scope too.
	s.lastEvent(t, "iam.acme.clients.client."+a.ClientId, func(ev events.Envelope) bool {
		var c schema.ClientState
		return json.Unmarshal(ev.Data, &c) == nil && !slices.Contains(c.Scopes, "billing.read")
	})
	// Its tokens no longer carry the scope, at once.
	if tok := s.tokenResponse(t, "acme", a.ClientId, *a.ClientSecret, "billing.read"); tok.StatusCode() != 400 {
		t.Errorf("token with the deleted scope: %d %s", tok.StatusCode(), tok.Body)
	}
	if got, _ := s.admin.GetScopeWithResponse(ctx, "acme", "billing.read"); got.StatusCode() != 404 {
		t.Errorf("scope still there: %d", got.StatusCode())
	}
}

func TestScopeDefinitionEvents(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.mustScope(t, "acme", "billing.invoices_read")

	ev, _ := s.lastEvent(t, "iam.acme.clients.scope.billing~invoices_read", func(events.Envelope) bool { return true })
	var state schema.ScopeDefinitionState
	if err := json.Unmarshal(ev.Data, &state); err != nil {
		t.Fatal(err)
	}
	created := ev.EntityVersion
	if ev.Type != "dev.iamplane.scope.upserted.v1" || created <= 0 || state.Name != "billing.invoices_read" ||
		state.Tenant != "acme" || state.DisplayName != "The billing.invoices_read scope" || state.BuiltIn {
		t.Errorf("event %+v state %+v", ev, state)
	}
	if _, err := s.admin.DeleteScopeWithResponse(ctx, "acme", "billing.invoices_read", nil); err != nil {
		t.Fatal(err)
	}
	ev, _ = s.lastEvent(t, "iam.acme.clients.scope.billing~invoices_read", func(ev events.Envelope) bool { return ev.Deleted })
	// The tombstone's version is past the state's, so it wins over a late update.
	if ev.Type != "dev.iamplane.scope.deleted.v1" || ev.EntityVersion <= created {
		t.Errorf("tombstone %+v", ev)
	}
	// Built-in scopes are published once, under the system tenant.
	ev, _ = s.lastEvent(t, "iam.system.clients.scope.services~iam", func(events.Envelope) bool { return true })
	if err := json.Unmarshal(ev.Data, &state); err != nil || !state.BuiltIn || state.Name != "services.iam" {
		t.Errorf("built-in event %+v %v", state, err)
	}
}

func TestScopeDefinitionScopes(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	reader := s.mustClient(t, "acme", "iam.scope_read")
	token := s.mustToken(t, "acme", reader.ClientId, *reader.ClientSecret, "")
	if list, _ := s.as(t, token).ListScopesWithResponse(ctx, "acme", nil); list.StatusCode() != 200 {
		t.Errorf("iam.scope_read cannot list: %d", list.StatusCode())
	}
	if create, _ := s.as(t, token).CreateScopeWithResponse(ctx, "acme", api.ScopeInput{Name: "x"}); create.StatusCode() != 403 {
		t.Errorf("iam.scope_read can create: %d", create.StatusCode())
	}
	if list, _ := s.as(t, token).ListScopesWithResponse(ctx, "globex", nil); list.StatusCode() != 403 {
		t.Errorf("an acme token lists globex scopes: %d", list.StatusCode())
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
