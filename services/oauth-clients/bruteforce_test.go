package oauthclients_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/testenv"

	oauthclients "github.com/iamplane/iam/services/oauth-clients"
	"github.com/iamplane/iam/services/oauth-clients/api"
)

// limitsClock is the time the brute-force limits run on in the tests of their waits: it
// stands still until the test moves it. On the wall clock a wait of a second can pass
// while a loaded machine answers the request before the one that checks it.
type limitsClock struct{ unixNano atomic.Int64 }

func newLimitsClock() *limitsClock {
	c := &limitsClock{}
	c.unixNano.Store(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *limitsClock) now() time.Time          { return time.Unix(0, c.unixNano.Load()) }
func (c *limitsClock) advance(d time.Duration) { c.unixNano.Add(int64(d)) }

// mustStartOnClock is mustStart (the same configuration, the log collected alike) with
// the brute-force limits on clock.
func mustStartOnClock(t *testing.T, clock *limitsClock, extra ...map[string]string) *stack {
	t.Helper()
	env := map[string]string{
		"IAM_ISSUER_URL":          issuerBase,
		"IAM_BOOTSTRAP_CLIENT_ID": adminID, "IAM_BOOTSTRAP_CLIENT_SECRET": adminSecret,
	}
	for _, e := range extra {
		maps.Copy(env, e)
	}
	logs := &logBuffer{}
	serve := oauthclients.RunOnClock(clock.now)
	s := &stack{logs: logs, Stack: testenv.StartStack(t, func(ctx context.Context, environ map[string]string, logger *slog.Logger, onListen func(string)) error {
		tee := slog.New(slog.NewMultiHandler(logger.Handler(), slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		return serve(ctx, environ, tee, onListen)
	}, env)}
	s.admin = s.as(t, s.mustToken(t, "system", adminID, adminSecret, ""))
	return s
}

// loopbackProxy trusts X-Forwarded-For from loopback: the test plays a gateway there,
// naming each caller's address.
var loopbackProxy = map[string]string{"IAM_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"}

// tokenFrom asks acme's token endpoint for a token with client_secret_basic, as a caller
// at addr behind the proxy ("" adds no X-Forwarded-For).
func tokenFrom(t *testing.T, s *stack, addr, id, secret string) *api.IssueTokenResponse {
	t.Helper()
	return postToken(t, s, "acme", url.Values{"grant_type": {"client_credentials"}}, func(r *http.Request) {
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		if addr != "" {
			r.Header.Set("X-Forwarded-For", addr)
		}
	})
}

// mustFail checks an answer is 401 invalid_client: the credentials were checked.
func mustFail(t *testing.T, resp *api.IssueTokenResponse) {
	t.Helper()
	if resp.JSON401 == nil || resp.JSON401.Error != "invalid_client" {
		t.Fatalf("want 401 invalid_client, got %d %s", resp.StatusCode(), resp.Body)
	}
}

// mustGet checks an answer is a token.
func mustGet(t *testing.T, resp *api.IssueTokenResponse) {
	t.Helper()
	if resp.JSON200 == nil {
		t.Fatalf("want a token, got %d %s", resp.StatusCode(), resp.Body)
	}
}

// mustSlowDown checks an answer is 429 slow_down with a Retry-After in [lo, hi] seconds,
// never cached.
func mustSlowDown(t *testing.T, resp *api.IssueTokenResponse, lo, hi int) {
	t.Helper()
	if resp.StatusCode() != http.StatusTooManyRequests || resp.JSON429 == nil || resp.JSON429.Error != "slow_down" {
		t.Fatalf("want 429 slow_down, got %d %s", resp.StatusCode(), resp.Body)
	}
	h := resp.HTTPResponse.Header
	if retry, err := strconv.Atoi(h.Get("Retry-After")); err != nil || retry < lo || retry > hi || h.Get("Cache-Control") != "no-store" {
		t.Errorf("Retry-After %q (want %d to %d), Cache-Control %q", h.Get("Retry-After"), lo, hi, h.Get("Cache-Control"))
	}
}

func TestBruteForceLimits(t *testing.T) {
	t.Parallel()
	clock := newLimitsClock()
	s := mustStartOnClock(t, clock, loopbackProxy, map[string]string{
		"IAM_AUTH_FAILURES_PER_PAIR": "3", "IAM_AUTH_FAILURES_PER_CLIENT": "8", "IAM_AUTH_FAILURES_PER_ADDRESS": "6"})
	x := s.mustClient(t, "acme", "iam.client_read")
	y := s.mustClient(t, "acme", "iam.client_read")
	const a, b = "198.51.100.1", "198.51.100.2"
	guesses := []string{"guess-number-one", "guess-number-two", "guess-number-three", "guess-number-four", "guess-number-five"}

	// A's free failures for X, then one more: A must now wait a second for X, even
	// with the right secret, which is not even checked.
	for _, g := range guesses[:4] {
		mustFail(t, tokenFrom(t, s, a, x.ClientId, g))
	}
	mustSlowDown(t, tokenFrom(t, s, a, x.ClientId, *x.ClientSecret), 1, 1)
	// Introspection authenticates the same way and honours the same wait.
	intro, _ := s.as(t, "").IntrospectTokenWithFormdataBodyWithResponse(context.Background(), "acme",
		api.IntrospectTokenFormdataRequestBody{Token: ptr("x")}, func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(x.ClientId, *x.ClientSecret)
			r.Header.Set("X-Forwarded-For", a)
			return nil
		})
	if intro.StatusCode() != http.StatusTooManyRequests || intro.JSON429 == nil || intro.JSON429.Error != "slow_down" {
		t.Errorf("introspection of a waiting pair: %d %s", intro.StatusCode(), intro.Body)
	}

	// Nobody else waits: not X from B, nor another client from A.
	mustGet(t, tokenFrom(t, s, b, x.ClientId, *x.ClientSecret))
	mustGet(t, tokenFrom(t, s, a, y.ClientId, *y.ClientSecret))

	// The wait lasts its second, not longer; A's next failure then doubles it.
	clock.advance(time.Second - time.Millisecond)
	mustSlowDown(t, tokenFrom(t, s, a, x.ClientId, *x.ClientSecret), 1, 1)
	clock.advance(time.Millisecond)
	mustFail(t, tokenFrom(t, s, a, x.ClientId, guesses[4]))
	mustSlowDown(t, tokenFrom(t, s, a, x.ClientId, *x.ClientSecret), 2, 2)

	// The per-client ceiling (8 failures of X in the window): three more addresses fail once.
	for i := range 3 {
		mustFail(t, tokenFrom(t, s, fmt.Sprintf("203.0.113.%d", i+1), x.ClientId, "wrong-secret-value"))
	}
	// A pair that failed is refused unchecked until the window (from X's first failure, a
	// second ago) ends, right secret or not...
	mustSlowDown(t, tokenFrom(t, s, "203.0.113.1", x.ClientId, *x.ClientSecret), 59, 59)
	// ...while a pair that has not failed is checked: the right secret gets a token, a
	// wrong one is a failure like any other (and that pair is then refused).
	mustGet(t, tokenFrom(t, s, "203.0.113.50", x.ClientId, *x.ClientSecret))
	mustFail(t, tokenFrom(t, s, "203.0.113.51", x.ClientId, "wrong-secret-value"))
	mustSlowDown(t, tokenFrom(t, s, "203.0.113.51", x.ClientId, *x.ClientSecret), 59, 59)

	// The per-address ceiling (6 failures from one address): G guesses six client ids.
	const g = "192.0.2.66"
	for i := range 6 {
		mustFail(t, tokenFrom(t, s, g, fmt.Sprintf("nobody-%d", i), "whatever-secret"))
	}
	mustSlowDown(t, tokenFrom(t, s, g, "nobody-0", "whatever-secret"), 60, 60)
	// A client G has not failed for is still checked.
	mustGet(t, tokenFrom(t, s, g, y.ClientId, *y.ClientSecret))
	// The refusal lasts until the window ends, and no longer.
	clock.advance(time.Minute - time.Millisecond)
	mustSlowDown(t, tokenFrom(t, s, g, "nobody-0", "whatever-secret"), 1, 1)
	clock.advance(time.Millisecond)
	mustFail(t, tokenFrom(t, s, g, "nobody-0", "whatever-secret"))

	logs := s.logs.String()
	if !strings.Contains(logs, "client authentication failed") || !strings.Contains(logs, x.ClientId) ||
		!strings.Contains(logs, "too many failures") || !strings.Contains(logs, a) {
		t.Errorf("failed attempts are not logged:\n%s", logs)
	}
	for _, secret := range append(guesses, *x.ClientSecret, *y.ClientSecret, "whatever-secret", "wrong-secret-value") {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a presented secret %q", secret)
		}
	}
}

// TestForwardedForIgnoredByDefault: with no trusted proxy configured, X-Forwarded-For
// names nothing, so a caller cannot escape its own failures by naming another address.
func TestForwardedForIgnoredByDefault(t *testing.T) {
	t.Parallel()
	s := mustStartOnClock(t, newLimitsClock(), map[string]string{"IAM_AUTH_FAILURES_PER_PAIR": "1"})
	x := s.mustClient(t, "acme", "iam.client_read")
	mustFail(t, tokenFrom(t, s, "203.0.113.7", x.ClientId, "guess-number-one"))
	mustFail(t, tokenFrom(t, s, "203.0.113.8", x.ClientId, "guess-number-two"))
	mustSlowDown(t, tokenFrom(t, s, "203.0.113.9", x.ClientId, *x.ClientSecret), 1, 1)
}

// TestFailureTiming: a failed secret authentication takes as long whether the client
// exists or not, and whatever kind of secret it has, so timing tells a guesser nothing.
// Not parallel: other tests' load would blur the measurement.
func TestFailureTiming(t *testing.T) {
	s := mustStart(t, map[string]string{"IAM_AUTH_FAILURES_PER_PAIR": "1000", "IAM_AUTH_FAILURES_PER_ADDRESS": "1000"})
	ctx := context.Background()
	generated := s.mustClient(t, "acme", "iam.client_read")
	// A chosen (argon2id) secret never presented rightly: every wrong one costs argon2id.
	chosen := s.mustClient(t, "acme", "iam.client_read")
	if resp, err := s.admin.CreateClientSecretWithResponse(ctx, "acme", chosen.ClientId,
		api.ClientSecretInput{Value: ptr("correct-horse-42")}); err != nil || resp.JSON201 == nil {
		t.Fatalf("add a chosen secret: %v %s", err, resp.Body)
	}
	type probe struct {
		name, tenant, id, secret string
		took                     []time.Duration
	}
	probes := []*probe{
		{name: "unknown client", tenant: "system", id: "no-such-client"},
		// The bootstrap admin's secret is chosen, and already verified (mustStart got a
		// token with it): a wrong one is refused at HMAC cost.
		{name: "bootstrap admin", tenant: "system", id: adminID},
		{name: "chosen secret", tenant: "acme", id: chosen.ClientId},
		{name: "generated secret", tenant: "acme", id: generated.ClientId},
		{name: "success", tenant: "acme", id: generated.ClientId, secret: *generated.ClientSecret},
	}
	// 15 rounds after one to warm up, each probe once a round in a random order, so that
	// neither drift nor order favours a probe.
	for i := range 16 {
		round := slices.Clone(probes)
		rand.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		for _, p := range round {
			secret := p.secret
			if secret == "" {
				secret = fmt.Sprintf("wrong-secret-%02d", i)
			}
			start := time.Now()
			resp := s.tokenResponse(t, p.tenant, p.id, secret, "")
			if i > 0 {
				p.took = append(p.took, time.Since(start))
			}
			if want := map[bool]int{true: 200, false: 401}[p.secret != ""]; resp.StatusCode() != want {
				t.Fatalf("%s: %d %s", p.name, resp.StatusCode(), resp.Body)
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		ds = slices.Sorted(slices.Values(ds))
		return ds[len(ds)/2]
	}
	unknown := median(probes[0].took)
	// 10 ms, or a twentieth of the failure time if that is more: under -race on a busy
	// machine failures take a second or more. The gap the padding hides is half the
	// failure time (an argon2id verification against a floor of two).
	tolerance := max(10*time.Millisecond, unknown/20)
	// Each failure is compared with the unknown client's in the same round, a few
	// seconds apart at most: the floor follows the machine's load, and from one round to
	// the next it drifts by far more than the tolerance (1.1 s to 1.7 s in one run at a
	// load average of 8), which medians of the raw times would carry into the comparison
	// as whichever probe happened to meet the slow rounds. A leak is in every round, so
	// the median gap still shows it whole.
	gaps := make([]time.Duration, len(probes))
	for i, p := range probes[1:4] {
		d := make([]time.Duration, len(p.took))
		for r := range d {
			d[r] = p.took[r] - probes[0].took[r]
		}
		if gaps[i+1] = median(d); gaps[i+1] < -tolerance || gaps[i+1] > tolerance {
			t.Errorf("median failure: %s %s from the unknown client's in the same round (tolerance %s); unknown client %s, %s %s",
				p.name, gaps[i+1], tolerance, unknown, p.name, median(p.took))
		}
	}
	if ok := median(probes[4].took); ok > unknown/2 {
		t.Errorf("a success (%s) is padded like a failure (%s)", ok, unknown)
	}
	t.Logf("medians: unknown %s, admin %s (%s in the round), chosen %s (%s), generated %s (%s), success %s",
		unknown, median(probes[1].took), gaps[1], median(probes[2].took), gaps[2], median(probes[3].took), gaps[3], median(probes[4].took))
}

// TestCredentialsOnlyInBody: the OAuth endpoints refuse their parameters in the query
// string (RFC 6749 §2.3.1), whatever the body says.
func TestCredentialsOnlyInBody(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	x := s.mustClient(t, "acme", "iam.client_read")
	for _, tc := range []struct{ endpoint, query string }{
		{"token", "client_id=" + x.ClientId + "&client_secret=" + url.QueryEscape(*x.ClientSecret)},
		{"token", "grant_type=client_credentials"},
		{"token", "scope=iam.client_read"},
		{"token", "client_assertion=y"},
		{"token", "client_assertion_type=x"},
		{"token", "refresh_token=r"},
		{"introspect", "token=abc"},
		{"revoke", "token_type_hint=access_token"},
	} {
		param := strings.SplitN(tc.query, "=", 2)[0]
		req, _ := http.NewRequest("POST", s.URL+"/v1/tenants/acme/oauth2/"+tc.endpoint+"?"+tc.query,
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "token": {"abc"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(x.ClientId, *x.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body api.OAuthError
		err = json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		if resp.StatusCode != 400 || err != nil || body.Error != "invalid_request" || body.ErrorDescription == nil ||
			!strings.Contains(*body.ErrorDescription, param) || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s?%s: %d %+v %v", tc.endpoint, tc.query, resp.StatusCode, body, err)
		}
	}
	// Other query parameters are no business of the endpoints'.
	mustGet(t, postToken(t, s, "acme", url.Values{"grant_type": {"client_credentials"}}, func(r *http.Request) {
		r.SetBasicAuth(x.ClientId, *x.ClientSecret)
		r.URL.RawQuery = "utm_source=test"
	}))
}
