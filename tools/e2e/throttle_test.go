package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestThrottlingThroughTheGateway: callers behind the gateway are told apart by the
// X-Forwarded-For it passes on, so one caller's failed guesses for a client slow that
// caller down and nobody else: the right secret from another address still gets a token,
// as does another client from the guessing address.
func TestThrottlingThroughTheGateway(t *testing.T) {
	p := mustPlatform(t)
	victim := p.mustCreateClient(t, "acme", "victim")
	other := p.mustCreateClient(t, "acme", "other")
	token := func(from, id, secret string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, p.URL+"/v1/tenants/acme/oauth2/token",
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from) // as a load balancer in front of the gateway would
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const attacker, user = "203.0.113.66", "198.51.100.7"
	refused := 0
	for range 12 {
		switch token(attacker, victim.ClientId, "a-wrong-guess-of-the-secret") {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatal("a wrong secret was not refused")
		}
	}
	if refused == 0 {
		t.Error("12 wrong guesses from one address were never slowed down")
	}
	if got := token(attacker, victim.ClientId, *victim.ClientSecret); got != http.StatusTooManyRequests {
		t.Errorf("the guessing address got %d for the right secret at once, want 429 (its own failures)", got)
	}
	if got := token(user, victim.ClientId, *victim.ClientSecret); got != http.StatusOK {
		t.Errorf("another caller's right secret: %d, want 200", got)
	}
	if got := token(attacker, other.ClientId, *other.ClientSecret); got != http.StatusOK {
		t.Errorf("another client from the guessing address: %d, want 200", got)
	}
}
