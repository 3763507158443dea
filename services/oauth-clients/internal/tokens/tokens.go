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
	"github.com/iamplane/iam/pkg/keyring"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// Issuer is the token endpoint: it mints access tokens for authenticated clients, and a
// person's tokens (access, ID and refresh tokens) for codes and refresh tokens.
type Issuer struct {
	clients    ClientAuthentication
	keys       *keyring.Ring
	entitled   Entitlements
	grants     Grants
	issuerBase string
	audience   string
	ttl        time.Duration
	refreshTTL time.Duration
	now        func() time.Time
}

// NewIssuer mints tokens of issuerBase's tenants for audience, valid for ttl, signed by
// keys, for the clients authenticates. entitled, if not nil, adds the scopes a client
// subject is entitled to through its effective access (iam-policies' scope sets) to
// those it registered. grants keeps codes and refresh token families; a refresh token
// is usable for refreshTTL after it was issued. A nil clock is the wall clock.
func NewIssuer(authenticates ClientAuthentication, keys *keyring.Ring, entitled Entitlements, grants Grants,
	issuerBase, audience string, ttl, refreshTTL time.Duration, clock func() time.Time) *Issuer {
	if clock == nil {
		clock = time.Now
	}
	return &Issuer{clients: authenticates, keys: keys, entitled: entitled, grants: grants, issuerBase: issuerBase,
		audience: audience, ttl: ttl, refreshTTL: refreshTTL, now: clock}
}

// ClientAuthentication authenticates the client calling an OAuth endpoint; every refusal
// is a *clients.OAuthError.
type ClientAuthentication interface {
	Authenticate(ctx context.Context, tenant, endpoint string, cr clients.Credentials) (*clients.Authenticated, error)
}

// Entitlements looks up the scopes a subject is entitled to.
type Entitlements interface {
	Scopes(ctx context.Context, tenant, subject string) ([]string, error)
}

// Token is what the token endpoint answers: an access token, and for a person an ID
// token (openid) and a refresh token (offline_access) where granted.
type Token struct {
	AccessToken  string
	ExpiresIn    int
	Scope        string
	IDToken      string
	RefreshToken string
}

// TokenRequest is a request to the token endpoint.
type TokenRequest struct {
	GrantType    string
	Scope        string
	RefreshToken string
	// Code, RedirectURI and CodeVerifier are the authorization_code grant's.
	Code         string
	RedirectURI  string
	CodeVerifier string
	Credentials  clients.Credentials
}

// Issue answers a token request: a supported grant, then the client's authentication,
// then the grant's own rules. Every refusal is a *clients.OAuthError.
func (i *Issuer) Issue(ctx context.Context, tenant string, req TokenRequest) (*Token, error) {
	switch req.GrantType {
	case "":
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "grant_type is required"}
	case "client_credentials", "authorization_code", "refresh_token":
	default:
		return nil, &clients.OAuthError{Code: "unsupported_grant_type", Description: "grant_type " + req.GrantType + " is not supported"}
	}
	a, err := i.clients.Authenticate(ctx, tenant, "token", req.Credentials)
	if err != nil {
		return nil, err
	}
	switch req.GrantType {
	case "authorization_code":
		return i.authorizationCode(ctx, a.Client, req)
	case "refresh_token":
		return i.refresh(ctx, a.Client, req)
	}
	return i.clientCredentials(ctx, a.Client, a.SecretID, req.Scope)
}

// clientCredentials issues a token to c. The granted scope is the requested scope
// narrowed to the client's scopes, or all of them when none is requested; a request
// none of whose scopes the client has is invalid_scope. The token names the secret c
// authenticated with (secretID, if any), so that revoking the secret revokes it.
func (i *Issuer) clientCredentials(ctx context.Context, c *clients.Client, secretID, requested string) (*Token, error) {
	if !slices.Contains(c.GrantTypes, "client_credentials") {
		return nil, &clients.OAuthError{Code: "unauthorized_client", Description: "the client may not use the client_credentials grant"}
	}
	allowed := c.Scopes
	if i.entitled != nil {
		entitled, err := i.entitled.Scopes(ctx, c.Tenant, c.SubjectID())
		if err != nil {
			return nil, &clients.OAuthError{Code: "server_error", Description: "entitlements unavailable", Err: err}
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
			return nil, &clients.OAuthError{Code: "invalid_scope", Description: "none of the requested scopes is allowed for this client"}
		}
	}
	now := i.now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := auth.Claims{
		Issuer:    auth.Issuer(i.issuerBase, c.Tenant),
		Subject:   c.SubjectID(),
		Audience:  append([]string{i.audience}, c.Audience...),
		ExpiresAt: now.Add(i.ttl).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		ID:        hex.EncodeToString(jti),
		Tenant:    c.Tenant,
		Scope:     strings.Join(granted, " "),
		ClientID:  c.ID,
		SecretID:  secretID,
	}
	token, err := i.keys.Sign(ctx, claims)
	if err != nil {
		return nil, err
	}
	return &Token{AccessToken: token, ExpiresIn: int(i.ttl.Seconds()), Scope: claims.Scope}, nil
}

// ClientLookup finds a live client (the credentials cache in front of the store).
type ClientLookup interface {
	Lookup(ctx context.Context, tenant, id string) (*clients.Client, error)
}

// Revocations remembers revoked access tokens until they expire (RFC 7009), and
// publishes each revocation (with the revocation, in one transaction) so that every
// service's token check refuses the token too.
type Revocations interface {
	Revoke(ctx context.Context, r Revocation) error
	Revoked(ctx context.Context, tenant, jti string) (bool, error)
}

// Revocation is one revoked access token.
type Revocation struct {
	Tenant, JTI, ClientID, Subject string
	ExpiresAt                      time.Time
}

// Introspector answers RFC 7662 questions about tokens and takes RFC 7009 revocations,
// from authenticated clients of the tenant.
type Introspector struct {
	clients           ClientAuthentication
	verifier          *auth.Verifier
	lookup            ClientLookup
	revocations       Revocations
	accessRevocations AccessRevocations
	grants            Grants
}

// NewIntrospector answers for the clients authenticates, about tokens verifier accepts,
// whose clients lookup still finds. accessRevocations, if not nil, are the subjects'
// revocations of clients' access (consent's client-access events); grants, if not nil,
// holds the refresh tokens a revocation may name.
func NewIntrospector(authenticates ClientAuthentication, verifier *auth.Verifier, lookup ClientLookup, revocations Revocations,
	accessRevocations AccessRevocations, grants Grants) *Introspector {
	return &Introspector{clients: authenticates, verifier: verifier, lookup: lookup, revocations: revocations,
		accessRevocations: accessRevocations, grants: grants}
}

// IntrospectionRequest asks whether Token is active (RFC 7662); RevocationRequest asks to
// revoke it (RFC 7009).
type (
	IntrospectionRequest struct {
		Token       string
		Credentials clients.Credentials
	}
	RevocationRequest = IntrospectionRequest
)

// authenticate authenticates the calling client of endpoint and requires a token.
func (in *Introspector) authenticate(ctx context.Context, tenant, endpoint string, req IntrospectionRequest) (*clients.Client, error) {
	a, err := in.clients.Authenticate(ctx, tenant, endpoint, req.Credentials)
	if err != nil {
		return nil, err
	}
	if req.Token == "" {
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "token is required"}
	}
	return a.Client, nil
}

// Introspect returns the claims of an active token of tenant, or nil when the token is
// not active for any reason: forged, expired, signed by a key no longer published,
// another tenant's, its client deleted, revoked, or its subject took the client's access
// away after it was issued.
func (in *Introspector) Introspect(ctx context.Context, tenant string, req IntrospectionRequest) (*auth.Claims, error) {
	if _, err := in.authenticate(ctx, tenant, "introspect", req); err != nil {
		return nil, err
	}
	c, err := in.verify(ctx, tenant, req.Token)
	if c == nil || err != nil {
		return nil, err
	}
	if _, err := in.lookup.Lookup(ctx, c.Tenant, c.ClientID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		return nil, err
	}
	revoked, err := in.revocations.Revoked(ctx, c.Tenant, c.ID)
	if err != nil || revoked {
		return nil, err
	}
	if in.accessRevocations != nil {
		r, err := in.accessRevocations.AccessRevocation(ctx, c.Tenant, c.ClientID, c.Subject)
		if err != nil || (r != nil && r.Blocks(c.IssuedAt)) {
			return nil, err
		}
	}
	return c, nil
}

// verify returns the claims of a valid token of tenant, nil for any other token.
func (in *Introspector) verify(ctx context.Context, tenant, token string) (*auth.Claims, error) {
	c, err := in.verifier.Verify(ctx, token)
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

// Revoke revokes a token on behalf of the calling client. A token that is not a valid
// token of the tenant is ignored, as RFC 7009 §2.2 asks; one issued to another client is
// refused. A refresh token revokes its whole family, the access tokens it issued
// included (RFC 7009 §2.1: the tokens of the same grant).
func (in *Introspector) Revoke(ctx context.Context, tenant string, req RevocationRequest) error {
	client, err := in.authenticate(ctx, tenant, "revoke", req)
	if err != nil {
		return err
	}
	if strings.HasPrefix(req.Token, refreshTokenPrefix) && in.grants != nil {
		presented, ok := ParseRefreshToken(req.Token)
		if !ok {
			return nil // not a token of ours (RFC 7009 §2.2)
		}
		return in.grants.RevokeRefreshToken(ctx, tenant, presented, func(f *Family) (bool, error) {
			if current, reused := f.Presented(presented); !current && !reused {
				return false, nil // a token the family never had: ignored (RFC 7009 §2.2)
			}
			if f.ClientID != client.ID {
				return false, &clients.OAuthError{Code: "unauthorized_client", Description: "the token was not issued to this client"}
			}
			return true, nil
		})
	}
	c, err := in.verify(ctx, tenant, req.Token)
	if c == nil || err != nil {
		return err
	}
	if c.ClientID != client.ID {
		return &clients.OAuthError{Code: "unauthorized_client", Description: "the token was not issued to this client"}
	}
	return in.revocations.Revoke(ctx, Revocation{Tenant: c.Tenant, JTI: c.ID, ClientID: c.ClientID, Subject: c.Subject,
		ExpiresAt: time.Unix(c.ExpiresAt, 0)})
}
