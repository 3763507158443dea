package iampolicies_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/iamplane/iam/services/iam-policies/api"
)

func TestActionsCatalog(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	created, err := s.admin.CreateActionWithResponse(ctx, "acme", api.ActionInput{Id: "invoice.read", DisplayName: " Read invoices ", Description: ptr("Read them.")})
	if err != nil || created.JSON201 == nil || created.JSON201.DisplayName != "Read invoices" || created.JSON201.Metadata.Version != 1 {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	if again, _ := s.admin.CreateActionWithResponse(ctx, "acme", api.ActionInput{Id: "invoice.read", DisplayName: "x"}); again.StatusCode() != http.StatusConflict {
		t.Errorf("duplicate id: %d %s", again.StatusCode(), again.Body)
	}
	_, _ = s.admin.CreateActionWithResponse(ctx, "acme", api.ActionInput{Id: "invoice.write", DisplayName: "Write invoices"})
	if list, _ := s.admin.ListActionsWithResponse(ctx, "acme", &api.ListActionsParams{SearchQuery: ptr("WRITE")}); list.JSON200 == nil || list.JSON200.Total != 1 || list.JSON200.Data[0].Id != "invoice.write" {
		t.Errorf("search: %s", list.Body)
	}
	got, _ := s.admin.GetActionWithResponse(ctx, "acme", "invoice.read")
	if got.JSON200 == nil || got.HTTPResponse.Header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d %s", got.StatusCode(), got.Body)
	}

	update := func(t *testing.T, version *int64, ifMatch string, name string) *api.UpdateActionResponse {
		t.Helper()
		in := api.ActionUpdate{DisplayName: name}
		if version != nil {
			in.Metadata = &api.MetadataInput{Version: *version}
		}
		params := &api.UpdateActionParams{}
		if ifMatch != "" {
			params.IfMatch = &ifMatch
		}
		resp, err := s.admin.UpdateActionWithResponse(ctx, "acme", "invoice.read", params, in)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	one, five := int64(1), int64(5)
	if resp := update(t, &one, "", "Read all invoices"); resp.JSON200 == nil || resp.JSON200.Metadata.Version != 2 || resp.JSON200.DisplayName != "Read all invoices" {
		t.Fatalf("update: %d %s", resp.StatusCode(), resp.Body)
	}
	for _, tc := range []struct {
		name    string
		version *int64
		ifMatch string
		display string
		status  int
	}{
		{"stale version", &one, "", "x", http.StatusConflict},
		{"If-Match mismatch", nil, `"5"`, "x", http.StatusPreconditionFailed},
		{"no version named", nil, "", "x", http.StatusUnprocessableEntity},
		{"blank display name", &five, "", "  ", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := update(t, tc.version, tc.ifMatch, tc.display); resp.StatusCode() != tc.status {
				t.Errorf("%d %s, want %d", resp.StatusCode(), resp.Body, tc.status)
			}
		})
	}
	if resp, _ := s.admin.GetActionWithResponse(ctx, "acme", "no.such.action"); resp.StatusCode() != http.StatusNotFound {
		t.Errorf("unknown action: %d", resp.StatusCode())
	}

	// Scopes and tenants: a reader cannot change the catalog; another tenant's token cannot read it.
	reader := s.as(t, s.Issuer.Token(t, "acme", "client-reader", "iam.action_read"))
	if resp, _ := reader.DeleteActionWithResponse(ctx, "acme", "invoice.write"); resp.StatusCode() != http.StatusForbidden {
		t.Errorf("delete with iam.action_read: %d", resp.StatusCode())
	}
	other := s.as(t, s.Issuer.Token(t, "globex", "client-admin", "services.iam"))
	if resp, _ := other.GetActionWithResponse(ctx, "acme", "invoice.read"); resp.StatusCode() != http.StatusForbidden {
		t.Errorf("another tenant's token: %d", resp.StatusCode())
	}

	// An action a policy grants stays until the policy goes.
	s.grant(t, "user-u1", "/", "invoice.read")
	if resp, _ := s.admin.DeleteActionWithResponse(ctx, "acme", "invoice.read"); resp.StatusCode() != http.StatusConflict || !strings.Contains(string(resp.Body), "1 policies") {
		t.Fatalf("delete while granted: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{Subject: "user-u1"}); resp.JSON200 == nil {
		t.Fatalf("revoke: %s", resp.Body)
	}
	if resp, _ := s.admin.DeleteActionWithResponse(ctx, "acme", "invoice.read"); resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp, _ := s.admin.GetActionWithResponse(ctx, "acme", "invoice.read"); resp.StatusCode() != http.StatusNotFound {
		t.Errorf("deleted action still read: %d", resp.StatusCode())
	}
}
