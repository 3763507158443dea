package iamsubjects_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	googleuuid "github.com/google/uuid"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/handshake"

	"github.com/iamplane/iam/services/iam-subjects/api"
)

// The sign-in pages, driven as a browser would (net/http with a cookie jar), with
// challenges signed by the test issuer as oauth-clients signs them, and verdicts checked
// the way oauth-clients will: against the service's published login JWKS.

// person is a user with a password.
type person struct {
	api.User
	password string
}

func (s *stack) mustPerson(tb testing.TB, username, password string) person {
	tb.Helper()
	u := s.mustUser(tb, username)
	s.mustSetPassword(tb, u.Id, password)
	return person{u, password}
}

func (s *stack) mustSetPassword(tb testing.TB, userID, password string) {
	tb.Helper()
	resp, err := s.admin.SetUserPasswordWithResponse(context.Background(), "acme", uuid(tb, userID), api.PasswordInput{Password: password})
	if err != nil || resp.StatusCode() != http.StatusNoContent {
		tb.Fatalf("set password: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
}

// loginChallenge signs a login challenge for tenant as oauth-clients would; change
// adjusts it before signing, at is when it is signed.
func (s *stack) loginChallenge(tb testing.TB, tenant string, change func(*handshake.LoginChallenge), at time.Time) (string, *handshake.LoginChallenge) {
	tb.Helper()
	ch := &handshake.LoginChallenge{Header: handshake.Header{Issuer: handshake.AuthorizeIssuer(s.Issuer.Base, tenant),
		Audience: handshake.AudienceLogin, ID: googleuuid.NewString(), Tenant: tenant}, ClientID: "app", ClientName: "Demo App"}
	if change != nil {
		change(ch)
	}
	typ := handshake.TypLoginChallenge
	if ch.Audience == "wrong-typ" {
		ch.Audience, typ = handshake.AudienceLogin, handshake.TypConsentChallenge
	}
	tok, err := handshake.Sign(context.Background(), s.Issuer, typ, ch, at, handshake.ChallengeTTL)
	if err != nil {
		tb.Fatal(err)
	}
	return tok, ch
}

func (s *stack) logoutChallenge(tb testing.TB, change func(*handshake.LogoutChallenge)) string {
	tb.Helper()
	ch := &handshake.LogoutChallenge{Header: handshake.Header{Issuer: handshake.AuthorizeIssuer(s.Issuer.Base, "acme"),
		Audience: handshake.AudienceLogin, ID: googleuuid.NewString(), Tenant: "acme"}, ClientID: "app"}
	if change != nil {
		change(ch)
	}
	tok, err := handshake.Sign(context.Background(), s.Issuer, handshake.TypLogoutChallenge, ch, time.Now(), handshake.ChallengeTTL)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// browser is one browser: its own cookies, never following redirects (a redirect to
// oauth-clients is the answer under test), from address (X-Forwarded-For, believed
// from loopback in the stacks that trust it).
type browser struct {
	s       *stack
	client  *http.Client
	address string
	headers map[string]string
}

func (s *stack) browser(tb testing.TB) *browser {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, headers: map[string]string{}, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer of a page.
type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

// hidden returns the value of a form's hidden input.
func (p page) hidden(tb testing.TB, name string) string {
	tb.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("no hidden %s in %d page: %s", name, p.status, p.body)
	}
	return html.UnescapeString(m[1])
}

func (b *browser) do(tb testing.TB, req *http.Request) page {
	tb.Helper()
	if b.address != "" {
		req.Header.Set("X-Forwarded-For", b.address)
	}
	for k, v := range b.headers {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(tb testing.TB, path string) page {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.s.URL+path, nil)
	return b.do(tb, req)
}

func (b *browser) post(tb testing.TB, path string, form url.Values) page {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(tb, req)
}

// open shows the login page for challenge.
func (b *browser) open(tb testing.TB, challenge string) page {
	tb.Helper()
	return b.get(tb, "/v1/tenants/acme/login?login_challenge="+url.QueryEscape(challenge))
}

// signIn submits the form of a login page shown before.
func (b *browser) signIn(tb testing.TB, form page, username, password string) page {
	tb.Helper()
	return b.post(tb, "/v1/tenants/acme/login", url.Values{"csrf_token": {form.hidden(tb, "csrf_token")},
		"login_challenge": {form.hidden(tb, "login_challenge")}, "username": {username}, "password": {password}})
}

// signedIn opens a fresh challenge (prompt=login: the password even with a session) and
// signs in with the password, returning the verdict.
func (b *browser) signedIn(tb testing.TB, username, password string) handshake.LoginVerdict {
	tb.Helper()
	challenge, _ := b.s.loginChallenge(tb, "acme", func(c *handshake.LoginChallenge) { c.Prompt = "login" }, time.Now())
	form := b.open(tb, challenge)
	if form.status != http.StatusOK {
		tb.Fatalf("login page: %d %s", form.status, form.body)
	}
	return b.s.verdict(tb, b.signIn(tb, form, username, password))
}

func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.s.URL + "/v1/tenants/acme/login")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "iam_session" {
			return c
		}
	}
	return nil
}

// verdict checks that p sends the browser to oauth-clients' resume endpoint and returns
// the verdict, verified as oauth-clients verifies it: against the published login JWKS.
func (s *stack) verdict(tb testing.TB, p page) handshake.LoginVerdict {
	tb.Helper()
	prefix := handshake.ResumeAfterLogin(s.Issuer.Base, "acme", "")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), prefix) {
		tb.Fatalf("not sent on to oauth-clients: %d %q %s", p.status, p.location(), p.body)
	}
	u, _ := url.Parse(p.location())
	var v handshake.LoginVerdict
	keys := &auth.RemoteJWKS{URL: s.URL + "/v1/tenants/system/login/jwks"}
	if err := handshake.Open(context.Background(), keys, u.Query().Get("login_verdict"), handshake.TypLoginVerdict, &v,
		handshake.LoginIssuer(s.Issuer.Base, "acme"), handshake.AudienceAuthorize, "acme", time.Now()); err != nil {
		tb.Fatalf("verdict does not verify: %v", err)
	}
	return v
}

// wantPage checks that p is an HTML page with status and text, never a redirect or JSON.
func wantPage(tb testing.TB, p page, status int, text string) {
	tb.Helper()
	if p.status != status || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.body, text) {
		tb.Fatalf("want a %d page saying %q, got %d %s %q: %s", status, text, p.status, p.header.Get("Content-Type"), p.location(), p.body)
	}
}

func TestLoginSignsInWithAVerdict(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	jane := s.mustPerson(t, "jane", "correct horse battery")
	b := s.browser(t)
	challenge, ch := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.LoginHint = "jane" }, time.Now())

	form := b.open(t, challenge)
	wantPage(t, form, http.StatusOK, "Demo App")
	for _, want := range []string{`<label for="username">`, `id="username" name="username" value="jane"`,
		`<label for="password">`, `id="password" name="password"`, `type="submit"`, `action="/v1/tenants/acme/login"`} {
		if !strings.Contains(form.body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if csp := form.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script") {
		t.Errorf("CSP %q", csp)
	}

	before := time.Now().Add(-time.Second).Unix()
	answer := b.signIn(t, form, "jane", "correct horse battery")
	v := s.verdict(t, answer)
	if v.Subject != "user-"+jane.Id || v.Challenge != ch.ID || !slices.Equal(v.AMR, []string{"pwd"}) || v.SessionID == "" ||
		v.AuthTime < before || v.AuthTime > time.Now().Unix() || v.Error != "" || v.Tenant != "acme" || v.ID == "" {
		t.Fatalf("verdict %+v", v)
	}
	if v.ExpiresAt-v.IssuedAt != int64(handshake.VerdictTTL/time.Second) {
		t.Errorf("verdict lives %d s", v.ExpiresAt-v.IssuedAt)
	}
	cookie := answer.header.Get("Set-Cookie")
	for _, want := range []string{"iam_session=", "Path=/v1/tenants/acme/login", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("Secure over plain HTTP: %q", cookie)
	}
	if sc := b.sessionCookie(); sc == nil || strings.Contains(sc.Value, v.SessionID) {
		t.Fatalf("session cookie %v names the public session id %s", sc, v.SessionID)
	}

	t.Run("by email, in any case, with a Secure cookie over TLS", func(t *testing.T) {
		s.setEmail(t, jane.Id, "jane", "Jane@Example.com")
		tls := s.browser(t)
		tls.headers["X-Forwarded-Proto"] = "https"
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := tls.open(t, challenge)
		answer := tls.signIn(t, form, "jane@example.COM", "correct horse battery")
		if v := s.verdict(t, answer); v.Subject != "user-"+jane.Id {
			t.Fatalf("verdict %+v", v)
		}
		if !strings.Contains(answer.header.Get("Set-Cookie"), "Secure") {
			t.Errorf("no Secure cookie over TLS: %q", answer.header.Get("Set-Cookie"))
		}
	})

	t.Run("the page speaks the ui_locales, then the Accept-Language", func(t *testing.T) {
		de, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.UILocales = "de-CH en" }, time.Now())
		wantPage(t, s.browser(t).open(t, de), http.StatusOK, "Benutzername oder E-Mail")
		nb := s.browser(t)
		nb.headers["Accept-Language"] = "nn-NO, en;q=0.5"
		plain, _ := s.loginChallenge(t, "acme", nil, time.Now())
		wantPage(t, nb.open(t, plain), http.StatusOK, "Brukernavn eller e-post")
	})
}

func (s *stack) setEmail(tb testing.TB, userID, username, email string) {
	tb.Helper()
	ctx := context.Background()
	cur, err := s.admin.GetUserWithResponse(ctx, "acme", uuid(tb, userID), nil)
	if err != nil || cur.JSON200 == nil {
		tb.Fatalf("get user: %v", err)
	}
	resp, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(tb, userID), nil, api.UserInput{Username: &username,
		Email: ptr(apiEmail(email)), FirstName: cur.JSON200.FirstName, LastName: cur.JSON200.LastName,
		Metadata: &api.MetadataInput{Version: cur.JSON200.Metadata.Version}})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("set email: %v %s", err, resp.Body)
	}
}

func (s *stack) setLocked(tb testing.TB, userID string, locked bool) {
	tb.Helper()
	ctx := context.Background()
	cur, err := s.admin.GetUserWithResponse(ctx, "acme", uuid(tb, userID), nil)
	if err != nil || cur.JSON200 == nil {
		tb.Fatalf("get user: %v", err)
	}
	u := cur.JSON200
	resp, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(tb, userID), nil, api.UserInput{Username: u.Username,
		FirstName: u.FirstName, LastName: u.LastName, IsAccountLocked: &locked, Metadata: &api.MetadataInput{Version: u.Metadata.Version}})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("lock: %v %s", err, resp.Body)
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	s.mustPerson(t, "jane", "correct horse battery")
	locked := s.mustPerson(t, "lars", "lars' long passphrase")
	s.setLocked(t, locked.Id, true)
	s.mustUser(t, "nopass")

	t.Run("a wrong password shows the form again, the challenge unused", func(t *testing.T) {
		b := s.browser(t)
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		wrong := b.signIn(t, form, "jane", "correct horse batterY")
		wantPage(t, wrong, http.StatusUnauthorized, "Wrong username or password.")
		if wrong.location() != "" || wrong.hidden(t, "login_challenge") != challenge || !strings.Contains(wrong.body, `value="jane"`) {
			t.Fatalf("not the form again for the same challenge: %s", wrong.body)
		}
		if b.sessionCookie() != nil {
			t.Fatal("a session after a wrong password")
		}
		s.verdict(t, b.signIn(t, wrong, "jane", "correct horse battery"))
	})

	t.Run("an unknown user and a user without a password look like a wrong password", func(t *testing.T) {
		b := s.browser(t)
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		wantPage(t, b.signIn(t, form, "nobody", "correct horse battery"), http.StatusUnauthorized, "Wrong username or password.")
		wantPage(t, b.signIn(t, form, "nopass", "correct horse battery"), http.StatusUnauthorized, "Wrong username or password.")
	})

	t.Run("a locked account is said to be locked only after its right password", func(t *testing.T) {
		b := s.browser(t)
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		wrong := b.signIn(t, form, "lars", "not lars' passphrase")
		wantPage(t, wrong, http.StatusUnauthorized, "Wrong username or password.")
		if strings.Contains(wrong.body, "locked") {
			t.Fatal("a wrong password learns that the account is locked")
		}
		wantPage(t, b.signIn(t, form, "lars", "lars' long passphrase"), http.StatusForbidden, "Your account is locked.")
		if b.sessionCookie() != nil {
			t.Fatal("a locked user got a session")
		}
	})

	t.Run("a challenge works once", func(t *testing.T) {
		b := s.browser(t)
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		s.verdict(t, b.signIn(t, form, "jane", "correct horse battery"))
		wantPage(t, b.open(t, challenge), http.StatusConflict, "already been used")
		wantPage(t, b.signIn(t, form, "jane", "correct horse battery"), http.StatusConflict, "already been used")
		wantPage(t, s.browser(t).open(t, challenge), http.StatusConflict, "already been used")
	})

	t.Run("challenges not meant for this page are refused with a page", func(t *testing.T) {
		valid, _ := s.loginChallenge(t, "acme", nil, time.Now())
		parts := strings.Split(valid, ".")
		tamperedClaims := parts[0] + "." + parts[1][:len(parts[1])-2] + "xx." + parts[2]
		expired, _ := s.loginChallenge(t, "acme", nil, time.Now().Add(-handshake.ChallengeTTL-time.Minute))
		otherTenant, _ := s.loginChallenge(t, "globex", nil, time.Now())
		wrongTyp, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Audience = "wrong-typ" }, time.Now())
		consentAudience, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Audience = handshake.AudienceConsent }, time.Now())
		otherIssuer, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Issuer = "https://evil.example/v1/tenants/acme" }, time.Now())
		for name, challenge := range map[string]string{
			"tampered": tamperedClaims, "expired": expired, "another tenant's": otherTenant, "a consent challenge": wrongTyp,
			"meant for the consent page": consentAudience, "another issuer's": otherIssuer, "not a JWS": "hello",
		} {
			t.Run(name, func(t *testing.T) {
				wantPage(t, s.browser(t).open(t, challenge), http.StatusBadRequest, "invalid or has expired")
			})
		}
		t.Run("none at all", func(t *testing.T) {
			wantPage(t, s.browser(t).get(t, "/v1/tenants/acme/login"), http.StatusBadRequest, "login_challenge is missing")
		})
		t.Run("a malformed tenant", func(t *testing.T) {
			wantPage(t, s.browser(t).get(t, "/v1/tenants/Acme_Corp/login?login_challenge=x"), http.StatusBadRequest, "tenant")
		})
		t.Run("a page that does not exist", func(t *testing.T) {
			wantPage(t, s.browser(t).get(t, "/v1/tenants/acme/login/elsewhere"), http.StatusNotFound, "does not exist")
		})
		t.Run("NUL in the form", func(t *testing.T) {
			b := s.browser(t)
			form := b.open(t, valid)
			wantPage(t, b.post(t, "/v1/tenants/acme/login", url.Values{"csrf_token": {form.hidden(t, "csrf_token")},
				"login_challenge": {valid}, "username": {"ja\x00ne"}, "password": {"x"}}), http.StatusBadRequest, "not valid")
		})
	})

	t.Run("the form needs its CSRF token", func(t *testing.T) {
		b := s.browser(t)
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		creds := url.Values{"login_challenge": {challenge}, "username": {"jane"}, "password": {"correct horse battery"}}
		wantPage(t, b.post(t, "/v1/tenants/acme/login", creds), http.StatusForbidden, "did not come from this page")
		creds.Set("csrf_token", form.hidden(t, "csrf_token")+"x")
		wantPage(t, b.post(t, "/v1/tenants/acme/login", creds), http.StatusForbidden, "did not come from this page")
		// Another browser's token (a page of another site cannot read ours).
		creds.Set("csrf_token", s.browser(t).open(t, challenge).hidden(t, "csrf_token"))
		wantPage(t, b.post(t, "/v1/tenants/acme/login", creds), http.StatusForbidden, "did not come from this page")
		s.verdict(t, b.signIn(t, form, "jane", "correct horse battery")) // the challenge is still good
	})
}

func TestLoginSessions(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	jane := s.mustPerson(t, "jane", "correct horse battery")
	b := s.browser(t)
	first := b.signedIn(t, "jane", "correct horse battery")
	firstCookie := b.sessionCookie()

	t.Run("a second application signs in without the password", func(t *testing.T) {
		challenge, ch := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.ClientID = "second-app" }, time.Now())
		v := s.verdict(t, b.open(t, challenge))
		if v.Subject != first.Subject || v.SessionID != first.SessionID || v.AuthTime != first.AuthTime || v.Challenge != ch.ID {
			t.Fatalf("verdict %+v after %+v", v, first)
		}
		wantPage(t, b.open(t, challenge), http.StatusConflict, "already been used")
	})

	t.Run("prompt=login asks for the password again", func(t *testing.T) {
		challenge, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Prompt = "login" }, time.Now())
		wantPage(t, b.open(t, challenge), http.StatusOK, `id="password"`)
	})

	t.Run("max_age", func(t *testing.T) {
		recent, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.MaxAge = ptr[int64](3600) }, time.Now())
		s.verdict(t, b.open(t, recent))
		time.Sleep(1100 * time.Millisecond)
		now, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.MaxAge = ptr[int64](0) }, time.Now())
		wantPage(t, b.open(t, now), http.StatusOK, `id="password"`)
	})

	t.Run("prompt=none", func(t *testing.T) {
		withSession, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Prompt = "none" }, time.Now())
		if v := s.verdict(t, b.open(t, withSession)); v.Subject != first.Subject || v.Error != "" {
			t.Fatalf("verdict %+v", v)
		}
		without, ch := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Prompt = "none" }, time.Now())
		v := s.verdict(t, s.browser(t).open(t, without))
		if v.Error != handshake.ErrLoginRequired || v.Subject != "" || v.Challenge != ch.ID {
			t.Fatalf("verdict %+v", v)
		}
		tooOld, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Prompt, c.MaxAge = "none", ptr[int64](0) }, time.Now())
		if v := s.verdict(t, b.open(t, tooOld)); v.Error != handshake.ErrLoginRequired {
			t.Fatalf("max_age=0 with prompt=none: %+v", v)
		}
	})

	t.Run("every sign-in rotates the session", func(t *testing.T) {
		second := b.signedIn(t, "jane", "correct horse battery")
		if second.SessionID == first.SessionID || b.sessionCookie().Value == firstCookie.Value {
			t.Fatal("same session after signing in again")
		}
		// The old cookie (say, planted before, or copied) is worth nothing now.
		old := s.browser(t)
		u, _ := url.Parse(s.URL + "/v1/tenants/acme/login")
		old.client.Jar.SetCookies(u, []*http.Cookie{firstCookie})
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		wantPage(t, old.open(t, challenge), http.StatusOK, `id="password"`)
		var sessions int
		if err := s.DB.Get(&sessions, `SELECT count(*) FROM login_sessions WHERE user_id = $1`, jane.Id); err != nil || sessions != 1 {
			t.Fatalf("%d sessions (%v)", sessions, err)
		}
	})

	t.Run("a session is stored by its hash only", func(t *testing.T) {
		var plain, hashed int
		token := b.sessionCookie().Value
		if err := s.DB.Get(&plain, `SELECT count(*) FROM login_sessions WHERE token_hash = convert_to($1, 'UTF8') OR id = $1`, token); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.Get(&hashed, `SELECT count(*) FROM login_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, token); err != nil {
			t.Fatal(err)
		}
		if plain != 0 || hashed != 1 {
			t.Fatalf("cookie value stored as is: %d, as its SHA-256: %d", plain, hashed)
		}
	})

	t.Run("another tenant's pages do not take the session", func(t *testing.T) {
		other := s.browser(t)
		u, _ := url.Parse(s.URL + "/v1/tenants/globex/login")
		other.client.Jar.SetCookies(u, []*http.Cookie{{Name: "iam_session", Value: b.sessionCookie().Value, Path: "/v1/tenants/globex/login"}})
		globex, _ := s.loginChallenge(t, "globex", nil, time.Now())
		wantPage(t, other.get(t, "/v1/tenants/globex/login?login_challenge="+url.QueryEscape(globex)), http.StatusOK, `id="password"`)
	})

	t.Run("locking the user ends the session; unlocking does not bring it back", func(t *testing.T) {
		s.setLocked(t, jane.Id, true)
		s.setLocked(t, jane.Id, false)
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		wantPage(t, b.open(t, challenge), http.StatusOK, `id="password"`)
	})

	t.Run("deleting the user ends the session", func(t *testing.T) {
		b.signedIn(t, "jane", "correct horse battery")
		if resp, err := s.admin.DeleteUserWithResponse(context.Background(), "acme", uuid(t, jane.Id), nil); err != nil || resp.StatusCode() != 204 {
			t.Fatalf("delete: %v", err)
		}
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		wantPage(t, b.open(t, challenge), http.StatusOK, `id="password"`)
	})
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	s := mustStart(t, map[string]string{"IAM_LOGIN_FAILURES_FREE": "2", "IAM_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"})
	s.mustPerson(t, "jane", "correct horse battery")
	guesser := s.browser(t)
	guesser.address = "192.0.2.66"
	challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
	form := guesser.open(t, challenge)
	guess := func() page { return guesser.signIn(t, form, "jane", "not the password") }

	wantPage(t, guess(), http.StatusUnauthorized, "Wrong username or password.")
	wantPage(t, guess(), http.StatusUnauthorized, "Wrong username or password.")
	wantPage(t, guess(), http.StatusUnauthorized, "Wrong username or password.") // 3rd: now waits 1 s
	waited := guesser.signIn(t, form, "jane", "correct horse battery")           // even the right one is not checked
	wantPage(t, waited, http.StatusTooManyRequests, "Wait 1 seconds")
	if waited.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", waited.header.Get("Retry-After"))
	}
	time.Sleep(1100 * time.Millisecond)
	wantPage(t, guess(), http.StatusUnauthorized, "Wrong username or password.") // 4th: now waits 2 s
	if again := guess(); again.status != http.StatusTooManyRequests || again.header.Get("Retry-After") != "2" {
		t.Fatalf("the wait did not grow: %d Retry-After %q", again.status, again.header.Get("Retry-After"))
	}

	t.Run("the right password from an address that has not failed still passes", func(t *testing.T) {
		home := s.browser(t)
		home.address = "198.51.100.7"
		s.verdict(t, home.signedInAt(t, "jane", "correct horse battery"))
	})

	t.Run("an unknown user is throttled alike", func(t *testing.T) {
		var statuses []int
		for range 4 {
			statuses = append(statuses, guesser.signIn(t, form, "nobody", "not the password").status)
		}
		if !slices.Equal(statuses, []int{401, 401, 401, 429}) {
			t.Fatalf("statuses %v", statuses)
		}
	})

	t.Run("after the wait, the right password passes and forgets the failures", func(t *testing.T) {
		time.Sleep(2100 * time.Millisecond)
		s.verdict(t, guesser.signIn(t, form, "jane", "correct horse battery"))
		next, _ := s.loginChallenge(t, "acme", func(c *handshake.LoginChallenge) { c.Prompt = "login" }, time.Now())
		form := guesser.open(t, next)
		wantPage(t, guesser.signIn(t, form, "jane", "wrong again"), http.StatusUnauthorized, "Wrong username or password.")
		wantPage(t, guesser.signIn(t, form, "jane", "wrong again"), http.StatusUnauthorized, "Wrong username or password.")
	})
}

// signedInAt signs in with a fresh challenge and returns the page that answers it.
func (b *browser) signedInAt(tb testing.TB, username, password string) page {
	tb.Helper()
	challenge, _ := b.s.loginChallenge(tb, "acme", nil, time.Now())
	return b.signIn(tb, b.open(tb, challenge), username, password)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	s.mustPerson(t, "jane", "correct horse battery")
	signedIn := func() (*browser, handshake.LoginVerdict) {
		b := s.browser(t)
		return b, b.signedIn(t, "jane", "correct horse battery")
	}
	stillSignedIn := func(b *browser) bool {
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		return b.open(t, challenge).status == http.StatusSeeOther
	}

	t.Run("confirmed: signs out at once and goes back to the client with state", func(t *testing.T) {
		b, _ := signedIn()
		challenge := s.logoutChallenge(t, func(c *handshake.LogoutChallenge) {
			c.Confirmed, c.PostLogoutRedirectURI, c.State = true, "https://app.example/bye?x=1", "st4te"
		})
		p := b.get(t, "/v1/tenants/acme/login/logout?logout_challenge="+url.QueryEscape(challenge))
		if p.status != http.StatusSeeOther || p.location() != "https://app.example/bye?state=st4te&x=1" {
			t.Fatalf("%d %q %s", p.status, p.location(), p.body)
		}
		if c := p.header.Get("Set-Cookie"); !strings.Contains(c, "iam_session=;") || !strings.Contains(c, "Max-Age=0") {
			t.Errorf("cookie not cleared: %q", c)
		}
		if stillSignedIn(b) {
			t.Fatal("still signed in")
		}
		wantPage(t, b.get(t, "/v1/tenants/acme/login/logout?logout_challenge="+url.QueryEscape(challenge)), http.StatusConflict, "already been used")
	})

	t.Run("confirmed with the session's sid: that session ends wherever it is", func(t *testing.T) {
		b, v := signedIn()
		elsewhere := s.browser(t) // e.g. the back channel of the application, without the cookie
		challenge := s.logoutChallenge(t, func(c *handshake.LogoutChallenge) { c.Confirmed, c.SessionID = true, v.SessionID })
		wantPage(t, elsewhere.get(t, "/v1/tenants/acme/login/logout?logout_challenge="+url.QueryEscape(challenge)), http.StatusOK, "You are signed out")
		if stillSignedIn(b) {
			t.Fatal("the session named by sid survived")
		}
	})

	t.Run("unconfirmed: asks first, with a CSRF-protected form", func(t *testing.T) {
		b, _ := signedIn()
		challenge := s.logoutChallenge(t, func(c *handshake.LogoutChallenge) { c.UILocales = "nb" })
		ask := b.get(t, "/v1/tenants/acme/login/logout?logout_challenge="+url.QueryEscape(challenge))
		wantPage(t, ask, http.StatusOK, "Vil du logge ut?")
		if !stillSignedIn(b) {
			t.Fatal("a link alone signed the person out")
		}
		wantPage(t, b.post(t, "/v1/tenants/acme/login/logout", url.Values{"logout_challenge": {challenge}}), http.StatusForbidden, "did not come from this page")
		if !stillSignedIn(b) {
			t.Fatal("a forged form signed the person out")
		}
		done := b.post(t, "/v1/tenants/acme/login/logout", url.Values{"logout_challenge": {ask.hidden(t, "logout_challenge")},
			"csrf_token": {ask.hidden(t, "csrf_token")}})
		wantPage(t, done, http.StatusOK, "Du er logget ut")
		if stillSignedIn(b) {
			t.Fatal("still signed in")
		}
	})

	t.Run("bad logout challenges are pages", func(t *testing.T) {
		login, _ := s.loginChallenge(t, "acme", nil, time.Now())
		wantPage(t, s.browser(t).get(t, "/v1/tenants/acme/login/logout?logout_challenge="+url.QueryEscape(login)), http.StatusBadRequest, "sign-out link is invalid")
		wantPage(t, s.browser(t).get(t, "/v1/tenants/acme/login/logout"), http.StatusBadRequest, "logout_challenge is missing")
	})
}

func TestLoginJWKS(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	for _, tenant := range []string{"system", "acme"} {
		resp, err := http.Get(s.URL + "/v1/tenants/" + tenant + "/login/jwks")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		keys, err := auth.ParseJWKS(body)
		if err != nil || len(keys) != 1 || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v %s", tenant, resp.StatusCode, err, body)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || resp.Header.Get("Pragma") != "" {
			t.Errorf("key set not cacheable: %q", cc)
		}
		if age, _ := strconv.Atoi(strings.TrimPrefix(resp.Header.Get("Cache-Control"), "public, max-age=")); age < 60 || age > 600 {
			t.Errorf("cacheable for %d s", age)
		}
	}
}
