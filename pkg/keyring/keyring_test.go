package keyring

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
)

// TestSignMatchesAuthSign: the hot-path signer makes exactly the token auth.Sign makes.
func TestSignMatchesAuthSign(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k := &Ring{active: newSigningKey("k1", priv), loadedAt: time.Now()}
	claims := auth.Claims{Issuer: "http://iam.test/v1/tenants/acme", Subject: "client-x", Audience: auth.Audience{"iam"},
		ExpiresAt: time.Now().Add(time.Hour).Unix(), IssuedAt: time.Now().Unix(), ID: "j1", Tenant: "acme", Scope: "a b", ClientID: "x"}
	got, err := k.Sign(context.Background(), claims)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := auth.Sign(claims, "k1", priv)
	if got != want {
		t.Fatalf("tokens differ:\n%s\n%s", got, want)
	}
}
