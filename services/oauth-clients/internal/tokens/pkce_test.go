package tokens

import (
	"crypto/sha512"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestPKCE(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if S256(verifier) != challenge || !ValidChallenge(challenge) || !VerifierMatches(challenge, verifier) {
		t.Fatal("RFC 7636 Appendix B does not hold")
	}
	if VerifierMatches(challenge, verifier+"x") || VerifierMatches(verifier, verifier) {
		t.Fatal("a wrong verifier matches")
	}
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{verifier, true},
		{strings.Repeat("a", 43), true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + "~", true},
		{strings.Repeat("a", 42) + " ", false},
	} {
		if ValidVerifier(c.v) != c.ok {
			t.Errorf("ValidVerifier(%q) = %v", c.v, !c.ok)
		}
	}
}

func TestNarrow(t *testing.T) {
	client := []string{"openid", "profile", "offline_access", "billing.read", "billing.write"}
	for _, c := range []struct {
		name                string
		want, entitled, out []string
	}{
		{"OpenID scopes need no entitlement", []string{"openid", "profile"}, nil, []string{"openid", "profile"}},
		{"others need one", []string{"openid", "billing.read", "billing.write"}, []string{"billing.read"}, []string{"openid", "billing.read"}},
		{"not registered for the client", []string{"email", "openid"}, nil, []string{"openid"}},
		{"entitled but not registered", []string{"services.iam"}, []string{"services.iam"}, nil},
		{"duplicates once", []string{"openid", "openid"}, nil, []string{"openid"}},
	} {
		if got := Narrow(c.want, client, c.entitled); !slices.Equal(got, c.out) {
			t.Errorf("%s: %v, want %v", c.name, got, c.out)
		}
	}
}

func TestAtHashIsTheLeftHalfOfSHA512(t *testing.T) {
	sum := sha512.Sum512([]byte("an access token"))
	if got := AtHash("an access token"); got != base64.RawURLEncoding.EncodeToString(sum[:32]) || len(got) != 43 {
		t.Fatalf("AtHash = %q", got)
	}
}

func TestValidScope(t *testing.T) {
	for s, ok := range map[string]bool{"openid profile": true, "a:b/c": true, `a"b`: false, `a\b`: false, "é": false, "": true} {
		if ValidScope(s) != ok {
			t.Errorf("ValidScope(%q) = %v", s, !ok)
		}
	}
}
