package tokens

import (
	"context"
	"crypto/subtle"
	"slices"
	"strconv"
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
	// Refresh is the family's current refresh token: its generation, and its hash and
	// expiry if it has one (Hash "": the last refresh issued none). Earlier generations
	// were rotated away.
	Refresh RefreshToken
	// LiveAccessTokens counts the access tokens it issued that have not expired yet.
	LiveAccessTokens int
}

// RefreshToken is a refresh token as kept: its family's generation and the hash of its
// value. The value itself is "rt_" + family id + "." + generation + "." + 256 random bits,
// so a presented token names its family and generation: a family is one row that
// rotation moves to the next generation, and a token of an earlier generation is a
// rotated one presented again (reuse). Only holders of one of a family's tokens know its
// id, so nobody else can present an earlier generation of it.
type RefreshToken struct {
	FamilyID   string
	Generation int
	Hash       string
	ExpiresAt  time.Time
}

// PresentedRefreshToken is a refresh token as a client presents it.
type PresentedRefreshToken struct {
	FamilyID   string
	Generation int
	Hash       string
}

// ParseRefreshToken reads a presented refresh token; ok is false for anything that is not
// one of ours.
func ParseRefreshToken(value string) (t PresentedRefreshToken, ok bool) {
	rest, ok := strings.CutPrefix(value, refreshTokenPrefix)
	if !ok {
		return t, false
	}
	family, rest, ok1 := strings.Cut(rest, ".")
	gen, secret, ok2 := strings.Cut(rest, ".")
	n, err := strconv.Atoi(gen)
	if !ok1 || !ok2 || err != nil || n < 0 || family == "" || secret == "" || strconv.Itoa(n) != gen {
		return t, false
	}
	return PresentedRefreshToken{FamilyID: family, Generation: n, Hash: HashOf(value)}, true
}

// newRefreshToken makes generation gen of a family's refresh token: the value for the
// client and what to keep of it.
func newRefreshToken(familyID string, gen int, expires time.Time) (string, *RefreshToken) {
	value := refreshTokenPrefix + familyID + "." + strconv.Itoa(gen) + "." + randomToken(32)
	return value, &RefreshToken{FamilyID: familyID, Generation: gen, Hash: HashOf(value), ExpiresAt: expires}
}

// Presented is what the family makes of a presented token of it: current (the one to
// rotate), reused (an earlier generation, rotated away before), or neither (a later
// generation or a wrong value: not a token of ours).
func (f *Family) Presented(t PresentedRefreshToken) (current, reused bool) {
	switch {
	case t.Generation < f.Refresh.Generation:
		return false, true
	case t.Generation == f.Refresh.Generation && f.Refresh.Hash != "":
		return subtle.ConstantTimeCompare([]byte(t.Hash), []byte(f.Refresh.Hash)) == 1, false
	}
	return false, false
}

// MaxLiveAccessTokens bounds the access tokens a family may have alive at once: a family
// keeps them (to revoke them with it), and a client refreshing in a loop would otherwise
// grow that list without end. A client refreshing every 36 s for an hour reaches it.
const MaxLiveAccessTokens = 100

// Holder is what the views say about the person a family was issued to, read with the
// refresh token: whether they may still get tokens, whether they took the client's access
// away in consent, and the scopes they are entitled to now.
type Holder struct {
	Standing users.Standing
	Access   *AccessRevocation
	Entitled []string
}

// Issuance is what a grant issued, for the store to record with the code's or refresh
// token's use in the same statement.
type Issuance struct {
	Family          *Family // a new family (a code's exchange); nil on refresh
	FamilyID        string
	FamilyExpiresAt time.Time
	AccessJTI       string
	AccessExpiresAt time.Time
	// Refresh is the family's next refresh token; its Hash is "" when none was issued
	// (the generation moves on all the same, retiring the presented one).
	Refresh RefreshToken
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

// Grants keeps codes, families and refresh tokens. Redeem and Refresh each read the code
// or family, let decide rule on it, and record the decision only if the code or family
// is still as read; otherwise they read again and decide again. So a code or token works
// once however many requests race, and the losers are decided as second uses.
type Grants interface {
	// Redeem finds the code by its hash (errs.NotFound if there is none) with the
	// person's standing, and records decide's decision.
	Redeem(ctx context.Context, tenant, codeHash string, decide func(c *Code, person users.Standing) Decision) error
	// Refresh finds the family of the presented refresh token (errs.NotFound if there is
	// none) with its holder, and records decide's decision.
	Refresh(ctx context.Context, tenant string, t PresentedRefreshToken, decide func(f *Family, h Holder) Decision) error
	// RevokeSession revokes every family issued under the login session sid, with its
	// access tokens.
	RevokeSession(ctx context.Context, tenant, sid string) error
	// RevokeRefreshToken revokes the family of the refresh token, with its access tokens,
	// if decide says so (its error is returned); an unknown family is no error.
	RevokeRefreshToken(ctx context.Context, tenant string, t PresentedRefreshToken, decide func(f *Family) (revoke bool, err error)) error
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
