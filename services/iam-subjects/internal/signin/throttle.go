package signin

import (
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/throttle"
)

// NewThrottle returns the throttle on password guesses (IAM_LOGIN_FAILURES_*): wrong
// passwords count per (tenant, user, caller address) pair, as package throttle
// describes, so that the person is asked to wait, never locked out, and nobody can turn
// the throttle against others. A zero field of limits takes its default: a window of 15
// minutes, the rest are throttle's (5 per pair, 100 per user, 100 per address).
func NewThrottle(limits throttle.Limits) *throttle.Limiter {
	if limits.Window <= 0 {
		limits.Window = 15 * time.Minute
	}
	return throttle.New(limits)
}

// throttlePrincipal names the user an attempt is for: its id when it exists, else the
// name typed, lower-cased. An unknown name is throttled exactly like a known one, so the
// throttle tells nothing of who exists.
func throttlePrincipal(cred *Credential, login string) string {
	if cred != nil {
		return "id:" + cred.UserID
	}
	login = strings.ToLower(login)
	if len(login) > maxLoginLength {
		login = login[:maxLoginLength]
	}
	return "name:" + login
}
