package oauthclients_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/iamplane/iam/pkg/apicommon"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestDeveloperSelfService(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.mustScope(t, "acme", "billing.read")
	if resp, _ := s.admin.CreateScopeWithResponse(ctx, "acme", api.ScopeInput{Name: "billing.admin", DeveloperPolicyId: ptr("block")}); resp.StatusCode() != 201 {
		t.Fatal(resp.StatusCode())
	}
	developer := func(tenant string) (*api.ClientWithResponses, string) {
		c := s.mustClient(t, tenant, "iam.developer")
		return s.as(t, s.mustToken(t, tenant, c.ClientId, *c.ClientSecret, "")), "client-" + c.ClientId
	}
	dev1, sub1 := developer("acme")
	dev2, _ := developer("acme")

	created, err := dev1.CreateDeveloperClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "My app", Scopes: &[]string{"billing.read"}})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %d %s", err, created.StatusCode(), created.Body)
	}
	mine := *created.JSON201
	if mine.ClientSecret == nil || deref(mine.DeveloperId) != sub1 || deref(mine.CreatedBy) != sub1 {
		t.Fatalf("created %+v", mine)
	}
	// The new client works like any other.
	s.mustToken(t, "acme", mine.ClientId, *mine.ClientSecret, "billing.read")

	t.Run("what a developer may not register", func(t *testing.T) {
		for name, in := range map[string]api.ClientInput{
			"a policy-guarded scope": {ClientName: "x", Scopes: &[]string{"billing.admin"}},
			"a platform scope":       {ClientName: "x", Scopes: &[]string{"services.iam"}},
			"a trusted client":       {ClientName: "x", Trusted: ptr(true)},
		} {
			resp, _ := dev1.CreateDeveloperClientWithResponse(ctx, "acme", in)
			if resp.StatusCode() != 422 {
				t.Errorf("%s: %d %s", name, resp.StatusCode(), resp.Body)
			}
		}
		// An admin may, through the same endpoint.
		resp, _ := s.admin.CreateDeveloperClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "admin's", Scopes: &[]string{"billing.admin"}, Trusted: ptr(true)})
		if resp.StatusCode() != 201 {
			t.Errorf("admin: %d %s", resp.StatusCode(), resp.Body)
		}
	})

	t.Run("a developer sees only its own clients, never a secret", func(t *testing.T) {
		list, _ := dev1.ListDeveloperClientsWithResponse(ctx, "acme", nil)
		if list.JSON200 == nil || list.JSON200.Total != 1 || list.JSON200.Data[0].ClientId != mine.ClientId || list.JSON200.Data[0].ClientSecret != nil {
			t.Fatalf("dev1 list: %s", list.Body)
		}
		// developerId cannot widen a developer's view.
		other, _ := dev2.ListDeveloperClientsWithResponse(ctx, "acme", &api.ListDeveloperClientsParams{DeveloperId: &sub1})
		if other.JSON200 == nil || other.JSON200.Total != 0 {
			t.Fatalf("dev2 sees dev1's clients: %s", other.Body)
		}
		got, _ := dev1.GetDeveloperClientWithResponse(ctx, "acme", mine.ClientId)
		if got.JSON200 == nil || got.JSON200.ClientSecret != nil || strings.Contains(string(got.Body), *mine.ClientSecret) {
			t.Fatalf("get: %s", got.Body)
		}
	})

	t.Run("another developer's client does not exist for you", func(t *testing.T) {
		get, _ := dev2.GetDeveloperClientWithResponse(ctx, "acme", mine.ClientId)
		put, _ := dev2.UpdateDeveloperClientWithResponse(ctx, "acme", mine.ClientId, nil, api.ClientInput{ClientName: "hijacked", Metadata: &apicommon.Metadata{Version: 1}})
		del, _ := dev2.DeleteDeveloperClientWithResponse(ctx, "acme", mine.ClientId)
		if get.StatusCode() != 404 || put.StatusCode() != 404 || del.StatusCode() != 404 {
			t.Fatalf("get %d, put %d, delete %d", get.StatusCode(), put.StatusCode(), del.StatusCode())
		}
		// Nor do an admin's own clients, through self-service.
		if got, _ := dev1.GetDeveloperClientWithResponse(ctx, "system", adminID); got.StatusCode() != 403 {
			t.Errorf("another tenant: %d", got.StatusCode())
		}
		if got, _ := s.admin.GetDeveloperClientWithResponse(ctx, "acme", s.mustClient(t, "acme").ClientId); got.StatusCode() != 404 {
			t.Errorf("an admin-registered client through /developer: %d", got.StatusCode())
		}
	})

	t.Run("a developer token reaches neither the admin API nor another tenant", func(t *testing.T) {
		if resp, _ := dev1.ListClientsWithResponse(ctx, "acme", nil); resp.StatusCode() != http.StatusForbidden {
			t.Errorf("/clients: %d", resp.StatusCode())
		}
		if resp, _ := dev1.ListDeveloperClientsWithResponse(ctx, "globex", nil); resp.StatusCode() != http.StatusForbidden {
			t.Errorf("tenant B: %d", resp.StatusCode())
		}
	})

	t.Run("admins see every developer's clients and filter by developer", func(t *testing.T) {
		all, _ := s.admin.ListDeveloperClientsWithResponse(ctx, "acme", nil)
		if all.JSON200 == nil || all.JSON200.Total != 2 {
			t.Fatalf("admin list: %s", all.Body)
		}
		one, _ := s.admin.ListClientsWithResponse(ctx, "acme", &api.ListClientsParams{DeveloperId: &sub1, SearchText: ptr("MY APP")})
		if one.JSON200 == nil || one.JSON200.Total != 1 || one.JSON200.Data[0].ClientId != mine.ClientId {
			t.Fatalf("filter by developer and searchText: %s", one.Body)
		}
		none, _ := s.admin.ListClientsWithResponse(ctx, "acme", &api.ListClientsParams{DeveloperId: &sub1, SearchText: ptr("MY APP"), SearchQuery: ptr("nothing like it")})
		if none.JSON200 == nil || none.JSON200.Total != 0 {
			t.Fatalf("searchQuery wins over searchText: %s", none.Body)
		}
	})

	t.Run("a developer updates and deletes its own client", func(t *testing.T) {
		upd, _ := dev1.UpdateDeveloperClientWithResponse(ctx, "acme", mine.ClientId, nil, api.ClientInput{ClientName: "My app v2",
			Scopes: &[]string{"billing.read", "billing.admin"}, Metadata: &apicommon.Metadata{Version: 1}})
		if upd.StatusCode() != 422 {
			t.Fatalf("adding a guarded scope: %d %s", upd.StatusCode(), upd.Body)
		}
		upd, _ = dev1.UpdateDeveloperClientWithResponse(ctx, "acme", mine.ClientId, nil, api.ClientInput{ClientName: "My app v2",
			Scopes: &[]string{"billing.read"}, Metadata: &apicommon.Metadata{Version: 1}})
		if upd.JSON200 == nil || upd.JSON200.Metadata.Version != 2 || deref(upd.JSON200.UpdatedBy) != sub1 || deref(upd.JSON200.DeveloperId) != sub1 {
			t.Fatalf("update: %d %s", upd.StatusCode(), upd.Body)
		}
		if stale, _ := dev1.UpdateDeveloperClientWithResponse(ctx, "acme", mine.ClientId, nil, api.ClientInput{ClientName: "x", Metadata: &apicommon.Metadata{Version: 1}}); stale.StatusCode() != 409 {
			t.Errorf("stale: %d", stale.StatusCode())
		}
		if del, _ := dev1.DeleteDeveloperClientWithResponse(ctx, "acme", mine.ClientId); del.StatusCode() != 204 {
			t.Fatalf("delete: %d", del.StatusCode())
		}
		if resp := s.tokenResponse(t, "acme", mine.ClientId, *mine.ClientSecret, ""); resp.StatusCode() != 401 {
			t.Errorf("deleted developer client still gets tokens: %d", resp.StatusCode())
		}
	})
}
