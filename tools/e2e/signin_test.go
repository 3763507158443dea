package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/iamplane/iam/tools/benchkit"
)

// signInApp is a platform with an app people sign in to, in its own tenant.
func signInApp(t *testing.T, people int) (*platform, *benchkit.App) {
	t.Helper()
	p := mustPlatform(t)
	token := mustToken(t, p.URL, "system", adminID, adminSecret)
	app, err := benchkit.NewApp(http.DefaultClient, p.URL, token, "oidc", "https://app.test/callback", people)
	if err != nil {
		t.Fatal(err)
	}
	return p, app
}

// TestRelyingParty: a third-party relying party (go-oidc with x/oauth2) discovers the
// tenant, signs a person in through the pages, verifies the ID token (signature, nonce,
// at_hash), reads userinfo and refreshes; a reused refresh token ends the family.
func TestRelyingParty(t *testing.T) {
	p, app := signInApp(t, 1)
	ctx := context.Background()
	issuer := p.URL + "/v1/tenants/oidc"
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: app.ClientID, Endpoint: provider.Endpoint(), RedirectURL: app.RedirectURI,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}
	verifier, state, nonce := oauth2.GenerateVerifier(), "state-1", "nonce-1"
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))

	browser := benchkit.NewBrowser()
	back, err := browser.SignIn(ctx, authURL, app.RedirectURI, app.People[0])
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if q.Get("state") != state || q.Get("iss") != issuer || q.Get("code") == "" {
		t.Fatalf("redirect back: %s", back)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: app.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idToken.Nonce != nonce || idToken.Subject != "user-"+app.PeopleIDs[0] {
		t.Fatalf("ID token nonce %q subject %q", idToken.Nonce, idToken.Subject)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != idToken.Subject || info.Email != app.People[0].Username+"@example.com" {
		t.Fatalf("userinfo %+v", info)
	}

	// /me through the gateway answers as the person.
	req, _ := http.NewRequest(http.MethodGet, p.URL+"/v1/tenants/oidc/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/me: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()

	// Refresh through x/oauth2 (expired access token), then reuse the old refresh token.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &old).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("the refresh token was not rotated")
	}
	_, err = conf.TokenSource(ctx, &old).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("reused refresh token: %v", err)
	}
	stale := *fresh
	stale.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, &stale).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("after reuse the whole family must be revoked; refresh answered %v", err)
	}
}

// TestSignInRefusals: what must not give anyone a token, end to end through the gateway.
func TestSignInRefusals(t *testing.T) {
	p, app := signInApp(t, 2)
	ctx := context.Background()
	signIn := func(t *testing.T, b *benchkit.Browser, at benchkit.Attempt, person benchkit.Person) string {
		t.Helper()
		back, err := b.SignIn(ctx, app.AuthorizeURL(at, nil), app.RedirectURI, person)
		if err != nil {
			t.Fatal(err)
		}
		if back.Query().Get("code") == "" {
			t.Fatalf("no code: %s", back)
		}
		return back.Query().Get("code")
	}

	t.Run("code replay revokes what the first exchange issued", func(t *testing.T) {
		at := benchkit.NewAttempt()
		code := signIn(t, benchkit.NewBrowser(), at, app.People[0])
		first, status, err := app.Exchange(http.DefaultClient, code, at)
		if err != nil || status != http.StatusOK {
			t.Fatalf("first exchange: %d %v %+v", status, err, first)
		}
		if again, status, _ := app.Exchange(http.DefaultClient, code, at); status != http.StatusBadRequest || again.Error != "invalid_grant" {
			t.Fatalf("second exchange: %d %+v", status, again)
		}
		if _, status, _ := app.Refresh(http.DefaultClient, first.RefreshToken); status != http.StatusBadRequest {
			t.Fatalf("refresh after code replay: %d", status)
		}
		waitRefused(t, p.URL+"/v1/tenants/oidc/me", first.AccessToken)
	})

	t.Run("a request without nonce and with a parameter we do not know succeeds", func(t *testing.T) {
		// OpenID Connect Core §3.1.2.1: nonce is optional in the code flow; RFC 6749 §3.1:
		// unrecognized parameters are ignored.
		at := benchkit.NewAttempt()
		u := app.AuthorizeURL(at, url.Values{"nonce": nil, "display": {"page"}, "x-unknown": {"1"}})
		back, err := benchkit.NewBrowser().SignIn(ctx, u, app.RedirectURI, app.People[0])
		if err != nil || back.Query().Get("code") == "" {
			t.Fatalf("%v %v", back, err)
		}
		if tok, status, err := app.Exchange(http.DefaultClient, back.Query().Get("code"), at); err != nil || status != http.StatusOK || tok.IDToken == "" {
			t.Fatalf("exchange: %d %v", status, err)
		}
	})

	t.Run("a request without state is refused at the redirect URI", func(t *testing.T) {
		u := app.AuthorizeURL(benchkit.NewAttempt(), url.Values{"state": nil})
		back, err := benchkit.NewBrowser().SignIn(ctx, u, app.RedirectURI, app.People[0])
		if err != nil || back.Query().Get("error") != "invalid_request" || back.Query().Get("code") != "" {
			t.Fatalf("%v %v", back, err)
		}
	})

	t.Run("PKCE verifier mismatch", func(t *testing.T) {
		at := benchkit.NewAttempt()
		code := signIn(t, benchkit.NewBrowser(), at, app.People[0])
		wrong := at
		wrong.Verifier = benchkit.NewAttempt().Verifier
		if tok, status, _ := app.Exchange(http.DefaultClient, code, wrong); status != http.StatusBadRequest || tok.Error != "invalid_grant" {
			t.Fatalf("exchange with the wrong verifier: %d %+v", status, tok)
		}
	})

	t.Run("redirect URI that is not registered is an error page, never a redirect", func(t *testing.T) {
		for _, redirect := range []string{"https://app.test/callback/../evil", "https://app.test/callbackx", "https://app.test:8081/callback",
			"https://evil.test/callback", "https://app.test@evil.test/callback", "https://app.test/callback?x=1"} {
			at := benchkit.NewAttempt()
			u := app.AuthorizeURL(at, url.Values{"redirect_uri": {redirect}})
			_, err := benchkit.NewBrowser().SignIn(ctx, u, "https://evil.test", app.People[0])
			var page *benchkit.ErrPage
			if !errors.As(err, &page) || page.Status != http.StatusBadRequest {
				t.Errorf("redirect_uri %s: %v", redirect, err)
			}
		}
	})

	t.Run("a second sign-in uses the session; prompt=login asks again; logout ends the session", func(t *testing.T) {
		b := benchkit.NewBrowser()
		signIn(t, b, benchkit.NewAttempt(), app.People[1])
		if b.Pages != 2 {
			t.Fatalf("first sign-in showed %d pages, want login and consent", b.Pages)
		}
		at := benchkit.NewAttempt()
		code := signIn(t, b, at, app.People[1])
		if b.Pages != 0 {
			t.Fatalf("with a session and consent given, the sign-in showed %d pages", b.Pages)
		}
		tok, status, err := app.Exchange(http.DefaultClient, code, at)
		if err != nil || status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, err)
		}
		u := app.AuthorizeURL(benchkit.NewAttempt(), url.Values{"prompt": {"login"}})
		if _, err := b.SignIn(ctx, u, app.RedirectURI, app.People[1]); err != nil || b.Pages != 1 {
			t.Fatalf("prompt=login: %v, %d pages", err, b.Pages)
		}
		logout := p.URL + "/v1/tenants/oidc/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken},
			"post_logout_redirect_uri": {app.PostLogoutURI}, "state": {"bye"}}.Encode()
		back, err := b.SignIn(ctx, logout, app.PostLogoutURI, app.People[1])
		if err != nil || back.Query().Get("state") != "bye" {
			t.Fatalf("logout: %v %v", back, err)
		}
		if _, status, _ := app.Refresh(http.DefaultClient, tok.RefreshToken); status != http.StatusBadRequest {
			t.Fatalf("refresh after logout: %d", status)
		}
		signIn(t, b, benchkit.NewAttempt(), app.People[1])
		if b.Pages != 1 {
			t.Fatalf("after logout the sign-in showed %d pages, want the login page", b.Pages)
		}
	})

	t.Run("withdrawn client access and a deleted user end refresh", func(t *testing.T) {
		at := benchkit.NewAttempt()
		tok, status, err := app.Exchange(http.DefaultClient, signIn(t, benchkit.NewBrowser(), at, app.People[0]), at)
		if err != nil || status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, err)
		}
		if err := app.Admin(http.MethodDelete, "/client-access/user-"+app.PeopleIDs[0]+"/"+app.ClientID, nil, http.StatusNoContent, nil); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, p.URL+"/v1/tenants/oidc/me", tok.AccessToken)
		if _, status, _ := app.Refresh(http.DefaultClient, tok.RefreshToken); status != http.StatusBadRequest {
			t.Fatalf("refresh after the access was withdrawn: %d", status)
		}

		at = benchkit.NewAttempt()
		tok, status, err = app.Exchange(http.DefaultClient, signIn(t, benchkit.NewBrowser(), at, app.People[0]), at)
		if err != nil || status != http.StatusOK {
			t.Fatalf("exchange after granting again: %d %v", status, err)
		}
		if err := app.Admin(http.MethodDelete, "/users/"+app.PeopleIDs[0], nil, http.StatusNoContent, nil); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, p.URL+"/v1/tenants/oidc/me", tok.AccessToken)
		if _, status, _ := app.Refresh(http.DefaultClient, tok.RefreshToken); status != http.StatusBadRequest {
			t.Fatalf("refresh after the user was deleted: %d", status)
		}
		_, err = benchkit.NewBrowser().SignIn(ctx, app.AuthorizeURL(benchkit.NewAttempt(), nil), app.RedirectURI, app.People[0])
		var page *benchkit.ErrPage
		if !errors.As(err, &page) {
			t.Fatalf("a deleted user signed in: %v", err)
		}
	})
}

// waitRefused waits until the platform refuses token at url (revocation travels by event).
func waitRefused(t *testing.T, u, token string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("token still accepted at %s after 5 s", u)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
