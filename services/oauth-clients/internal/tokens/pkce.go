package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// PKCE (RFC 7636) with S256 only: the client proves at the token endpoint that it is the
// one that asked for the code. plain is refused (it protects nothing once the request is
// seen).

// ValidChallenge reports whether s can be an S256 code_challenge: the unpadded base64url
// of a SHA-256, 43 characters.
func ValidChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// ValidVerifier reports whether v is a code_verifier as RFC 7636 §4.1 allows: 43 to 128
// unreserved characters.
func ValidVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// S256 is the code_challenge of verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifierMatches reports, in constant time, whether verifier answers challenge.
func VerifierMatches(challenge, verifier string) bool {
	return subtle.ConstantTimeCompare([]byte(S256(verifier)), []byte(challenge)) == 1
}

// HashOf is how codes and refresh tokens are kept: the hex SHA-256 of the value. They are
// 256-bit random, so a plain hash suffices (no guessing to slow down).
func HashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
