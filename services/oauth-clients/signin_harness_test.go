package oauthclients_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/handshake"
	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// The sign-in tests drive the whole protocol over HTTP, as a browser and a client would.
// iam-subjects' login page and consent's consent page are stood in for by test keys that
// sign verdicts the way those services do; oauth-clients fetches their JWKS from httptest
// servers (IAM_LOGIN_JWKS_URL, IAM_CONSENT_JWKS_URL), exactly as it fetches the real ones.

const (
	appRedirect = "https://app.example/callback"
	appHome     = "https://app.example/"
	// appScopes are what the test application registers.
	appScopes = "openid profile email phone offline_access iam.user_read iam.group_read"
)

// signIn is oauth-clients with stand-ins for the login and consent pages and a public
// application registered in tenant acme.
type signIn struct {
	*stack
	login, consent *testenv.Issuer
	app            api.Client
	// kari is a person iam-subjects knows, entitled to iam.user_read.
	kari string
}

func mustStartSignIn(t *testing.T, extra ...map[string]string) *signIn {
	t.Helper()
	login, consent := testenv.NewIssuer(t), testenv.NewIssuer(t)
	env := map[string]string{"IAM_LOGIN_JWKS_URL": login.JWKSURL, "IAM_CONSENT_JWKS_URL": consent.JWKSURL}
	for _, e := range extra {
		for k, v := range e {
			env[k] = v
		}
	}
	si := &signIn{stack: mustStart(t, env), login: login, consent: consent, kari: "user-kari"}
	si.app = si.mustApp(t, "acme", true, strings.Fields(appScopes)...)
	si.publishUser(t, "acme", "kari", schema.UserState{DisplayName: "Kari Nordmann", Username: ptr("kari"),
		Email: ptr("kari@example.com"), EmailVerified: ptr(true), FirstName: ptr("Kari"), LastName: ptr("Nordmann"),
		PhoneNumber: ptr("+4712345678"), PreferredLanguage: ptr("nb")}, false)
	si.publishEntitlement(t, "acme", si.kari, "iam.user_read")
	si.awaitUser(t, "acme", si.kari, func(locked, deleted bool) bool { return !locked && !deleted })
	eventually(t, "kari's entitlements in the view", func() bool {
		var n int
		_ = si.DB.Get(&n, `SELECT count(*) FROM entitled_scopes WHERE tenant = 'acme' AND subject = $1`, si.kari)
		return n == 1
	})
	return si
}

// mustApp registers an application that signs people in: public (client_id only) or
// confidential (a secret).
func (si *signIn) mustApp(t *testing.T, tenant string, public bool, scopes ...string) api.Client {
	t.Helper()
	in := api.ClientInput{ClientName: "Web app", Public: &public,
		GrantTypes:   &[]api.ClientInputGrantTypes{api.AuthorizationCode, api.RefreshToken},
		RedirectUris: &[]string{appRedirect, "https://app.example/cb?tab=1"}, PostLogoutRedirectUris: &[]string{appHome},
		Scopes: &scopes, PolicyUri: ptr("https://app.example/privacy"), TosUri: ptr("https://app.example/tos"),
		ConsentActionId: ptr("signup")}
	resp, err := si.admin.CreateClientWithResponse(context.Background(), tenant, in)
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("create app: %v %s", err, resp.Body)
	}
	return *resp.JSON201
}

// publish puts an event on the embedded NATS as its owning service would, versioned now.
func (s *stack) publish(t *testing.T, service string, e events.Entity, deleted bool, data any) {
	t.Helper()
	s.publishVersion(t, service, e, time.Now().UnixMicro(), deleted, data)
}

// publishVersion puts an event of a given version on the embedded NATS.
func (s *stack) publishVersion(t *testing.T, service string, e events.Entity, version int64, deleted bool, data any) {
	t.Helper()
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, s.JetStream, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ev, err := events.New(events.SourceOf(service), e, version, deleted, data)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	if _, err := s.JetStream.Publish(ctx, ev.Subject, raw); err != nil {
		t.Fatal(err)
	}
}

// publishUser publishes iam-subjects' event of user id (state, or a tombstone).
func (s *stack) publishUser(t *testing.T, tenant, id string, st schema.UserState, deleted bool) {
	t.Helper()
	st.Id, st.SubjectId, st.Tenant, st.Deleted, st.UserType = id, "user-"+id, tenant, deleted, schema.EMPLOYEE
	s.publish(t, "iam-subjects", events.Entity{Tenant: tenant, Area: "subjects", Kind: "user", ID: id}, deleted, st)
}

// publishEntitlement publishes iam-policies' scope set of subject.
func (s *stack) publishEntitlement(t *testing.T, tenant, subject string, scopes ...string) {
	t.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	s.publish(t, "iam-policies", events.Entity{Tenant: tenant, Area: "policies", Kind: "scopes", ID: subject}, false,
		schema.ScopeSetState{Tenant: tenant, Subject: subject, Scopes: scopes})
}

// awaitUser waits until the view of users holds subject in a state cond accepts.
func (s *stack) awaitUser(t *testing.T, tenant, subject string, cond func(locked, deleted bool) bool) {
	t.Helper()
	eventually(t, "user "+subject+" in the view", func() bool {
		var row struct {
			Locked  bool `db:"locked"`
			Deleted bool `db:"deleted"`
		}
		err := s.DB.Get(&row, `SELECT locked, deleted FROM users WHERE tenant = $1 AND subject = $2`, tenant, subject)
		return err == nil && cond(row.Locked, row.Deleted)
	})
}

// browser is a person's browser: it keeps cookies and shows us every redirect instead of
// following it (the login and consent pages are played by the test).
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response with its body read.
type page struct {
	*http.Response
	body string
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	resp, err := b.client.Get(rawURL)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp, string(body)}
}

func (b *browser) post(rawURL string, form url.Values) page {
	b.t.Helper()
	resp, err := b.client.PostForm(rawURL, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp, string(body)}
}

// redirect is where p sends the browser (303), with its query; it fails on anything else.
func (p page) redirect(t *testing.T) (*url.URL, url.Values) {
	t.Helper()
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %s", p.StatusCode, p.body)
	}
	u, err := url.Parse(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u, u.Query()
}

// errorPage checks that p is our HTML error page with status and no redirect, and that
// it says text (in English).
func (p page) errorPage(t *testing.T, status int, text string) {
	t.Helper()
	if p.StatusCode != status || p.Header.Get("Location") != "" {
		t.Fatalf("status %d (Location %q), want %d and an error page; body %s", p.StatusCode, p.Header.Get("Location"), status, p.body)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("content type %q, want an HTML page", ct)
	}
	if !strings.Contains(p.body, text) {
		t.Fatalf("the page does not say %q: %s", text, p.body)
	}
	if !strings.Contains(p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("error page without the pages' CSP")
	}
}

// pkce is a client's PKCE pair.
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func random() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// request is an authorization request of the application.
func (si *signIn) request(p pkce, scope string) url.Values {
	return url.Values{"client_id": {si.app.ClientId}, "redirect_uri": {appRedirect}, "response_type": {"code"},
		"scope": {scope}, "state": {random()}, "nonce": {random()}, "code_challenge": {p.challenge},
		"code_challenge_method": {"S256"}}
}

func (si *signIn) authorizeURL(tenant string, q url.Values) string {
	return si.URL + "/v1/tenants/" + tenant + "/oauth2/authorize?" + q.Encode()
}

// keys are oauth-clients' published keys: challenges are verified with them, as the
// login and consent pages do.
func (si *signIn) keys() auth.KeySource {
	return &auth.RemoteJWKS{URL: si.URL + "/v1/tenants/system/oauth2/jwks"}
}

// loginChallenge follows p to the login page and opens its challenge.
func (si *signIn) loginChallenge(t *testing.T, tenant string, p page) handshake.LoginChallenge {
	t.Helper()
	u, q := p.redirect(t)
	if want := handshake.LoginURL(issuerBase, tenant, ""); !strings.HasPrefix(u.String(), want) {
		t.Fatalf("sent to %s, want the login page %s...", u, want)
	}
	var ch handshake.LoginChallenge
	if err := handshake.Open(context.Background(), si.keys(), q.Get("login_challenge"), handshake.TypLoginChallenge, &ch,
		handshake.AuthorizeIssuer(issuerBase, tenant), handshake.AudienceLogin, tenant, time.Now()); err != nil {
		t.Fatalf("login challenge: %v", err)
	}
	return ch
}

// loginClaims are what iam-subjects would answer to challenge: subject signed in now
// with a password, in a login session of its own.
func loginClaims(tenant, challenge, subject string) *handshake.LoginVerdict {
	return &handshake.LoginVerdict{Header: handshake.Header{Issuer: handshake.LoginIssuer(issuerBase, tenant),
		Audience: handshake.AudienceAuthorize, ID: random(), Tenant: tenant},
		Challenge: challenge, Subject: subject, AuthTime: time.Now().Unix(), AMR: []string{"pwd"}, SessionID: "sid-" + subject}
}

// sign signs an artefact as typ at a moment, with its lifetime.
func sign(t *testing.T, s handshake.Signer, typ string, c handshake.Claims, at time.Time) string {
	t.Helper()
	tok, err := handshake.Sign(context.Background(), s, typ, c, at, handshake.VerdictTTL)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// loginVerdict is iam-subjects' verdict on challenge: subject signed in.
func (si *signIn) loginVerdict(t *testing.T, tenant, challenge, subject string) string {
	t.Helper()
	return sign(t, si.login, handshake.TypLoginVerdict, loginClaims(tenant, challenge, subject), time.Now())
}

func (si *signIn) resumeURL(tenant, param, verdict string) string {
	return si.URL + "/v1/tenants/" + tenant + "/oauth2/authorize/resume?" + url.Values{param: {verdict}}.Encode()
}

// consentChallenge follows p to the consent page and opens its challenge.
func (si *signIn) consentChallenge(t *testing.T, tenant string, p page) handshake.ConsentChallenge {
	t.Helper()
	u, q := p.redirect(t)
	if want := handshake.ConsentURL(issuerBase, tenant, ""); !strings.HasPrefix(u.String(), want) {
		t.Fatalf("sent to %s, want the consent page %s...", u, want)
	}
	var ch handshake.ConsentChallenge
	if err := handshake.Open(context.Background(), si.keys(), q.Get("consent_challenge"), handshake.TypConsentChallenge, &ch,
		handshake.AuthorizeIssuer(issuerBase, tenant), handshake.AudienceConsent, tenant, time.Now()); err != nil {
		t.Fatalf("consent challenge: %v", err)
	}
	return ch
}

// consentClaims are consent's answer to ch: scope granted.
func consentClaims(tenant string, ch handshake.ConsentChallenge, scope string) *handshake.ConsentVerdict {
	return &handshake.ConsentVerdict{Header: handshake.Header{Issuer: handshake.ConsentIssuer(issuerBase, tenant),
		Audience: handshake.AudienceAuthorize, ID: random(), Tenant: tenant},
		Challenge: ch.ID, Subject: ch.Subject, ClientID: ch.ClientID, Scope: scope}
}

// consentVerdict is consent's verdict on ch: scope granted.
func (si *signIn) consentVerdict(t *testing.T, tenant string, ch handshake.ConsentChallenge, scope string) string {
	t.Helper()
	return sign(t, si.consent, handshake.TypConsentVerdict, consentClaims(tenant, ch, scope), time.Now())
}

// signedIn is an authorization that reached the application's redirect URI.
type signedIn struct {
	request  url.Values
	code     string
	response url.Values
	login    handshake.LoginChallenge
	consent  handshake.ConsentChallenge
}

// signInAs runs the whole browser side for subject in b: authorize, login, consent
// (granting grant, or everything offered when grant is "*"), and returns what reached
// the redirect URI.
func (si *signIn) signInAs(t *testing.T, b *browser, subject, scope, grant string, p pkce) signedIn {
	t.Helper()
	req := si.request(p, scope)
	login := si.loginChallenge(t, "acme", b.get(si.authorizeURL("acme", req)))
	consent := si.consentChallenge(t, "acme", b.get(si.resumeURL("acme", "login_verdict", si.loginVerdict(t, "acme", login.ID, subject))))
	if grant == "*" {
		grant = consent.Scope
	}
	u, q := b.get(si.resumeURL("acme", "consent_verdict", si.consentVerdict(t, "acme", consent, grant))).redirect(t)
	if got := u.Scheme + "://" + u.Host + u.Path; got != appRedirect {
		t.Fatalf("the code went to %s, want %s", u, appRedirect)
	}
	if q.Get("code") == "" || q.Get("state") != req.Get("state") || q.Get("iss") != auth.Issuer(issuerBase, "acme") {
		t.Fatalf("authorization response %v: want code, the request's state and iss", q)
	}
	return signedIn{request: req, code: q.Get("code"), response: q, login: login, consent: consent}
}

// exchange redeems code at the token endpoint as the public application.
func (si *signIn) exchange(t *testing.T, code, verifier string, edit ...func(url.Values)) *api.IssueTokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {si.app.ClientId}, "code": {code},
		"redirect_uri": {appRedirect}, "code_verifier": {verifier}}
	for _, e := range edit {
		e(form)
	}
	return postToken(t, si.stack, "acme", form)
}

// mustTokens signs subject in and exchanges the code.
func (si *signIn) mustTokens(t *testing.T, subject, scope string) api.TokenResponse {
	t.Helper()
	p := newPKCE()
	got := si.signInAs(t, newBrowser(t), subject, scope, "*", p)
	resp := si.exchange(t, got.code, p.verifier)
	if resp.JSON200 == nil {
		t.Fatalf("exchange: %d %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// refresh uses a refresh token as the public application.
func (si *signIn) refresh(t *testing.T, token, scope string) *api.IssueTokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {si.app.ClientId}, "refresh_token": {token}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postToken(t, si.stack, "acme", form)
}

// oauthError checks a token endpoint refusal.
func oauthError(t *testing.T, resp *api.IssueTokenResponse, status int, code string) {
	t.Helper()
	body := resp.JSON400
	if body == nil {
		body = resp.JSON401
	}
	if resp.StatusCode() != status || body == nil || body.Error != code || body.ErrorDescription == nil || *body.ErrorDescription == "" {
		t.Fatalf("got %d %s, want %d %s with a description", resp.StatusCode(), resp.Body, status, code)
	}
}

// claimsOf decodes a JWT's payload (the caller verifies it where that matters).
func claimsOf(t *testing.T, token string, into any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, into) != nil {
		t.Fatalf("JWT payload %s: %v", raw, err)
	}
}

// userInfo calls the UserInfo endpoint with token.
func (si *signIn) userInfo(t *testing.T, token string) *api.GetUserInfoResponse {
	t.Helper()
	resp, err := si.as(t, token).GetUserInfoWithResponse(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// count is the number of rows of a table (what was issued, for refusals that must issue
// nothing).
func (s *stack) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM `+table); err != nil {
		t.Fatal(err)
	}
	return n
}
