package consent_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	googleuuid "github.com/google/uuid"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/testenv"

	consent "github.com/iamplane/iam/services/consent"
	"github.com/iamplane/iam/services/consent/api"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// stack is the consent service under test (testenv.StartStack) with a client of the
// "acme" tenant allowed everything.
type stack struct {
	*testenv.Stack
	admin *api.ClientWithResponses
}

func mustStart(tb testing.TB) *stack {
	tb.Helper()
	s := &stack{Stack: testenv.StartStack(tb, consent.Run, nil)}
	s.admin = s.client(tb, "acme", "services.iam")
	return s
}

// client is a Go SDK client whose token belongs to tenant and carries scopes.
func (s *stack) client(tb testing.TB, tenant string, scopes ...string) *api.ClientWithResponses {
	tb.Helper()
	token := s.Issuer.Token(tb, tenant, "client-"+tenant+"-caller", scopes...)
	return testenv.Client(tb, s.URL, token, api.NewClientWithResponses, api.WithHTTPClient)
}

func (s *stack) consent(tb testing.TB, name string, withdrawable bool) api.Consent {
	tb.Helper()
	resp, err := s.admin.CreateConsentWithResponse(context.Background(), "acme", api.ConsentInput{Name: name, CanBeWithdrawn: &withdrawable,
		PiiCategories: &[]string{"email"}, Services: &[]api.Service{{Name: "Newsletter", Type: api.Internal, Purposes: &[]string{"marketing"}}}})
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("create consent: %v %s", err, resp.Body)
	}
	return *resp.JSON201
}

func (s *stack) change(tb testing.TB, subject string, granted bool, grantType api.GrantChangeGrantsGrantType, ids ...string) *api.ChangeConsentGrantsResponse {
	tb.Helper()
	body := api.GrantChange{Language: ptr("en"), ActionId: ptr("signup")}
	body.Context = &struct {
		Device   *string `json:"device,omitempty"`
		Ip       *string `json:"ip,omitempty"`
		Location *string `json:"location,omitempty"`
	}{Ip: ptr("203.0.113.7")}
	for _, id := range ids {
		gt := grantType
		body.Grants = append(body.Grants, struct {
			ConsentId api.EntityId                    `json:"consentId"`
			GrantType *api.GrantChangeGrantsGrantType `json:"grantType,omitempty"`
			Granted   bool                            `json:"granted"`
		}{ConsentId: id, GrantType: &gt, Granted: granted})
	}
	resp, err := s.admin.ChangeConsentGrantsWithResponse(context.Background(), "acme", subject, body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

func (s *stack) status(tb testing.TB, subject, consentID string) api.GrantStatus {
	tb.Helper()
	resp, err := s.admin.GetConsentGrantsWithResponse(context.Background(), "acme", subject)
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("grants: %v %s", err, resp.Body)
	}
	for _, g := range resp.JSON200.Grants {
		if g.ConsentId == consentID {
			return g
		}
	}
	tb.Fatalf("no status for %s", consentID)
	return api.GrantStatus{}
}

func (s *stack) update(tb testing.TB, c api.Consent, strategy api.UpdateStrategy) api.Consent {
	tb.Helper()
	resp, err := s.admin.UpdateConsentWithResponse(context.Background(), "acme", c.Id, api.ConsentInput{
		Name: c.Name, Description: ptr("changed"), UpdateExistingGrants: &strategy, Metadata: &api.WritableMetadata{Version: c.Version}})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("update: %v %s", err, resp.Body)
	}
	return *resp.JSON200
}

func (s *stack) ledger(tb testing.TB, subject string) []api.LedgerEvent {
	tb.Helper()
	resp, err := s.admin.ListLedgerEventsWithResponse(context.Background(), "acme", &api.ListLedgerEventsParams{Subject: &subject, PageSize: ptr[int32](200)})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("ledger: %v %s", err, resp.Body)
	}
	return resp.JSON200.Data
}

func (s *stack) verify(tb testing.TB) api.LedgerVerification {
	tb.Helper()
	resp, err := s.admin.VerifyLedgerWithResponse(context.Background(), "acme")
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("verify: %v %s", err, resp.Body)
	}
	return *resp.JSON200
}

func ptr[T any](v T) *T { return &v }

func TestGrantsAndWithdrawals(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	marketing, terms := s.consent(t, "marketing", true), s.consent(t, "terms", false)
	if resp := s.change(t, "user-u1", true, api.GrantChangeGrantsGrantTypeExplicit, marketing.Id, terms.Id); resp.JSON200 == nil {
		t.Fatalf("grant: %d %s", resp.StatusCode(), resp.Body)
	}
	if g := s.status(t, "user-u1", marketing.Id); !g.Granted || *g.GrantedVersion != 1 || *g.GrantType != api.GrantStatusGrantTypeExplicit || g.NeedsReconsent {
		t.Errorf("status %+v", g)
	}
	if resp := s.change(t, "user-u1", false, api.GrantChangeGrantsGrantTypeExplicit, terms.Id); resp.StatusCode() != 409 {
		t.Fatalf("withdrawing a consent that cannot be withdrawn: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := s.change(t, "user-u1", false, api.GrantChangeGrantsGrantTypeExplicit, marketing.Id); resp.JSON200 == nil {
		t.Fatalf("withdraw: %s", resp.Body)
	}
	if g := s.status(t, "user-u1", marketing.Id); g.Granted {
		t.Error("withdrawn consent still granted")
	}
	unknown := googleuuid.NewString()
	if resp := s.change(t, "user-u1", true, api.GrantChangeGrantsGrantTypeExplicit, marketing.Id, unknown); resp.StatusCode() != 422 {
		t.Fatalf("unknown consent: %d %s", resp.StatusCode(), resp.Body)
	}
	if g := s.status(t, "user-u1", marketing.Id); g.Granted {
		t.Error("a request with an unknown consent was partly applied")
	}
	evs := s.ledger(t, "user-u1")
	if len(evs) != 3 || evs[0].Type != api.ConsentGranted || evs[2].Type != api.ConsentRevoked || (*evs[0].Context)["ip"] != "203.0.113.7" || *evs[0].ActionId != "signup" {
		t.Errorf("ledger %+v", evs)
	}
	if v := s.verify(t); !v.Valid || v.Checked != 3 {
		t.Errorf("verify %+v", v)
	}
}

func TestUpdateStrategies(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	for _, tc := range []struct {
		strategy                     api.UpdateStrategy
		explicitMoves, implicitMoves bool
	}{
		{api.ExplicitAll, false, false},
		{api.ImplicitAll, true, true},
		{api.KeepCurrent, false, true},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			c := s.consent(t, "c-"+strings.ToLower(string(tc.strategy)), true)
			s.change(t, "user-explicit", true, api.GrantChangeGrantsGrantTypeExplicit, c.Id)
			s.change(t, "user-implicit", true, api.GrantChangeGrantsGrantTypeImplicit, c.Id)
			c2 := s.update(t, c, tc.strategy)
			if c2.Version != 2 {
				t.Fatalf("version %d", c2.Version)
			}
			for subject, moves := range map[string]bool{"user-explicit": tc.explicitMoves, "user-implicit": tc.implicitMoves} {
				g := s.status(t, subject, c.Id)
				if g.NeedsReconsent == moves || (moves && *g.GrantedVersion != 2) {
					t.Errorf("%s: %+v", subject, g)
				}
			}
		})
	}
	stale, _ := s.admin.UpdateConsentWithResponse(context.Background(), "acme", s.consent(t, "stale", true).Id,
		api.ConsentInput{Name: "stale", Metadata: &api.WritableMetadata{Version: 7}})
	if stale.StatusCode() != 409 {
		t.Errorf("stale version: %d", stale.StatusCode())
	}
	if v := s.verify(t); !v.Valid {
		t.Errorf("verify %+v", v)
	}
}

// TestConcurrentGrantAndWithdrawal races grants and withdrawals of one consent for one
// subject: the live grant must always match the last ledger event.
func TestConcurrentGrantAndWithdrawal(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.consent(t, "race", true)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.change(t, "user-r", i%2 == 0, api.GrantChangeGrantsGrantTypeExplicit, c.Id)
		}()
	}
	wg.Wait()
	evs := s.ledger(t, "user-r")
	if len(evs) != 20 {
		t.Fatalf("%d ledger events for 20 changes", len(evs))
	}
	last := evs[len(evs)-1].Type
	if granted := s.status(t, "user-r", c.Id).Granted; granted != (last == api.ConsentGranted) {
		t.Errorf("live grant %v but the last ledger event is %s", granted, last)
	}
	if v := s.verify(t); !v.Valid || v.Checked != 20 {
		t.Errorf("verify %+v", v)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.consent(t, "audit", true)
	for range 3 {
		s.change(t, "user-t", true, api.GrantChangeGrantsGrantTypeExplicit, c.Id)
	}
	if _, err := s.DB.Exec(`UPDATE privacy_ledger SET subject = 'user-someone-else' WHERE tenant = 'acme' AND seq = 2`); err != nil {
		t.Fatal(err)
	}
	if v := s.verify(t); v.Valid || v.FirstBrokenSeq == nil || *v.FirstBrokenSeq != 2 {
		t.Fatalf("a changed row went unnoticed: %+v", v)
	}
	if _, err := s.DB.Exec(`UPDATE privacy_ledger SET subject = 'user-t' WHERE tenant = 'acme' AND seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`DELETE FROM privacy_ledger WHERE tenant = 'acme' AND seq = 3`); err != nil {
		t.Fatal(err)
	}
	if v := s.verify(t); v.Valid {
		t.Fatalf("a deleted last row went unnoticed: %+v", v)
	}
}

func TestDeletedSubjectLosesGrantsKeepsLedger(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.consent(t, "keep", true)
	s.change(t, "user-gone", true, api.GrantChangeGrantsGrantTypeExplicit, c.Id)
	ev, _ := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: "user", ID: "gone"}, 9, true,
		map[string]any{"id": "gone", "tenant": "acme", "deleted": true})
	raw, _ := json.Marshal(ev)
	if err := events.EnsureStreams(context.Background(), s.JetStream, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JetStream.Publish(context.Background(), ev.Subject, raw); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); s.status(t, "user-gone", c.Id).Granted; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("grants of a deleted user survived")
		}
	}
	evs := s.ledger(t, "user-gone")
	if len(evs) != 2 || evs[1].Type != api.SubjectDeleted {
		t.Errorf("ledger %+v", evs)
	}
}

func TestConsentActionStatus(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	terms, news := s.consent(t, "terms", false), s.consent(t, "newsletter", true)
	required := true
	resp, err := s.admin.CreateConsentActionWithResponse(ctx, "acme", api.ConsentActionInput{Name: "signup",
		Consents: &[]api.ActionConsent{{ConsentId: terms.Id, Required: &required}, {ConsentId: news.Id}}})
	if err != nil || resp.JSON201 == nil || len(resp.JSON201.Consents) != 2 {
		t.Fatalf("create action: %v %s", err, resp.Body)
	}
	bad, _ := s.admin.CreateConsentActionWithResponse(ctx, "acme", api.ConsentActionInput{Name: "checkout",
		Consents: &[]api.ActionConsent{{ConsentId: googleuuid.NewString()}}})
	if bad.StatusCode() != 422 {
		t.Fatalf("unknown consent: %d %s", bad.StatusCode(), bad.Body)
	}
	status := func() api.ActionStatus {
		r, err := s.admin.GetConsentActionStatusWithResponse(ctx, "acme", "signup", &api.GetConsentActionStatusParams{Subject: "user-s1"})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("status: %v %s", err, r.Body)
		}
		return *r.JSON200
	}
	if st := status(); st.Complete || len(st.Consents) != 2 {
		t.Fatalf("before: %+v", st)
	}
	s.change(t, "user-s1", true, api.GrantChangeGrantsGrantTypeExplicit, terms.Id)
	if st := status(); !st.Complete {
		t.Fatalf("the required consent is accepted: %+v", st)
	}
	s.update(t, terms, api.ExplicitAll) // a new version: accept again
	if st := status(); st.Complete {
		t.Fatalf("a new version of a required consent must be accepted again: %+v", st)
	}
}

func (s *stack) publish(tb testing.TB, area, kind, id string, version int64, deleted bool, data any) {
	tb.Helper()
	if err := events.EnsureStreams(context.Background(), s.JetStream, events.StreamOptions{}); err != nil {
		tb.Fatal(err)
	}
	// Played as the area's owner would publish it: consumers refuse any other source.
	owner := map[string]string{"clients": "oauth-clients", "subjects": "iam-subjects"}[area]
	ev, err := events.New(events.SourceOf(owner), events.Entity{Tenant: "acme", Area: area, Kind: kind, ID: id}, version, deleted, data)
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	if _, err := s.JetStream.Publish(context.Background(), ev.Subject, raw); err != nil {
		tb.Fatal(err)
	}
}

func TestClientAccess(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.publish(t, "clients", "client", "billing", 1, false, map[string]any{"clientId": "billing", "tenant": "acme", "clientName": "Billing service",
		"logoUri": "https://billing.example/logo.png", "scopes": []string{}, "grantTypes": []string{}, "public": false, "system": false, "trusted": false, "deleted": false})
	s.publish(t, "clients", "scope", "invoices~read", 1, false, map[string]any{"name": "invoices.read", "tenant": "acme", "displayName": "Read invoices",
		"description": "", "userPolicyId": "", "developerPolicyId": "", "builtIn": false, "deleted": false})
	grant := func() *api.GrantClientAccessResponse {
		r, err := s.admin.GrantClientAccessWithResponse(ctx, "acme", "user-c1", nil, api.ClientAccessInput{ClientId: "billing", Scopes: []string{"invoices.read"}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var resp *api.GrantClientAccessResponse
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp = grant(); resp.StatusCode() != 422 || time.Now().After(deadline) {
			break // 422 until the client view has the client
		}
	}
	if resp.JSON200 == nil || len(resp.JSON200.Clients) != 1 {
		t.Fatalf("grant: %d %s", resp.StatusCode(), resp.Body)
	}
	c := resp.JSON200.Clients[0]
	if c.ClientName != "Billing service" || *c.LogoUri != "https://billing.example/logo.png" || c.Scopes[0].DisplayName != "Read invoices" {
		t.Errorf("client access %+v", c)
	}
	if r, _ := s.admin.GrantClientAccessWithResponse(ctx, "acme", "user-c1", nil, api.ClientAccessInput{ClientId: "nosuch", Scopes: []string{}}); r.StatusCode() != 422 {
		t.Errorf("unknown client: %d", r.StatusCode())
	}
	if r, _ := s.admin.RevokeClientAccessWithResponse(ctx, "acme", "user-c1", "billing"); r.StatusCode() != 204 {
		t.Fatalf("revoke: %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := s.admin.RevokeClientAccessWithResponse(ctx, "acme", "user-c1", "billing"); r.StatusCode() != 404 {
		t.Errorf("second revoke: %d", r.StatusCode())
	}
	stream, _ := s.JetStream.Stream(ctx, events.StreamName)
	var last events.Envelope
	for deadline := time.Now().Add(5 * time.Second); !last.Deleted; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no client-access tombstone published")
		}
		if msg, err := stream.GetLastMsgForSubject(ctx, "iam.acme.consent.clientaccess.user-c1~billing"); err == nil {
			last, _ = events.Parse(msg.Subject, msg.Data)
		}
	}
	evs := s.ledger(t, "user-c1")
	if len(evs) != 2 || evs[0].Type != api.ClientAccessGranted || evs[1].Type != api.ClientAccessRevoked {
		t.Errorf("ledger %+v", evs)
	}
	if v := s.verify(t); !v.Valid {
		t.Errorf("verify %+v", v)
	}
}
