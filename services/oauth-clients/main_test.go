package oauthclients_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/service"
	"github.com/iamplane/iam/pkg/testenv"

	oauthclients "github.com/iamplane/iam/services/oauth-clients"
	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const (
	issuerBase  = "http://iam.test"
	adminID     = "platform-admin"
	adminSecret = "bootstrap-secret-for-tests"
)

// stack is one oauth-clients instance on its own database and NATS (testenv.Stack), with
// what its tests need besides: the service's log and a platform-admin client.
type stack struct {
	*testenv.Stack
	logs  *logBuffer               // everything the service (and its replicas) logged, at debug level
	admin *api.ClientWithResponses // system-tenant platform admin
}

// logBuffer collects a service's log lines for tests that check what is (not) logged.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// run is oauth-clients' Run with its log also collected in logs.
func run(logs *logBuffer) service.RunFunc {
	return func(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(string)) error {
		tee := slog.New(slog.NewMultiHandler(logger.Handler(), slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		return oauthclients.Run(ctx, environ, tee, onListen)
	}
}

// mustStart starts oauth-clients; extra is added to its configuration (e.g. a short
// IAM_TOKEN_TTL). oauth-clients is its own issuer: the test issuer testenv starts goes
// unused, and IAM_ISSUER_URL is oauth-clients' own.
func mustStart(tb testing.TB, extra ...map[string]string) *stack {
	tb.Helper()
	env := map[string]string{
		"IAM_ISSUER_URL":          issuerBase,
		"IAM_BOOTSTRAP_CLIENT_ID": adminID, "IAM_BOOTSTRAP_CLIENT_SECRET": adminSecret,
	}
	for _, e := range extra {
		for k, v := range e {
			env[k] = v
		}
	}
	logs := &logBuffer{}
	s := &stack{Stack: testenv.StartStack(tb, run(logs), env), logs: logs}
	s.admin = s.as(tb, s.mustToken(tb, "system", adminID, adminSecret, ""))
	return s
}

// replica starts another instance of the service on the same database and NATS, as a
// second pod would run, and returns a stack that talks to it (its log goes to s.logs too).
func (s *stack) replica(tb testing.TB) *stack {
	tb.Helper()
	r := *s.Stack
	r.URL = s.Replica(tb)
	rs := &stack{Stack: &r, logs: s.logs}
	rs.admin = rs.as(tb, rs.mustToken(tb, "system", adminID, adminSecret, ""))
	return rs
}

// as returns a generated client that sends token ("" sends none).
func (s *stack) as(tb testing.TB, token string) *api.ClientWithResponses {
	tb.Helper()
	return testenv.Client(tb, s.URL, token, api.NewClientWithResponses, api.WithHTTPClient)
}

// tokenResponse calls the token endpoint with client_secret_basic.
func (s *stack) tokenResponse(tb testing.TB, tenant, id, secret, scope string) *api.IssueTokenResponse {
	tb.Helper()
	c := s.as(tb, "")
	body := api.IssueTokenFormdataRequestBody{GrantType: ptr("client_credentials")}
	if scope != "" {
		body.Scope = &scope
	}
	resp, err := c.IssueTokenWithFormdataBodyWithResponse(context.Background(), tenant, body,
		func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			return nil
		})
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

func (s *stack) mustToken(tb testing.TB, tenant, id, secret, scope string) string {
	tb.Helper()
	resp := s.tokenResponse(tb, tenant, id, secret, scope)
	if resp.JSON200 == nil {
		tb.Fatalf("token for %s/%s: %d %s", tenant, id, resp.StatusCode(), resp.Body)
	}
	return resp.JSON200.AccessToken
}

// mustClient registers a confidential client in tenant and returns it with its secret.
func (s *stack) mustClient(tb testing.TB, tenant string, scopes ...string) api.Client {
	tb.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	resp, err := s.admin.CreateClientWithResponse(context.Background(), tenant, api.ClientInput{
		ClientName: "client " + strings.Join(scopes, " "), Scopes: &scopes,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if resp.JSON201 == nil {
		tb.Fatalf("create client: %d %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// signingKey reads the active signing key, so tests can forge tokens that are correctly
// signed but wrong in one claim.
func (s *stack) signingKey(tb testing.TB) (string, ed25519.PrivateKey) {
	tb.Helper()
	var row struct {
		Kid  string `db:"kid"`
		Seed []byte `db:"private_key"`
	}
	if err := s.DB.Get(&row, `SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`); err != nil {
		tb.Fatal(err)
	}
	return row.Kid, ed25519.NewKeyFromSeed(row.Seed)
}

// validClaims are what the token endpoint would issue to the platform admin.
func validClaims() auth.Claims {
	now := time.Now()
	return auth.Claims{
		Issuer: auth.Issuer(issuerBase, "system"), Subject: "client-" + adminID, Audience: auth.Audience{"iam"},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), ID: "test", Tenant: "system",
		Scope: "services.iam", ClientID: adminID,
	}
}

// rawJWT assembles a token from a header and claims with an arbitrary signature.
func rawJWT(header map[string]string, claims any, sig []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

func ptr[T any](v T) *T { return &v }

// problemOf decodes a problem body and checks its media type.
func problemOf(t *testing.T, resp *http.Response, body []byte) map[string]any {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, body)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	return p
}

// header decodes a JWT's header.
func header(token string) map[string]string {
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	var h map[string]string
	_ = json.Unmarshal(raw, &h)
	return h
}

// eventually polls cond for up to 10s.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	tb.Fatalf("not within 10s: %s", what)
}

// lastEvent waits until the stream's last event on subject satisfies cond and returns it
// with its raw message.
func (s *stack) lastEvent(tb testing.TB, subject string, cond func(events.Envelope) bool) (events.Envelope, *jetstream.RawStreamMsg) {
	tb.Helper()
	js := s.JetStream
	ctx := context.Background()
	var ev events.Envelope
	var msg *jetstream.RawStreamMsg
	eventually(tb, "event on "+subject, func() bool {
		stream, err := js.Stream(ctx, events.StreamName)
		if err != nil {
			return false
		}
		if msg, err = stream.GetLastMsgForSubject(ctx, subject); err != nil {
			return false
		}
		if ev, err = events.Parse(msg.Subject, msg.Data); err != nil {
			tb.Fatal(err)
		}
		return cond(ev)
	})
	return ev, msg
}

// mustScope defines a scope in tenant.
func (s *stack) mustScope(tb testing.TB, tenant, name string) api.Scope {
	tb.Helper()
	resp, err := s.admin.CreateScopeWithResponse(context.Background(), tenant, api.ScopeInput{Name: name, DisplayName: ptr("The " + name + " scope")})
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("define scope %s: %v %s", name, err, resp.Body)
	}
	return *resp.JSON201
}
