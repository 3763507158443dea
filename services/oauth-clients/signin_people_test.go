package oauthclients_test

import (
	"context"
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

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// TestLockedOrDeletedPeopleGetNoTokens: once iam-subjects publishes that a person is
// locked (isAccountLocked) or deleted, their code is not exchanged and their refresh
// token family ends.
func TestLockedOrDeletedPeopleGetNoTokens(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	for _, c := range []struct {
		name    string
		publish func(id string)
		gone    func(locked, deleted bool) bool
	}{
		{"locked", func(id string) {
			si.publishUser(t, "acme", id, schema.UserState{DisplayName: id, IsAccountLocked: ptr(true)}, false)
		}, func(locked, _ bool) bool { return locked }},
		{"deleted", func(id string) { si.publishUser(t, "acme", id, schema.UserState{}, true) },
			func(_, deleted bool) bool { return deleted }},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "ola-" + c.name
			si.publishUser(t, "acme", id, schema.UserState{DisplayName: "Ola"}, false)
			si.awaitUser(t, "acme", "user-"+id, func(locked, deleted bool) bool { return !locked && !deleted })
			tok := si.mustTokens(t, "user-"+id, "openid offline_access")
			p := newPKCE()
			pending := si.signInAs(t, newBrowser(t), "user-"+id, "openid", "*", p)

			c.publish(id)
			si.awaitUser(t, "acme", "user-"+id, c.gone)
			oauthError(t, si.refresh(t, *tok.RefreshToken, ""), 400, "invalid_grant")
			oauthError(t, si.exchange(t, pending.code, p.verifier), 400, "invalid_grant")
			// The family is gone for good, and every service refuses the access token.
			var revoked int
			_ = si.DB.Get(&revoked, `SELECT count(*) FROM token_families WHERE subject = $1 AND revoked_at IS NOT NULL`, "user-"+id)
			if revoked != 1 {
				t.Fatalf("%d revoked families, want 1", revoked)
			}
			eventually(t, "the access token refused", func() bool {
				return si.userInfo(t, tok.AccessToken).StatusCode() == http.StatusUnauthorized
			})
		})
	}
}

// TestWithdrawnClientAccessEndsRefresh: a person who takes the client's access away in
// consent (a ClientAccessState tombstone) ends the client's refresh token family.
func TestWithdrawnClientAccessEndsRefresh(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	tok := si.mustTokens(t, si.kari, "openid offline_access")
	resp := si.refresh(t, *tok.RefreshToken, "")
	if resp.JSON200 == nil {
		t.Fatalf("refresh before the withdrawal: %s", resp.Body)
	}
	time.Sleep(1100 * time.Millisecond) // iat has whole seconds: withdraw in a later one
	si.publishClientAccess(t, "acme", si.kari, si.app.ClientId, time.Now().UnixMicro(), true, time.Now())
	eventually(t, "the withdrawal in the view", func() bool {
		var n int
		_ = si.DB.Get(&n, `SELECT count(*) FROM client_access_revocations WHERE subject = $1 AND client_id = $2`, si.kari, si.app.ClientId)
		return n == 1
	})
	oauthError(t, si.refresh(t, *resp.JSON200.RefreshToken, ""), 400, "invalid_grant")
	// A new sign-in after a re-grant works again.
	time.Sleep(1100 * time.Millisecond)
	si.publishClientAccess(t, "acme", si.kari, si.app.ClientId, time.Now().UnixMicro(), false, time.Now())
	eventually(t, "the re-grant in the view", func() bool {
		var n int
		_ = si.DB.Get(&n, `SELECT count(*) FROM client_access_revocations WHERE subject = $1 AND regranted_at IS NOT NULL`, si.kari)
		return n == 1
	})
	time.Sleep(1100 * time.Millisecond)
	again := si.mustTokens(t, si.kari, "openid offline_access")
	if r := si.refresh(t, *again.RefreshToken, ""); r.JSON200 == nil {
		t.Fatalf("refresh of a family started after the re-grant: %s", r.Body)
	}
}

// TestLogout: RP-initiated logout checks the post-logout redirect URI against the
// client's registration, revokes what was issued under the ID token's session, and hands
// the browser to iam-subjects' logout page with a signed logout challenge.
func TestLogout(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	b := newBrowser(t)
	tok := si.mustTokens(t, si.kari, "openid offline_access")
	logoutURL := func(q url.Values) string { return si.URL + "/v1/tenants/acme/oauth2/logout?" + q.Encode() }
	open := func(p page) handshake.LogoutChallenge {
		t.Helper()
		u, q := p.redirect(t)
		if !strings.HasPrefix(u.String(), handshake.LogoutURL(issuerBase, "acme", "")) {
			t.Fatalf("sent to %s, want the logout page", u)
		}
		var ch handshake.LogoutChallenge
		if err := handshake.Open(context.Background(), si.keys(), q.Get("logout_challenge"), handshake.TypLogoutChallenge, &ch,
			handshake.AuthorizeIssuer(issuerBase, "acme"), handshake.AudienceLogin, "acme", time.Now()); err != nil {
			t.Fatalf("logout challenge: %v", err)
		}
		return ch
	}

	// Refused as our page, and nothing revoked.
	kid, key := si.signingKey(t)
	foreign, _ := auth.SignJWS("JWT", kid, key, map[string]any{"iss": auth.Issuer(issuerBase, "globex"), "sub": si.kari, "aud": si.app.ClientId})
	for _, c := range []struct {
		name string
		q    url.Values
		text string
	}{
		{"unregistered redirect", url.Values{"id_token_hint": {*tok.IdToken}, "post_logout_redirect_uri": {"https://evil.example/"}}, "not registered"},
		{"the login redirect URI", url.Values{"id_token_hint": {*tok.IdToken}, "post_logout_redirect_uri": {appRedirect}}, "not registered"},
		{"a redirect without a client", url.Values{"post_logout_redirect_uri": {appHome}}, "not the application"},
		{"a tampered hint", url.Values{"id_token_hint": {*tok.IdToken + "x"}}, "not issued here"},
		{"an access token as hint", url.Values{"id_token_hint": {tok.AccessToken}}, "not issued here"},
		{"another tenant's ID token", url.Values{"id_token_hint": {foreign}}, "not issued here"},
		{"another client than the hint's", url.Values{"id_token_hint": {*tok.IdToken}, "client_id": {"other"}}, "another application"},
		{"an unknown client", url.Values{"client_id": {"no-such-client"}}, "is not known"},
	} {
		t.Run(c.name, func(t *testing.T) { b.get(logoutURL(c.q)).errorPage(t, http.StatusBadRequest, c.text) })
	}
	if r := si.refresh(t, *tok.RefreshToken, ""); r.JSON200 == nil {
		t.Fatalf("refused logouts revoked something: %s", r.Body)
	} else {
		tok.RefreshToken = r.JSON200.RefreshToken
	}

	// Without a hint: the logout page asks the person first.
	ch := open(b.get(logoutURL(url.Values{"client_id": {si.app.ClientId}, "post_logout_redirect_uri": {appHome}, "state": {"s1"}})))
	if ch.Confirmed || ch.SessionID != "" || ch.PostLogoutRedirectURI != appHome || ch.State != "s1" || ch.ClientID != si.app.ClientId {
		t.Fatalf("logout challenge without a hint %+v", ch)
	}
	// An expired ID token is a fine hint.
	var id jwtClaims
	claimsOf(t, *tok.IdToken, &id)
	id["exp"], id["iat"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-3*time.Hour).Unix()
	expired, err := auth.SignJWS("JWT", kid, key, id)
	if err != nil {
		t.Fatal(err)
	}
	ch = open(b.post(si.URL+"/v1/tenants/acme/oauth2/logout", url.Values{"id_token_hint": {expired},
		"post_logout_redirect_uri": {appHome}, "state": {"s2"}, "ui_locales": {"de"}}))
	if !ch.Confirmed || ch.SessionID != "sid-"+si.kari || ch.ClientID != si.app.ClientId || ch.State != "s2" || ch.UILocales != "de" {
		t.Fatalf("logout challenge with a hint %+v", ch)
	}
	// What the session was issued is revoked.
	oauthError(t, si.refresh(t, *tok.RefreshToken, ""), 400, "invalid_grant")
	eventually(t, "the session's access token refused", func() bool {
		return si.userInfo(t, tok.AccessToken).StatusCode() == http.StatusUnauthorized
	})
}

// jwtClaims is a JWT's claims, loosely.
type jwtClaims map[string]any

// TestDiscovery: the tenant's OpenID provider metadata and RFC 8414 document name every
// endpoint and what they support, for the tenant's issuer.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	iss := auth.Issuer(issuerBase, "acme")
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(s.URL + "/v1/tenants/acme" + path)
		if err != nil {
			t.Fatal(err)
		}
		var m api.ServerMetadata
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		if m.Issuer != iss || m.AuthorizationEndpoint != iss+"/oauth2/authorize" || m.TokenEndpoint != iss+"/oauth2/token" ||
			deref(m.UserinfoEndpoint) != iss+"/oauth2/userinfo" || m.JwksUri != iss+"/oauth2/jwks" ||
			deref(m.EndSessionEndpoint) != iss+"/oauth2/logout" {
			t.Fatalf("%s endpoints: %+v", path, m)
		}
		if !slices.Equal(m.ResponseTypesSupported, []string{"code"}) || !slices.Equal(deref(m.CodeChallengeMethodsSupported), []string{"S256"}) ||
			!slices.Equal(m.IdTokenSigningAlgValuesSupported, []string{"EdDSA"}) || !slices.Equal(m.SubjectTypesSupported, []string{"public"}) ||
			!deref(m.AuthorizationResponseIssParameterSupported) || !slices.Contains(m.TokenEndpointAuthMethodsSupported, "none") ||
			slices.Contains(deref(m.IntrospectionEndpointAuthMethodsSupported), "none") {
			t.Fatalf("%s capabilities: %+v", path, m)
		}
		for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
			if !slices.Contains(m.GrantTypesSupported, g) {
				t.Fatalf("%s: grant %s missing", path, g)
			}
		}
		for _, sc := range []string{"openid", "profile", "email", "phone", "offline_access"} {
			if !slices.Contains(deref(m.ScopesSupported), sc) {
				t.Fatalf("%s: scope %s missing", path, sc)
			}
		}
		for _, c := range []string{"sub", "auth_time", "nonce", "at_hash", "email_verified", "preferred_username"} {
			if !slices.Contains(deref(m.ClaimsSupported), c) {
				t.Fatalf("%s: claim %s missing", path, c)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "no-store") {
			t.Fatalf("%s is public and cacheable, got Cache-Control %q", path, cc)
		}
	}
}

// TestClientMetadataForSignIn: redirect and post-logout redirect URIs obey the same rules
// (absolute, no fragment, no user information, https but for loopback), and the client's
// event carries what the consent screen shows.
func TestClientMetadataForSignIn(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		in    api.ClientInput
		field string
	}{
		{"redirect with user information", api.ClientInput{RedirectUris: &[]string{"https://app.example@evil.example/cb"}}, "redirectUris.0"},
		{"redirect with a fragment", api.ClientInput{RedirectUris: &[]string{"https://app.example/cb#x"}}, "redirectUris.0"},
		{"redirect over http", api.ClientInput{RedirectUris: &[]string{"http://app.example/cb"}}, "redirectUris.0"},
		{"relative redirect", api.ClientInput{RedirectUris: &[]string{"/cb"}}, "redirectUris.0"},
		{"post-logout redirect with a fragment", api.ClientInput{PostLogoutRedirectUris: &[]string{"https://app.example/#x"}}, "postLogoutRedirectUris.0"},
		{"post-logout redirect with user information", api.ClientInput{PostLogoutRedirectUris: &[]string{"https://u:p@app.example/"}}, "postLogoutRedirectUris.0"},
		{"code grant without a redirect", api.ClientInput{RedirectUris: &[]string{}}, "redirectUris"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.ClientName, in.Public = "app", ptr(true)
			in.GrantTypes = &[]api.ClientInputGrantTypes{api.AuthorizationCode}
			resp, err := s.admin.CreateClientWithResponse(ctx, "acme", in)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != 422 || !strings.Contains(string(resp.Body), `"`+c.field+`"`) {
				t.Fatalf("status %d %s, want 422 naming %s", resp.StatusCode(), resp.Body, c.field)
			}
		})
	}
	resp, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "SPA", Public: ptr(true),
		GrantTypes:   &[]api.ClientInputGrantTypes{api.AuthorizationCode, api.RefreshToken},
		RedirectUris: &[]string{"http://127.0.0.1:5173/callback", "https://spa.example/cb"}, PostLogoutRedirectUris: &[]string{"https://spa.example/"},
		Scopes: &[]string{"openid", "offline_access"}, PolicyUri: ptr("https://spa.example/privacy"), TosUri: ptr("https://spa.example/tos"),
		ConsentActionId: ptr("signup")})
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("create: %v %s", err, resp.Body)
	}
	c := resp.JSON201
	if c.TokenEndpointAuthMethod != "none" || c.ClientSecret != nil || deref(c.ConsentActionId) != "signup" ||
		!slices.Equal(deref(c.PostLogoutRedirectUris), []string{"https://spa.example/"}) || !slices.Equal(c.ResponseTypes, []string{"code"}) {
		t.Fatalf("public client %s", resp.Body)
	}
	ev, _ := s.lastEvent(t, "iam.acme.clients.client."+c.ClientId, func(events.Envelope) bool { return true })
	var st schema.ClientState
	if err := json.Unmarshal(ev.Data, &st); err != nil {
		t.Fatal(err)
	}
	if deref(st.PolicyUri) != "https://spa.example/privacy" || deref(st.TosUri) != "https://spa.example/tos" ||
		deref(st.ConsentActionId) != "signup" || !slices.Equal(deref(st.RedirectUris), []string{"http://127.0.0.1:5173/callback", "https://spa.example/cb"}) {
		t.Fatalf("client event %s", ev.Data)
	}
}

// TestUsersViewKeepsTheNewestState: the view of users applies an event only if it is
// newer than what it holds, so a stale copy arriving late (a redelivery, a republish)
// cannot unlock a locked person.
func TestUsersViewKeepsTheNewestState(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	entity := events.Entity{Tenant: "acme", Area: "subjects", Kind: "user", ID: "ola"}
	state := func(locked bool) schema.UserState {
		return schema.UserState{Id: "ola", SubjectId: "user-ola", Tenant: "acme", DisplayName: "Ola", UserType: schema.EMPLOYEE,
			IsAccountLocked: &locked}
	}
	s.publishVersion(t, "iam-subjects", entity, 20, false, state(true))
	s.awaitUser(t, "acme", "user-ola", func(locked, _ bool) bool { return locked })
	s.publishVersion(t, "iam-subjects", entity, 10, false, state(false))
	// Events of one consumer apply in stream order: once a later one is in, the stale one
	// has been seen (and dropped).
	s.publishUser(t, "acme", "sentinel", schema.UserState{DisplayName: "S"}, false)
	s.awaitUser(t, "acme", "user-sentinel", func(bool, bool) bool { return true })
	s.awaitUser(t, "acme", "user-ola", func(locked, _ bool) bool { return locked })
	// A tombstone keeps the person as deleted, without their data.
	s.publishVersion(t, "iam-subjects", entity, 30, true, schema.UserState{Id: "ola", SubjectId: "user-ola", Tenant: "acme",
		Deleted: true, UserType: schema.EMPLOYEE})
	s.awaitUser(t, "acme", "user-ola", func(_, deleted bool) bool { return deleted })
	var name string
	if err := s.DB.Get(&name, `SELECT display_name FROM users WHERE subject = 'user-ola'`); err != nil || name != "" {
		t.Fatalf("a deleted person keeps %q (%v)", name, err)
	}
}

// TestADeletedClientCannotRefresh: a deleted client's refresh tokens stop working with it.
func TestADeletedClientCannotRefresh(t *testing.T) {
	t.Parallel()
	si := mustStartSignIn(t)
	tok := si.mustTokens(t, si.kari, "openid offline_access")
	if resp, err := si.admin.DeleteClientWithResponse(context.Background(), "acme", si.app.ClientId); err != nil || resp.StatusCode() != 204 {
		t.Fatalf("delete: %v %d", err, resp.StatusCode())
	}
	oauthError(t, si.refresh(t, *tok.RefreshToken, ""), 401, "invalid_client")
	eventually(t, "the deleted client's access token refused", func() bool {
		return si.userInfo(t, tok.AccessToken).StatusCode() == http.StatusUnauthorized
	})
}
