package tokens

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// A person's tokens: an RFC 9068 access token like a machine's, whose sub is the person;
// an OpenID Connect ID token when openid was granted; and a refresh token when
// offline_access was granted to a client that has the refresh_token grant type.

// PersonClaims are a person's access token claims: a machine token's, plus when the
// person last entered a credential (RFC 9068 §2.2.1 auth_time).
type PersonClaims struct {
	auth.Claims
	AuthTime int64 `json:"auth_time,omitempty"`
}

// IDClaims are an ID token's claims (OIDC Core §2, §3.1.3.6).
type IDClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud"` // the client: one audience, a string (OIDC Core §2)
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	Nonce     string   `json:"nonce,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	AtHash    string   `json:"at_hash,omitempty"`
	SID       string   `json:"sid,omitempty"`
}

// refreshTokenPrefix marks refresh tokens, which are opaque: revocation tells them from
// access tokens by it.
const refreshTokenPrefix = "rt_"

// IDTokenType is the typ header of ID tokens: plain JWT (OIDC Core does not register one
// of its own), which keeps them from being taken for access tokens (at+jwt) or sign-in
// artefacts.
const IDTokenType = "JWT"

// AtHash is the at_hash of accessToken for an EdDSA (Ed25519) signed ID token: the left
// half of its SHA-512, base64url (OIDC Core §3.1.3.6 takes the hash of the alg; for
// Ed25519 that is SHA-512, which is also what github.com/coreos/go-oidc/v3 checks).
func AtHash(accessToken string) string {
	sum := sha512.Sum512([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// personGrant is what a person's tokens say, from a code or a family.
type personGrant struct {
	Subject  string
	Scope    []string
	Nonce    string // only at the code's exchange
	AuthTime int64
	AMR      []string
	SID      string
	FamilyID string
	// Generation is the generation of the family's refresh token this grant issues.
	Generation int
	// Offline is whether the family holds offline_access, and so gets a refresh token.
	Offline bool
}

// mint signs a person's tokens for c and says what to record of them.
func (i *Issuer) mint(ctx context.Context, c *clients.Client, g personGrant, now time.Time) (*Token, *Issuance, error) {
	scope := strings.Join(g.Scope, " ")
	access := PersonClaims{Claims: auth.Claims{
		Issuer: auth.Issuer(i.issuerBase, c.Tenant), Subject: g.Subject, Audience: append([]string{i.audience}, c.Audience...),
		ExpiresAt: now.Add(i.ttl).Unix(), NotBefore: now.Unix(), IssuedAt: now.Unix(), ID: randomToken(16),
		Tenant: c.Tenant, Scope: scope, ClientID: c.ID,
	}, AuthTime: g.AuthTime}
	at, err := i.keys.SignJWT(ctx, auth.TokenType, access)
	if err != nil {
		return nil, nil, err
	}
	tok := &Token{AccessToken: at, ExpiresIn: int(i.ttl.Seconds()), Scope: scope}
	iss := &Issuance{FamilyID: g.FamilyID, AccessJTI: access.ID, AccessExpiresAt: time.Unix(access.ExpiresAt, 0),
		FamilyExpiresAt: time.Unix(access.ExpiresAt, 0), Refresh: RefreshToken{FamilyID: g.FamilyID, Generation: g.Generation}}
	if slices.Contains(g.Scope, "openid") {
		id := IDClaims{
			Issuer: access.Issuer, Subject: g.Subject, Audience: c.ID, ExpiresAt: access.ExpiresAt,
			IssuedAt: access.IssuedAt, AuthTime: g.AuthTime, Nonce: g.Nonce, AMR: g.AMR, AtHash: AtHash(at), SID: g.SID,
		}
		if tok.IDToken, err = i.keys.SignJWT(ctx, IDTokenType, id); err != nil {
			return nil, nil, err
		}
	}
	if g.Offline && slices.Contains(c.GrantTypes, "refresh_token") {
		var rt *RefreshToken
		tok.RefreshToken, rt = newRefreshToken(g.FamilyID, g.Generation, now.Add(i.refreshTTL))
		iss.Refresh = *rt
		iss.FamilyExpiresAt = later(iss.FamilyExpiresAt, rt.ExpiresAt)
	}
	return tok, iss, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func invalidGrant(description string) *clients.OAuthError {
	return &clients.OAuthError{Code: "invalid_grant", Description: description}
}

// serverError is a fault of ours behind a grant: answered as a problem, never as the
// client's error.
func serverError(err error) *clients.OAuthError {
	return &clients.OAuthError{Code: "server_error", Description: "the tokens could not be issued", Err: err}
}
