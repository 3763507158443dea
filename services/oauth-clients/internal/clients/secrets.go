package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/iamplane/iam/pkg/errs"
)

// Secret is one of a client's secrets. Value is set only when the secret is new; at rest
// there is only Hash.
type Secret struct {
	ID          string
	Value       string
	Hash        string
	Hint        string
	Description string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
}

// argon2id parameters (OWASP's minimum): about 40 ms a hash here.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// NewSecret makes a secret from a caller-chosen value, or generates a 256-bit one when
// value is empty. Generated secrets are hashed with SHA-256: their entropy makes a slow
// hash pointless and keeps the token endpoint fast. Chosen ones, which people pick, get
// argon2id.
func NewSecret(value, description string, expiresAt *time.Time, now time.Time) (*Secret, error) {
	s := &Secret{ID: randomHex(12), Description: description, CreatedAt: now, ExpiresAt: expiresAt}
	if value == "" {
		s.Value = "cs_" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
		sum := sha256.Sum256([]byte(s.Value))
		s.Hash = "$sha256$" + hex.EncodeToString(sum[:])
	} else {
		if n := len([]rune(value)); n < 8 || n > 32 {
			return nil, fmt.Errorf("a chosen secret has 8 to 32 characters")
		}
		s.Value = value
		s.Hash = hashArgon2id(value)
	}
	if value == "" {
		// The last characters of 256 random bits tell secrets apart and give nothing away;
		// any part of a chosen secret would.
		s.Hint = "…" + s.Value[len(s.Value)-4:]
	}
	return s, nil
}

// Matches reports in constant time whether value is this secret.
func (s *Secret) Matches(value string) bool {
	switch {
	case strings.HasPrefix(s.Hash, "$sha256$"):
		sum := sha256.Sum256([]byte(value))
		want, err := hex.DecodeString(strings.TrimPrefix(s.Hash, "$sha256$"))
		return err == nil && subtle.ConstantTimeCompare(sum[:], want) == 1
	case strings.HasPrefix(s.Hash, "$argon2id$"):
		return verifyArgon2id(s.Hash, value)
	}
	return false
}

// Live reports whether the secret has not expired at now.
func (s *Secret) Live(now time.Time) bool { return s.ExpiresAt == nil || now.Before(*s.ExpiresAt) }

func hashArgon2id(value string) string {
	salt := randomBytes(16)
	key := argon2.IDKey([]byte(value), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// SlowHashCost measures what verifying a chosen (argon2id) secret takes on this machine:
// the fastest of three verifications of a dummy hash, as load only ever adds to it.
func SlowHashCost() time.Duration {
	hash := hashArgon2id("dummy-secret-for-timing")
	fastest := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		verifyArgon2id(hash, "another-dummy-secret")
		fastest = min(fastest, time.Since(start))
	}
	return fastest
}

// argonRecent is what argon2id verifications in this process have been taking lately
// (nanoseconds). Under load they take longer than at start-up, and the padding of failed
// authentications must keep up at once: it follows a slower verification halfway, and a
// faster one only by a sixteenth.
var argonRecent atomic.Int64

func observeArgon2id(took time.Duration) {
	for {
		old := argonRecent.Load()
		next := int64(took)
		switch {
		case old == 0:
		case next > old:
			next = old + (next-old)/2
		default:
			next = old + (next-old)/16
		}
		if argonRecent.CompareAndSwap(old, next) {
			return
		}
	}
}

// RecentSlowHashCost is what argon2id verifications have been taking lately here.
func RecentSlowHashCost() time.Duration { return time.Duration(argonRecent.Load()) }

func verifyArgon2id(encoded, value string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	start := time.Now()
	got := argon2.IDKey([]byte(value), salt, t, m, p, uint32(len(want)))
	observeArgon2id(time.Since(start))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// AddSecret adds a secret (generated unless value is given).
func (r *Registry) AddSecret(ctx context.Context, tenant, clientID, value, description string, expiresAt *time.Time) (*Secret, error) {
	now := r.now()
	if expiresAt != nil && !expiresAt.After(now) {
		return nil, errs.Fields("the secret would never be valid", errs.FieldError{Field: "expiresAt", Message: "must be in the future"})
	}
	c, err := r.store.Get(ctx, tenant, clientID)
	if err != nil {
		return nil, err
	}
	if c.Public {
		return nil, errs.E(errs.Conflict, "client %q is public and has no secrets", clientID)
	}
	s, err := NewSecret(value, description, expiresAt, now)
	if err != nil {
		return nil, errs.Fields("invalid secret", errs.FieldError{Field: "value", Message: err.Error()})
	}
	err = r.store.AddSecret(ctx, tenant, clientID, s)
	r.cache.Invalidate(tenant, clientID)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Secrets lists a client's secrets (hashes never leave the store).
func (r *Registry) Secrets(ctx context.Context, tenant, clientID string) ([]Secret, error) {
	return r.store.Secrets(ctx, tenant, clientID)
}

// DeleteSecret revokes one secret.
func (r *Registry) DeleteSecret(ctx context.Context, tenant, clientID, secretID string) error {
	defer r.cache.Invalidate(tenant, clientID)
	return r.store.DeleteSecret(ctx, tenant, clientID, secretID)
}
