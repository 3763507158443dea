package consent_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	googleuuid "github.com/google/uuid"

	"github.com/iamplane/iam/services/consent/api"
)

// mustAction creates a consent action asking for the consents (the first one required).
func (s *stack) mustAction(tb testing.TB, name string, cs ...api.Consent) api.ConsentAction {
	tb.Helper()
	asked := make([]api.ActionConsent, len(cs))
	for i, c := range cs {
		asked[i] = api.ActionConsent{ConsentId: c.Id, Required: ptr(i == 0)}
	}
	resp, err := s.admin.CreateConsentActionWithResponse(context.Background(), "acme", api.ConsentActionInput{Name: name,
		Description: ptr("asked at " + name), Consents: &asked})
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("create consent action: %v %s", err, resp.Body)
	}
	return *resp.JSON201
}

func ifMatch(etag string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("If-Match", etag)
		return nil
	}
}

// problemType is the stable kind at the end of a problem's type URI.
func problemType(body []byte) string {
	i := strings.Index(string(body), "/problems/")
	if i < 0 {
		return ""
	}
	rest := string(body)[i+len("/problems/"):]
	return rest[:strings.IndexAny(rest, `"`)]
}

func TestGetConsentAction(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	terms := s.consent(t, "terms", false)
	a := s.mustAction(t, "signup", terms)
	for name, ref := range map[string]string{"by id": a.Id, "by name": "signup"} {
		t.Run(name, func(t *testing.T) {
			resp, err := s.admin.GetConsentActionWithResponse(ctx, "acme", ref)
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("get: %v %d %s", err, resp.StatusCode(), resp.Body)
			}
			got := resp.JSON200
			if got.Id != a.Id || got.Name != "signup" || *got.Description != "asked at signup" || len(got.Consents) != 1 ||
				got.Consents[0].ConsentId != terms.Id || !*got.Consents[0].Required || got.Metadata.Version != 1 {
				t.Errorf("got %+v", got)
			}
			if etag := resp.HTTPResponse.Header.Get("ETag"); etag != `"1"` {
				t.Errorf("ETag %q", etag)
			}
		})
	}
	viewer := s.client(t, "acme", "view_consents")
	for _, tc := range []struct {
		name   string
		client *api.ClientWithResponses
		tenant string
		ref    string
		status int
	}{
		{"view_consents suffices", viewer, "acme", "signup", 200},
		{"unknown id", s.admin, "acme", googleuuid.NewString(), 404},
		{"unknown name", s.admin, "acme", "checkout", 404},
		{"missing scope", s.client(t, "acme", "list_clients_with_access"), "acme", "signup", 403},
		{"token of another tenant", s.client(t, "globex", "services.iam"), "acme", "signup", 403},
		{"another tenant's action", s.client(t, "globex", "services.iam"), "globex", a.Id, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.GetConsentActionWithResponse(ctx, tc.tenant, tc.ref)
			if err != nil || resp.StatusCode() != tc.status {
				t.Fatalf("%v %d %s, want %d", err, resp.StatusCode(), resp.Body, tc.status)
			}
		})
	}
}

func TestUpdateConsentAction(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	terms, news := s.consent(t, "terms", false), s.consent(t, "newsletter", true)
	a := s.mustAction(t, "signup", terms)
	s.mustAction(t, "checkout", terms)

	input := func(name string, v *int64, cs ...api.Consent) api.ConsentActionInput {
		in := api.ConsentActionInput{Name: name, Description: ptr("at sign-up and after"), Consents: &[]api.ActionConsent{}}
		for _, c := range cs {
			*in.Consents = append(*in.Consents, api.ActionConsent{ConsentId: c.Id, Required: ptr(true)})
		}
		if v != nil {
			in.Metadata = &api.WritableMetadata{Version: *v}
		}
		return in
	}
	// Version 1 -> 2 by metadata.version, then 2 -> 3 by If-Match alone.
	resp, err := s.admin.UpdateConsentActionWithResponse(ctx, "acme", a.Id, &api.UpdateConsentActionParams{}, input("signup", ptr[int64](1), terms, news))
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("update: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	if got := resp.JSON200; got.Metadata.Version != 2 || len(got.Consents) != 2 || *got.Description != "at sign-up and after" ||
		resp.HTTPResponse.Header.Get("ETag") != `"2"` || !got.Metadata.ModifiedAt.After(*got.Metadata.CreatedAt) {
		t.Errorf("after update: %+v (ETag %s)", got, resp.HTTPResponse.Header.Get("ETag"))
	}
	resp, err = s.admin.UpdateConsentActionWithResponse(ctx, "acme", "signup", &api.UpdateConsentActionParams{IfMatch: ptr(`"2"`)}, input("onboarding", nil, news))
	if err != nil || resp.JSON200 == nil || resp.JSON200.Metadata.Version != 3 || resp.JSON200.Name != "onboarding" {
		t.Fatalf("update by If-Match and rename: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	got, _ := s.admin.GetConsentActionWithResponse(ctx, "acme", "onboarding")
	if got.JSON200 == nil || got.JSON200.Id != a.Id || len(got.JSON200.Consents) != 1 || got.JSON200.Consents[0].ConsentId != news.Id {
		t.Fatalf("read back: %d %s", got.StatusCode(), got.Body)
	}

	unknown := googleuuid.NewString()
	viewer := s.client(t, "acme", "view_consents")
	for _, tc := range []struct {
		name   string
		client *api.ClientWithResponses
		tenant string
		ref    string
		ifm    *string
		in     api.ConsentActionInput
		status int
		kind   string // the problem type, when the service answers one
	}{
		{"manage_consents suffices", s.client(t, "acme", "manage_consents"), "acme", "onboarding", nil, input("onboarding", ptr[int64](3), news), 200, ""},
		{"stale metadata.version", s.admin, "acme", "onboarding", nil, input("onboarding", ptr[int64](3)), 409, "version-conflict"},
		{"If-Match mismatch", s.admin, "acme", "onboarding", ptr(`"3"`), input("onboarding", nil), 412, "precondition-failed"},
		{"If-Match mismatch wins over a current body", s.admin, "acme", "onboarding", ptr(`"1"`), input("onboarding", ptr[int64](4)), 412, "precondition-failed"},
		{"no version named", s.admin, "acme", "onboarding", nil, input("onboarding", nil), 422, "invalid"},
		{"unknown consent", s.admin, "acme", "onboarding", nil, input("onboarding", ptr[int64](4), news, api.Consent{Id: unknown}), 422, "invalid"},
		{"name of another action", s.admin, "acme", "onboarding", nil, input("checkout", ptr[int64](4)), 409, "conflict"},
		{"unknown action", s.admin, "acme", googleuuid.NewString(), nil, input("x-new", ptr[int64](1)), 404, "not-found"},
		{"view_consents cannot change", viewer, "acme", "onboarding", nil, input("onboarding", ptr[int64](4)), 403, "forbidden"},
		{"token of another tenant", s.client(t, "globex", "manage_consents"), "acme", "onboarding", nil, input("onboarding", ptr[int64](4)), 403, "forbidden"},
		{"another tenant's action", s.client(t, "globex", "services.iam"), "globex", a.Id, nil, input("onboarding", ptr[int64](4)), 404, "not-found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.UpdateConsentActionWithResponse(ctx, tc.tenant, tc.ref, &api.UpdateConsentActionParams{IfMatch: tc.ifm}, tc.in)
			if err != nil || resp.StatusCode() != tc.status {
				t.Fatalf("%v %d %s, want %d", err, resp.StatusCode(), resp.Body, tc.status)
			}
			if tc.kind != "" && problemType(resp.Body) != tc.kind {
				t.Errorf("problem %s, want %s", resp.Body, tc.kind)
			}
			if tc.name == "unknown consent" && !strings.Contains(string(resp.Body), unknown) {
				t.Errorf("the 422 does not name the unknown consent: %s", resp.Body)
			}
		})
	}
	// Nothing refused was applied: still version 4 (from the one accepted case), one consent.
	got, _ = s.admin.GetConsentActionWithResponse(ctx, "acme", a.Id)
	if got.JSON200 == nil || got.JSON200.Metadata.Version != 4 || got.JSON200.Name != "onboarding" || len(got.JSON200.Consents) != 1 {
		t.Errorf("after the refused changes: %d %s", got.StatusCode(), got.Body)
	}
	// If-Match by the ETag a read returned: the intended way to change safely.
	etag := got.HTTPResponse.Header.Get("ETag")
	if r, _ := s.admin.UpdateConsentActionWithResponse(ctx, "acme", "onboarding", &api.UpdateConsentActionParams{}, input("onboarding", nil), ifMatch(etag)); r.StatusCode() != 200 {
		t.Errorf("If-Match from the ETag %s: %d %s", etag, r.StatusCode(), r.Body)
	}
}

func TestDeleteConsentAction(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	terms := s.consent(t, "terms", false)
	byID, byName := s.mustAction(t, "signup", terms), s.mustAction(t, "checkout", terms)
	for _, tc := range []struct {
		name   string
		client *api.ClientWithResponses
		tenant string
		ref    string
		status int
	}{
		{"view_consents cannot delete", s.client(t, "acme", "view_consents"), "acme", "signup", 403},
		{"token of another tenant", s.client(t, "globex", "manage_consents"), "acme", "signup", 403},
		{"another tenant's action", s.client(t, "globex", "services.iam"), "globex", byID.Id, 404},
		{"by id", s.client(t, "acme", "manage_consents"), "acme", byID.Id, 204},
		{"by name", s.admin, "acme", "checkout", 204},
		{"again", s.admin, "acme", byID.Id, 404},
		{"unknown", s.admin, "acme", "nosuch", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.DeleteConsentActionWithResponse(ctx, tc.tenant, tc.ref)
			if err != nil || resp.StatusCode() != tc.status {
				t.Fatalf("%v %d %s, want %d", err, resp.StatusCode(), resp.Body, tc.status)
			}
		})
	}
	for _, ref := range []string{byID.Id, byName.Id} {
		if r, _ := s.admin.GetConsentActionWithResponse(ctx, "acme", ref); r.StatusCode() != 404 {
			t.Errorf("deleted action %s still readable: %d", ref, r.StatusCode())
		}
	}
	if r, _ := s.admin.GetConsentWithResponse(ctx, "acme", terms.Id); r.JSON200 == nil {
		t.Errorf("deleting an action took its consent: %d", r.StatusCode())
	}
	list, _ := s.admin.ListConsentActionsWithResponse(ctx, "acme", nil)
	if list.JSON200 == nil || list.JSON200.Total != 0 {
		t.Errorf("list after deletes: %s", list.Body)
	}
}

// TestConcurrentConsentActionUpdates races updates all based on version 1: exactly one
// wins, the others are refused as stale, none is applied over another.
func TestConcurrentConsentActionUpdates(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	a := s.mustAction(t, "signup", s.consent(t, "terms", false))
	const n = 20
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.admin.UpdateConsentActionWithResponse(ctx, "acme", a.Id, &api.UpdateConsentActionParams{},
				api.ConsentActionInput{Name: "signup", Description: ptr(fmt.Sprintf("writer %d", i)), Metadata: &api.WritableMetadata{Version: 1}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- resp.StatusCode()
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[200] != 1 || count[409] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 409", count, n-1)
	}
	got, _ := s.admin.GetConsentActionWithResponse(ctx, "acme", "signup")
	if got.JSON200 == nil || got.JSON200.Metadata.Version != 2 {
		t.Errorf("after the race: %s", got.Body)
	}
}
