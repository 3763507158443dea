package oauthclients_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/handshake"
)

// TestSignInIssuesAPersonsTokens walks the whole protocol: authorize, the login page's
// challenge and verdict, the consent page's challenge and verdict, the code, the token
// endpoint (access, ID and refresh token), and userinfo.
func TestSignInIssuesAPersonsTokens(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	ctx := context.Background()
	b, p := newBrowser(t), newPKCE()
	// iam.group_read is registered for the app but kari is not entitled to it; phone is not asked.
	req := si.request(p, "openid profile email offline_access iam.user_read iam.group_read")
	req.Set("login_hint", "kari")
	req.Set("ui_locales", "nb en")
	req.Set("prompt", "consent")

	login := si.loginChallenge(t, "acme", b.get(si.authorizeURL("acme", req)))
	if login.ClientID != si.app.ClientId || login.ClientName != "Web app" || login.LoginHint != "kari" || login.UILocales != "nb en" ||
		login.Prompt != "" || login.ExpiresAt-login.IssuedAt != int64(handshake.ChallengeTTL.Seconds()) {
		t.Fatalf("login challenge %+v", login)
	}
	consent := si.consentChallenge(t, "acme", b.get(si.resumeURL("acme", "login_verdict", si.loginVerdict(t, "acme", login.ID, si.kari))))
	if consent.ID != login.ID || consent.Subject != si.kari || consent.ClientID != si.app.ClientId || consent.Prompt != "consent" {
		t.Fatalf("consent challenge %+v", consent)
	}
	// requested ∩ the client's scopes ∩ kari's entitlement (the OpenID scopes count as entitled).
	if consent.Scope != "openid profile email offline_access iam.user_read" {
		t.Fatalf("consent is asked for %q", consent.Scope)
	}
	// Kari grants everything but email; consent answers with what was granted.
	u, q := b.get(si.resumeURL("acme", "consent_verdict",
		si.consentVerdict(t, "acme", consent, "openid profile offline_access iam.user_read services.iam"))).redirect(t)
	if u.Scheme+"://"+u.Host+u.Path != appRedirect || q.Get("state") != req.Get("state") || q.Get("iss") != auth.Issuer(issuerBase, "acme") || q.Get("code") == "" {
		t.Fatalf("authorization response %s", u)
	}
	var stored int
	if err := si.DB.Get(&stored, `SELECT count(*) FROM authorization_codes WHERE code_hash = encode(sha256($1::bytea), 'hex')`, q.Get("code")); err != nil || stored != 1 {
		t.Fatalf("the code is not stored by its hash: %d %v", stored, err)
	}
	var plain int
	_ = si.DB.Get(&plain, `SELECT count(*) FROM authorization_codes WHERE code_hash = $1`, q.Get("code"))
	if plain != 0 {
		t.Fatal("the code is stored as it is")
	}

	resp := si.exchange(t, q.Get("code"), p.verifier)
	if resp.JSON200 == nil {
		t.Fatalf("exchange: %d %s", resp.StatusCode(), resp.Body)
	}
	tok := *resp.JSON200
	if tok.TokenType != "Bearer" || tok.Scope == nil || *tok.Scope != "openid profile offline_access iam.user_read" ||
		tok.IdToken == nil || tok.RefreshToken == nil || !strings.HasPrefix(*tok.RefreshToken, "rt_") {
		t.Fatalf("token response %s", resp.Body)
	}
	if cc := resp.HTTPResponse.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}

	// The access token: RFC 9068, the person as sub, verified as every service does.
	if h := header(tok.AccessToken); h["typ"] != "at+jwt" || h["alg"] != "EdDSA" {
		t.Fatalf("access token header %v", h)
	}
	var at struct {
		auth.Claims
		AuthTime int64 `json:"auth_time"`
	}
	claimsOf(t, tok.AccessToken, &at)
	if at.Subject != si.kari || at.ClientID != si.app.ClientId || at.Scope != *tok.Scope || at.Tenant != "acme" ||
		at.Issuer != auth.Issuer(issuerBase, "acme") || at.AuthTime == 0 || !slices.Contains(at.Audience, "iam") {
		t.Fatalf("access token claims %+v", at)
	}
	verifier := &auth.Verifier{Keys: si.keys(), IssuerBase: issuerBase, Audience: "iam", Leeway: time.Second}
	if _, err := verifier.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("the person's access token does not verify as a platform token: %v", err)
	}

	// The ID token (OIDC Core §3.1.3.6), at_hash as go-oidc checks it for EdDSA.
	if h := header(*tok.IdToken); h["typ"] != "JWT" || h["alg"] != "EdDSA" || h["kid"] == "" {
		t.Fatalf("ID token header %v", h)
	}
	payload, err := auth.VerifyJWS(ctx, si.keys(), *tok.IdToken, "JWT", "ID token")
	if err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	var id struct {
		Iss      string   `json:"iss"`
		Sub      string   `json:"sub"`
		Aud      string   `json:"aud"`
		Exp      int64    `json:"exp"`
		Iat      int64    `json:"iat"`
		AuthTime int64    `json:"auth_time"`
		Nonce    string   `json:"nonce"`
		AMR      []string `json:"amr"`
		AtHash   string   `json:"at_hash"`
		SID      string   `json:"sid"`
	}
	if err := json.Unmarshal(payload, &id); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte(tok.AccessToken))
	if id.Iss != auth.Issuer(issuerBase, "acme") || id.Sub != si.kari || id.Aud != si.app.ClientId || id.Nonce != req.Get("nonce") ||
		id.AuthTime != at.AuthTime || !slices.Equal(id.AMR, []string{"pwd"}) || id.SID != "sid-"+si.kari || id.Exp <= id.Iat ||
		id.AtHash != base64.RawURLEncoding.EncodeToString(sum[:32]) {
		t.Fatalf("ID token claims %+v", id)
	}

	// UserInfo: sub always, the rest by granted scope (profile, not email: it was not granted).
	info := si.userInfo(t, tok.AccessToken)
	if info.JSON200 == nil {
		t.Fatalf("userinfo: %d %s", info.StatusCode(), info.Body)
	}
	ui := info.JSON200
	if ui.Sub != si.kari || deref(ui.Name) != "Kari Nordmann" || deref(ui.GivenName) != "Kari" || deref(ui.FamilyName) != "Nordmann" ||
		deref(ui.PreferredUsername) != "kari" || deref(ui.Locale) != "nb" || ui.Email != nil || ui.EmailVerified != nil || ui.PhoneNumber != nil {
		t.Fatalf("userinfo %s", info.Body)
	}
	post, err := si.as(t, tok.AccessToken).PostUserInfoWithResponse(ctx, "acme")
	if err != nil || post.JSON200 == nil || post.JSON200.Sub != si.kari {
		t.Fatalf("userinfo by POST: %v %s", err, post.Body)
	}
	// What iam-subjects changes, userinfo tells.
	si.publishUser(t, "acme", "kari", schema.UserState{DisplayName: "Kari Nordmann-Hansen", Username: ptr("kari")}, false)
	eventually(t, "userinfo follows the user's change", func() bool {
		r := si.userInfo(t, tok.AccessToken)
		return r.JSON200 != nil && deref(r.JSON200.Name) == "Kari Nordmann-Hansen" && r.JSON200.GivenName == nil
	})
	// The authorization is spent.
	var stage string
	if err := si.DB.Get(&stage, `SELECT stage FROM authorizations WHERE id = $1`, login.ID); err != nil || stage != "done" {
		t.Fatalf("authorization stage %q %v", stage, err)
	}
}

// TestUserInfoNeedsAPersonsOpenIDToken: userinfo answers RFC 6750 errors for a missing or
// bad token, a token without openid, and a machine's token.
func TestUserInfoNeedsAPersonsOpenIDToken(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	withoutOpenID := si.mustTokens(t, si.kari, "profile iam.user_read")
	if withoutOpenID.IdToken != nil {
		t.Fatal("an ID token without openid")
	}
	machine := si.mustClient(t, "acme", "openid")
	machineToken := si.mustToken(t, "acme", machine.ClientId, *machine.ClientSecret, "openid")
	for _, c := range []struct {
		name, token string
		status      int
		challenge   string
	}{
		{"no token", "", 401, `Bearer realm="userinfo"`},
		{"a forged token", withoutOpenID.AccessToken + "x", 401, `error="invalid_token"`},
		{"no openid", withoutOpenID.AccessToken, 403, `error="insufficient_scope"`},
		{"a machine's token", machineToken, 403, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := si.userInfo(t, c.token)
			if r.StatusCode() != c.status || r.JSON200 != nil {
				t.Fatalf("status %d %s, want %d", r.StatusCode(), r.Body, c.status)
			}
			if got := r.HTTPResponse.Header.Get("WWW-Authenticate"); !strings.Contains(got, c.challenge) || got == "" {
				t.Fatalf("WWW-Authenticate %q, want %q", got, c.challenge)
			}
		})
	}
}

// TestRefreshRotates: every refresh answers a new refresh token and retires the old one;
// the scope narrows on request, never widens, and follows the person's entitlement.
func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	tok := si.mustTokens(t, si.kari, "openid profile offline_access iam.user_read")
	rt := *tok.RefreshToken
	for i := 0; i < 3; i++ {
		resp := si.refresh(t, rt, "")
		if resp.JSON200 == nil {
			t.Fatalf("refresh %d: %d %s", i, resp.StatusCode(), resp.Body)
		}
		next := resp.JSON200
		if next.RefreshToken == nil || *next.RefreshToken == rt || next.IdToken == nil || deref(next.Scope) != "openid profile offline_access iam.user_read" {
			t.Fatalf("refresh %d: %s", i, resp.Body)
		}
		var id struct {
			Sub      string `json:"sub"`
			AuthTime int64  `json:"auth_time"`
			SID      string `json:"sid"`
		}
		claimsOf(t, *next.IdToken, &id)
		if id.Sub != si.kari || id.AuthTime == 0 || id.SID != "sid-"+si.kari {
			t.Fatalf("refreshed ID token %+v", id)
		}
		rt = *next.RefreshToken
	}
	var hashed int
	_ = si.DB.Get(&hashed, `SELECT count(*) FROM token_families WHERE refresh_hash = encode(sha256($1::bytea), 'hex')`, rt)
	if hashed != 1 {
		t.Fatal("the refresh token is not kept by its hash")
	}

	// Narrower, on request; wider is refused and spends nothing.
	oauthError(t, si.refresh(t, rt, "openid services.iam"), 400, "invalid_scope")
	narrow := si.refresh(t, rt, "openid")
	if narrow.JSON200 == nil || deref(narrow.JSON200.Scope) != "openid" || narrow.JSON200.RefreshToken == nil {
		t.Fatalf("narrowed refresh: %s", narrow.Body)
	}
	rt = *narrow.JSON200.RefreshToken
	// The family keeps its grant: the next refresh may ask for all of it again, but
	// kari's entitlement to iam.user_read is gone meanwhile.
	si.publishEntitlement(t, "acme", si.kari)
	eventually(t, "kari's entitlement withdrawn in the view", func() bool {
		var scopes []string
		_ = si.DB.Select(&scopes, `SELECT unnest(scopes) FROM entitled_scopes WHERE tenant = 'acme' AND subject = $1`, si.kari)
		return len(scopes) == 0
	})
	again := si.refresh(t, rt, "")
	if again.JSON200 == nil || deref(again.JSON200.Scope) != "openid profile offline_access" {
		t.Fatalf("refresh after the entitlement went: %s", again.Body)
	}
}

// TestRefreshReuseRevokesTheFamily: a rotated refresh token presented again (RFC 9700
// §4.14) is refused and revokes its whole family: the newest refresh token and every
// access token it issued.
func TestRefreshReuseRevokesTheFamily(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	tok := si.mustTokens(t, si.kari, "openid offline_access")
	first := *tok.RefreshToken
	resp := si.refresh(t, first, "")
	if resp.JSON200 == nil {
		t.Fatalf("refresh: %s", resp.Body)
	}
	second := *resp.JSON200
	for _, access := range []string{tok.AccessToken, second.AccessToken} {
		if r := si.userInfo(t, access); r.JSON200 == nil {
			t.Fatalf("userinfo before the reuse: %s", r.Body)
		}
	}
	oauthError(t, si.refresh(t, first, ""), 400, "invalid_grant")
	oauthError(t, si.refresh(t, *second.RefreshToken, ""), 400, "invalid_grant")
	for _, access := range []string{tok.AccessToken, second.AccessToken} {
		eventually(t, "the family's access tokens refused", func() bool {
			r := si.userInfo(t, access)
			return r.StatusCode() == http.StatusUnauthorized && strings.Contains(string(r.Body), "revoked")
		})
		var jti struct {
			ID string `json:"jti"`
		}
		claimsOf(t, access, &jti)
		si.lastEvent(t, "iam.acme.clients.revocation."+jti.ID, func(ev events.Envelope) bool { return !ev.Deleted })
	}
}

// TestRevokingARefreshTokenEndsItsFamily: RFC 7009 revocation of a refresh token, by the
// public client it was issued to (client_id alone), revokes the family and the access
// tokens it issued; another client may not.
func TestRevokingARefreshTokenEndsItsFamily(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	other := si.mustApp(t, "acme", true, "openid")
	tok := si.mustTokens(t, si.kari, "openid offline_access")
	revoke := func(clientID, token string) *http.Response {
		t.Helper()
		resp, err := http.PostForm(si.URL+"/v1/tenants/acme/oauth2/revoke", url.Values{"token": {token}, "client_id": {clientID},
			"token_type_hint": {"refresh_token"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := revoke(other.ClientId, *tok.RefreshToken); r.StatusCode != 400 {
		t.Fatalf("another client revoking: %d", r.StatusCode)
	}
	if r := revoke(si.app.ClientId, "rt_made-up"); r.StatusCode != 200 {
		t.Fatalf("an unknown refresh token: %d, want 200 (RFC 7009 §2.2)", r.StatusCode)
	}
	if r := revoke(si.app.ClientId, *tok.RefreshToken); r.StatusCode != 200 {
		t.Fatalf("revoking: %d", r.StatusCode)
	}
	oauthError(t, si.refresh(t, *tok.RefreshToken, ""), 400, "invalid_grant")
	eventually(t, "the family's access token refused", func() bool {
		return si.userInfo(t, tok.AccessToken).StatusCode() == http.StatusUnauthorized
	})
}

// TestSinglePageApplicationsMayCallTheOAuthEndpoints: a browser page of another origin
// may exchange codes, refresh, revoke and read userinfo (CORS, without cookies); the
// browser pages and introspection stay same-origin.
func TestSinglePageApplicationsMayCallTheOAuthEndpoints(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	preflight := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/v1/tenants/acme"+path, nil)
		req.Header.Set("Origin", "https://spa.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Every API operation may be called from another origin (pkg/service: bearer tokens and
	// client credentials cannot be borrowed by a page of another site); pages may not.
	for _, path := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/userinfo", "/.well-known/openid-configuration", "/clients"} {
		resp := preflight(path)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Fatalf("preflight of %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	for _, path := range []string{"/oauth2/authorize", "/oauth2/authorize/resume", "/oauth2/logout"} {
		if resp := preflight(path); resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s allows other origins", path)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/tenants/acme/.well-known/openid-configuration", nil)
	req.Header.Set("Origin", "https://spa.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("discovery from another origin: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestPublicClientsMayNameThemselvesInBasic: golang.org/x/oauth2 first sends a public
// client's id in HTTP Basic with an empty password; that identifies the client as well
// as client_id in the form. A confidential client is not let in that way.
func TestPublicClientsMayNameThemselvesInBasic(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	p := newPKCE()
	got := si.signInAs(t, newBrowser(t), si.kari, "openid", "*", p)
	basic := func(id string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(id, "") }
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {got.code}, "redirect_uri": {appRedirect}, "code_verifier": {p.verifier}}
	confidential := si.mustApp(t, "acme", false, "openid")
	oauthError(t, postToken(t, si.stack, "acme", form, basic(confidential.ClientId)), 401, "invalid_client")
	if resp := postToken(t, si.stack, "acme", form, basic(si.app.ClientId)); resp.JSON200 == nil {
		t.Fatalf("a public client in Basic: %s", resp.Body)
	}
}
