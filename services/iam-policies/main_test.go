package iampolicies_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/testenv"

	iampolicies "github.com/iamplane/iam/services/iam-policies"
	"github.com/iamplane/iam/services/iam-policies/api"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type stack struct {
	t      *testing.T
	js     jetstream.JetStream
	issuer *testenv.Issuer
	admin  *api.ClientWithResponses
	url    string
	seq    int64
}

func mustStart(t *testing.T) *stack {
	t.Helper()
	ns := testenv.NewNATS(t)
	iss := testenv.NewIssuer(t)
	env := iss.Env()
	env["NATS_URL"] = ns.URL()
	url := testenv.StartService(t, iampolicies.Run, env)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	s := &stack{t: t, js: js, issuer: iss, url: url}
	s.admin = s.as(iss.Token(t, "acme", "client-admin", "services.iam"))
	return s
}

func (s *stack) as(token string) *api.ClientWithResponses {
	c, err := api.NewClientWithResponses(s.url, api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}))
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// membership plays iam-subjects: member joins (or leaves) group.
func (s *stack) membership(group, member string, removed bool) {
	s.t.Helper()
	s.seq++
	typ := schema.MembershipStateMemberType("User")
	if len(member) > 6 && member[:6] == "group-" {
		typ = "Group"
	}
	ev, err := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: "membership", ID: group + "~" + member},
		s.seq, removed, schema.MembershipState{Tenant: "acme", GroupId: group, Member: member, MemberType: typ, Deleted: removed})
	if err != nil {
		s.t.Fatal(err)
	}
	s.publish(ev)
}

// subjectDeleted plays iam-subjects: the tombstone of a user or group.
func (s *stack) subjectDeleted(kind, id string) {
	s.t.Helper()
	s.seq++
	ev, err := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: kind, ID: id},
		s.seq, true, map[string]any{"id": id, "subjectId": kind + "-" + id, "tenant": "acme", "deleted": true})
	if err != nil {
		s.t.Fatal(err)
	}
	s.publish(ev)
}

// scopeDefinition plays oauth-clients: scope's definition names policyID as its user policy.
func (s *stack) scopeDefinition(scope, policyID string, version int64) {
	s.t.Helper()
	ev, err := events.New("/iam/oauth-clients", events.Entity{Tenant: "acme", Area: "clients", Kind: "scope", ID: strings.ReplaceAll(scope, ".", "~")},
		version, false, schema.ScopeDefinitionState{Name: scope, Tenant: "acme", DisplayName: scope, UserPolicyId: policyID})
	if err != nil {
		s.t.Fatal(err)
	}
	s.publish(ev)
	s.caughtUp(ev)
}

// caughtUp returns once the service has applied ev, by passing a consistency token naming
// it to a check, as a client of oauth-clients' write would.
func (s *stack) caughtUp(ev events.Envelope) {
	s.t.Helper()
	token := events.Token{Service: "oauth-clients", Marks: []events.Mark{{Subject: ev.Subject, Version: ev.EntityVersion}}}.String()
	resp, err := s.admin.CheckWithResponse(context.Background(), "acme", &api.CheckParams{ConsistencyToken: &token}, api.CheckRequest{Subject: "user-x", Action: "a", Scope: "/"})
	if err != nil || resp.JSON200 == nil {
		s.t.Fatalf("waiting for %s: %v %d %s", ev.Subject, err, resp.StatusCode(), resp.Body)
	}
}

// publish puts ev on the stream, as its owning service's relay would.
func (s *stack) publish(ev events.Envelope) {
	s.t.Helper()
	raw, _ := json.Marshal(ev)
	if _, err := s.js.Publish(context.Background(), ev.Subject, raw); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) allowed(subject, action, scope string) bool {
	s.t.Helper()
	resp, err := s.admin.CheckWithResponse(context.Background(), "acme", nil, api.CheckRequest{Subject: subject, Action: action, Scope: scope})
	if err != nil || resp.JSON200 == nil {
		s.t.Fatalf("check: %v %s", err, resp.Body)
	}
	return resp.JSON200.Allowed
}

func (s *stack) grant(subject, scope, action string) api.Policy {
	s.t.Helper()
	resp, err := s.admin.GrantPolicyWithResponse(context.Background(), "acme", api.PolicyInput{Subject: subject, Scope: scope, Action: action})
	if err != nil || (resp.JSON201 == nil && resp.JSON200 == nil) {
		s.t.Fatalf("grant: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	if resp.JSON201 != nil {
		return *resp.JSON201
	}
	return *resp.JSON200
}

func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
	}
}

func ptr[T any](v T) *T { return &v }
