package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// issuer publishes a JWKS that a test can add keys to, counting fetches.
type issuer struct {
	mu      sync.Mutex
	keys    map[string]ed25519.PrivateKey
	fetches atomic.Int32
}

func (i *issuer) add(t *testing.T, kid string) ed25519.PrivateKey {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.keys == nil {
		i.keys = map[string]ed25519.PrivateKey{}
	}
	i.keys[kid] = priv
	return priv
}

func (i *issuer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	i.fetches.Add(1)
	i.mu.Lock()
	defer i.mu.Unlock()
	set := jwk.NewSet()
	for kid, priv := range i.keys {
		k, _ := jwk.Import(priv.Public())
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = set.AddKey(k)
	}
	_ = json.NewEncoder(w).Encode(set)
}

func TestRemoteJWKSRefetchesOnUnknownKid(t *testing.T) {
	iss := &issuer{}
	first := iss.add(t, "k1")
	srv := httptest.NewServer(iss)
	defer srv.Close()
	keys := &auth.RemoteJWKS{URL: srv.URL, MinRefresh: 50 * time.Millisecond}
	v := &auth.Verifier{Keys: keys, IssuerBase: "http://iam.test", Audience: "iam"}
	claims := auth.Claims{Issuer: "http://iam.test/v1/tenants/acme", Subject: "client-x", Audience: auth.Audience{"iam"},
		ExpiresAt: time.Now().Add(time.Minute).Unix(), Tenant: "acme", Scope: "a b"}
	ctx := context.Background()

	tok, _ := auth.Sign(claims, "k1", first)
	if c, err := v.Verify(ctx, tok); err != nil || !c.HasScope("b") {
		t.Fatalf("verify: %v", err)
	}
	if _, err := v.Verify(ctx, tok); err != nil || iss.fetches.Load() != 1 {
		t.Fatalf("cached key refetched: %d fetches, %v", iss.fetches.Load(), err)
	}

	// A key rotated in at the issuer is picked up on first sight of its kid.
	time.Sleep(60 * time.Millisecond)
	second := iss.add(t, "k2")
	tok2, _ := auth.Sign(claims, "k2", second)
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// Forged kids do not turn into a flood of fetches.
	before := iss.fetches.Load()
	for range 20 {
		bogus, _ := auth.Sign(claims, "bogus", second)
		if _, err := v.Verify(ctx, bogus); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := iss.fetches.Load() - before; n > 1 {
		t.Errorf("%d fetches for 20 unknown kids", n)
	}
}

func TestAudienceAcceptsStringOrArray(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int
	}{{`"iam"`, 1}, {`["iam","billing"]`, 2}} {
		var a auth.Audience
		if err := json.Unmarshal([]byte(tc.raw), &a); err != nil || len(a) != tc.want || a[0] != "iam" {
			t.Errorf("%s: %v %v", tc.raw, a, err)
		}
	}
}
