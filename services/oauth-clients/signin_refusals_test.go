package oauthclients_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/handshake"
	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// TestAuthorizeShowsAPageForUntrustedRequests: until the client and its redirect URI are
// known good, a refusal is our error page, never a redirect, and nothing is kept. The
// redirect URI is compared exactly: every near miss an open redirector would accept is
// refused.
func TestAuthorizeShowsAPageForUntrustedRequests(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	b, p := newBrowser(t), newPKCE()
	with := func(edit func(url.Values)) url.Values {
		q := si.request(p, "openid")
		edit(q)
		return q
	}
	redirect := func(uri string) url.Values { return with(func(q url.Values) { q.Set("redirect_uri", uri) }) }
	for _, c := range []struct {
		name string
		q    url.Values
		text string
	}{
		{"no client_id", with(func(q url.Values) { q.Del("client_id") }), "does not name an application"},
		{"unknown client", with(func(q url.Values) { q.Set("client_id", "no-such-client") }), "is not known"},
		{"another tenant's client", nil, "is not known"},
		{"no redirect_uri", with(func(q url.Values) { q.Del("redirect_uri") }), "redirect_uri is missing"},
		{"another host", redirect("https://evil.example/callback"), "not registered"},
		{"another port", redirect("https://app.example:8443/callback"), "not registered"},
		{"another scheme", redirect("http://app.example/callback"), "not registered"},
		{"a path suffix", redirect(appRedirect + "/../../evil"), "not registered"},
		{"a longer path", redirect(appRedirect + "x"), "not registered"},
		{"a trailing slash", redirect(appRedirect + "/"), "not registered"},
		{"an added query", redirect(appRedirect + "?next=https://evil.example"), "not registered"},
		{"a changed query", redirect("https://app.example/cb?tab=2"), "not registered"},
		{"a fragment", redirect(appRedirect + "#https://evil.example"), "not registered"},
		{"user information", redirect("https://app.example@evil.example/callback"), "not registered"},
		{"user information before the host", redirect("https://evil.example@app.example/callback"), "not registered"},
		{"upper case host", redirect("https://APP.example/callback"), "not registered"},
		{"encoded path", redirect("https://app.example/%63allback"), "not registered"},
		{"client_id twice", with(func(q url.Values) { q.Add("client_id", si.app.ClientId) }), "more than once"},
		{"redirect_uri twice", with(func(q url.Values) { q.Add("redirect_uri", appRedirect) }), "more than once"},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := si.authorizeURL("acme", c.q)
			if c.q == nil {
				target = si.authorizeURL("globex", si.request(p, "openid"))
			}
			b.get(target).errorPage(t, http.StatusBadRequest, c.text)
		})
	}
	if n := si.count(t, "authorizations"); n != 0 {
		t.Fatalf("%d authorizations kept for refused requests", n)
	}
	// The same by POST, and in German when the browser asks for it.
	req, _ := http.NewRequest(http.MethodPost, si.URL+"/v1/tenants/acme/oauth2/authorize",
		strings.NewReader(redirect("https://evil.example/").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || resp.Header.Get("Content-Language") != "de" {
		t.Fatalf("POST with a wrong redirect_uri: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestAuthorizeSendsErrorsToTheRedirectURI: once the client and redirect URI are known
// good, a bad request goes back to it as an RFC 6749 error with state and iss (RFC 9207),
// and no code and nothing kept.
func TestAuthorizeSendsErrorsToTheRedirectURI(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	b, p := newBrowser(t), newPKCE()
	with := func(edit func(url.Values)) url.Values {
		q := si.request(p, "openid profile")
		edit(q)
		return q
	}
	for _, c := range []struct {
		name, error string
		q           url.Values
	}{
		{"no response_type", "invalid_request", with(func(q url.Values) { q.Del("response_type") })},
		{"implicit", "unsupported_response_type", with(func(q url.Values) { q.Set("response_type", "token") })},
		{"hybrid", "unsupported_response_type", with(func(q url.Values) { q.Set("response_type", "code id_token") })},
		{"no PKCE", "invalid_request", with(func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") })},
		{"PKCE plain", "invalid_request", with(func(q url.Values) { q.Set("code_challenge_method", "plain") })},
		{"PKCE without a method (plain by default)", "invalid_request", with(func(q url.Values) { q.Del("code_challenge_method") })},
		{"a challenge that is no SHA-256", "invalid_request", with(func(q url.Values) { q.Set("code_challenge", "short") })},
		{"no scope", "invalid_scope", with(func(q url.Values) { q.Del("scope") })},
		{"no registered scope", "invalid_scope", with(func(q url.Values) { q.Set("scope", "services.iam") })},
		{"a scope with a quote", "invalid_scope", with(func(q url.Values) { q.Set("scope", `openid "x"`) })},
		{"prompt none with login", "invalid_request", with(func(q url.Values) { q.Set("prompt", "none login") })},
		{"prompt select_account", "invalid_request", with(func(q url.Values) { q.Set("prompt", "select_account") })},
		{"max_age not a number", "invalid_request", with(func(q url.Values) { q.Set("max_age", "soon") })},
		{"a request object", "request_not_supported", with(func(q url.Values) { q.Set("request", "eyJ...") })},
		{"a request_uri", "request_uri_not_supported", with(func(q url.Values) { q.Set("request_uri", "https://app.example/r") })},
		{"response_mode fragment", "invalid_request", with(func(q url.Values) { q.Set("response_mode", "fragment") })},
		{"a repeated parameter", "invalid_request", with(func(q url.Values) { q.Add("scope", "email") })},
		{"a huge state", "invalid_request", with(func(q url.Values) { q.Set("state", strings.Repeat("s", 5000)) })},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, q := b.get(si.authorizeURL("acme", c.q)).redirect(t)
			if u.Scheme+"://"+u.Host+u.Path != appRedirect {
				t.Fatalf("error sent to %s", u)
			}
			if q.Get("error") != c.error || q.Get("error_description") == "" || q.Get("iss") != auth.Issuer(issuerBase, "acme") || q.Has("code") {
				t.Fatalf("error response %v, want %s with a description and iss", q, c.error)
			}
			if c.q.Get("state") != "" && len(c.q.Get("state")) < 100 && q.Get("state") != c.q.Get("state") {
				t.Fatalf("state %q, want the request's %q", q.Get("state"), c.q.Get("state"))
			}
		})
	}
	// The redirect URI's own query is kept.
	q := with(func(q url.Values) { q.Set("redirect_uri", "https://app.example/cb?tab=1"); q.Del("response_type") })
	u, rq := b.get(si.authorizeURL("acme", q)).redirect(t)
	if rq.Get("tab") != "1" || rq.Get("error") != "invalid_request" || !strings.HasPrefix(u.String(), "https://app.example/cb?tab=1&") {
		t.Fatalf("error at a redirect URI with a query: %s", u)
	}
	// A client that may not use the code grant.
	created, err := si.admin.CreateClientWithResponse(t.Context(), "acme", api.ClientInput{ClientName: "machine",
		Scopes: &[]string{"openid"}, RedirectUris: &[]string{appRedirect}})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("a machine with a redirect URI: %v %s", err, created.Body)
	}
	machine := created.JSON201
	mq := si.request(p, "openid")
	mq.Set("client_id", machine.ClientId)
	_, eq := b.get(si.authorizeURL("acme", mq)).redirect(t)
	if eq.Get("error") != "unauthorized_client" {
		t.Fatalf("a client_credentials client at the authorization endpoint: %v", eq)
	}
	if n := si.count(t, "authorizations"); n != 0 {
		t.Fatalf("%d authorizations kept for refused requests", n)
	}
}

// TestVerdictRefusals: a verdict that does not verify, is not meant for this step, this
// tenant or this browser, or was used already, is our error page and changes nothing: the
// right verdict in the right browser still works afterwards.
func TestVerdictRefusals(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	stranger := testenv.NewIssuer(t) // a key nobody publishes
	b, p := newBrowser(t), newPKCE()
	login := si.loginChallenge(t, "acme", b.get(si.authorizeURL("acme", si.request(p, "openid"))))
	good := func() *handshake.LoginVerdict { return loginClaims("acme", login.ID, si.kari) }
	edited := func(edit func(v *handshake.LoginVerdict)) *handshake.LoginVerdict {
		v := good()
		edit(v)
		return v
	}
	tampered := func() string {
		parts := strings.Split(si.loginVerdict(t, "acme", login.ID, si.kari), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(raw, &claims)
		claims["sub"] = "user-mallory"
		raw, _ = json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		return strings.Join(parts, ".")
	}
	now := time.Now()
	for _, c := range []struct {
		name, tenant, param, verdict string
		status                       int
		text                         string
	}{
		{"tampered", "acme", "login_verdict", tampered(), 400, "invalid or has expired"},
		{"expired", "acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict, good(), now.Add(-2*time.Minute)), 400, "invalid or has expired"},
		{"issued in the future", "acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict, good(), now.Add(time.Minute)), 400, "invalid or has expired"},
		{"signed by an unknown key", "acme", "login_verdict", sign(t, stranger, handshake.TypLoginVerdict, good(), now), 400, "invalid or has expired"},
		{"signed by the consent page", "acme", "login_verdict", sign(t, si.consent, handshake.TypLoginVerdict, good(), now), 400, "invalid or has expired"},
		{"of another type", "acme", "login_verdict", sign(t, si.login, handshake.TypLoginChallenge, good(), now), 400, "invalid or has expired"},
		{"a login verdict as a consent verdict", "acme", "consent_verdict", sign(t, si.login, handshake.TypLoginVerdict, good(), now), 400, "invalid or has expired"},
		{"meant for the consent page", "acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict,
			edited(func(v *handshake.LoginVerdict) { v.Audience = handshake.AudienceConsent }), now), 400, "invalid or has expired"},
		{"issued by another issuer", "acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict,
			edited(func(v *handshake.LoginVerdict) { v.Issuer = handshake.ConsentIssuer(issuerBase, "acme") }), now), 400, "invalid or has expired"},
		{"another tenant's verdict", "acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict,
			edited(func(v *handshake.LoginVerdict) {
				v.Tenant, v.Issuer = "globex", handshake.LoginIssuer(issuerBase, "globex")
			}), now), 400, "invalid or has expired"},
		{"at another tenant", "globex", "login_verdict", si.loginVerdict(t, "acme", login.ID, si.kari), 400, "invalid or has expired"},
		{"for no authorization", "acme", "login_verdict", si.loginVerdict(t, "acme", "no-such-authorization", si.kari), 400, "invalid or has expired"},
		{"for a client, not a person", "acme", "login_verdict", si.loginVerdict(t, "acme", login.ID, "client-x"), 400, "invalid or has expired"},
		{"no verdict", "acme", "login_verdict", "", 400, "invalid or has expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b.get(si.resumeURL(c.tenant, c.param, c.verdict)).errorPage(t, c.status, c.text)
		})
	}
	both := si.URL + "/v1/tenants/acme/oauth2/authorize/resume?" + url.Values{"login_verdict": {"a"}, "consent_verdict": {"b"}}.Encode()
	b.get(both).errorPage(t, 400, "invalid or has expired")

	// In another browser: the cookie binding the authorization is missing.
	verdict := si.loginVerdict(t, "acme", login.ID, si.kari)
	newBrowser(t).get(si.resumeURL("acme", "login_verdict", verdict)).errorPage(t, http.StatusForbidden, "started in another browser")
	// A consent verdict while the authorization waits for the login.
	early := si.consentVerdict(t, "acme", handshake.ConsentChallenge{Header: handshake.Header{ID: login.ID}, Subject: si.kari, ClientID: si.app.ClientId}, "openid")
	b.get(si.resumeURL("acme", "consent_verdict", early)).errorPage(t, 400, "already been used")

	// None of it changed anything: the right verdict in the right browser goes on.
	consent := si.consentChallenge(t, "acme", b.get(si.resumeURL("acme", "login_verdict", verdict)))
	// Replayed, now that the authorization has moved on, in either browser.
	b.get(si.resumeURL("acme", "login_verdict", verdict)).errorPage(t, 400, "already been used")
	// Consent for another person or client.
	for _, edit := range []func(*handshake.ConsentVerdict){
		func(v *handshake.ConsentVerdict) { v.Subject = "user-mallory" },
		func(v *handshake.ConsentVerdict) { v.ClientID = "other" },
	} {
		v := consentClaims("acme", consent, "openid")
		edit(v)
		b.get(si.resumeURL("acme", "consent_verdict", sign(t, si.consent, handshake.TypConsentVerdict, v, time.Now()))).errorPage(t, 400, "invalid or has expired")
	}
	if n := si.count(t, "authorization_codes"); n != 0 {
		t.Fatalf("%d codes issued for refused verdicts", n)
	}
	good2 := si.consentVerdict(t, "acme", consent, "openid")
	_, q := b.get(si.resumeURL("acme", "consent_verdict", good2)).redirect(t)
	if q.Get("code") == "" {
		t.Fatalf("the right consent verdict after the refusals: %v", q)
	}
	b.get(si.resumeURL("acme", "consent_verdict", good2)).errorPage(t, 400, "already been used")
	if n := si.count(t, "authorization_codes"); n != 1 {
		t.Fatalf("%d codes, want 1", n)
	}
}

// TestVerdictErrorsGoToTheClient: a login or consent verdict that carries an error (the
// person declined, prompt=none without a session) ends the authorization at the client's
// redirect URI with that error, state and iss.
func TestVerdictErrorsGoToTheClient(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	b, p := newBrowser(t), newPKCE()
	req := si.request(p, "openid")
	req.Set("prompt", "none")
	login := si.loginChallenge(t, "acme", b.get(si.authorizeURL("acme", req)))
	if login.Prompt != "none" {
		t.Fatalf("prompt %q", login.Prompt)
	}
	v := loginClaims("acme", login.ID, "")
	v.Error, v.ErrorDescription = handshake.ErrLoginRequired, "no login session"
	_, q := b.get(si.resumeURL("acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict, v, time.Now()))).redirect(t)
	if q.Get("error") != "login_required" || q.Get("state") != req.Get("state") || q.Get("iss") == "" || q.Has("code") {
		t.Fatalf("login error response %v", q)
	}
	// The person declines at the consent page.
	req = si.request(p, "openid")
	login = si.loginChallenge(t, "acme", b.get(si.authorizeURL("acme", req)))
	consent := si.consentChallenge(t, "acme", b.get(si.resumeURL("acme", "login_verdict", si.loginVerdict(t, "acme", login.ID, si.kari))))
	cv := consentClaims("acme", consent, "")
	cv.Error = handshake.ErrAccessDenied
	declined := sign(t, si.consent, handshake.TypConsentVerdict, cv, time.Now())
	_, q = b.get(si.resumeURL("acme", "consent_verdict", declined)).redirect(t)
	if q.Get("error") != "access_denied" || q.Get("state") != req.Get("state") || q.Has("code") {
		t.Fatalf("consent error response %v", q)
	}
	b.get(si.resumeURL("acme", "consent_verdict", declined)).errorPage(t, 400, "already been used")
	// prompt=login: a login verdict that did not authenticate anew is not accepted.
	req = si.request(p, "openid")
	req.Set("prompt", "login")
	login = si.loginChallenge(t, "acme", b.get(si.authorizeURL("acme", req)))
	if login.Prompt != "login" {
		t.Fatalf("prompt %q", login.Prompt)
	}
	old := loginClaims("acme", login.ID, si.kari)
	old.AuthTime = time.Now().Add(-time.Hour).Unix()
	_, q = b.get(si.resumeURL("acme", "login_verdict", sign(t, si.login, handshake.TypLoginVerdict, old, time.Now()))).redirect(t)
	if q.Get("error") != "login_required" {
		t.Fatalf("an old authentication for prompt=login: %v", q)
	}
	if n := si.count(t, "authorization_codes"); n != 0 {
		t.Fatalf("%d codes issued", n)
	}
}

// TestCodeExchangeRefusals: a code works once, for its client, with its redirect URI and
// its PKCE verifier, within 60 seconds; every other use is invalid_grant and issues
// nothing.
func TestCodeExchangeRefusals(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	other := si.mustApp(t, "acme", true, "openid")
	confidential := si.mustApp(t, "acme", false, "openid")
	p := newPKCE()
	got := si.signInAs(t, newBrowser(t), si.kari, "openid offline_access", "*", p)
	for _, c := range []struct {
		name   string
		edit   func(url.Values)
		status int
		error  string
	}{
		{"PKCE mismatch", func(f url.Values) { f.Set("code_verifier", newPKCE().verifier) }, 400, "invalid_grant"},
		{"the challenge as verifier", func(f url.Values) { f.Set("code_verifier", p.challenge) }, 400, "invalid_grant"},
		{"no verifier", func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_request"},
		{"a short verifier", func(f url.Values) { f.Set("code_verifier", "abc") }, 400, "invalid_request"},
		{"another redirect_uri", func(f url.Values) { f.Set("redirect_uri", "https://app.example/cb?tab=1") }, 400, "invalid_grant"},
		{"no redirect_uri", func(f url.Values) { f.Del("redirect_uri") }, 400, "invalid_request"},
		{"another client", func(f url.Values) { f.Set("client_id", other.ClientId) }, 400, "invalid_grant"},
		{"unknown client", func(f url.Values) { f.Set("client_id", "no-such-client") }, 401, "invalid_client"},
		{"a confidential client without its secret", func(f url.Values) { f.Set("client_id", confidential.ClientId) }, 401, "invalid_client"},
		{"a made-up code", func(f url.Values) { f.Set("code", "made-up") }, 400, "invalid_grant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			oauthError(t, si.exchange(t, got.code, p.verifier, c.edit), c.status, c.error)
		})
	}
	if n := si.count(t, "token_families"); n != 0 {
		t.Fatalf("%d token families for refused exchanges", n)
	}
	// None of those spent the code.
	if resp := si.exchange(t, got.code, p.verifier); resp.JSON200 == nil {
		t.Fatalf("the code after refused attempts: %s", resp.Body)
	}

	// An expired code.
	got = si.signInAs(t, newBrowser(t), si.kari, "openid", "*", p)
	if _, err := si.DB.Exec(`UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	oauthError(t, si.exchange(t, got.code, p.verifier), 400, "invalid_grant")
	// Codes live 60 s.
	var ttl float64
	si.signInAs(t, newBrowser(t), si.kari, "openid", "*", p)
	if err := si.DB.Get(&ttl, `SELECT extract(epoch FROM expires_at - now()) FROM authorization_codes WHERE used_at IS NULL AND expires_at > now()`); err != nil || ttl > 60 || ttl < 50 {
		t.Fatalf("a fresh code lives %vs (%v), want 60s", ttl, err)
	}
}

// TestCodeReplayRevokesTheFirstTokens: a code used a second time is refused, and what
// its first use issued (access token, refresh token family) is revoked (RFC 6749
// §4.1.2).
func TestCodeReplayRevokesTheFirstTokens(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	p := newPKCE()
	got := si.signInAs(t, newBrowser(t), si.kari, "openid offline_access", "*", p)
	first := si.exchange(t, got.code, p.verifier)
	if first.JSON200 == nil {
		t.Fatalf("first exchange: %s", first.Body)
	}
	if r := si.userInfo(t, first.JSON200.AccessToken); r.JSON200 == nil {
		t.Fatalf("userinfo with the first token: %s", r.Body)
	}
	oauthError(t, si.exchange(t, got.code, p.verifier), 400, "invalid_grant")
	eventually(t, "the first access token refused everywhere", func() bool {
		r := si.userInfo(t, first.JSON200.AccessToken)
		return r.StatusCode() == http.StatusUnauthorized && strings.Contains(string(r.Body), "revoked")
	})
	oauthError(t, si.refresh(t, *first.JSON200.RefreshToken, ""), 400, "invalid_grant")
	// A third try changes nothing more.
	oauthError(t, si.exchange(t, got.code, p.verifier), 400, "invalid_grant")
	if n := si.count(t, "token_families"); n != 1 {
		t.Fatalf("%d families, want the first one only", n)
	}
}

// TestConcurrentUsesOfOneCodeOrRefreshToken: presented several times at once, a code or a
// refresh token is honoured at most once, every other use is refused, and since those
// are second uses, what the one honoured use issued ends revoked (RFC 6749 §4.1.2, RFC 9700
// §4.14), however the requests interleave.
func TestConcurrentUsesOfOneCodeOrRefreshToken(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	const n = 6
	race := func(use func() *api.IssueTokenResponse) (won []api.TokenResponse) {
		t.Helper()
		answers := make([]*api.IssueTokenResponse, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); answers[i] = use() }()
		}
		wg.Wait()
		for _, a := range answers {
			switch {
			case a == nil:
				t.Fatal("a request did not complete")
			case a.JSON200 != nil:
				won = append(won, *a.JSON200)
			default:
				oauthError(t, a, 400, "invalid_grant")
			}
		}
		if len(won) > 1 {
			t.Fatalf("%d of %d concurrent uses were honoured, want at most one", len(won), n)
		}
		return won
	}
	for round := range 5 {
		p := newPKCE()
		got := si.signInAs(t, newBrowser(t), si.kari, "openid offline_access", "*", p)
		won := race(func() *api.IssueTokenResponse { return si.exchange(t, got.code, p.verifier) })
		if len(won) != 1 {
			t.Fatalf("round %d: no exchange of a fresh code was honoured", round)
		}
		eventually(t, "the honoured exchange's access token revoked", func() bool {
			return si.userInfo(t, won[0].AccessToken).StatusCode() == http.StatusUnauthorized
		})

		// A fresh family, its refresh token presented n times at once.
		fresh := si.mustTokens(t, si.kari, "openid offline_access")
		won = race(func() *api.IssueTokenResponse { return si.refresh(t, *fresh.RefreshToken, "") })
		if len(won) != 1 {
			t.Fatalf("round %d: no refresh with a fresh refresh token was honoured", round)
		}
		eventually(t, "the honoured refresh's access token revoked", func() bool {
			return si.userInfo(t, won[0].AccessToken).StatusCode() == http.StatusUnauthorized
		})
		oauthError(t, si.refresh(t, *won[0].RefreshToken, ""), 400, "invalid_grant")
		eventually(t, "the family's first access token revoked", func() bool {
			return si.userInfo(t, fresh.AccessToken).StatusCode() == http.StatusUnauthorized
		})
	}
}
