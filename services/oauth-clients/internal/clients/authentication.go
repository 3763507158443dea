package clients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/throttle"
)

// OAuthError is an RFC 6749 §5.2 error: the OAuth endpoints (token, introspection,
// revocation) answer with it verbatim, whether client authentication or the grant
// refused.
type OAuthError struct {
	Code        string // invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope, slow_down
	Description string
	RetryAfter  int   // seconds, for slow_down
	Err         error // a server fault behind the error: answered as a problem, not as Code
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// Credentials is what a request to an OAuth endpoint presents to authenticate its
// client, as it came: HTTP Basic (form-urlencoded id and secret), the form's id and
// secret, or a signed client assertion.
type Credentials struct {
	Basic                    bool
	BasicUser, BasicPassword string
	ID, Secret               *string
	AssertionType, Assertion *string
	Address                  string // the caller's, which the brute-force limits count
}

// Authenticated is a client that authenticated, and the secret it presented (SecretID;
// empty for the other methods): tokens issued on the strength of a secret name it, so
// that revoking the secret revokes them.
type Authenticated struct {
	*Client
	SecretID string
}

// Authenticator authenticates the clients calling the tenant's OAuth endpoints.
type Authenticator struct {
	registry   *Registry
	limiter    *throttle.Limiter
	issuerBase string
	logger     *slog.Logger
	now        func() time.Time
	// slowHash is what an argon2id verification took here at start-up; failed secret
	// authentications take at least twice that (see pad).
	slowHash time.Duration
}

// NewAuthenticator authenticates clients of registry, within limiter's brute-force
// limits (see NewFailureLimiter; nil: the defaults); issuerBase names the audiences a
// client assertion may have. Failures are logged to logger; clock is the time the limits
// run on (nil: the wall clock). It measures once what an argon2id verification costs
// here, which sets how long a failed secret authentication takes.
func NewAuthenticator(registry *Registry, limiter *throttle.Limiter, issuerBase string, logger *slog.Logger, clock func() time.Time) *Authenticator {
	if limiter == nil {
		limiter = NewFailureLimiter(throttle.Limits{})
	}
	if clock == nil {
		clock = time.Now
	}
	return &Authenticator{registry: registry, limiter: limiter, issuerBase: issuerBase, logger: logger, now: clock,
		slowHash: SlowHashCost()}
}

// Authenticate applies RFC 6749 §2.3 and RFC 7523 §2.2 to a request to endpoint (token,
// introspect, revoke): exactly one authentication method, and only the one the client
// registered. A public client (method none) names itself with client_id alone (or in
// Basic with an empty password), at the token and revocation endpoints (RFC 6749 §2.1,
// §3.2.1; RFC 7009 §2.1); introspection needs an authenticated client. Failures count
// towards the brute-force limits and are logged, never with the presented secret or
// assertion; past a limit, credentials are not even checked. Every refusal is an
// *OAuthError.
func (a *Authenticator) Authenticate(ctx context.Context, tenant, endpoint string, cr Credentials) (*Authenticated, error) {
	var id, secret, method string
	methods := 0
	for _, present := range []bool{cr.Basic, cr.Secret != nil, cr.Assertion != nil || cr.AssertionType != nil} {
		if present {
			methods++
		}
	}
	switch {
	case methods > 1:
		return nil, &OAuthError{Code: "invalid_request", Description: "use one client authentication method, not several"}
	case cr.Basic:
		var err1, err2 error
		id, err1 = url.QueryUnescape(cr.BasicUser)
		secret, err2 = url.QueryUnescape(cr.BasicPassword)
		if err1 != nil || err2 != nil {
			return nil, &OAuthError{Code: "invalid_request", Description: "malformed Basic credentials"}
		}
		method = "client_secret_basic"
		if secret == "" && endpoint != "introspect" {
			// A public client named in Basic with no password, as HTTP libraries do
			// (golang.org/x/oauth2 tries Basic first): identification, not a secret.
			method = "none"
		}
	case cr.Secret != nil:
		id, secret, method = deref(cr.ID), *cr.Secret, "client_secret_post"
	case methods == 1:
		if deref(cr.AssertionType) != AssertionType || deref(cr.Assertion) == "" {
			return nil, &OAuthError{Code: "invalid_request", Description: "client_assertion_type must be " + AssertionType + ", with a client_assertion"}
		}
		method = "private_key_jwt"
		// The claimed client, unverified: what the limits count against. client_id is
		// optional with an assertion, but must agree when given (RFC 7521 §4.2).
		id = assertionSubject(*cr.Assertion)
		if cr.ID != nil && *cr.ID != id {
			return nil, &OAuthError{Code: "invalid_client", Description: "client_id does not match the assertion"}
		}
	case deref(cr.ID) != "" && endpoint != "introspect":
		id, method = *cr.ID, "none"
	default:
		return nil, &OAuthError{Code: "invalid_client", Description: "client authentication is required"}
	}
	addr := cr.Address
	// The attempt counts as a failure from here on, so that concurrent guesses cannot
	// all slip through the pair's budget; its outcome settles it below.
	attempt, wait := a.limiter.Begin(tenant, id, addr, a.now())
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		a.logger.Warn("client authentication refused: too many failures", "tenant", tenant, "clientId", id,
			"address", addr, "endpoint", endpoint, "retryAfter", secs)
		return nil, &OAuthError{Code: "slow_down", RetryAfter: secs,
			Description: fmt.Sprintf("too many failed client authentications; retry after %d seconds", secs)}
	}
	fail := func(reason string, e *OAuthError) (*Authenticated, error) {
		attempt.Failed(a.now())
		a.logger.Warn("client authentication failed", "tenant", tenant, "clientId", id, "address", addr,
			"endpoint", endpoint, "method", method, "reason", reason)
		return nil, e
	}
	invalid := &OAuthError{Code: "invalid_client", Description: "client authentication failed"}
	var c *Client
	var secretID string
	var err error
	switch method {
	case "none":
		c, err = a.registry.Lookup(ctx, tenant, id)
		if errs.Is(err, errs.NotFound) {
			return fail("unknown client", invalid)
		}
	case "private_key_jwt":
		iss := auth.Issuer(a.issuerBase, tenant)
		c, err = a.registry.authenticateAssertion(ctx, tenant, *cr.Assertion, []string{iss + "/oauth2/token", iss, iss + "/oauth2/" + endpoint})
		var ae *AssertionError
		if errors.As(err, &ae) {
			return fail(ae.Reason, invalid)
		}
	default:
		// The floor is taken before the check: what the check itself observes must not
		// change how long this answer takes.
		deadline := time.Now().Add(a.failFloor())
		c, secretID, err = a.registry.authenticateSecret(ctx, tenant, id, secret)
		if errs.Is(err, errs.Unauthorized) {
			a.pad(ctx, deadline)
			return fail("unknown client or wrong, expired or revoked secret", invalid)
		}
	}
	if err != nil {
		attempt.Undecided() // our fault, not the caller's: it counts for nothing
		return nil, &OAuthError{Code: "server_error", Description: "client authentication is unavailable", Err: err}
	}
	if c.TokenEndpointAuthMethod != method {
		return fail("method "+method+" not registered", &OAuthError{Code: "invalid_client", Description: "the client is registered for " + c.TokenEndpointAuthMethod})
	}
	attempt.Succeeded()
	return &Authenticated{Client: c, SecretID: secretID}, nil
}

// pad holds a failed secret authentication until deadline, its start plus failFloor, so
// that its answer time does not tell an unknown client (no hash to check), a generated
// secret (SHA-256, microseconds) and a memoized chosen one (an HMAC) from a chosen
// secret checked with argon2id (tens of milliseconds), nor so whether a client id
// exists. Every failure is padded, the argon2id ones included, so they all take the
// same time.
//
// It waits rather than hashes a dummy: an unauthenticated caller presenting a made-up
// client id must not be able to make the server spend an argon2id's CPU (and 19 MiB)
// per request. A waiting request costs a parked goroutine; the attempt has counted as a
// failure since it began, so the brute-force limits see it at once, and the pair's wait
// runs from the answer, after the padding.
func (a *Authenticator) pad(ctx context.Context, deadline time.Time) {
	wait := time.Until(deadline)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// failFloor is how long a failed secret authentication takes: twice an argon2id
// verification, as measured at start-up or as real ones have been taking lately if that
// is longer (load). The headroom lets a verification slowed down by a burst still end
// within it.
func (a *Authenticator) failFloor() time.Duration {
	return 2 * max(a.slowHash, RecentSlowHashCost())
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// authenticateSecret checks a client's secret: the client and the id of the secret that
// matched. Every failure is the same Unauthorized error, so a caller cannot tell an
// unknown client from a wrong or expired secret.
func (r *Registry) authenticateSecret(ctx context.Context, tenant, clientID, secret string) (*Client, string, error) {
	fail := errs.E(errs.Unauthorized, "client authentication failed")
	if clientID == "" || secret == "" {
		return nil, "", fail
	}
	creds, err := r.credentials(ctx, tenant, clientID)
	if errs.Is(err, errs.NotFound) {
		return nil, "", fail
	}
	if err != nil {
		return nil, "", err
	}
	now := r.now()
	for i := range creds.secrets {
		if creds.secrets[i].Live(now) && r.match(creds, i, secret) {
			return creds.client, creds.secrets[i].ID, nil
		}
	}
	return nil, "", fail
}

// Lookup returns a client for the token endpoints (introspection, revocation), from the
// credentials cache when there is one.
func (r *Registry) Lookup(ctx context.Context, tenant, clientID string) (*Client, error) {
	creds, err := r.credentials(ctx, tenant, clientID)
	if err != nil {
		return nil, err
	}
	return creds.client, nil
}

func (r *Registry) credentials(ctx context.Context, tenant, clientID string) (*credentials, error) {
	load := func(ctx context.Context) (*Client, []Secret, error) {
		return r.store.Credentials(ctx, tenant, clientID)
	}
	if r.cache == nil {
		c, secrets, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return &credentials{client: c, secrets: secrets}, nil
	}
	return r.cache.get(ctx, tenant, clientID, load)
}

func (r *Registry) match(creds *credentials, i int, value string) bool {
	if r.cache == nil {
		return creds.secrets[i].Matches(value)
	}
	return r.cache.match(creds, i, value)
}
