package tokens

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// CodeTTL is how long an authorization code may be exchanged: a browser redirect and one
// back-channel call (RFC 6749 §4.1.2 asks for short-lived codes; 60 s is the issue's cap).
const CodeTTL = 60 * time.Second

// Code is an authorization code as kept: its hash, never the code, and everything the
// exchange is bound to (RFC 6749 §4.1.3, RFC 7636 §4.6) or carries into the tokens.
type Code struct {
	Tenant      string
	Hash        string
	ClientID    string
	RedirectURI string
	Challenge   string // PKCE S256
	Nonce       string
	Scope       string // granted: the consent verdict's scope ∩ what was offered
	Subject     string // user-<id>
	AuthTime    int64
	AMR         []string
	SID         string
	ExpiresAt   time.Time
	// UsedAt and FamilyID record the exchange: a second one revokes that family.
	UsedAt   *time.Time
	FamilyID string
}

// NewCode makes a code for a person's authorization: the value for the redirect (256
// random bits) and what to keep of it.
func NewCode(c Code, now time.Time) (string, *Code) {
	value := randomToken(32)
	c.Hash, c.ExpiresAt, c.UsedAt, c.FamilyID = HashOf(value), now.Add(CodeTTL), nil, ""
	return value, &c
}

// Family is what one code's exchange started: the access tokens and the chain of refresh
// tokens (RFC 9700 §4.14's refresh token family). Revoking it revokes them all.
type Family struct {
	Tenant    string
	ID        string
	ClientID  string
	Subject   string
	SID       string
	Scope     string // granted at the code; refreshes may narrow it, never widen it
	AuthTime  int64
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time // when its last token expires
	RevokedAt *time.Time
}

// RefreshToken is a refresh token as kept: its hash and family. A used one was rotated
// away; presenting it again is reuse.
type RefreshToken struct {
	Hash      string
	FamilyID  string
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Holder is what the views say about the person a family was issued to, read with the
// refresh token: whether they may still get tokens, whether they took the client's access
// away in consent, and the scopes they are entitled to now.
type Holder struct {
	Standing users.Standing
	Access   *AccessRevocation
	Entitled []string
}

// Issuance is what a grant issued, for the store to record with the code's or refresh
// token's use in the same transaction.
type Issuance struct {
	Family          *Family // a new family (a code's exchange); nil on refresh
	FamilyID        string
	FamilyExpiresAt time.Time
	AccessJTI       string
	AccessExpiresAt time.Time
	Refresh         *RefreshToken // nil: no refresh token issued
}

// Decision is what the grant's rules made of a presented code or refresh token.
type Decision struct {
	Issue *Issuance
	// Revoke revokes the family the code or token belongs to, with its access tokens:
	// a code used twice, a rotated refresh token presented again (RFC 9700 §4.14).
	Revoke bool
	// Refusal is the answer once the decision is committed (nil with Issue).
	Refusal error
}

// Grants keeps codes, families and refresh tokens. Redeem and Refresh each run in one
// transaction: the code or token is locked, decide rules on it, and what it decided is
// written before the lock is released, so a code or token works once however many
// requests race.
type Grants interface {
	// Redeem finds the code by its hash (errs.NotFound if there is none) with the
	// person's standing, and records decide's decision.
	Redeem(ctx context.Context, tenant, codeHash string, decide func(c *Code, person users.Standing) Decision) error
	// Refresh finds the refresh token by its hash (errs.NotFound if there is none) with
	// its family and holder, and records decide's decision.
	Refresh(ctx context.Context, tenant, tokenHash string, decide func(t *RefreshToken, f *Family, h Holder) Decision) error
	// RevokeSession revokes every family issued under the login session sid, with its
	// access tokens.
	RevokeSession(ctx context.Context, tenant, sid string) error
	// RevokeRefreshToken revokes the family of the refresh token (by its hash), with its
	// access tokens, unless may refuses (its error is returned); an unknown token is no
	// error.
	RevokeRefreshToken(ctx context.Context, tenant, tokenHash string, may func(f *Family) error) error
}

// Narrow is the scope a person's token may carry: want ∩ the client's scopes ∩ what the
// person is entitled to, where the OpenID Connect scopes count as entitled to everyone
// (they only describe the person, with their consent). Order follows want; no duplicates.
func Narrow(want, client, entitled []string) []string {
	var out []string
	for _, s := range want {
		if slices.Contains(out, s) || !slices.Contains(client, s) {
			continue
		}
		if scopes.IsOpenID(s) || slices.Contains(entitled, s) {
			out = append(out, s)
		}
	}
	return out
}

// Intersect is the scopes of a that b has too, in a's order, without duplicates.
func Intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ValidScope reports whether every space-separated scope token of s uses only the
// characters RFC 6749 §3.3 allows.
func ValidScope(s string) bool {
	for _, tok := range strings.Fields(s) {
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return false
			}
		}
	}
	return true
}
