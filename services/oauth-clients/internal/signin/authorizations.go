package signin

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/url"
	"regexp"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Stage is where an authorization is: waiting for the login verdict, for the consent
// verdict, done (its code issued) or ended (by an error verdict).
type Stage string

const (
	AtLogin   Stage = "login"
	AtConsent Stage = "consent"
	Done      Stage = "done"
	Ended     Stage = "ended"
)

// Authorization is a valid authorization request on its way through the login and
// consent pages. Its ID (128 random bits) is the challenges' jti; Browser is the hash of
// the cookie that binds it to the browser that started it.
type Authorization struct {
	Tenant      string
	ID          string
	ClientID    string
	RedirectURI string
	Scope       string // requested ∩ the client's scopes
	State       string
	Nonce       string
	Challenge   string // PKCE S256
	Prompt      string
	MaxAge      *int64
	LoginHint   string
	UILocales   string
	Browser     string
	Stage       Stage
	// From the login verdict.
	Subject  string
	AuthTime int64
	AMR      []string
	SID      string
	// Offered is the consent challenge's scope.
	Offered   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Authorizations keeps authorizations. Each step is a conditional update: it happens only
// from the stage it expects, for the browser that started it and before it expires, so
// a verdict works once, in one browser.
type Authorizations interface {
	Create(ctx context.Context, a *Authorization) error
	// Get returns an authorization (NotFound when there is none, or it was pruned).
	Get(ctx context.Context, tenant, id string) (*Authorization, error)
	// LoggedIn moves a from AtLogin to AtConsent with who signed in and what is offered;
	// false when it was no longer at login.
	LoggedIn(ctx context.Context, a *Authorization) (bool, error)
	// Consented moves a from AtConsent to Done and keeps its code, in one transaction;
	// false when it was no longer at consent.
	Consented(ctx context.Context, a *Authorization, code *tokens.Code) (bool, error)
	// End moves a from the stage it is at to Ended; false when it had moved on.
	End(ctx context.Context, a *Authorization) (bool, error)
}

// ClientLookup finds a live client (the credentials cache in front of the store).
type ClientLookup interface {
	Lookup(ctx context.Context, tenant, id string) (*clients.Client, error)
}

// SessionRevoker ends what was issued under a login session (logout).
type SessionRevoker interface {
	RevokeSession(ctx context.Context, tenant, sid string) error
}

// Authorizer is the authorization endpoint, its resume and logout.
type Authorizer struct {
	clients     ClientLookup
	store       Authorizations
	signer      handshake.Signer
	loginKeys   auth.KeySource // the login verdicts' JWKS (iam-subjects)
	consentKeys auth.KeySource // the consent verdicts' JWKS (consent)
	ownKeys     auth.KeySource // ours: ID tokens presented as id_token_hint
	entitled    tokens.Entitlements
	sessions    SessionRevoker
	base        string
	logger      *slog.Logger
	now         func() time.Time
}

// Keys are the key sets the handshake is verified with.
type Keys struct {
	Signer         handshake.Signer // signs challenges: oauth-clients' key ring
	Own            auth.KeySource   // verifies our ID tokens: the same ring
	Login, Consent auth.KeySource   // verify the verdicts
}

// NewAuthorizer serves tenants of base (the platform's public URL, IAM_ISSUER_URL). A nil
// clock is the wall clock.
func NewAuthorizer(lookup ClientLookup, store Authorizations, keys Keys, entitled tokens.Entitlements,
	sessions SessionRevoker, base string, logger *slog.Logger, clock func() time.Time) *Authorizer {
	if clock == nil {
		clock = time.Now
	}
	return &Authorizer{clients: lookup, store: store, signer: keys.Signer, ownKeys: keys.Own, loginKeys: keys.Login,
		consentKeys: keys.Consent, entitled: entitled, sessions: sessions, base: base, logger: logger, now: clock}
}

// Answer is what the browser gets: a redirect (303 See Other) or one of our error pages.
type Answer struct {
	Redirect string
	Refusal  *Refusal
	// Browser, when set, is the browser-binding value to keep in the browser's cookie.
	Browser string
}

// Refusal is a failure shown as our own error page, never a redirect: the request cannot
// be trusted with one (no client, no registered redirect URI) or the link is spent.
type Refusal struct {
	Kind errs.Kind // Invalid, Forbidden or NotFound: the page's status
	Text string    // the page text's key
}

func refuse(kind errs.Kind, text string) (*Answer, error) {
	return &Answer{Refusal: &Refusal{Kind: kind, Text: text}}, nil
}

// The texts of the error pages (see httpapi's page catalog).
const (
	TextNoClient         = "signin.no_client"
	TextUnknownClient    = "signin.unknown_client"
	TextNoRedirect       = "signin.no_redirect"
	TextWrongRedirect    = "signin.wrong_redirect"
	TextRepeated         = "signin.repeated"
	TextOtherBrowser     = "signin.other_browser"
	TextInvalidLink      = "error.invalid_link"
	TextUsedLink         = "error.used_link"
	TextLogoutNoClient   = "signin.logout_no_client"
	TextLogoutRedirect   = "signin.logout_wrong_redirect"
	TextLogoutHint       = "signin.logout_invalid_hint"
	TextLogoutClientHint = "signin.logout_client_mismatch"
)

// errorRedirect is an RFC 6749 §4.1.2.1 error response at the client's redirect URI, with
// RFC 9207's iss.
func (a *Authorizer) errorRedirect(tenant, redirectURI, code, description, state string) *Answer {
	q := url.Values{"error": {code}, "iss": {auth.Issuer(a.base, tenant)}}
	if description != "" {
		q.Set("error_description", description)
	}
	if state != "" {
		q.Set("state", state)
	}
	return &Answer{Redirect: withParams(redirectURI, q)}
}

// errorCode is what may go to the client as an OAuth error code from a verdict:
// RFC 6749 §4.1.2.1's characters, short. Anything else becomes access_denied.
var errorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// sameBrowser reports, in constant time, whether the cookie the browser brings hashes to
// the authorization's binding.
func sameBrowser(cookie, binding string) bool {
	return cookie != "" && subtle.ConstantTimeCompare([]byte(tokens.HashOf(cookie)), []byte(binding)) == 1
}
