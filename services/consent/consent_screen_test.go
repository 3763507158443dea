package consent_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	googleuuid "github.com/google/uuid"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/handshake"
	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/postgres"
)

// screen is the consent service with what its consent screen shows in tenant acme, fed
// the way production feeds it: consents and a consent action through the API, clients
// and scope definitions as oauth-clients' events on NATS. The action "shop-signup" asks
// for a required licence agreement (eula, which cannot be withdrawn) and an optional
// newsletter (news). Clients: shop (asks for the action) and portal (the same, trusted).
type screen struct {
	*stack
	eula, news api.Consent
	action     api.ConsentAction
	clientVer  int64
}

var consentTexts = map[string]map[string]api.ConsentText{
	"eula": {"en": {Title: "Licence agreement", Description: ptr("The terms under which you may use the shop.")},
		"de": {Title: "Lizenzvereinbarung", Description: ptr("Die Bedingungen, unter denen Sie den Shop nutzen.")},
		"nb": {Title: "Lisensavtale", Description: ptr("Vilkårene for å bruke butikken.")}},
	"news": {"en": {Title: "Newsletter", Description: ptr("News and offers by email.")},
		"de": {Title: "Newsletter (deutsch)", Description: ptr("Neuigkeiten und Angebote per E-Mail.")},
		"nb": {Title: "Nyhetsbrev", Description: ptr("Nyheter og tilbud på e-post.")}},
}

func mustScreen(tb testing.TB) *screen {
	tb.Helper()
	s := &screen{stack: mustStart(tb)}
	s.eula = s.createConsent(tb, "eula", "End user licence agreement", false)
	s.news = s.createConsent(tb, "news", "The newsletter", true)
	required := true
	resp, err := s.admin.CreateConsentActionWithResponse(context.Background(), "acme", api.ConsentActionInput{Name: "shop-signup",
		Consents: &[]api.ActionConsent{{ConsentId: s.eula.Id, Required: &required}, {ConsentId: s.news.Id}}})
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("create action: %v %s", err, resp.Body)
	}
	s.action = *resp.JSON201
	s.putClient(tb, "shop", false)
	s.putClient(tb, "portal", true)
	s.publish(tb, "clients", "scope", "invoices~read", 1, false, map[string]any{"name": "invoices.read", "tenant": "acme", "displayName": "Read invoices",
		"description": "See your invoices and their payments.", "userPolicyId": "", "developerPolicyId": "", "builtIn": false, "deleted": false})
	// Built-in scopes are defined once, in the system tenant; OpenID's have texts of the
	// screen's own, which win over the definition's.
	s.publishSystemScope(tb, "openid", "OpenID")
	within(tb, 10*time.Second, "the views of clients and scopes", func() bool {
		var n int
		if err := s.DB.Get(&n, `SELECT (SELECT count(*) FROM client_view WHERE tenant = 'acme' AND consent_action_id = $1)
			+ (SELECT count(*) FROM scope_view WHERE name IN ('invoices.read', 'openid'))`, s.action.Id); err != nil {
			tb.Fatal(err)
		}
		return n == 4
	})
	return s
}

func (s *screen) createConsent(tb testing.TB, name, description string, withdrawable bool) api.Consent {
	tb.Helper()
	texts := api.ConsentTexts(consentTexts[name])
	resp, err := s.admin.CreateConsentWithResponse(context.Background(), "acme", api.ConsentInput{Name: name, Description: &description,
		CanBeWithdrawn: &withdrawable, Texts: &texts})
	if err != nil || resp.JSON201 == nil {
		tb.Fatalf("create consent: %v %s", err, resp.Body)
	}
	return *resp.JSON201
}

// newVersion updates c (everyone must consent again) and returns its new state.
func (s *screen) newVersion(tb testing.TB, c api.Consent) api.Consent {
	tb.Helper()
	strategy := api.ExplicitAll
	resp, err := s.admin.UpdateConsentWithResponse(context.Background(), "acme", c.Id, api.ConsentInput{Name: c.Name,
		Description: c.Description, CanBeWithdrawn: &c.CanBeWithdrawn, Texts: c.Texts, UpdateExistingGrants: &strategy,
		Metadata: &api.WritableMetadata{Version: c.Version}})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("update consent: %v %s", err, resp.Body)
	}
	return *resp.JSON200
}

// putClient publishes oauth-clients' state of a client that asks for the shop-signup
// action; each call publishes a newer version.
func (s *screen) putClient(tb testing.TB, id string, trusted bool) {
	tb.Helper()
	s.clientVer++
	s.publish(tb, "clients", "client", id, s.clientVer, false, map[string]any{"clientId": id, "tenant": "acme", "clientName": strings.ToUpper(id[:1]) + id[1:],
		"logoUri": "https://" + id + ".example/logo.png", "clientUri": "https://" + id + ".example/", "policyUri": "https://" + id + ".example/privacy",
		"tosUri": "https://" + id + ".example/terms", "consentActionId": s.action.Id,
		"scopes": []string{}, "grantTypes": []string{"authorization_code"}, "public": true, "system": false, "trusted": trusted, "deleted": false})
}

func (s *screen) publishSystemScope(tb testing.TB, name, displayName string) {
	tb.Helper()
	ev, err := events.New(events.SourceOf("oauth-clients"), events.Entity{Tenant: "system", Area: "clients", Kind: "scope", ID: name}, 1, false,
		map[string]any{"name": name, "tenant": "system", "displayName": displayName, "description": "", "userPolicyId": "",
			"developerPolicyId": "", "builtIn": true, "deleted": false})
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	if _, err := s.JetStream.Publish(context.Background(), ev.Subject, raw); err != nil {
		tb.Fatal(err)
	}
}

// challengeOf is a consent challenge as oauth-clients makes it, to change before signing.
func challengeOf(tenant, subject, clientID, scope string) handshake.ConsentChallenge {
	return handshake.ConsentChallenge{Header: handshake.Header{Audience: handshake.AudienceConsent, ID: googleuuid.NewString(), Tenant: tenant},
		Subject: subject, ClientID: clientID, Scope: scope}
}

// sign signs ch with the test issuer (the keys the service trusts as oauth-clients'), as
// issued at, with the issuer of ch's tenant unless ch names one.
func (s *screen) sign(tb testing.TB, typ string, ch handshake.ConsentChallenge, at time.Time) string {
	tb.Helper()
	if ch.Issuer == "" {
		ch.Issuer = handshake.AuthorizeIssuer(s.Issuer.Base, ch.Tenant)
	}
	token, err := handshake.Sign(context.Background(), s.Issuer, typ, &ch, at, handshake.ChallengeTTL)
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

// challenge is a fresh, valid challenge of user-u1 in acme.
func (s *screen) challenge(tb testing.TB, clientID, scope, prompt string) string {
	tb.Helper()
	ch := challengeOf("acme", "user-u1", clientID, scope)
	ch.Prompt = prompt
	return s.sign(tb, handshake.TypConsentChallenge, ch, time.Now())
}

// browser is a person's browser: cookies kept, redirects not followed (they lead to
// oauth-clients, which is not running here).
type browser struct {
	base           string
	client         *http.Client
	acceptLanguage string
}

func newBrowser(tb testing.TB, base string) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is what the browser got back.
type answer struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(tb testing.TB, req *http.Request) answer {
	tb.Helper()
	req.Header.Set("User-Agent", "ScreenTest/1.0 (like a browser)")
	if b.acceptLanguage != "" {
		req.Header.Set("Accept-Language", b.acceptLanguage)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

// open follows oauth-clients' redirect to the consent screen of tenant with challenge.
func (b *browser) open(tb testing.TB, tenant, challenge string) answer {
	tb.Helper()
	target := b.base + "/v1/tenants/" + tenant + "/consent-screen"
	if challenge != "" {
		target += "?consent_challenge=" + url.QueryEscape(challenge)
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return b.do(tb, req)
}

// submit posts form to the consent screen of tenant.
func (b *browser) submit(tb testing.TB, tenant string, form url.Values) answer {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/v1/tenants/"+tenant+"/consent-screen", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(tb, req)
}

// formOf reads the hidden fields of the screen's form.
func formOf(tb testing.TB, page answer) url.Values {
	tb.Helper()
	form := url.Values{}
	for _, name := range []string{"csrf_token", "consent_challenge", "lang"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page.body)
		if m == nil {
			tb.Fatalf("the page has no %s field:\n%s", name, page.body)
		}
		form.Set(name, html.UnescapeString(m[1]))
	}
	return form
}

// choose answers the screen page with decision, ticking the consents named.
func (b *browser) choose(tb testing.TB, page answer, decision string, ticked ...string) answer {
	tb.Helper()
	form := formOf(tb, page)
	form.Set("decision", decision)
	for _, id := range ticked {
		form.Add("consent", id)
	}
	return b.submit(tb, "acme", form)
}

// verdict checks that a sent the browser back to the authorization endpoint with a
// consent verdict that verifies with the keys the service publishes, and returns it.
func (s *screen) verdict(tb testing.TB, a answer) handshake.ConsentVerdict {
	tb.Helper()
	if a.status != http.StatusSeeOther {
		tb.Fatalf("want a redirect with a verdict, got %d:\n%s", a.status, a.body)
	}
	resume := handshake.ResumeAfterConsent(s.Issuer.Base, "acme", "")
	if !strings.HasPrefix(a.location, resume) {
		tb.Fatalf("redirect to %q, want %q...", a.location, resume)
	}
	u, err := url.Parse(a.location)
	if err != nil {
		tb.Fatal(err)
	}
	var v handshake.ConsentVerdict
	keys := &auth.RemoteJWKS{URL: s.URL + "/v1/tenants/system/consent-screen/jwks"}
	if err := handshake.Open(context.Background(), keys, u.Query().Get("consent_verdict"), handshake.TypConsentVerdict, &v,
		handshake.ConsentIssuer(s.Issuer.Base, "acme"), handshake.AudienceAuthorize, "acme", time.Now()); err != nil {
		tb.Fatalf("verdict: %v", err)
	}
	return v
}

// challengeID is the jti of a challenge token (for comparing with the verdict).
func challengeID(tb testing.TB, token string) string {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		tb.Fatal(err)
	}
	var h handshake.Header
	if err := json.Unmarshal(raw, &h); err != nil {
		tb.Fatal(err)
	}
	return h.ID
}

// mustShow checks that a is the consent screen, with the strings want.
func mustShow(tb testing.TB, a answer, status int, want ...string) {
	tb.Helper()
	if a.status != status || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		tb.Fatalf("want the screen (%d), got %d %s:\n%s", status, a.status, a.header.Get("Content-Type"), a.body)
	}
	for _, w := range want {
		if !strings.Contains(a.body, w) {
			tb.Errorf("the screen lacks %q:\n%s", w, a.body)
		}
	}
}

func (s *screen) checkbox(c api.Consent) string {
	return `<input type="checkbox" id="consent-` + c.Id + `" name="consent" value="` + c.Id + `"`
}

func (s *screen) accessOf(tb testing.TB, subject, clientID string) []string {
	tb.Helper()
	r, err := s.admin.ListClientAccessWithResponse(context.Background(), "acme", subject)
	if err != nil || r.JSON200 == nil {
		tb.Fatalf("client access of %s: %v %s", subject, err, r.Body)
	}
	for _, c := range r.JSON200.Clients {
		if c.ClientId == clientID {
			out := []string{}
			for _, sc := range c.Scopes {
				out = append(out, sc.Name)
			}
			return out
		}
	}
	return nil
}

// TestConsentScreenFirstConsent walks a person through their first consent to the shop:
// the screen shows the client, its scopes and the action's consents; Allow without the
// required one shows it again; Allow with it records grants, client access and ledger
// entries with their context in one go and answers with a verdict; the same request
// later answers at once; prompt=consent shows the screen anyway; the used challenge is
// refused.
func TestConsentScreenFirstConsent(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	challenge := s.challenge(t, "shop", "openid invoices.read", "")

	page := b.open(t, "acme", challenge)
	mustShow(t, page, http.StatusOK, "Allow Shop?", `src="https://shop.example/logo.png"`, `href="https://shop.example/privacy"`,
		`href="https://shop.example/terms"`, `<li id="scope-invoices.read" data-scope="invoices.read"><strong>Read invoices</strong>`,
		"See your invoices and their payments.", `<li id="scope-openid" data-scope="openid"><strong>Sign you in</strong>`,
		s.checkbox(s.eula)+">", s.checkbox(s.news)+">", "Licence agreement", "(required, version 1)", "Newsletter", "(optional, version 1)",
		`name="decision" value="allow"`, `name="decision" value="deny"`, `<label class="check" for="consent-`+s.eula.Id+`">`)
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || page.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", page.header)
	}

	again := b.choose(t, page, "allow", s.news.Id)
	mustShow(t, again, http.StatusUnprocessableEntity, `id="consent-error"`, "To allow access, accept: Licence agreement.",
		s.checkbox(s.news)+" checked>", s.checkbox(s.eula)+` aria-invalid="true"`)
	if got := s.status(t, "user-u1", s.news.Id); got.Granted {
		t.Fatal("a refused Allow granted the newsletter")
	}

	v := s.verdict(t, b.choose(t, again, "allow", s.eula.Id))
	if v.Error != "" || v.Scope != "openid invoices.read" || v.Subject != "user-u1" || v.ClientID != "shop" || v.Challenge != challengeID(t, challenge) {
		t.Fatalf("verdict %+v", v)
	}
	if g := s.status(t, "user-u1", s.eula.Id); !g.Granted || *g.GrantedVersion != 1 {
		t.Errorf("eula %+v", g)
	}
	if g := s.status(t, "user-u1", s.news.Id); g.Granted {
		t.Errorf("the unticked newsletter was granted: %+v", g)
	}
	if got := s.accessOf(t, "user-u1", "shop"); !slices.Equal(got, []string{"openid", "invoices.read"}) {
		t.Errorf("client access %v", got)
	}
	evs := s.ledger(t, "user-u1")
	if len(evs) != 2 {
		t.Fatalf("ledger %+v", evs)
	}
	for _, ev := range evs {
		ctx := deref(ev.Context)
		if ctx["ip"] != "127.0.0.1" || ctx["device"] != "ScreenTest/1.0 (like a browser)" || deref(ev.Language) != "en" ||
			deref(ev.ActionId) != s.action.Id || deref(ev.GrantType) != "explicit" {
			t.Errorf("ledger event without its context: %+v %v", ev, ctx)
		}
	}
	if evs[0].Type != api.ClientAccessGranted || (*evs[0].Context)["clientId"] != "shop" || (*evs[0].Context)["scopes"] != "openid invoices.read" ||
		evs[1].Type != api.ConsentGranted || *evs[1].ConsentId != s.eula.Id || *evs[1].ConsentVersion != 1 {
		t.Errorf("ledger %+v", evs)
	}
	if st := testenv.LastEvent(t, s.JetStream, accessSubject("user-u1", "shop"), 0); st.Deleted {
		t.Errorf("client access published as %+v", st)
	}
	if v := s.verify(t); !v.Valid {
		t.Errorf("ledger chain %+v", v)
	}

	// Everything asked is granted: the next request answers at once, with no page.
	next := s.challenge(t, "shop", "invoices.read openid", "")
	if v := s.verdict(t, b.open(t, "acme", next)); v.Error != "" || v.Scope != "invoices.read openid" || v.Challenge != challengeID(t, next) {
		t.Errorf("verdict at once %+v", v)
	}
	// ... and prompt=consent asks anyway, showing what is granted as such.
	forced := b.open(t, "acme", s.challenge(t, "shop", "openid", "consent"))
	mustShow(t, forced, http.StatusOK, "already allowed", `id="consent-`+s.eula.Id+`-accepted"`, s.checkbox(s.news)+">")
	if strings.Contains(forced.body, s.checkbox(s.eula)) {
		t.Error("an accepted required consent is shown with a box")
	}
	if len(s.ledger(t, "user-u1")) != 2 {
		t.Error("answering at once or showing the screen wrote to the ledger")
	}

	// The first challenge was answered: it cannot be used again.
	for _, a := range []answer{b.open(t, "acme", challenge), b.choose(t, page, "allow", s.eula.Id)} {
		if a.status != http.StatusConflict || !strings.Contains(a.body, "already been used") {
			t.Errorf("a used challenge: %d\n%s", a.status, a.body)
		}
	}
}

// TestConsentScreenOptionalChoices: the newsletter granted on the screen is offered ticked
// next time and withdrawn when unticked, with its ledger entries.
func TestConsentScreenOptionalChoices(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	page := b.open(t, "acme", s.challenge(t, "shop", "openid", ""))
	s.verdict(t, b.choose(t, page, "allow", s.eula.Id, s.news.Id))
	if !s.status(t, "user-u1", s.news.Id).Granted {
		t.Fatal("the ticked newsletter is not granted")
	}
	page = b.open(t, "acme", s.challenge(t, "shop", "openid", "consent"))
	mustShow(t, page, http.StatusOK, s.checkbox(s.news)+" checked>")
	s.verdict(t, b.choose(t, page, "allow"))
	if s.status(t, "user-u1", s.news.Id).Granted {
		t.Fatal("the unticked newsletter is still granted")
	}
	var types []api.LedgerEventType
	for _, ev := range s.ledger(t, "user-u1") {
		types = append(types, ev.Type)
	}
	if want := []api.LedgerEventType{api.ClientAccessGranted, api.ConsentGranted, api.ConsentGranted, api.ConsentRevoked}; !slices.Equal(types, want) {
		t.Errorf("ledger %v, want %v", types, want)
	}
}

// TestConsentScreenNewVersion: a new version of the required consent is asked for again,
// also by a trusted client, which otherwise skips the screen.
func TestConsentScreenNewVersion(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)

	// The trusted portal skips the scopes but not the required consent never granted.
	page := b.open(t, "acme", s.challenge(t, "portal", "openid invoices.read", ""))
	mustShow(t, page, http.StatusOK, s.checkbox(s.eula)+">")
	if strings.Contains(page.body, `id="scopes"`) {
		t.Errorf("a trusted client's scopes are asked:\n%s", page.body)
	}
	s.verdict(t, b.choose(t, page, "allow", s.eula.Id))

	// Then the portal is let in without a screen, new scopes too: recorded as by rule.
	if v := s.verdict(t, b.open(t, "acme", s.challenge(t, "portal", "openid invoices.read offline_access", ""))); v.Scope != "openid invoices.read offline_access" {
		t.Errorf("trusted verdict %+v", v)
	}
	if got := s.accessOf(t, "user-u1", "portal"); !slices.Equal(got, []string{"openid", "invoices.read", "offline_access"}) {
		t.Errorf("portal's access %v", got)
	}
	evs := s.ledger(t, "user-u1")
	if last := evs[len(evs)-1]; last.Type != api.ClientAccessGranted || deref(last.GrantType) != "implicit" {
		t.Errorf("a trusted client let in by rule is recorded as %+v", last)
	}

	// The shop, untrusted, still asks for its scopes, not for the accepted licence.
	page = b.open(t, "acme", s.challenge(t, "shop", "openid", ""))
	mustShow(t, page, http.StatusOK, `id="scope-openid"`, `id="consent-`+s.eula.Id+`-accepted"`)
	s.verdict(t, b.choose(t, page, "allow"))

	// A new version of the licence: both ask again, the trusted portal too.
	eula2 := s.newVersion(t, s.eula)
	for _, client := range []string{"shop", "portal"} {
		mustShow(t, b.open(t, "acme", s.challenge(t, client, "openid", "")), http.StatusOK, s.checkbox(s.eula)+">", "(required, version 2)")
	}
	page = b.open(t, "acme", s.challenge(t, "portal", "openid", ""))
	if v := s.verdict(t, b.choose(t, page, "allow", s.eula.Id)); v.Error != "" || v.ClientID != "portal" {
		t.Errorf("verdict %+v", v)
	}
	if g := s.status(t, "user-u1", s.eula.Id); *g.GrantedVersion != eula2.Version {
		t.Errorf("eula %+v", g)
	}
	// Accepted once, at the new version: neither asks again.
	for _, client := range []string{"shop", "portal"} {
		if v := s.verdict(t, b.open(t, "acme", s.challenge(t, client, "openid", ""))); v.Error != "" || v.ClientID != client {
			t.Errorf("%s: %+v", client, v)
		}
	}
}

// TestConsentScreenDeny: the person declines; the verdict says access_denied and nothing
// is granted; the ledger records that they declined.
func TestConsentScreenDeny(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	challenge := s.challenge(t, "shop", "openid invoices.read", "")
	page := b.open(t, "acme", challenge)
	v := s.verdict(t, b.choose(t, page, "deny", s.eula.Id, s.news.Id))
	if v.Error != handshake.ErrAccessDenied || v.Scope != "" || v.Challenge != challengeID(t, challenge) {
		t.Fatalf("verdict %+v", v)
	}
	if s.status(t, "user-u1", s.eula.Id).Granted || s.status(t, "user-u1", s.news.Id).Granted || s.accessOf(t, "user-u1", "shop") != nil {
		t.Error("a denial granted something")
	}
	evs := s.ledger(t, "user-u1")
	if len(evs) != 1 || evs[0].Type != api.ClientAccessDenied || (*evs[0].Context)["clientId"] != "shop" || (*evs[0].Context)["ip"] != "127.0.0.1" {
		t.Errorf("ledger %+v", evs)
	}
	// The denied challenge is used: neither shown again nor answered otherwise.
	for _, a := range []answer{b.open(t, "acme", challenge), b.choose(t, page, "allow", s.eula.Id)} {
		if a.status != http.StatusConflict || !strings.Contains(a.body, "already been used") {
			t.Errorf("the denied challenge again: %d\n%s", a.status, a.body)
		}
	}
}

// TestConsentScreenPromptNone: prompt=none never shows the screen: consent_required when
// something must be asked, the grant when nothing must.
func TestConsentScreenPromptNone(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	if v := s.verdict(t, b.open(t, "acme", s.challenge(t, "shop", "openid", "none"))); v.Error != handshake.ErrConsentRequired || v.Scope != "" {
		t.Fatalf("verdict %+v", v)
	}
	if len(s.ledger(t, "user-u1")) != 0 || s.accessOf(t, "user-u1", "shop") != nil {
		t.Error("consent_required recorded something")
	}
	s.verdict(t, b.choose(t, b.open(t, "acme", s.challenge(t, "shop", "openid", "")), "allow", s.eula.Id))
	if v := s.verdict(t, b.open(t, "acme", s.challenge(t, "shop", "openid", "none"))); v.Error != "" || v.Scope != "openid" {
		t.Errorf("verdict %+v", v)
	}
}

// TestConsentScreenRefusesBadChallenges: every challenge the service must not accept shows
// a clear page, never a stack trace or a redirect, and records nothing.
func TestConsentScreenRefusesBadChallenges(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	stranger := testenv.NewIssuer(t) // keys the service does not trust
	valid := challengeOf("acme", "user-u1", "shop", "openid")
	with := func(change func(*handshake.ConsentChallenge)) handshake.ConsentChallenge {
		ch := valid
		ch.ID = googleuuid.NewString()
		change(&ch)
		return ch
	}
	tampered := func() string {
		parts := strings.Split(s.sign(t, handshake.TypConsentChallenge, with(func(*handshake.ConsentChallenge) {}), time.Now()), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		raw = []byte(strings.Replace(string(raw), `"openid"`, `"openid admin"`, 1))
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		return strings.Join(parts, ".")
	}
	strangerSigned, _ := handshake.Sign(context.Background(), stranger, handshake.TypConsentChallenge,
		ptr(with(func(ch *handshake.ConsentChallenge) { ch.Issuer = handshake.AuthorizeIssuer(s.Issuer.Base, "acme") })), time.Now(), handshake.ChallengeTTL)
	for _, tc := range []struct {
		name, tenant, challenge string
		status                  int
		says                    string
	}{
		{"none", "acme", "", http.StatusBadRequest, "invalid or has expired"},
		{"garbage", "acme", "not-a-jws", http.StatusBadRequest, "invalid or has expired"},
		{"expired", "acme", s.sign(t, handshake.TypConsentChallenge, with(func(*handshake.ConsentChallenge) {}), time.Now().Add(-handshake.ChallengeTTL-time.Minute)),
			http.StatusBadRequest, "invalid or has expired"},
		{"tampered", "acme", tampered(), http.StatusBadRequest, "invalid or has expired"},
		{"signed by another key", "acme", strangerSigned, http.StatusBadRequest, "invalid or has expired"},
		{"another tenant's, here", "acme", s.sign(t, handshake.TypConsentChallenge, with(func(ch *handshake.ConsentChallenge) { ch.Tenant = "other" }), time.Now()),
			http.StatusBadRequest, "invalid or has expired"},
		{"this tenant's, at another", "other", s.sign(t, handshake.TypConsentChallenge, with(func(*handshake.ConsentChallenge) {}), time.Now()),
			http.StatusBadRequest, "invalid or has expired"},
		{"another tenant's issuer", "acme", s.sign(t, handshake.TypConsentChallenge, with(func(ch *handshake.ConsentChallenge) {
			ch.Issuer = handshake.AuthorizeIssuer(s.Issuer.Base, "other")
		}), time.Now()), http.StatusBadRequest, "invalid or has expired"},
		{"a login challenge", "acme", s.sign(t, handshake.TypLoginChallenge, with(func(*handshake.ConsentChallenge) {}), time.Now()),
			http.StatusBadRequest, "invalid or has expired"},
		{"meant for the login page", "acme", s.sign(t, handshake.TypConsentChallenge, with(func(ch *handshake.ConsentChallenge) { ch.Audience = handshake.AudienceLogin }), time.Now()),
			http.StatusBadRequest, "invalid or has expired"},
		{"an access token", "acme", s.Issuer.Token(t, "acme", "user-u1", "openid"), http.StatusBadRequest, "invalid or has expired"},
		{"no subject", "acme", s.sign(t, handshake.TypConsentChallenge, with(func(ch *handshake.ConsentChallenge) { ch.Subject = "" }), time.Now()),
			http.StatusBadRequest, "invalid or has expired"},
		{"unknown client", "acme", s.sign(t, handshake.TypConsentChallenge, with(func(ch *handshake.ConsentChallenge) { ch.ClientID = "nosuch" }), time.Now()),
			http.StatusNotFound, "application that sent you here is not known"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, s.URL)
			for _, a := range []answer{b.open(t, tc.tenant, tc.challenge), b.submit(t, tc.tenant, url.Values{"csrf_token": {csrfOf(t, b, tc.tenant)},
				"consent_challenge": {tc.challenge}, "decision": {"allow"}, "consent": {s.eula.Id}})} {
				if a.status != tc.status || !strings.Contains(a.body, tc.says) || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || a.location != "" {
					t.Errorf("%d %s %q:\n%s", a.status, a.header.Get("Content-Type"), a.location, a.body)
				}
			}
		})
	}
	if evs := s.ledger(t, "user-u1"); len(evs) != 0 {
		t.Errorf("a refused challenge recorded %+v", evs)
	}
}

// csrfOf is the browser's CSRF token for tenant's pages (the cookie every page sets).
func csrfOf(tb testing.TB, b *browser, tenant string) string {
	tb.Helper()
	b.open(tb, tenant, "") // an error page sets it too
	u, _ := url.Parse(b.base + "/v1/tenants/" + tenant + "/consent-screen")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "iam_csrf" {
			return c.Value
		}
	}
	tb.Fatal("no CSRF cookie")
	return ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestConsentScreenCSRF: the form is refused without the browser's CSRF token, and
// nothing is recorded nor the challenge used up.
func TestConsentScreenCSRF(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	page := b.open(t, "acme", s.challenge(t, "shop", "openid", ""))
	form := formOf(t, page)
	form.Set("decision", "allow")
	form.Add("consent", s.eula.Id)
	for name, change := range map[string]func(url.Values){
		"missing": func(f url.Values) { f.Del("csrf_token") },
		"wrong":   func(f url.Values) { f.Set("csrf_token", strings.Repeat("A", 32)) },
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = slices.Clone(v)
		}
		change(f)
		if a := b.submit(t, "acme", f); a.status != http.StatusForbidden || !strings.Contains(a.body, "did not come from this page") {
			t.Errorf("%s token: %d\n%s", name, a.status, a.body)
		}
	}
	// Another browser (no cookie) posting this page's form, as a forged cross-site post would.
	if a := newBrowser(t, s.URL).submit(t, "acme", form); a.status != http.StatusForbidden {
		t.Errorf("no cookie: %d", a.status)
	}
	if s.status(t, "user-u1", s.eula.Id).Granted {
		t.Fatal("a refused form granted the consent")
	}
	s.verdict(t, b.submit(t, "acme", form))
}

// TestConsentScreenLanguages: the screen speaks the language of ui_locales, else of
// Accept-Language; the consents' texts and the OpenID scopes' too.
func TestConsentScreenLanguages(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	ch := challengeOf("acme", "user-u1", "shop", "openid email invoices.read")
	ch.UILocales = "fr-CA de"
	page := b.open(t, "acme", s.sign(t, handshake.TypConsentChallenge, ch, time.Now()))
	mustShow(t, page, http.StatusOK, `<html lang="de">`, "Shop erlauben?", "Sie anmelden", "Ihre E-Mail-Adresse sehen", "Read invoices",
		"Lizenzvereinbarung", "Newsletter (deutsch)", "erforderlich", "freiwillig", ">Erlauben</button>", ">Ablehnen</button>", "Datenschutzerklärung")
	if page.header.Get("Content-Language") != "de" {
		t.Errorf("Content-Language %q", page.header.Get("Content-Language"))
	}
	// A refused Allow answers in the page's language; the ledger records it.
	again := b.choose(t, page, "allow")
	mustShow(t, again, http.StatusUnprocessableEntity, "akzeptieren Sie: Lizenzvereinbarung.")
	s.verdict(t, b.choose(t, again, "allow", s.eula.Id))
	if evs := s.ledger(t, "user-u1"); deref(evs[0].Language) != "de" {
		t.Errorf("ledger language %+v", evs[0])
	}

	b = newBrowser(t, s.URL)
	b.acceptLanguage = "nn-NO, en;q=0.5"
	page = b.open(t, "acme", s.sign(t, handshake.TypConsentChallenge, challengeOf("acme", "user-u2", "shop", "openid"), time.Now()))
	mustShow(t, page, http.StatusOK, `<html lang="nb">`, "Gi Shop tilgang?", "Logge deg inn", "Lisensavtale", "Nyhetsbrev", "påkrevd",
		">Tillat</button>", ">Avslå</button>")
	if a := b.open(t, "acme", "expired-or-not"); !strings.Contains(a.body, "Denne innloggingslenken er ugyldig") {
		t.Errorf("error page not in Norwegian:\n%s", a.body)
	}

	// A consent without texts in the page's language shows its English ones, marked so.
	news := s.news
	news.Texts = &api.ConsentTexts{"en": consentTexts["news"]["en"]}
	s.newVersion(t, news)
	page = b.open(t, "acme", s.sign(t, handshake.TypConsentChallenge, challengeOf("acme", "user-u3", "shop", "openid"), time.Now()))
	mustShow(t, page, http.StatusOK, `<html lang="nb">`, `<strong lang="en">Newsletter</strong>`, `<span class="muted" lang="en">News and offers by email.</span>`,
		`<strong>Lisensavtale</strong>`)
}

// TestConsentScreenConcurrentAnswers: one challenge answered twice at once is recorded
// once; the other answer finds it used.
func TestConsentScreenConcurrentAnswers(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	page := b.open(t, "acme", s.challenge(t, "shop", "openid", ""))
	statuses := make([]int, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = b.choose(t, page, "allow", s.eula.Id).status
		}()
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusSeeOther, http.StatusConflict, http.StatusConflict, http.StatusConflict}) {
		t.Errorf("statuses %v", statuses)
	}
	if evs := s.ledger(t, "user-u1"); len(evs) != 2 {
		t.Errorf("ledger %+v", evs)
	}
}

// TestConsentScreenKeys: the verdicts' keys are a JWK set, the same at every tenant's
// address, cacheable for a few minutes, and nothing private in it.
func TestConsentScreenKeys(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	var sets []string
	for _, tenant := range []string{"system", "acme"} {
		a := newBrowser(t, s.URL).do(t, must(http.NewRequest(http.MethodGet, s.URL+"/v1/tenants/"+tenant+"/consent-screen/jwks", nil)))
		if a.status != http.StatusOK || a.header.Get("Cache-Control") != "public, max-age=300" || a.header.Get("Pragma") != "" {
			t.Fatalf("%s: %d %v", tenant, a.status, a.header)
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal([]byte(a.body), &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("%s: %v %s", tenant, err, a.body)
		}
		if k := set.Keys[0]; k["kty"] != "OKP" || k["alg"] != "EdDSA" || k["kid"] == "" || k["d"] != nil {
			t.Errorf("key %v", k)
		}
		sets = append(sets, a.body)
	}
	if sets[0] != sets[1] {
		t.Errorf("tenants see different keys: %s / %s", sets[0], sets[1])
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestConsentTexts: a consent's texts by language come back as given, are refused under
// a key that is no language tag, and are part of the consent's version.
func TestConsentTexts(t *testing.T) {
	t.Parallel()
	s := &screen{stack: mustStart(t)}
	ctx := context.Background()
	c := s.createConsent(t, "eula", "End user licence agreement", false)
	if c.Texts == nil || (*c.Texts)["de"].Title != "Lizenzvereinbarung" || deref((*c.Texts)["nb"].Description) != "Vilkårene for å bruke butikken." {
		t.Fatalf("texts %+v", c.Texts)
	}
	got, err := s.admin.GetConsentWithResponse(ctx, "acme", c.Id)
	if err != nil || got.JSON200 == nil || len(*got.JSON200.Texts) != 3 {
		t.Fatalf("get: %v %s", err, got.Body)
	}
	bad := api.ConsentTexts{"English": {Title: "Licence"}}
	resp, err := s.admin.CreateConsentWithResponse(ctx, "acme", api.ConsentInput{Name: "terms", Texts: &bad})
	if err != nil || resp.StatusCode() != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"English\" is not a language tag`) {
		t.Errorf("a text under a key that is no language: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	texts := api.ConsentTexts{"en": {Title: "Licence agreement, 2nd edition"}}
	up, err := s.admin.UpdateConsentWithResponse(ctx, "acme", c.Id, api.ConsentInput{Name: c.Name, Texts: &texts,
		Metadata: &api.WritableMetadata{Version: c.Version}})
	if err != nil || up.JSON200 == nil || up.JSON200.Version != 2 || len(*up.JSON200.Texts) != 1 || (*up.JSON200.Texts)["en"].Description != nil {
		t.Fatalf("update: %v %s", err, up.Body)
	}
}

// TestUsedChallengesAreKeptUntilExpired: a used challenge is remembered past its expiry
// (and the leeway with which it is still accepted), and forgotten after.
func TestUsedChallengesAreKeptUntilExpired(t *testing.T) {
	t.Parallel()
	s := mustScreen(t)
	b := newBrowser(t, s.URL)
	challenge := s.challenge(t, "shop", "openid", "")
	s.verdict(t, b.choose(t, b.open(t, "acme", challenge), "allow", s.eula.Id))
	var expires time.Time
	if err := s.DB.Get(&expires, `SELECT expires_at FROM used_consent_challenges WHERE tenant = 'acme' AND id = $1`, challengeID(t, challenge)); err != nil {
		t.Fatal(err)
	}
	if want := time.Now().Add(handshake.ChallengeTTL); expires.Before(want) || expires.After(want.Add(2*time.Minute)) {
		t.Errorf("remembered until %s, want a little after %s", expires, want)
	}
	store := &postgres.Store{DB: s.DB}
	count := func() (n int) {
		if err := s.DB.Get(&n, `SELECT count(*) FROM used_consent_challenges`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := store.PruneChallenges(context.Background(), expires.Add(-time.Second)); err != nil || count() != 1 {
		t.Fatalf("pruned before its expiry: %v, %d left", err, count())
	}
	if err := store.PruneChallenges(context.Background(), expires.Add(time.Second)); err != nil || count() != 0 {
		t.Fatalf("not pruned after its expiry: %v, %d left", err, count())
	}
}
