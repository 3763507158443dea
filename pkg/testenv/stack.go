package testenv

import (
	"net/http"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/service"
)

// Stack is one service under test, the way it runs in production: its own fresh
// database, an embedded NATS server, a test issuer it trusts, and the service itself on a
// free port. Component tests of every service start it with StartStack and talk to it
// through the generated client (Client).
type Stack struct {
	URL         string            // the service's base URL
	DatabaseURL string            // its database, for tests that inspect or break storage
	DB          *sqlx.DB          // a pool on that database, closed in Cleanup
	NATS        *natsembed.Server // the embedded NATS server
	JetStream   jetstream.JetStream
	Issuer      *Issuer           // mints tokens the service accepts
	Env         map[string]string // the service's configuration, for a replica
	run         service.RunFunc
}

// StartStack starts run on a fresh database and NATS, trusting a new test issuer; env
// adds to or overrides its configuration. Everything stops in tb.Cleanup.
func StartStack(tb testing.TB, run service.RunFunc, env map[string]string) *Stack {
	tb.Helper()
	s := &Stack{DatabaseURL: NewDatabase(tb), NATS: NewNATS(tb), Issuer: NewIssuer(tb), run: run}
	s.Env = s.Issuer.Env()
	s.Env["DATABASE_URL"], s.Env["NATS_URL"] = s.DatabaseURL, s.NATS.URL()
	for k, v := range env {
		s.Env[k] = v
	}
	s.URL = StartService(tb, run, s.Env)
	db, err := sqlx.Open("postgres", s.DatabaseURL)
	if err != nil {
		tb.Fatalf("testenv: open %s: %v", s.DatabaseURL, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	s.DB = db
	nc, err := nats.Connect(s.NATS.URL())
	if err != nil {
		tb.Fatalf("testenv: connect to NATS: %v", err)
	}
	tb.Cleanup(nc.Close)
	if s.JetStream, err = jetstream.New(nc); err != nil {
		tb.Fatalf("testenv: JetStream: %v", err)
	}
	return s
}

// Replica starts another instance of the service on the same database and NATS, as a
// second pod would run, and returns its base URL.
func (s *Stack) Replica(tb testing.TB) string {
	tb.Helper()
	return StartService(tb, s.run, s.Env)
}

// Client returns a service's generated client (newClient, e.g. api.NewClientWithResponses)
// for baseURL that sends token as a bearer token; "" sends none. withDoer is the generated
// package's WithHTTPClient option.
func Client[C, O, D any](tb testing.TB, baseURL, token string,
	newClient func(string, ...O) (C, error), withDoer func(D) O) C {
	tb.Helper()
	doer, ok := any(bearer{token: token}).(D)
	if !ok {
		tb.Fatalf("testenv: %T is not the generated client's HTTP doer", bearer{})
	}
	c, err := newClient(baseURL, withDoer(doer))
	if err != nil {
		tb.Fatalf("testenv: client for %s: %v", baseURL, err)
	}
	return c
}

// bearer sends each request with a bearer token, over the default client.
type bearer struct{ token string }

func (b bearer) Do(r *http.Request) (*http.Response, error) {
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultClient.Do(r)
}
