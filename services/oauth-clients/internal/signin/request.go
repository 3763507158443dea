// Package signin is oauth-clients' side of a person signing in to a client: the
// authorization endpoint (RFC 6749 §4.1, RFC 7636, OpenID Connect Core §3.1), the
// handshake with iam-subjects' login page and consent's consent page (package
// handshake), the code at the end of it, and RP-initiated logout. oauth-clients shows no
// page of its own but the error page: every step is a redirect.
package signin

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Request is an authorization request as the browser brought it.
type Request struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
	MaxAge              string
	LoginHint           string
	UILocales           string
	// RequestObject and RequestURI are OIDC's request and request_uri, which this server
	// does not support (it says so, OIDC Core §6).
	RequestObject string
	RequestURI    string
	// Repeated names the parameters that came more than once (RFC 6749 §3.1 forbids it).
	Repeated []string
}

// RequestOf reads an authorization request from the query string (GET) or form (POST).
func RequestOf(v url.Values) Request {
	get := func(name string) string { return v.Get(name) }
	r := Request{
		ClientID: get("client_id"), RedirectURI: get("redirect_uri"), ResponseType: get("response_type"),
		ResponseMode: get("response_mode"), Scope: get("scope"), State: get("state"), Nonce: get("nonce"),
		CodeChallenge: get("code_challenge"), CodeChallengeMethod: get("code_challenge_method"), Prompt: get("prompt"),
		MaxAge: get("max_age"), LoginHint: get("login_hint"), UILocales: get("ui_locales"),
		RequestObject: get("request"), RequestURI: get("request_uri"),
	}
	for name, vs := range v {
		if len(vs) > 1 {
			r.Repeated = append(r.Repeated, name)
		}
	}
	return r
}

// repeated reports whether one of names came more than once.
func (r Request) repeated(names ...string) string {
	for _, n := range names {
		for _, rep := range r.Repeated {
			if n == rep {
				return n
			}
		}
	}
	return ""
}

// Bounds on what an authorization request may carry into the database and the
// challenges; far above anything a client sends.
const (
	maxState     = 2048
	maxNonce     = 512
	maxLoginHint = 256
	maxUILocales = 256
	maxScope     = 4000
)

// prompts is the request's prompt parsed (OIDC Core §3.1.2.1).
type prompts struct{ none, login, consent bool }

// parsePrompt refuses values this server does not honour (select_account: there is one
// account per person) and none combined with anything.
func parsePrompt(s string) (prompts, string) {
	var p prompts
	for _, v := range strings.Fields(s) {
		switch v {
		case "none":
			p.none = true
		case "login":
			p.login = true
		case "consent":
			p.consent = true
		default:
			return p, "prompt " + v + " is not supported"
		}
	}
	if p.none && (p.login || p.consent) {
		return p, "prompt none cannot be combined with other values"
	}
	return p, ""
}

// loginPrompt and consentPrompt are what each page is asked to do (handshake).
func (p prompts) loginPrompt() string {
	switch {
	case p.none:
		return "none"
	case p.login:
		return "login"
	}
	return ""
}

func (p prompts) consentPrompt() string {
	switch {
	case p.none:
		return "none"
	case p.consent:
		return "consent"
	}
	return ""
}

// parseMaxAge reads max_age: a non-negative number of seconds.
func parseMaxAge(s string) (*int64, string) {
	if s == "" {
		return nil, ""
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, "max_age must be a non-negative number of seconds"
	}
	return &n, ""
}

// check applies the rules that are answered at the redirect URI (RFC 6749 §4.1.2.1),
// once the client and its redirect URI are known: the error code and description, or "".
func (r Request) check(clientScopes, clientGrants, clientResponseTypes []string) (code, description string) {
	has := func(xs []string, x string) bool {
		for _, y := range xs {
			if x == y {
				return true
			}
		}
		return false
	}
	switch {
	case len(r.Repeated) > 0:
		return "invalid_request", "parameter " + r.Repeated[0] + " is repeated"
	case r.RequestObject != "":
		return "request_not_supported", "request objects are not supported"
	case r.RequestURI != "":
		return "request_uri_not_supported", "request_uri is not supported"
	case r.ResponseType == "":
		return "invalid_request", "response_type is required"
	case r.ResponseType != "code":
		return "unsupported_response_type", "only response_type code is supported"
	case !has(clientGrants, "authorization_code") || !has(clientResponseTypes, "code"):
		return "unauthorized_client", "the client may not use the authorization_code grant"
	case r.ResponseMode != "" && r.ResponseMode != "query":
		return "invalid_request", "only response_mode query is supported"
	case r.State == "":
		// PKCE already binds the code to the client's attempt; state is what lets the
		// client tell its own answer from one forged into its redirect URI (CSRF), and
		// every client the platform knows of sends it. Its absence is a client bug.
		return "invalid_request", "state is required"
	case r.CodeChallenge == "":
		return "invalid_request", "code_challenge is required (PKCE with S256)"
	case r.CodeChallengeMethod != "S256":
		return "invalid_request", "code_challenge_method must be S256"
	case !tokens.ValidChallenge(r.CodeChallenge):
		return "invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)"
	case len(r.State) > maxState, len(r.Nonce) > maxNonce, len(r.LoginHint) > maxLoginHint, len(r.UILocales) > maxUILocales:
		return "invalid_request", "state, nonce, login_hint or ui_locales is too long"
	case len(r.Scope) > maxScope || !tokens.ValidScope(r.Scope):
		return "invalid_scope", "scope is not valid (RFC 6749 §3.3)"
	case strings.TrimSpace(r.Scope) == "":
		return "invalid_scope", "scope is required"
	}
	if _, msg := parsePrompt(r.Prompt); msg != "" {
		return "invalid_request", msg
	}
	if _, msg := parseMaxAge(r.MaxAge); msg != "" {
		return "invalid_request", msg
	}
	if len(tokens.Intersect(strings.Fields(r.Scope), clientScopes)) == 0 {
		return "invalid_scope", "none of the requested scopes is registered for the client"
	}
	return "", ""
}

// withParams is uri with params added to its query, which is kept as it is (RFC 6749
// §3.1.2: the redirect URI's own query is retained). Registered redirect URIs have no
// fragment, so the parameters go at the end.
func withParams(uri string, params url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + params.Encode()
}
