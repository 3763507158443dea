package clients

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/iamplane/iam/pkg/egress"
)

func setOf(t *testing.T, keys ...any) []byte {
	t.Helper()
	set := jwk.NewSet()
	for i, k := range keys {
		jk, err := jwk.Import(k)
		if err != nil {
			t.Fatal(err)
		}
		_ = jk.Set(jwk.KeyIDKey, string(rune('a'+i)))
		_ = set.AddKey(jk)
	}
	raw, _ := json.Marshal(set)
	return raw
}

func TestParseJWKS(t *testing.T) {
	ed, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name string
		raw  []byte
		err  string
	}{
		{"Ed25519, P-256 and RSA-2048 public keys", setOf(t, ed, &ec.PublicKey, &rsa2048.PublicKey), ""},
		{"a private key", setOf(t, edPriv), "private key"},
		{"a short RSA key", []byte(`{"keys":[{"kty":"RSA","e":"AQAB","n":"` + base64.RawURLEncoding.EncodeToString(rsa1024.N.Bytes()) + `"}]}`), "2048"},
		{"P-384", setOf(t, &ec384.PublicKey), "P-256"},
		{"empty", []byte(`{"keys":[]}`), "1 to"},
		{"not JSON", []byte(`{`), "not a JWK set"},
	} {
		_, err := ParseJWKS(tc.raw)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestRemoteKeysRefetchOnRotation(t *testing.T) {
	first, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	second, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var current atomic.Pointer[ecdsa.PrivateKey]
	current.Store(first)
	var fetches atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(setOf(t, &current.Load().PublicKey))
	}))
	defer srv.Close()
	// The test server is on loopback: allowed here as an operator's IAM_EGRESS_ALLOW would.
	rk := &RemoteKeys{MinRefresh: time.Millisecond, Guard: &egress.Guard{
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		TLS:   srv.Client().Transport.(*http.Transport).TLSClientConfig}}
	r := &Registry{remoteKeys: rk}
	c := &Client{JWKSURI: srv.URL + "/jwks"}
	sign := func(k *ecdsa.PrivateKey) string {
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.KeyIDKey, "a")
		tok, err := jws.Sign([]byte(`{"sub":"x"}`), jws.WithKey(jwa.ES256(), k, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	ctx := context.Background()
	if _, err := r.verifyWithClientKeys(ctx, c, sign(first)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.verifyWithClientKeys(ctx, c, sign(first)); err != nil || fetches.Load() != 1 {
		t.Fatalf("cached set refetched: %d fetches, %v", fetches.Load(), err)
	}
	current.Store(second) // the client rotates its key
	time.Sleep(2 * time.Millisecond)
	if _, err := r.verifyWithClientKeys(ctx, c, sign(second)); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if _, err := r.verifyWithClientKeys(ctx, c, sign(first)); err == nil {
		t.Error("the retired key still verifies after the refetch")
	}
	if _, err := rk.Keys(ctx, "http://insecure.example/jwks", false); err == nil {
		t.Error("fetched keys over plain http")
	}
}
