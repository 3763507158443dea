package testenv

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/iamplane/iam/pkg/auth"
)

// Issuer is a token issuer for the tests of services other than oauth-clients: it
// publishes its key as a real JWKS over HTTP and mints tokens in the platform's format,
// so the service under test runs its real verification path. (End-to-end tests get
// their tokens from oauth-clients itself.)
type Issuer struct {
	Base     string // IAM_ISSUER_URL
	JWKSURL  string // IAM_JWKS_URL
	Audience string
	kid      string
	key      ed25519.PrivateKey
}

// NewIssuer starts an issuer whose JWKS server stops in Cleanup.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	iss := &Issuer{Base: "http://issuer.test", Audience: "iam", kid: "test-key", key: key}
	pub, err := jwk.Import(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	_ = pub.Set(jwk.KeyIDKey, iss.kid)
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	iss.JWKSURL = srv.URL
	return iss
}

// Env is the configuration a service needs to trust this issuer.
func (i *Issuer) Env() map[string]string {
	return map[string]string{"IAM_ISSUER_URL": i.Base, "IAM_JWKS_URL": i.JWKSURL, "IAM_AUDIENCE": i.Audience}
}

// Token mints an access token for subject (e.g. client-abc) of tenant with scopes.
func (i *Issuer) Token(tb testing.TB, tenant, subject string, scopes ...string) string {
	tb.Helper()
	now := time.Now()
	tok, err := auth.Sign(auth.Claims{
		Issuer: auth.Issuer(i.Base, tenant), Subject: subject, Audience: auth.Audience{i.Audience},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), ID: subject + "-" + now.Format("150405.000000"),
		Tenant: tenant, Scope: strings.Join(scopes, " "), ClientID: strings.TrimPrefix(subject, "client-"),
	}, i.kid, i.key)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// SignJWT signs claims as a JWS of type typ with the issuer's key, which makes the issuer
// a handshake.Signer: tests of the login and consent pages sign the challenges that
// oauth-clients would, and the pages verify them against this issuer's JWKS as they do in
// production.
func (i *Issuer) SignJWT(_ context.Context, typ string, claims any) (string, error) {
	return auth.SignJWS(typ, i.kid, i.key, claims)
}
