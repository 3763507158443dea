package iamsubjects_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	googleuuid "github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/testenv"

	iamsubjects "github.com/iamplane/iam/services/iam-subjects"
	"github.com/iamplane/iam/services/iam-subjects/api"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// stack is one iam-subjects on its own database and NATS, trusting a test issuer.
type stack struct {
	t      *testing.T
	url    string
	db     *sqlx.DB
	nats   *natsembed.Server
	js     jetstream.JetStream
	issuer *testenv.Issuer
	admin  *api.ClientWithResponses // services.iam in tenant acme
}

func mustStart(t *testing.T) *stack {
	t.Helper()
	dbURL := testenv.NewDatabase(t)
	ns := testenv.NewNATS(t)
	iss := testenv.NewIssuer(t)
	env := iss.Env()
	env["DATABASE_URL"], env["NATS_URL"] = dbURL, ns.URL()
	url := testenv.StartService(t, iamsubjects.Run, env)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	s := &stack{t: t, url: url, db: db, nats: ns, js: js, issuer: iss}
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

func (s *stack) mustUser(username string, groupIDs ...string) api.User {
	s.t.Helper()
	in := api.UserInput{Username: &username, FirstName: ptr(strings.ToUpper(username[:1]) + username[1:]), LastName: ptr("Tester")}
	if groupIDs != nil {
		in.GroupIds = &groupIDs
	}
	resp, err := s.admin.CreateUserWithResponse(context.Background(), "acme", in)
	if err != nil || resp.JSON201 == nil {
		s.t.Fatalf("create user %s: %v %d %s", username, err, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

func (s *stack) mustGroup(name string) api.Group {
	s.t.Helper()
	resp, err := s.admin.CreateGroupWithResponse(context.Background(), "acme", api.GroupInput{DisplayName: &name})
	if err != nil || resp.JSON201 == nil {
		s.t.Fatalf("create group %s: %v %d %s", name, err, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

func (s *stack) add(groupID string, subjectIDs ...string) *api.AddGroupMembersResponse {
	s.t.Helper()
	resp, err := s.admin.AddGroupMembersWithResponse(context.Background(), "acme", groupID, api.MemberChange{SubjectIds: subjectIDs})
	if err != nil {
		s.t.Fatal(err)
	}
	return resp
}

func (s *stack) mustAdd(groupID string, subjectIDs ...string) {
	s.t.Helper()
	if resp := s.add(groupID, subjectIDs...); resp.JSON200 == nil {
		s.t.Fatalf("add members: %d %s", resp.StatusCode(), resp.Body)
	}
}

// members lists a group's member subject ids.
func (s *stack) members(groupID string, transitive bool) []string {
	s.t.Helper()
	resp, err := s.admin.ListGroupMembersWithResponse(context.Background(), "acme", groupID,
		&api.ListGroupMembersParams{Transitive: &transitive, PageSize: ptr[int32](200)})
	if err != nil || resp.JSON200 == nil {
		s.t.Fatalf("members: %v %s", err, resp.Body)
	}
	return subjectIDs(resp.JSON200.Data)
}

// groupsOf lists a subject's group ids.
func (s *stack) groupsOf(subjectID string, transitive bool) []string {
	s.t.Helper()
	resp, err := s.admin.ListSubjectGroupsWithResponse(context.Background(), "acme", subjectID,
		&api.ListSubjectGroupsParams{Transitive: &transitive, PageSize: ptr[int32](200)})
	if err != nil || resp.JSON200 == nil {
		s.t.Fatalf("groups of %s: %v %s", subjectID, err, resp.Body)
	}
	return subjectIDs(resp.JSON200.Data)
}

// publishClient plays oauth-clients: it publishes a client's state event.
func (s *stack) publishClient(tenant, id, name string, version int64, deleted bool) {
	s.t.Helper()
	ev, err := events.New("/iam/oauth-clients", events.Entity{Tenant: tenant, Area: "clients", Kind: "client", ID: id}, version, deleted,
		schema.ClientState{ClientId: id, Tenant: tenant, ClientName: name, Scopes: []string{}, GrantTypes: []string{}})
	if err != nil {
		s.t.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	if _, err := s.js.Publish(context.Background(), ev.Subject, raw); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) mustClientSubject(id string) string {
	s.t.Helper()
	s.publishClient("acme", id, "client "+id, 1, false)
	within(s.t, 5*time.Second, "client subject visible", func() bool {
		resp, _ := s.admin.GetSubjectWithResponse(context.Background(), "acme", "client-"+id)
		return resp != nil && resp.StatusCode() == 200
	})
	return "client-" + id
}

// published returns the data of the last event on a subject, waiting for the relay.
func (s *stack) published(subject string, want func(events.Envelope) bool) events.Envelope {
	s.t.Helper()
	stream, err := s.js.Stream(context.Background(), events.StreamName)
	if err != nil {
		s.t.Fatal(err)
	}
	var ev events.Envelope
	within(s.t, 5*time.Second, "event on "+subject, func() bool {
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

func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func problemType(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	return strings.TrimPrefix(p.Type, "https://iamplane.dev/problems/")
}

func apiEmail(s string) openapi_types.Email { return openapi_types.Email(s) }

func uuid(t *testing.T, s string) openapi_types.UUID {
	t.Helper()
	u, err := googleuuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
