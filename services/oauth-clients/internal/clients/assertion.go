package clients

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// AssertionType is the client_assertion_type of private_key_jwt (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Limits on client assertions: clock skew allowed, and how far ahead exp may be (a
// long-lived assertion is a bearer credential in all but name).
const (
	assertionLeeway      = 30 * time.Second
	assertionMaxLifetime = time.Hour
)

type assertionClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  auth.Audience `json:"aud"`
	ExpiresAt int64         `json:"exp"`
	NotBefore int64         `json:"nbf"`
	ID        string        `json:"jti"`
}

// AssertionError is a refused client assertion. Reason is for the log only; the caller
// learns no more than invalid_client.
type AssertionError struct{ ClientID, Reason string }

func (e *AssertionError) Error() string { return "client assertion refused: " + e.Reason }

// authenticateAssertion authenticates a client by a JWT it signed (private_key_jwt, RFC
// 7523 §2.2 and §3): iss and sub its client_id, aud one of audiences (the token endpoint
// URL or the issuer), an exp no more than an hour ahead, signed with a key the client
// registered, and a jti never seen before. Every failure is an *AssertionError wrapped
// in an Unauthorized error.
func (r *Registry) authenticateAssertion(ctx context.Context, tenant, assertion string, audiences []string) (*Client, error) {
	refuse := func(id, format string, args ...any) (*Client, error) {
		return nil, &errs.Error{Kind: errs.Unauthorized, Detail: "client authentication failed",
			Err: &AssertionError{ClientID: id, Reason: fmt.Sprintf(format, args...)}}
	}
	unverified, err := peekClaims(assertion)
	if err != nil {
		return refuse("", "%v", err)
	}
	id := unverified.Subject
	if id == "" || unverified.Issuer != id {
		return refuse(id, "iss and sub must both be the client_id")
	}
	creds, err := r.credentials(ctx, tenant, id)
	if errs.Is(err, errs.NotFound) {
		return refuse(id, "unknown client")
	}
	if err != nil {
		return nil, err
	}
	c := creds.client
	if c.TokenEndpointAuthMethod != "private_key_jwt" {
		return refuse(id, "the client is registered for %s", c.TokenEndpointAuthMethod)
	}
	payload, err := r.verifyWithClientKeys(ctx, c, assertion)
	if err != nil {
		return refuse(id, "%v", err)
	}
	var claims assertionClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return refuse(id, "claims are not JSON")
	}
	now := r.now()
	switch {
	case claims.Issuer != id || claims.Subject != id:
		return refuse(id, "iss and sub must both be the client_id")
	case !slices.ContainsFunc(claims.Audience, func(a string) bool { return slices.Contains(audiences, a) }):
		return refuse(id, "aud must name the token endpoint %s", audiences[0])
	case claims.ExpiresAt == 0:
		return refuse(id, "no exp")
	case now.After(time.Unix(claims.ExpiresAt, 0).Add(assertionLeeway)):
		return refuse(id, "expired")
	case time.Unix(claims.ExpiresAt, 0).After(now.Add(assertionMaxLifetime)):
		return refuse(id, "exp is more than %s ahead", assertionMaxLifetime)
	case claims.NotBefore != 0 && now.Add(assertionLeeway).Before(time.Unix(claims.NotBefore, 0)):
		return refuse(id, "not yet valid")
	case claims.ID == "" || len(claims.ID) > 256:
		return refuse(id, "jti is required (at most 256 characters)")
	}
	fresh, err := r.store.UseAssertion(ctx, tenant, id, claims.ID, time.Unix(claims.ExpiresAt, 0).Add(assertionLeeway))
	if err != nil {
		return nil, err
	}
	if !fresh {
		return refuse(id, "jti %q was already used: assertions are single-use", claims.ID)
	}
	return c, nil
}

// verifyWithClientKeys checks the signature against the client's inline keys, or its
// jwksUri's, refetched once if the cached set does not verify (the client may have
// rotated its key).
func (r *Registry) verifyWithClientKeys(ctx context.Context, c *Client, assertion string) ([]byte, error) {
	if len(c.JWKS) > 0 {
		keys, err := ParseJWKS(c.JWKS)
		if err != nil {
			return nil, err
		}
		return verifyAssertion(assertion, keys)
	}
	if c.JWKSURI == "" || r.remoteKeys == nil {
		return nil, fmt.Errorf("the client has no keys")
	}
	keys, err := r.remoteKeys.Keys(ctx, c.JWKSURI, false)
	if err != nil {
		return nil, fmt.Errorf("the client's jwksUri: %v", err)
	}
	payload, err := verifyAssertion(assertion, keys)
	if err == nil {
		return payload, nil
	}
	if keys, ferr := r.remoteKeys.Keys(ctx, c.JWKSURI, true); ferr == nil {
		return verifyAssertion(assertion, keys)
	}
	return nil, err
}

// assertionSubject is the client an assertion claims to come from, before anything is
// verified: good for choosing keys and counting failures, never for trusting.
func assertionSubject(assertion string) string {
	c, err := peekClaims(assertion)
	if err != nil || len(c.Subject) > 128 {
		return ""
	}
	return c.Subject
}

// peekClaims reads an assertion's claims before its signature is checked, only to learn
// which client's keys to check it with.
func peekClaims(assertion string) (*assertionClaims, error) {
	if len(assertion) > 8<<10 {
		return nil, fmt.Errorf("assertion too large")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("claims are not base64url")
	}
	var c assertionClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("claims are not JSON")
	}
	return &c, nil
}
