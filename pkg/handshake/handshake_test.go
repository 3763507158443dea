package handshake

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// testKeys signs and verifies with one Ed25519 key, as a keyring.Ring and an
// auth.RemoteJWKS would.
type testKeys struct{ priv ed25519.PrivateKey }

func (k testKeys) SignJWT(_ context.Context, typ string, claims any) (string, error) {
	return auth.SignJWS(typ, "k1", k.priv, claims)
}

func (k testKeys) PublicKey(_ context.Context, kid string) (crypto.PublicKey, error) {
	if kid != "k1" {
		return nil, errs.E(errs.Unauthorized, "unknown kid")
	}
	return k.priv.Public(), nil
}

func TestOpenRefusesWhatIsNotMeantForIt(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	keys := testKeys{priv}
	now := time.Now()
	base := "https://iam.example"
	challenge := func() *LoginChallenge {
		return &LoginChallenge{Header: Header{Issuer: AuthorizeIssuer(base, "acme"), Audience: AudienceLogin, ID: "authz-1", Tenant: "acme"}, ClientID: "app"}
	}
	sign := func(s Signer, typ string, c Claims, at time.Time) string {
		tok, err := Sign(context.Background(), s, typ, c, at, ChallengeTTL)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherTenant := challenge()
	otherTenant.Tenant = "globex"
	otherAudience := challenge()
	otherAudience.Audience = AudienceConsent
	cases := []struct {
		name, token, tenant string
		ok                  bool
	}{
		{"valid", sign(keys, TypLoginChallenge, challenge(), now), "acme", true},
		{"another kind of artefact", sign(keys, TypConsentChallenge, challenge(), now), "acme", false},
		{"another tenant's path", sign(keys, TypLoginChallenge, challenge(), now), "globex", false},
		{"issued for another tenant", sign(keys, TypLoginChallenge, otherTenant, now), "globex", false},
		{"meant for the consent page", sign(keys, TypLoginChallenge, otherAudience, now), "acme", false},
		{"expired", sign(keys, TypLoginChallenge, challenge(), now.Add(-ChallengeTTL-time.Minute)), "acme", false},
		{"signed by another key", sign(testKeys{other}, TypLoginChallenge, challenge(), now), "acme", false},
		{"tampered", sign(keys, TypLoginChallenge, challenge(), now) + "A", "acme", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got LoginChallenge
			err := Open(context.Background(), keys, c.token, TypLoginChallenge, &got, AuthorizeIssuer(base, c.tenant), AudienceLogin, c.tenant, now)
			if c.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", c.ok, err)
			}
			if c.ok && (got.ClientID != "app" || got.ID != "authz-1") {
				t.Fatalf("decoded %+v", got)
			}
			if !c.ok && errs.KindOf(err) != errs.Unauthorized {
				t.Fatalf("want Unauthorized, got %v", err)
			}
		})
	}
}
