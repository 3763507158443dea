package signin

import (
	"net/url"
	"testing"
)

func TestRequestCheck(t *testing.T) {
	good := func() Request {
		return Request{ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code", Scope: "openid profile", State: "s1",
			CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256"}
	}
	with := func(edit func(*Request)) Request {
		r := good()
		edit(&r)
		return r
	}
	clientScopes, grants, responses := []string{"openid", "profile"}, []string{"authorization_code"}, []string{"code"}
	cases := []struct {
		name string
		r    Request
		want string
	}{
		{"valid", good(), ""},
		{"repeated", with(func(r *Request) { r.Repeated = []string{"scope"} }), "invalid_request"},
		{"request object", with(func(r *Request) { r.RequestObject = "x" }), "request_not_supported"},
		{"request_uri", with(func(r *Request) { r.RequestURI = "x" }), "request_uri_not_supported"},
		{"no response_type", with(func(r *Request) { r.ResponseType = "" }), "invalid_request"},
		{"token", with(func(r *Request) { r.ResponseType = "token" }), "unsupported_response_type"},
		{"form_post", with(func(r *Request) { r.ResponseMode = "form_post" }), "invalid_request"},
		{"query mode", with(func(r *Request) { r.ResponseMode = "query" }), ""},
		{"no state", with(func(r *Request) { r.State = "" }), "invalid_request"},
		{"no challenge", with(func(r *Request) { r.CodeChallenge = "" }), "invalid_request"},
		{"plain", with(func(r *Request) { r.CodeChallengeMethod = "plain" }), "invalid_request"},
		{"no method", with(func(r *Request) { r.CodeChallengeMethod = "" }), "invalid_request"},
		{"challenge too short", with(func(r *Request) { r.CodeChallenge = "abc" }), "invalid_request"},
		{"challenge not base64url", with(func(r *Request) { r.CodeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM" }), "invalid_request"},
		{"no scope", with(func(r *Request) { r.Scope = " " }), "invalid_scope"},
		{"scope with a backslash", with(func(r *Request) { r.Scope = `openid a\b` }), "invalid_scope"},
		{"no registered scope", with(func(r *Request) { r.Scope = "email" }), "invalid_scope"},
		{"some registered scope", with(func(r *Request) { r.Scope = "email openid" }), ""},
		{"prompt none alone", with(func(r *Request) { r.Prompt = "none" }), ""},
		{"prompt login consent", with(func(r *Request) { r.Prompt = "login consent" }), ""},
		{"prompt none consent", with(func(r *Request) { r.Prompt = "none consent" }), "invalid_request"},
		{"prompt unknown", with(func(r *Request) { r.Prompt = "create" }), "invalid_request"},
		{"max_age 0", with(func(r *Request) { r.MaxAge = "0" }), ""},
		{"max_age negative", with(func(r *Request) { r.MaxAge = "-1" }), "invalid_request"},
		{"max_age not a number", with(func(r *Request) { r.MaxAge = "1h" }), "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, desc := c.r.check(clientScopes, grants, responses)
			if code != c.want || (code != "" && desc == "") {
				t.Fatalf("check = %q (%q), want %q", code, desc, c.want)
			}
		})
	}
	if code, _ := good().check(clientScopes, []string{"client_credentials"}, nil); code != "unauthorized_client" {
		t.Fatalf("a client without the code grant: %q", code)
	}
}

func TestPrompts(t *testing.T) {
	for _, c := range []struct {
		prompt, login, consent string
	}{
		{"", "", ""},
		{"none", "none", "none"},
		{"login", "login", ""},
		{"consent", "", "consent"},
		{"consent login", "login", "consent"},
	} {
		p, msg := parsePrompt(c.prompt)
		if msg != "" || p.loginPrompt() != c.login || p.consentPrompt() != c.consent {
			t.Errorf("prompt %q: login %q consent %q (%s), want %q %q", c.prompt, p.loginPrompt(), p.consentPrompt(), msg, c.login, c.consent)
		}
	}
}

func TestWithParamsKeepsTheRedirectURIsQuery(t *testing.T) {
	q := url.Values{"code": {"c"}, "state": {"a b&c"}}
	for _, c := range []struct{ uri, want string }{
		{"https://app.example/cb", "https://app.example/cb?code=c&state=a+b%26c"},
		{"https://app.example/cb?tab=1", "https://app.example/cb?tab=1&code=c&state=a+b%26c"},
		{"https://app.example/cb?", "https://app.example/cb?code=c&state=a+b%26c"},
		{"com.example.app:/oauth", "com.example.app:/oauth?code=c&state=a+b%26c"},
	} {
		if got := withParams(c.uri, q); got != c.want {
			t.Errorf("withParams(%q) = %q, want %q", c.uri, got, c.want)
		}
	}
}

func TestRequestOfNotesRepeatedParameters(t *testing.T) {
	r := RequestOf(url.Values{"client_id": {"a"}, "scope": {"openid", "email"}})
	if r.ClientID != "a" || r.Scope != "openid" || len(r.Repeated) != 1 || r.Repeated[0] != "scope" || r.repeated("client_id") != "" {
		t.Fatalf("%+v", r)
	}
}
