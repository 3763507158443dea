// Package signin is how people sign in to a tenant: their passwords (argon2id at rest,
// NIST SP 800-63B rules), the login page's side of the sign-in handshake with
// oauth-clients (pkg/handshake: a signed login challenge in, a signed login verdict out),
// login sessions (one per browser and tenant, so a second application signs in without a
// password), logout, and the throttling of password guesses.
//
// Nothing here calls another service: challenges are verified against oauth-clients'
// published keys (cached), verdicts are signed with this service's own key ring, and the
// browser carries both. Passwords, their hashes and session tokens never leave this
// service; no event carries them.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"
	"github.com/iamplane/iam/pkg/throttle"
)

// Credential is what signing a user in needs to know about them.
type Credential struct {
	Tenant   string
	UserID   string
	Username string
	Email    string
	Locked   bool
	// Hash is the password's argon2id hash (a PHC string), "" while none has been set.
	Hash string
}

// Subject is the user's subject id, the sub of verdicts.
func (c *Credential) Subject() string { return "user-" + c.UserID }

// UsedChallenge records a challenge's single use until it has expired (after which
// handshake.Open refuses it anyway).
type UsedChallenge struct {
	Tenant    string
	Kind      string // "login" or "logout"
	ID        string // the challenge's jti
	ExpiresAt time.Time
}

// Store keeps credentials, login sessions and used challenges.
type Store interface {
	// CredentialByLogin finds the user whose username, else whose email, is login
	// (case-insensitively); errs.NotFound if there is none.
	CredentialByLogin(ctx context.Context, tenant, login string) (*Credential, error)
	// Credential finds the user with this id; errs.NotFound if there is none.
	Credential(ctx context.Context, tenant, userID string) (*Credential, error)
	// SetPassword stores hash as the user's password and ends every login session of the
	// user, in one transaction; errs.NotFound if the user does not exist.
	SetPassword(ctx context.Context, tenant, userID, hash string, now time.Time) error
	// Rehash replaces the user's password hash with newHash if it is still oldHash.
	Rehash(ctx context.Context, tenant, userID, oldHash, newHash string) error

	// ChallengeUsed reports whether the challenge has been used.
	ChallengeUsed(ctx context.Context, c UsedChallenge) (bool, error)
	// UseChallenge records the challenge's use; ErrChallengeUsed if it was used before.
	UseChallenge(ctx context.Context, c UsedChallenge) error

	// StartSession, in one transaction, records the challenge's use (ErrChallengeUsed if
	// it was used before), ends the session whose token hashes to replaces (the browser's
	// previous one, if any) and stores s under tokenHash; ErrAccountLocked if the user has
	// been locked meanwhile.
	StartSession(ctx context.Context, c UsedChallenge, replaces []byte, s Session, tokenHash []byte) error
	// Session returns the unexpired session of tenant whose token hashes to tokenHash;
	// errs.NotFound if there is none.
	Session(ctx context.Context, tenant string, tokenHash []byte, now time.Time) (*Session, error)
	// EndSession ends the session whose token hashes to tokenHash, if there is one.
	EndSession(ctx context.Context, tenant string, tokenHash []byte) error
	// EndSessionByID ends the session with public id sid, if there is one.
	EndSessionByID(ctx context.Context, tenant, sid string) error
	// Prune deletes expired sessions and used challenges that have expired.
	Prune(ctx context.Context, now time.Time) error
}

// VerdictSigner signs verdicts and publishes the keys that verify them: the service's
// key ring (keyring.Ring).
type VerdictSigner interface {
	handshake.Signer
	JWKS(ctx context.Context) ([]jwk.Key, error)
}

// Errors the pages show as pages of their own.
var (
	// ErrChallengeUsed: the challenge has been used already (a replay, or the back button).
	ErrChallengeUsed = errs.E(errs.Conflict, "this sign-in link has already been used")
	// ErrAccountLocked: the user is locked (isAccountLocked); said only to whoever gave
	// the right password.
	ErrAccountLocked = errs.E(errs.Forbidden, "the account is locked")
)

// Options configure an Authenticator; zero values take the defaults.
type Options struct {
	// Base is the platform's public base URL (IAM_ISSUER_URL): it names the issuers of
	// challenges and verdicts and the resume endpoint.
	Base string
	// SessionTTL is how long a login session lasts (default 12 h).
	SessionTTL time.Duration
	// Throttle slows down password guessing (see NewThrottle); nil throttles with the
	// defaults.
	Throttle *throttle.Limiter
	// Hashing is the argon2id cost of new hashes (default DefaultArgon2id; never below it).
	// Stored hashes of another cost are remade at the next sign-in.
	Hashing Argon2id
	// Clock is the time; nil is the wall clock.
	Clock func() time.Time
}

// Authenticator is the service's sign-in use cases: the login and logout pages, and
// setting and changing passwords. Every page and password operation goes through exactly
// one of its methods.
type Authenticator struct {
	store      Store
	challenges auth.KeySource // oauth-clients' keys, which sign challenges
	verdicts   VerdictSigner
	base       string
	sessionTTL time.Duration
	throttle   *throttle.Limiter
	hashing    Argon2id
	// dummy is a hash verified in place of an unknown user's, so that every failed
	// login costs the same work and timing tells nothing of who exists.
	dummy  string
	common map[string]bool // the most common passwords, refused
	now    func() time.Time
}

// NewAuthenticator builds the sign-in use cases on store; challenges are verified with
// challengeKeys (oauth-clients' JWKS) and verdicts signed by verdicts.
func NewAuthenticator(store Store, challengeKeys auth.KeySource, verdicts VerdictSigner, o Options) *Authenticator {
	a := &Authenticator{store: store, challenges: challengeKeys, verdicts: verdicts, base: o.Base,
		sessionTTL: o.SessionTTL, throttle: o.Throttle, hashing: o.Hashing, now: o.Clock}
	if a.sessionTTL <= 0 {
		a.sessionTTL = 12 * time.Hour
	}
	if a.throttle == nil {
		a.throttle = NewThrottle(throttle.Limits{})
	}
	if a.hashing.weakerThan(DefaultArgon2id()) {
		a.hashing = DefaultArgon2id()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.dummy = a.hashing.Hash(random(16))
	a.common = commonPasswords()
	return a
}

// VerdictKeys are the public keys that verify this service's verdicts (the login JWKS).
func (a *Authenticator) VerdictKeys(ctx context.Context) ([]jwk.Key, error) {
	return a.verdicts.JWKS(ctx)
}

// Prune forgets what has expired: sessions, used challenges and quiet throttling state.
func (a *Authenticator) Prune(ctx context.Context) error {
	now := a.now()
	a.throttle.Prune(now)
	return a.store.Prune(ctx, now)
}

// random returns n random bytes, base64url-encoded.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is how a session token is stored: a SHA-256 (the token has 256 random bits,
// so a slow hash would buy nothing), so that reading the table gives no usable cookie.
func tokenHash(token string) []byte {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
