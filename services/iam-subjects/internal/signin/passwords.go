package signin

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// Argon2id is the cost of a password hash.
type Argon2id struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2id is OWASP's recommendation for argon2id (Password Storage Cheat Sheet):
// 19 MiB, 2 passes, 1 thread; about 40 ms a hash on the reference machine.
func DefaultArgon2id() Argon2id { return Argon2id{Memory: 19 * 1024, Time: 2, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
)

func (p Argon2id) weakerThan(q Argon2id) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.Threads < q.Threads
}

// Hash makes the PHC string of password with a fresh salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func (p Argon2id) Hash(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand never fails (Go 1.24)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// parseHash reads a PHC argon2id string; bounds keep a corrupt row from costing the
// server a gigabyte.
func parseHash(encoded string) (p Argon2id, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errors.New("not an argon2id hash of this version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2id parameters: %w", err)
	}
	if p.Memory < 8 || p.Memory > 1<<21 || p.Time < 1 || p.Time > 64 || p.Threads < 1 || p.Threads > 64 {
		return p, nil, nil, errors.New("argon2id parameters out of bounds")
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil {
		return p, nil, nil, err
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("argon2id key malformed")
	}
	return p, salt, key, nil
}

// verify reports whether password matches encoded (compared in constant time), and
// whether the hash should be remade with p's parameters. A malformed hash matches nothing.
func (p Argon2id) verify(encoded, password string) (ok, rehash bool) {
	params, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, false
	}
	got := argon2.IDKey([]byte(password), salt, params.Time, params.Memory, params.Threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && (params != p || len(salt) != saltLen || len(want) != keyLen)
}

// Password rules (NIST SP 800-63B §5.1.1.2): at least 8 characters, long ones allowed,
// no composition rules, and not a password attackers try first.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// normalize is how a password is compared and hashed: NFKC (NIST SP 800-63B asks for a
// stable normalization), so the same password typed on two keyboards that encode it
// differently is the same password.
func normalize(password string) string { return norm.NFKC.String(password) }

//go:embed common-passwords.txt
var commonPasswordList string

// commonPasswords reads the embedded list of the most common passwords (one a line,
// lower-cased; lines starting with # are comments).
func commonPasswords() map[string]bool {
	set := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordList))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			set[strings.ToLower(line)] = true
		}
	}
	return set
}

// checkPassword applies the rules to a normalized password for cred's user, naming field
// in the error.
func (a *Authenticator) checkPassword(field, password string, cred *Credential) error {
	bad := func(msg string) error {
		return errs.Fields("the password breaks a rule", errs.FieldError{Field: field, Message: msg})
	}
	n := utf8.RuneCountInString(password)
	lower := strings.ToLower(password)
	switch {
	case n < MinPasswordLength:
		return bad(fmt.Sprintf("must have at least %d characters", MinPasswordLength))
	case n > MaxPasswordLength:
		return bad(fmt.Sprintf("must have at most %d characters", MaxPasswordLength))
	case a.common[lower] || oneCharacter(password):
		return bad("is one of the most common passwords; choose one that is harder to guess")
	case cred != nil && (cred.Username != "" && lower == strings.ToLower(cred.Username) ||
		cred.Email != "" && lower == strings.ToLower(cred.Email)):
		return bad("must not be the username or email")
	}
	return nil
}

func oneCharacter(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	return strings.Trim(s, string(first)) == ""
}

// verifyPassword checks password against cred's hash; an unknown user (nil) or a user
// without a password costs the same argon2id verification, against a dummy hash, and
// fails. A successful check whose hash has outdated parameters is rehashed.
func (a *Authenticator) verifyPassword(ctx context.Context, cred *Credential, password string) bool {
	if cred == nil || cred.Hash == "" {
		a.hashing.verify(a.dummy, password)
		return false
	}
	ok, rehash := a.hashing.verify(cred.Hash, password)
	if rehash {
		// Best effort: a failed rehash leaves the old hash, which still verifies; the next
		// sign-in tries again.
		_ = a.store.Rehash(ctx, cred.Tenant, cred.UserID, cred.Hash, a.hashing.Hash(password))
	}
	return ok
}

// SetPassword sets or resets a user's password (an administrator's operation) and ends
// the user's login sessions.
func (a *Authenticator) SetPassword(ctx context.Context, tenant, userID, password string) error {
	cred, err := a.store.Credential(ctx, tenant, userID)
	if err != nil {
		return err
	}
	password = normalize(password)
	if err := a.checkPassword("password", password, cred); err != nil {
		return err
	}
	return a.store.SetPassword(ctx, tenant, userID, a.hashing.Hash(password), a.now())
}

// Throttled is a password attempt refused unchecked: the caller must wait.
type Throttled struct{ Wait time.Duration }

func (t *Throttled) Error() string {
	return fmt.Sprintf("too many wrong passwords; retry after %d seconds", retrySeconds(t.Wait))
}

// retrySeconds rounds a wait up to whole seconds, the unit of Retry-After.
func retrySeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// RetryAfter is the wait in whole seconds (at least 1).
func (t *Throttled) RetryAfter() int { return max(retrySeconds(t.Wait), 1) }

// ChangeOwnPassword lets a person change their password with their own access token,
// naming the current one. Wrong guesses count against the person and the caller's
// address as failed sign-ins do (*Throttled when they must wait). Every login session of
// the user ends: the API call belongs to none of them.
func (a *Authenticator) ChangeOwnPassword(ctx context.Context, tenant string, caller *auth.Claims, address, current, next string) error {
	if caller == nil {
		return errs.E(errs.Unauthorized, "no caller")
	}
	userID, ok := strings.CutPrefix(caller.Subject, "user-")
	if !ok || userID == "" {
		return errs.E(errs.Forbidden, "only a person, with an access token issued to them, changes their own password; %q is not a user", caller.Subject)
	}
	cred, err := a.store.Credential(ctx, tenant, userID)
	if err != nil {
		return err
	}
	now := a.now()
	attempt, wait := a.throttle.Begin(tenant, throttlePrincipal(cred, ""), address, now)
	if wait > 0 {
		return &Throttled{Wait: wait}
	}
	if !a.verifyPassword(ctx, cred, normalize(current)) {
		attempt.Failed(a.now())
		return errs.Fields("the current password is wrong", errs.FieldError{Field: "currentPassword", Message: "does not match the current password"})
	}
	attempt.Succeeded()
	next = normalize(next)
	if err := a.checkPassword("newPassword", next, cred); err != nil {
		return err
	}
	return a.store.SetPassword(ctx, tenant, userID, a.hashing.Hash(next), now)
}
