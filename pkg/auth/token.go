// Package auth issues and verifies the platform's access tokens (RFC 9068 JWTs) and
// enforces, for every operation, the scopes its OpenAPI spec declares and the tenant in
// its path. A missing or wrong token never reaches a handler.
package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/iamplane/iam/pkg/errs"
)

// SystemTenant is the platform operators' tenant; its admins may act on any tenant.
const SystemTenant = "system"

// AdminScope is the umbrella scope that satisfies every management operation.
const AdminScope = "services.iam"

// TokenType is the JWT typ of access tokens (RFC 9068 §2.1).
const TokenType = "at+jwt"

// maxTokenSize caps what we parse at all; a header is small, a token a few hundred
// bytes. Anything larger is an attack or a mistake.
const (
	maxTokenSize  = 8 << 10
	maxHeaderSize = 1 << 10
)

// Claims are the access token claims the platform issues and relies on.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  Audience `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf,omitempty"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	Tenant    string   `json:"tenant"`
	Scope     string   `json:"scope"`
	ClientID  string   `json:"client_id"`
	// SecretID names the client secret the client authenticated with to get the token
	// (client_credentials): revoking that secret revokes the token (package revocation).
	// Empty for other client authentication methods.
	SecretID string `json:"client_secret_id,omitempty"`
}

// Audience is the aud claim, which RFC 7519 §4.1.3 lets be one string or an array.
type Audience []string

// UnmarshalJSON accepts both forms.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// Scopes splits the space-separated scope claim.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token carries scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes(), s) }

// PlatformAdmin reports whether the caller may act on any tenant.
func (c *Claims) PlatformAdmin() bool { return c.Tenant == SystemTenant && c.HasScope(AdminScope) }

// Sign encodes claims as an EdDSA-signed RFC 9068 access token.
func Sign(claims Claims, kid string, key ed25519.PrivateKey) (string, error) {
	return SignJWS(TokenType, kid, key, claims)
}

// SignJWS signs claims (any JSON object) as an EdDSA compact JWS with header typ and kid:
// ID tokens, sign-in challenges and verdicts (access tokens go through Sign).
func SignJWS(typ, kid string, key ed25519.PrivateKey, claims any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "EdDSA", "typ": typ, "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	return input + "." + enc.EncodeToString(ed25519.Sign(key, []byte(input))), nil
}

// KeySource finds the public key for a key id. Implementations refetch on an unknown kid,
// so a freshly rotated key is accepted without a restart.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// Verifier validates access tokens completely: size, typ, an allow-listed alg, a known
// kid, the signature, issuer, audience, expiry and not-before.
type Verifier struct {
	Keys       KeySource
	IssuerBase string // tokens of tenant T must have iss = IssuerBase + "/v1/tenants/" + T
	Audience   string
	Leeway     time.Duration
	Now        func() time.Time
	// Denylist, if set, refuses tokens revoked since they were issued; it is consulted
	// after the signature and claims checks on every call, cached verification or not.
	Denylist Denylist

	cache verifiedCache
}

// Denylist knows the tokens revoked after they were issued (package revocation). Check
// returns an Unauthorized error for a revoked token, Unavailable while the list is not
// yet loaded, nil otherwise; it must be cheap (it runs on every request).
type Denylist interface {
	Check(c *Claims) error
}

type joseHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
	Jku string `json:"jku"`
	X5u string `json:"x5u"`
}

var allowedAlgs = map[string]jwa.SignatureAlgorithm{"EdDSA": jwa.EdDSA(), "ES256": jwa.ES256()}

// Issuer is the issuer URL of tenant's tokens.
func Issuer(base, tenant string) string {
	return strings.TrimRight(base, "/") + "/v1/tenants/" + tenant
}

// verifiedCacheSize bounds the cache of verified tokens: a caller presents the same token
// on every request until it expires, and an Ed25519 verification costs more than the
// rest of a check.
const verifiedCacheSize = 10000

type verifiedCache struct {
	mu     sync.Mutex
	tokens map[string]verified
}

type verified struct {
	claims Claims
	kid    string
}

func (c *verifiedCache) get(token string, now time.Time) (verified, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.tokens[token]
	if ok && now.After(time.Unix(v.claims.ExpiresAt, 0)) {
		delete(c.tokens, token)
		return v, false
	}
	return v, ok
}

func (c *verifiedCache) put(token string, v verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil || len(c.tokens) >= verifiedCacheSize {
		c.tokens = make(map[string]verified, verifiedCacheSize)
	}
	c.tokens[token] = v
}

// Verify returns the token's claims or an Unauthorized error saying what is wrong. A
// token verified before is answered from a cache until it expires (each caller gets
// its own copy of the claims struct); the Denylist is asked either way.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verifyCached(ctx, token)
	if err != nil {
		return nil, err
	}
	if v.Denylist != nil {
		if err := v.Denylist.Check(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (v *Verifier) verifyCached(ctx context.Context, token string) (*Claims, error) {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	// A cached token is still refused once its key is no longer published.
	if hit, ok := v.cache.get(token, now); ok && (hit.claims.NotBefore == 0 || !now.Add(v.Leeway).Before(time.Unix(hit.claims.NotBefore, 0))) {
		if _, err := v.Keys.PublicKey(ctx, hit.kid); err == nil {
			c := hit.claims
			return &c, nil
		}
	}
	c, kid, err := v.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	v.cache.put(token, verified{claims: *c, kid: kid})
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (*Claims, string, error) {
	bad := func(format string, args ...any) (*Claims, string, error) {
		return nil, "", errs.E(errs.Unauthorized, "invalid access token: "+format, args...)
	}
	payload, kid, err := verifySignature(ctx, v.Keys, token, TokenType, "access token")
	if err != nil {
		return nil, "", err
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("claims are not valid")
	}
	leeway := v.Leeway
	switch {
	case c.ExpiresAt == 0:
		return bad("no exp")
	case now.After(time.Unix(c.ExpiresAt, 0).Add(leeway)):
		return bad("expired")
	case c.NotBefore != 0 && now.Add(leeway).Before(time.Unix(c.NotBefore, 0)):
		return bad("not yet valid")
	case c.Tenant == "":
		return bad("no tenant")
	case c.Issuer != Issuer(v.IssuerBase, c.Tenant):
		return bad("unexpected issuer")
	case !slices.Contains(c.Audience, v.Audience):
		return bad("audience does not include %q", v.Audience)
	case c.Subject == "":
		return bad("no sub")
	}
	return &c, kid, nil
}

func (v *Verifier) String() string { return fmt.Sprintf("Verifier(%s, %s)", v.IssuerBase, v.Audience) }

// VerifyJWS checks a compact JWS other than an access token (an ID token, a sign-in
// challenge or verdict) the way access tokens are checked, up to the claims: size, an
// allow-listed alg matching the key, header typ exactly typ, a kid known to keys, and the
// signature. It returns the payload; the caller checks the claims. what names the
// artefact in the Unauthorized error.
func VerifyJWS(ctx context.Context, keys KeySource, token, typ, what string) ([]byte, error) {
	payload, _, err := verifySignature(ctx, keys, token, typ, what)
	return payload, err
}

func verifySignature(ctx context.Context, keys KeySource, token, typ, what string) ([]byte, string, error) {
	bad := func(format string, args ...any) ([]byte, string, error) {
		return nil, "", errs.E(errs.Unauthorized, "invalid "+what+": "+format, args...)
	}
	if len(token) > maxTokenSize {
		return bad("too large")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return bad("not a compact JWS")
	}
	if len(parts[0]) > maxHeaderSize {
		return bad("header too large")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return bad("header is not base64url")
	}
	var h joseHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return bad("header is not JSON")
	}
	alg, ok := allowedAlgs[h.Alg]
	if !ok {
		return bad("algorithm %q not allowed", h.Alg)
	}
	if !strings.EqualFold(h.Typ, typ) && !strings.EqualFold(h.Typ, "application/"+typ) {
		return bad("typ must be %s", typ)
	}
	// Keys come only from our configured source; a jku or x5u in a token is never followed.
	if h.Kid == "" {
		return bad("no kid")
	}
	key, err := keys.PublicKey(ctx, h.Kid)
	if err != nil {
		return nil, "", err
	}
	switch key.(type) {
	case ed25519.PublicKey:
		if h.Alg != "EdDSA" {
			return bad("algorithm does not match the key")
		}
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" {
			return bad("algorithm does not match the key")
		}
	default:
		return bad("unsupported key type")
	}
	payload, err := jws.VerifyCompactFast(key, []byte(token), alg)
	if err != nil {
		return bad("signature does not verify")
	}
	return payload, h.Kid, nil
}
