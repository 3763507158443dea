package clients

import "github.com/iamplane/iam/pkg/throttle"

// NewFailureLimiter returns the brute-force limits on client authentication
// (IAM_AUTH_FAILURES_*): failures count per (tenant, client, caller address) pair, as
// package throttle describes, so that nobody can lock a client out; anyone can learn a
// client_id (it is in every token), and many callers share an address (a NAT, a proxy,
// the gateway). A zero field of limits takes its default: a client's ceiling is 1000
// failures a window, the rest are throttle's (5 per pair, 100 per address, a minute).
func NewFailureLimiter(limits throttle.Limits) *throttle.Limiter {
	if limits.PerPrincipal <= 0 {
		limits.PerPrincipal = 1000
	}
	return throttle.New(limits)
}
