package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

type oneKey struct{ key ed25519.PublicKey }

func (k oneKey) PublicKey(context.Context, string) (crypto.PublicKey, error) { return k.key, nil }

type denySet map[string]bool

func (d denySet) Check(c *Claims) error {
	if d[c.ID] {
		return errs.E(errs.Unauthorized, "invalid access token: revoked")
	}
	return nil
}

// TestDenylistIsAskedEvenForCachedTokens: a token verified (and cached) before its
// revocation is refused after it.
func TestDenylistIsAskedEvenForCachedTokens(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	deny := denySet{}
	v := &Verifier{Keys: oneKey{pub}, IssuerBase: "https://iam", Audience: "iam", Denylist: deny}
	now := time.Now()
	token, err := Sign(Claims{Issuer: Issuer("https://iam", "acme"), Subject: "client-c", Audience: Audience{"iam"},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), ID: "j1", Tenant: "acme", ClientID: "c"}, "k1", priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	deny["j1"] = true
	if _, err := v.Verify(context.Background(), token); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("a cached token revoked afterwards: %v", err)
	}
}
