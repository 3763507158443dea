package iampolicies_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/testenv"

	iampolicies "github.com/iamplane/iam/services/iam-policies"
	"github.com/iamplane/iam/services/iam-policies/api"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// stack is iam-policies under test (testenv.Stack) with a client for acme's admin.
type stack struct {
	*testenv.Stack
	admin *api.ClientWithResponses
	seq   int64 // the entity version of the last event played as iam-subjects
}

func mustStart(tb testing.TB) *stack {
	tb.Helper()
	s := &stack{Stack: testenv.StartStack(tb, iampolicies.Run, nil)}
	s.admin = s.as(tb, s.Issuer.Token(tb, "acme", "client-admin", "services.iam"))
	return s
}

// as returns a client sending token; "" sends none.
func (s *stack) as(tb testing.TB, token string) *api.ClientWithResponses {
	tb.Helper()
	return testenv.Client(tb, s.URL, token, api.NewClientWithResponses, api.WithHTTPClient)
}

// membership plays iam-subjects: member joins (or leaves) group.
func (s *stack) membership(tb testing.TB, group, member string, removed bool) {
	tb.Helper()
	s.seq++
	typ := schema.MembershipStateMemberType("User")
	if len(member) > 6 && member[:6] == "group-" {
		typ = "Group"
	}
	ev, err := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: "membership", ID: group + "~" + member},
		s.seq, removed, schema.MembershipState{Tenant: "acme", GroupId: group, Member: member, MemberType: typ, Deleted: removed})
	if err != nil {
		tb.Fatal(err)
	}
	s.publish(tb, ev)
}

// subjectDeleted plays iam-subjects: the tombstone of a user or group.
func (s *stack) subjectDeleted(tb testing.TB, kind, id string) {
	tb.Helper()
	s.seq++
	ev, err := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: kind, ID: id},
		s.seq, true, map[string]any{"id": id, "subjectId": kind + "-" + id, "tenant": "acme", "deleted": true})
	if err != nil {
		tb.Fatal(err)
	}
	s.publish(tb, ev)
}

// scopeDefinition plays oauth-clients: scope's definition names policyID as its user policy.
func (s *stack) scopeDefinition(tb testing.TB, scope, policyID string, version int64) {
	tb.Helper()
	ev, err := events.New("/iam/oauth-clients", events.Entity{Tenant: "acme", Area: "clients", Kind: "scope", ID: strings.ReplaceAll(scope, ".", "~")},
		version, false, schema.ScopeDefinitionState{Name: scope, Tenant: "acme", DisplayName: scope, UserPolicyId: policyID})
	if err != nil {
		tb.Fatal(err)
	}
	s.publish(tb, ev)
	s.caughtUp(tb, ev)
}

// caughtUp returns once the service has applied ev, by passing a consistency token naming
// it to a check, as a client of oauth-clients' write would.
func (s *stack) caughtUp(tb testing.TB, ev events.Envelope) {
	tb.Helper()
	token := events.Token{Service: "oauth-clients", Marks: []events.Mark{{Subject: ev.Subject, Version: ev.EntityVersion}}}.String()
	resp, err := s.admin.CheckWithResponse(context.Background(), "acme", &api.CheckParams{ConsistencyToken: &token}, api.CheckRequest{Subject: "user-x", Action: "a", Scope: "/"})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("waiting for %s: %v %d %s", ev.Subject, err, resp.StatusCode(), resp.Body)
	}
}

// publish puts ev on the stream, as its owning service's relay would.
func (s *stack) publish(tb testing.TB, ev events.Envelope) {
	tb.Helper()
	raw, _ := json.Marshal(ev)
	if _, err := s.JetStream.Publish(context.Background(), ev.Subject, raw); err != nil {
		tb.Fatal(err)
	}
}

func (s *stack) allowed(tb testing.TB, subject, action, scope string) bool {
	tb.Helper()
	resp, err := s.admin.CheckWithResponse(context.Background(), "acme", nil, api.CheckRequest{Subject: subject, Action: action, Scope: scope})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("check: %v %s", err, resp.Body)
	}
	return resp.JSON200.Allowed
}

func (s *stack) grant(tb testing.TB, subject, scope, action string) api.Policy {
	tb.Helper()
	resp, err := s.admin.GrantPolicyWithResponse(context.Background(), "acme", nil, api.PolicyInput{Subject: subject, Scope: scope, Action: action})
	if err != nil || (resp.JSON201 == nil && resp.JSON200 == nil) {
		tb.Fatalf("grant: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	if resp.JSON201 != nil {
		return *resp.JSON201
	}
	return *resp.JSON200
}

func within(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %s", d, what)
		}
	}
}

func ptr[T any](v T) *T { return &v }
