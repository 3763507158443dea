package oauthclients_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestBruteForceLimits(t *testing.T) {
	t.Parallel()
	s := mustStart(t, map[string]string{"IAM_AUTH_FAILURES_PER_CLIENT": "3", "IAM_AUTH_FAILURES_PER_ADDRESS": "6", "IAM_AUTH_FAILURE_WINDOW": "2s"})
	victim := s.mustClient(t, "acme", "iam.client_read")
	other := s.mustClient(t, "acme", "iam.client_read")
	guesses := []string{"guess-number-one", "guess-number-two", "guess-number-three"}
	for _, g := range guesses {
		if resp := s.tokenResponse(t, "acme", victim.ClientId, g, ""); resp.JSON401 == nil || resp.JSON401.Error != "invalid_client" {
			t.Fatalf("guess %q: %d %s", g, resp.StatusCode(), resp.Body)
		}
	}

	// The client is locked: even its right secret is refused, unchecked, with a time to retry.
	locked := s.tokenResponse(t, "acme", victim.ClientId, *victim.ClientSecret, "")
	if locked.StatusCode() != http.StatusTooManyRequests || locked.JSON429 == nil || locked.JSON429.Error != "slow_down" {
		t.Fatalf("locked client: %d %s", locked.StatusCode(), locked.Body)
	}
	retry, err := strconv.Atoi(locked.HTTPResponse.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 2 || locked.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Retry-After %q, Cache-Control %q", locked.HTTPResponse.Header.Get("Retry-After"), locked.HTTPResponse.Header.Get("Cache-Control"))
	}
	// Introspection authenticates the same way and honours the same lock.
	intro, _ := s.as(t, "").IntrospectTokenWithFormdataBodyWithResponse(context.Background(), "acme",
		api.IntrospectTokenFormdataRequestBody{Token: ptr("x")}, func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(victim.ClientId, *victim.ClientSecret)
			return nil
		})
	if intro.StatusCode() != http.StatusTooManyRequests || intro.JSON429 == nil || intro.JSON429.Error != "slow_down" {
		t.Errorf("introspection of a locked client: %d %s", intro.StatusCode(), intro.Body)
	}
	// Another client, from the same address, is below the address limit.
	s.mustToken(t, "acme", other.ClientId, *other.ClientSecret, "")

	// The window ends: the right secret works again.
	time.Sleep(time.Duration(retry) * time.Second)
	s.mustToken(t, "acme", victim.ClientId, *victim.ClientSecret, "")

	// One address failing for many clients is locked for every client.
	time.Sleep(2 * time.Second) // a fresh window for the address
	for i := range 6 {
		if resp := s.tokenResponse(t, "acme", fmt.Sprintf("nobody-%d", i), "whatever-secret", ""); resp.StatusCode() != 401 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode())
		}
	}
	if resp := s.tokenResponse(t, "acme", other.ClientId, *other.ClientSecret, ""); resp.StatusCode() != http.StatusTooManyRequests {
		t.Fatalf("a locked address got a token: %d %s", resp.StatusCode(), resp.Body)
	}
	// Behind a trusted proxy (loopback here) callers are told apart by X-Forwarded-For.
	form := url.Values{"grant_type": {"client_credentials"}}
	forwarded := postToken(t, s, "acme", form, func(r *http.Request) {
		r.SetBasicAuth(other.ClientId, *other.ClientSecret)
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
	})
	if forwarded.StatusCode() != 200 {
		t.Errorf("another address behind the proxy: %d %s", forwarded.StatusCode(), forwarded.Body)
	}

	logs := s.logs.String()
	if !strings.Contains(logs, "client authentication failed") || !strings.Contains(logs, victim.ClientId) ||
		!strings.Contains(logs, "too many failures") {
		t.Errorf("failed attempts are not logged:\n%s", logs)
	}
	for _, secret := range append(guesses, *victim.ClientSecret, *other.ClientSecret, "whatever-secret") {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a presented secret %q", secret)
		}
	}
}
