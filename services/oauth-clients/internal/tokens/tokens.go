package tokens

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// OAuthError is an RFC 6749 §5.2 error; the token endpoint answers with it verbatim.
type OAuthError struct {
	Code        string // invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope, slow_down
	Description string
	RetryAfter  int   // seconds, for slow_down
	Err         error // a server fault behind the error: answered as a problem, not as Code
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// Issuer mints access tokens for authenticated clients.
type Issuer struct {
	Keys       *KeyRing
	IssuerBase string
	Audience   string
	TTL        time.Duration
	Now        func() time.Time
	// Entitled, if set, adds the scopes a client subject is entitled to through its
	// effective access (iam-policies' scope sets) to those it registered.
	Entitled Entitlements
}

// Entitlements looks up the scopes a subject is entitled to.
type Entitlements interface {
	Scopes(ctx context.Context, tenant, subject string) ([]string, error)
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   int
	Scope       string
}

// ClientCredentials issues a token to c. The granted scope is the requested scope
// narrowed to the client's scopes, or all of them when none is requested; a request
// none of whose scopes the client has is invalid_scope.
func (i *Issuer) ClientCredentials(ctx context.Context, c *clients.Client, requested string) (*Token, error) {
	if !slices.Contains(c.GrantTypes, "client_credentials") {
		return nil, &OAuthError{Code: "unauthorized_client", Description: "the client may not use the client_credentials grant"}
	}
	allowed := c.Scopes
	if i.Entitled != nil {
		entitled, err := i.Entitled.Scopes(ctx, c.Tenant, c.SubjectID())
		if err != nil {
			return nil, &OAuthError{Code: "server_error", Description: "entitlements unavailable", Err: err}
		}
		allowed = slices.Clone(allowed)
		for _, s := range entitled {
			if !slices.Contains(allowed, s) {
				allowed = append(allowed, s)
			}
		}
	}
	// The granted scope is requested ∩ (registered ∪ entitled), or all of those when none
	// is requested.
	granted := allowed
	if want := strings.Fields(requested); len(want) > 0 {
		granted = nil
		for _, s := range want {
			if slices.Contains(allowed, s) && !slices.Contains(granted, s) {
				granted = append(granted, s)
			}
		}
		if len(granted) == 0 {
			return nil, &OAuthError{Code: "invalid_scope", Description: "none of the requested scopes is allowed for this client"}
		}
	}
	now := time.Now()
	if i.Now != nil {
		now = i.Now()
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := auth.Claims{
		Issuer:    auth.Issuer(i.IssuerBase, c.Tenant),
		Subject:   c.SubjectID(),
		Audience:  append([]string{i.Audience}, c.Audience...),
		ExpiresAt: now.Add(i.TTL).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		ID:        hex.EncodeToString(jti),
		Tenant:    c.Tenant,
		Scope:     strings.Join(granted, " "),
		ClientID:  c.ID,
	}
	token, err := i.Keys.Sign(ctx, claims)
	if err != nil {
		return nil, err
	}
	return &Token{AccessToken: token, ExpiresIn: int(i.TTL.Seconds()), Scope: claims.Scope}, nil
}

// ClientLookup finds a live client (the credentials cache in front of the store).
type ClientLookup interface {
	Lookup(ctx context.Context, tenant, id string) (*clients.Client, error)
}

// Revocations remembers revoked access tokens until they expire (RFC 7009).
type Revocations interface {
	Revoke(ctx context.Context, tenant, jti, clientID string, expiresAt time.Time) error
	Revoked(ctx context.Context, tenant, jti string) (bool, error)
}

// Refresh is the refresh_token grant. The platform issues no refresh tokens (the
// client_credentials grant must not get one, RFC 6749 §4.4.3, and there is no user-facing
// grant yet), so a presented refresh token is never valid; the checks before that are
// RFC 6749's, in its order.
func (i *Issuer) Refresh(_ context.Context, c *clients.Client, refreshToken string) error {
	if !slices.Contains(c.GrantTypes, "refresh_token") {
		return &OAuthError{Code: "unauthorized_client", Description: "the client may not use the refresh_token grant"}
	}
	if refreshToken == "" {
		return &OAuthError{Code: "invalid_request", Description: "refresh_token is required"}
	}
	return &OAuthError{Code: "invalid_grant", Description: "the refresh token is invalid, expired or revoked"}
}

// Introspector answers RFC 7662 questions about tokens and takes RFC 7009 revocations.
type Introspector struct {
	Verifier    *auth.Verifier
	Clients     ClientLookup
	Revocations Revocations
	// AccessRevocations, if set, are the subjects' revocations of clients' access
	// (consent's client-access events).
	AccessRevocations AccessRevocations
}

// Introspect returns the claims of an active token of tenant, or nil when the token is
// not active for any reason: forged, expired, signed by a key no longer published,
// another tenant's, its client deleted, revoked, or its subject took the client's access
// away after it was issued.
func (in *Introspector) Introspect(ctx context.Context, tenant, token string) (*auth.Claims, error) {
	c, err := in.verify(ctx, tenant, token)
	if c == nil || err != nil {
		return nil, err
	}
	if _, err := in.Clients.Lookup(ctx, c.Tenant, c.ClientID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		return nil, err
	}
	revoked, err := in.Revocations.Revoked(ctx, c.Tenant, c.ID)
	if err != nil || revoked {
		return nil, err
	}
	if in.AccessRevocations != nil {
		r, err := in.AccessRevocations.AccessRevocation(ctx, c.Tenant, c.ClientID, c.Subject)
		if err != nil || (r != nil && r.Blocks(c.IssuedAt)) {
			return nil, err
		}
	}
	return c, nil
}

// verify returns the claims of a valid token of tenant, nil for any other token.
func (in *Introspector) verify(ctx context.Context, tenant, token string) (*auth.Claims, error) {
	c, err := in.Verifier.Verify(ctx, token)
	if err != nil {
		if errs.Is(err, errs.Unauthorized) {
			return nil, nil
		}
		return nil, err
	}
	if c.Tenant != tenant || c.ID == "" {
		return nil, nil
	}
	return c, nil
}

// Revoke revokes token on behalf of client. A token that is not a valid token of the
// tenant is ignored, as RFC 7009 §2.2 asks; one issued to another client is refused.
func (in *Introspector) Revoke(ctx context.Context, client *clients.Client, token string) error {
	c, err := in.verify(ctx, client.Tenant, token)
	if c == nil || err != nil {
		return err
	}
	if c.ClientID != client.ID {
		return &OAuthError{Code: "unauthorized_client", Description: "the token was not issued to this client"}
	}
	return in.Revocations.Revoke(ctx, c.Tenant, c.ID, c.ClientID, time.Unix(c.ExpiresAt, 0))
}
