package iamsubjects_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	googleuuid "github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/testenv"

	iamsubjects "github.com/iamplane/iam/services/iam-subjects"
	"github.com/iamplane/iam/services/iam-subjects/api"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// stack is iam-subjects under test (testenv.Stack) with a client for acme's admin.
type stack struct {
	*testenv.Stack
	admin *api.ClientWithResponses // services.iam in tenant acme
}

// mustStart starts iam-subjects; env adds to its configuration.
func mustStart(tb testing.TB, env ...map[string]string) *stack {
	tb.Helper()
	var e map[string]string
	if len(env) > 0 {
		e = env[0]
	}
	s := &stack{Stack: testenv.StartStack(tb, iamsubjects.Run, e)}
	s.admin = s.as(tb, s.Issuer.Token(tb, "acme", "client-admin", "services.iam"))
	return s
}

// as returns a client sending token; "" sends none.
func (s *stack) as(tb testing.TB, token string) *api.ClientWithResponses {
	tb.Helper()
	return testenv.Client(tb, s.URL, token, api.NewClientWithResponses, api.WithHTTPClient)
}

func (s *stack) mustUser(tb testing.TB, username string, groupIDs ...string) api.User {
	tb.Helper()
	in := api.UserInput{Username: &username, FirstName: ptr(strings.ToUpper(username[:1]) + username[1:]), LastName: ptr("Tester")}
	if groupIDs != nil {
		in.GroupIds = &groupIDs
	}
	resp, err := s.admin.CreateUserWithResponse(context.Background(), "acme", in)
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("create user %s: %v %d %s", username, err, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

func (s *stack) mustGroup(tb testing.TB, name string) api.Group {
	tb.Helper()
	resp, err := s.admin.CreateGroupWithResponse(context.Background(), "acme", api.GroupInput{DisplayName: &name})
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("create group %s: %v %d %s", name, err, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

func (s *stack) add(tb testing.TB, groupID string, subjectIDs ...string) *api.AddGroupMembersResponse {
	tb.Helper()
	resp, err := s.admin.AddGroupMembersWithResponse(context.Background(), "acme", groupID, api.MemberChange{SubjectIds: subjectIDs})
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

func (s *stack) mustAdd(tb testing.TB, groupID string, subjectIDs ...string) {
	tb.Helper()
	if resp := s.add(tb, groupID, subjectIDs...); resp.JSON200 == nil {
		tb.Fatalf("add members: %d %s", resp.StatusCode(), resp.Body)
	}
}

// members lists a group's member subject ids.
func (s *stack) members(tb testing.TB, groupID string, transitive bool) []string {
	tb.Helper()
	resp, err := s.admin.ListGroupMembersWithResponse(context.Background(), "acme", groupID,
		&api.ListGroupMembersParams{Transitive: &transitive, PageSize: ptr[int32](200)})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("members: %v %s", err, resp.Body)
	}
	return subjectIDs(resp.JSON200.Data)
}

// groupsOf lists a subject's group ids.
func (s *stack) groupsOf(tb testing.TB, subjectID string, transitive bool) []string {
	tb.Helper()
	resp, err := s.admin.ListSubjectGroupsWithResponse(context.Background(), "acme", subjectID,
		&api.ListSubjectGroupsParams{Transitive: &transitive, PageSize: ptr[int32](200)})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("groups of %s: %v %s", subjectID, err, resp.Body)
	}
	return subjectIDs(resp.JSON200.Data)
}

// publishClient plays oauth-clients: it publishes a client's state event.
func (s *stack) publishClient(tb testing.TB, tenant, id, name string, version int64, deleted bool) {
	tb.Helper()
	ev, err := events.New("/iam/oauth-clients", events.Entity{Tenant: tenant, Area: "clients", Kind: "client", ID: id}, version, deleted,
		schema.ClientState{ClientId: id, Tenant: tenant, ClientName: name, Scopes: []string{}, GrantTypes: []string{}})
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	if _, err := s.JetStream.Publish(context.Background(), ev.Subject, raw); err != nil {
		tb.Fatal(err)
	}
}

func (s *stack) mustClientSubject(tb testing.TB, id string) string {
	tb.Helper()
	s.publishClient(tb, "acme", id, "client "+id, 1, false)
	within(tb, 5*time.Second, "client subject visible", func() bool {
		resp, _ := s.admin.GetSubjectWithResponse(context.Background(), "acme", "client-"+id)
		return resp != nil && resp.StatusCode() == 200
	})
	return "client-" + id
}

// published returns the data of the last event on a subject, waiting for the relay.
func (s *stack) published(tb testing.TB, subject string, want func(events.Envelope) bool) events.Envelope {
	tb.Helper()
	stream, err := s.JetStream.Stream(context.Background(), events.StreamName)
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.Envelope
	within(tb, 5*time.Second, "event on "+subject, func() bool {
		msg, err := stream.GetLastMsgForSubject(context.Background(), subject)
		if err != nil {
			return false
		}
		ev, err = events.Parse(msg.Subject, msg.Data)
		return err == nil && want(ev)
	})
	return ev
}

func subjectIDs(subs []api.Subject) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.SubjectId
	}
	return out
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

func problemType(tb testing.TB, body []byte) string {
	tb.Helper()
	var p struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		tb.Fatalf("not a problem: %s", body)
	}
	return strings.TrimPrefix(p.Type, "https://iamplane.dev/problems/")
}

func apiEmail(s string) openapi_types.Email { return openapi_types.Email(s) }

// uuid is a user id the service chose (a UUID), as the path takes it.
func uuid(tb testing.TB, s string) string {
	tb.Helper()
	if _, err := googleuuid.Parse(s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// desc is a localized description as a write takes it.
func desc(m api.LocalizedText) *api.DescriptionInput {
	var d api.DescriptionInput
	_ = d.FromLocalizedText(m)
	return &d
}
