// Package e2e tests the platform as users meet it: all four services and the gateway,
// started by the same devstack `make dev` runs, on a real PostgreSQL and a real NATS,
// called through the generated Go clients.
package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/testenv"

	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"

	"github.com/iamplane/iam/tools/devstack"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const (
	adminID     = "e2e-admin"
	adminSecret = "e2e-admin-secret"
)

type platform struct {
	*devstack.Stack
	nats      *natsembed.Server
	clients   *clientsapi.ClientWithResponses
	subjects  *subjectsapi.ClientWithResponses
	databases map[string]string // service -> its database URL
}

func mustPlatform(t *testing.T) *platform {
	t.Helper()
	ns := testenv.NewNATS(t)
	var mu sync.Mutex
	databases := map[string]string{}
	stack, err := devstack.Start(context.Background(), devstack.Options{
		Database: func(service string) (string, error) {
			u := testenv.NewDatabase(t)
			mu.Lock()
			databases[service] = u
			mu.Unlock()
			return u, nil
		},
		NATSURL:     ns.URLFor,
		Addr:        "127.0.0.1:0",
		BootstrapID: adminID, BootstrapSecret: adminSecret,
		Logger: testenv.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	token := mustToken(t, stack.URL, "system", adminID, adminSecret)
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	cc, _ := clientsapi.NewClientWithResponses(stack.URL, clientsapi.WithRequestEditorFn(bearer))
	sc, _ := subjectsapi.NewClientWithResponses(stack.URL, subjectsapi.WithRequestEditorFn(bearer))
	return &platform{Stack: stack, nats: ns, clients: cc, subjects: sc, databases: databases}
}

func mustToken(t *testing.T, base, tenant, id, secret string) string {
	t.Helper()
	c, _ := clientsapi.NewClientWithResponses(base)
	resp, err := c.IssueTokenWithFormdataBodyWithResponse(context.Background(), tenant,
		clientsapi.IssueTokenFormdataRequestBody{GrantType: ptr("client_credentials")},
		func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			return nil
		})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("token: %v %s", err, resp.Body)
	}
	return resp.JSON200.AccessToken
}

func (p *platform) mustCreateClient(t *testing.T, tenant, name string) clientsapi.Client {
	t.Helper()
	resp, err := p.clients.CreateClientWithResponse(context.Background(), tenant, clientsapi.ClientInput{ClientName: name,
		Description: ptr("made by e2e"), LogoUri: ptr("https://e2e.example/logo.png")})
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("create client: %v %s", err, resp.Body)
	}
	return *resp.JSON201
}

// subjectStatus is the HTTP status of GET /subjects/client-<id>.
func (p *platform) subjectStatus(t *testing.T, tenant, clientID string) (int, *subjectsapi.Subject) {
	t.Helper()
	resp, err := p.subjects.GetSubjectWithResponse(context.Background(), tenant, "client-"+clientID)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), resp.JSON200
}

func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestClientBecomesSubjectWithinASecond(t *testing.T) {
	p := mustPlatform(t)
	c := p.mustCreateClient(t, "acme", "Billing service")
	var sub *subjectsapi.Subject
	within(t, time.Second, "client visible as a subject", func() bool {
		status, s := p.subjectStatus(t, "acme", c.ClientId)
		sub = s
		return status == http.StatusOK
	})
	if sub.Type != subjectsapi.SubjectTypeClient || sub.DisplayName != "Billing service" || sub.Tenant != "acme" ||
		sub.Properties.Description == nil || *sub.Properties.Description != "made by e2e" || *sub.Properties.IconUri != "https://e2e.example/logo.png" {
		t.Errorf("subject %+v", sub)
	}
	list, err := p.subjects.ListSubjectsWithResponse(context.Background(), "acme", &subjectsapi.ListSubjectsParams{Type: ptr(subjectsapi.SubjectTypeClient), SearchQuery: ptr("billing")})
	if err != nil || list.JSON200 == nil || list.JSON200.Total != 1 || list.JSON200.Data[0].SubjectId != "client-"+c.ClientId {
		t.Fatalf("list: %v %s", err, list.Body)
	}
	if status, _ := p.subjectStatus(t, "globex", c.ClientId); status != http.StatusNotFound {
		t.Errorf("another tenant sees the client subject: %d", status)
	}

	renamed, err := p.clients.UpdateClientWithResponse(context.Background(), "acme", c.ClientId, &clientsapi.UpdateClientParams{IfMatch: ptr(`"1"`)},
		clientsapi.ClientInput{ClientName: "Invoicing service"})
	if err != nil || renamed.JSON200 == nil {
		t.Fatalf("rename: %v %s", err, renamed.Body)
	}
	within(t, time.Second, "rename visible", func() bool {
		_, s := p.subjectStatus(t, "acme", c.ClientId)
		return s != nil && s.DisplayName == "Invoicing service"
	})

	if _, err := p.clients.DeleteClientWithResponse(context.Background(), "acme", c.ClientId); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "client subject dropped", func() bool {
		status, _ := p.subjectStatus(t, "acme", c.ClientId)
		return status == http.StatusNotFound
	})
}

func TestClientCreatedWhileNATSIsDownArrivesAfterwards(t *testing.T) {
	p := mustPlatform(t)
	p.nats.Stop()
	c := p.mustCreateClient(t, "acme", "created during the outage") // the write succeeds: the event waits in the outbox
	time.Sleep(300 * time.Millisecond)
	if status, _ := p.subjectStatus(t, "acme", c.ClientId); status != http.StatusNotFound {
		t.Fatalf("visible without NATS? %d", status)
	}
	if err := p.nats.Restart(); err != nil {
		t.Fatal(err)
	}
	within(t, 15*time.Second, "client visible after NATS returned", func() bool {
		status, _ := p.subjectStatus(t, "acme", c.ClientId)
		return status == http.StatusOK
	})
}

// TestDuplicateAndReorderedEventsLeaveTheViewCorrect republishes the real events of a
// client, twice and out of order, behind the consumer's back: the view must end at the
// newest state.
func TestDuplicateAndReorderedEventsLeaveTheViewCorrect(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	c := p.mustCreateClient(t, "acme", "version one")
	within(t, time.Second, "v1 visible", func() bool { s, _ := p.subjectStatus(t, "acme", c.ClientId); return s == 200 })
	nc, err := nats.Connect(p.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, _ := js.Stream(ctx, events.StreamName)
	subject := "iam.acme.clients.client." + c.ClientId
	first, err := stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.clients.UpdateClientWithResponse(ctx, "acme", c.ClientId, &clientsapi.UpdateClientParams{IfMatch: ptr(`"1"`)},
		clientsapi.ClientInput{ClientName: "version two"}); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "v2 visible", func() bool {
		_, s := p.subjectStatus(t, "acme", c.ClientId)
		return s != nil && s.DisplayName == "version two"
	})
	second, _ := stream.GetLastMsgForSubject(ctx, subject)
	// Redeliver v2 (a duplicate) and then v1 (late). Fresh CloudEvents ids get past
	// JetStream's own deduplication, so only the consumer's version guard stands between
	// these and the view.
	for _, raw := range [][]byte{second.Data, first.Data} {
		var ev events.Envelope
		_ = json.Unmarshal(raw, &ev)
		ev.ID = ev.ID[:8] + "-replay-" + time.Now().Format("150405.000000000")
		data, _ := json.Marshal(ev)
		if _, err := js.Publish(ctx, subject, data); err != nil {
			t.Fatal(err)
		}
	}
	marker := p.mustCreateClient(t, "acme", "marker")
	within(t, time.Second, "marker visible (replays consumed)", func() bool { s, _ := p.subjectStatus(t, "acme", marker.ClientId); return s == 200 })
	if _, s := p.subjectStatus(t, "acme", c.ClientId); s == nil || s.DisplayName != "version two" {
		t.Fatalf("view after duplicate and stale events: %+v", s)
	}
}

func TestGatewayAndOperationalEndpoints(t *testing.T) {
	p := mustPlatform(t)
	for _, svc := range []string{"oauth-clients", "iam-subjects", "iam-policies", "consent"} {
		// The gateway serves what the production gateway serves: tenant paths, no
		// service's metrics or diagnostics.
		for _, path := range []string{"/metrics", "/health/fault", "/health"} {
			resp, err := http.Get(p.URL + "/" + svc + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Errorf("gateway /%s%s: %d, want 404", svc, path, resp.StatusCode)
			}
		}
		for path, want := range map[string]int{"/": 200, "/health": 200, "/health/ready": 200, "/health/fault": 500, "/metrics": 200, "/openapi.json": 200} {
			resp, err := http.Get("http://" + p.Addrs[svc] + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s%s: %d, want %d", svc, path, resp.StatusCode, want)
			}
			if path == "/health/fault" && resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s fault is not a problem", svc)
			}
		}
	}
	if resp, err := http.Get(p.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("gateway /healthz: %v", err)
	} else {
		resp.Body.Close()
	}
	// Unknown collections are a problem answer from the gateway, not a proxy error.
	resp, err := http.Get(p.URL + "/v1/tenants/acme/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown collection: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
