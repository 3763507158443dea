// Package revocation carries revocation past the issuer: every service's token middleware
// keeps a deny set, in memory, fed from the IAM event stream, and refuses a token whose
// signature and claims are fine but which was revoked since it was issued:
//
//   - a revoked token (oauth-clients' TokenRevocationState, by jti), until its exp;
//   - the tokens of a deleted client (a client tombstone) issued before the deletion;
//   - the tokens of a deleted or locked user (a UserState tombstone, or isAccountLocked)
//     issued before it; while the user stays locked, every token; an unlock lifts it for
//     tokens issued from the unlock on only;
//   - the tokens of a client for a subject that took the client's access away (consent's
//     ClientAccessState tombstone), issued before it or while it stands; a re-grant lets
//     tokens issued from then on through;
//   - the tokens issued on the strength of a client secret that was revoked (a
//     ClientSecretState tombstone; the token names the secret in client_secret_id): a
//     revoked secret never authenticates again, so every such token, whenever issued.
//     The client's tokens from its other secrets are untouched.
//
// Entries expire with the tokens they cover: nothing in the set outlives the longest token
// lifetime (plus a leeway), so a follower that starts reading the stream at now minus that
// lifetime ends with the complete set.
package revocation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// Subjects are the events the deny set follows.
var Subjects = []string{
	"iam.*.clients.revocation.*",
	"iam.*.clients.client.*",
	"iam.*.subjects.user.*",
	"iam.*.consent.clientaccess.*",
	"iam.*.clients.clientsecret.*",
}

// Leeway is added to every entry's lifetime: verifiers accept a token a little past its
// exp (clock skew), so the set keeps refusing it as long.
const Leeway = time.Minute

type tokenKey struct{ tenant, jti string }

type subjectKey struct{ tenant, id string } // a client id, or a user's subject id (user-<id>)

type accessKey struct{ tenant, subject, clientID string }

// cutoff refuses a principal's tokens issued before a point in time, or all of them while
// a block (a lock, a revoked access) stands.
type cutoff struct {
	version int64 // the newest event that set or lifted the block
	all     bool  // every token refused while the block stands
	before  int64 // tokens with iat < before (Unix seconds) refused
	seen    int64 // the newest event's time (Unix seconds), for expiry
}

func (c *cutoff) refuses(iat int64) bool { return c.all || iat < c.before }

// block refuses tokens issued at or before at and, if the event is the newest, every
// token while it stands (hold). An older event still raises the cut-off: a token issued
// before a revocation never becomes good again, in whatever order the events arrive.
func (c *cutoff) block(version int64, at time.Time, hold bool) {
	c.before = max(c.before, at.Unix()+1)
	c.seen = max(c.seen, at.Unix())
	if version > c.version {
		c.version, c.all = version, hold
	}
}

// lift ends a standing block as of at: tokens issued before at stay refused, those issued
// from at on are accepted. Without a block (a plain update) it only records the version.
func (c *cutoff) lift(version int64, at time.Time) {
	c.seen = max(c.seen, at.Unix())
	if version <= c.version {
		return
	}
	if c.all {
		c.before = max(c.before, at.Unix())
	}
	c.version, c.all = version, false
}

// Set is the deny set: safe for concurrent use, a few map lookups per check.
type Set struct {
	// MaxTTL is the longest lifetime of any token (IAM_MAX_TOKEN_TTL): how long an entry
	// is kept after the event that made it.
	MaxTTL time.Duration

	mu      sync.RWMutex
	tokens  map[tokenKey]int64 // -> the token's exp
	clients map[subjectKey]*cutoff
	users   map[subjectKey]*cutoff
	access  map[accessKey]*cutoff
	secrets map[subjectKey]int64 // a revoked client secret -> when (Unix seconds), for expiry

	gate     atomic.Pointer[gate] // nil: checks never wait for catch-up
	caughtUp atomic.Bool
	once     sync.Once
	done     chan struct{} // closed once caught up
	refused  atomic.Uint64
}

// Refused is how many checks refused a revoked token.
func (s *Set) Refused() uint64 { return s.refused.Load() }

// NewSet returns an empty set whose entries live maxTTL (plus Leeway).
func NewSet(maxTTL time.Duration) *Set {
	return &Set{MaxTTL: maxTTL, tokens: map[tokenKey]int64{}, clients: map[subjectKey]*cutoff{},
		users: map[subjectKey]*cutoff{}, access: map[accessKey]*cutoff{}, secrets: map[subjectKey]int64{},
		done: make(chan struct{})}
}

// gate holds tokens back until the set has caught up with the stream, for at most until
// deadline; then onExpire runs once and tokens are checked against what the set holds.
type gate struct {
	deadline time.Time
	once     sync.Once
	onExpire func()
}

// HoldUntilCaughtUp makes Check answer Unavailable until MarkCaughtUp, or until wait has
// passed; then onExpire (if set) runs once and Check serves with what the set holds.
func (s *Set) HoldUntilCaughtUp(wait time.Duration, onExpire func()) {
	s.gate.Store(&gate{deadline: time.Now().Add(wait), onExpire: onExpire})
}

// MarkCaughtUp notes that the set has read the stream up to its head.
func (s *Set) MarkCaughtUp() {
	s.caughtUp.Store(true)
	s.once.Do(func() { close(s.done) })
}

// Settled reports whether Check has stopped holding tokens back: the set has caught up,
// or the bound of HoldUntilCaughtUp has passed.
func (s *Set) Settled() bool {
	g := s.gate.Load()
	return s.caughtUp.Load() || g == nil || !time.Now().Before(g.deadline)
}

// AwaitSettled waits until Settled or ctx ends.
func (s *Set) AwaitSettled(ctx context.Context) {
	var deadline <-chan time.Time
	if g := s.gate.Load(); g != nil {
		t := time.NewTimer(time.Until(g.deadline))
		defer t.Stop()
		deadline = t.C
	} else {
		return
	}
	select {
	case <-s.done:
	case <-deadline:
	case <-ctx.Done():
	}
}

// CaughtUp reports whether the set has read the stream up to its head at least once.
func (s *Set) CaughtUp() bool { return s.caughtUp.Load() }

// ErrNotCaughtUp is Check's answer while a starting service is still reading revocations.
var ErrNotCaughtUp = errs.E(errs.Unavailable, "this service is still loading token revocations; retry shortly")

// Check refuses a verified token that was revoked since it was issued: an Unauthorized
// error naming "revoked" and why, or Unavailable while a starting service has not yet
// read the revocations (HoldUntilCaughtUp). It is called after the signature and claims
// checks, on every request, cached verification or not.
func (s *Set) Check(c *auth.Claims) error {
	if !s.caughtUp.Load() {
		if g := s.gate.Load(); g != nil {
			if time.Now().Before(g.deadline) {
				return ErrNotCaughtUp
			}
			g.once.Do(func() {
				if g.onExpire != nil {
					g.onExpire()
				}
			})
		}
	}
	if reason := s.refusal(c); reason != "" {
		s.refused.Add(1)
		return errs.E(errs.Unauthorized, "invalid access token: revoked (%s)", reason)
	}
	return nil
}

func (s *Set) refusal(c *auth.Claims) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c.ID != "" {
		if _, ok := s.tokens[tokenKey{c.Tenant, c.ID}]; ok {
			return "the token was revoked"
		}
	}
	if c.SecretID != "" {
		if _, ok := s.secrets[subjectKey{c.Tenant, c.SecretID}]; ok {
			return "the client secret it was issued for was revoked"
		}
	}
	if c.ClientID != "" {
		if e := s.clients[subjectKey{c.Tenant, c.ClientID}]; e != nil && e.refuses(c.IssuedAt) {
			return "its client was deleted"
		}
		if e := s.access[accessKey{c.Tenant, c.Subject, c.ClientID}]; e != nil && e.refuses(c.IssuedAt) {
			return "the subject withdrew the client's access"
		}
	}
	if strings.HasPrefix(c.Subject, "user-") {
		if e := s.users[subjectKey{c.Tenant, c.Subject}]; e != nil && e.refuses(c.IssuedAt) {
			return "its user was deleted or locked"
		}
	}
	return ""
}

// Apply records one event of Subjects. Events of other kinds, and client or user upserts
// that change nothing about tokens, are ignored; an event that cannot be read is an
// error (the caller logs it and goes on).
func (s *Set) Apply(ev events.Envelope) error {
	parts := strings.Split(ev.Subject, ".")
	if len(parts) != 5 {
		return fmt.Errorf("subject %q is not iam.<tenant>.<area>.<kind>.<id>", ev.Subject)
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("event %s has no time", ev.ID)
	}
	id := parts[4]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch parts[2] + "." + parts[3] {
	case "clients.revocation":
		var st schema.TokenRevocationState
		if err := json.Unmarshal(ev.Data, &st); err != nil {
			return fmt.Errorf("decode token revocation: %w", err)
		}
		if st.Tenant != ev.Tenant || st.Jti != id {
			return fmt.Errorf("revocation of %s/%s in an event for %s/%s", st.Tenant, st.Jti, ev.Tenant, id)
		}
		s.tokens[tokenKey{ev.Tenant, id}] = st.ExpiresAt.Unix()
	case "clients.client":
		if ev.Deleted {
			entry(s.clients, subjectKey{ev.Tenant, id}).block(ev.EntityVersion, ev.Time, false)
		}
	case "clients.clientsecret":
		// Only a tombstone matters, and it is final: a secret id is never used again.
		if !ev.Deleted {
			return nil
		}
		var st schema.ClientSecretState
		if err := json.Unmarshal(ev.Data, &st); err != nil {
			return fmt.Errorf("decode client secret: %w", err)
		}
		if st.Tenant != ev.Tenant || st.SecretId != id {
			return fmt.Errorf("client secret %s/%s in an event for %s/%s", st.Tenant, st.SecretId, ev.Tenant, id)
		}
		key := subjectKey{ev.Tenant, id}
		s.secrets[key] = max(s.secrets[key], ev.Time.Unix())
	case "subjects.user":
		var st schema.UserState
		if err := json.Unmarshal(ev.Data, &st); err != nil {
			return fmt.Errorf("decode user: %w", err)
		}
		key := subjectKey{ev.Tenant, "user-" + id}
		switch {
		case ev.Deleted || st.Deleted:
			entry(s.users, key).block(ev.EntityVersion, ev.Time, false)
		case st.IsAccountLocked != nil && *st.IsAccountLocked:
			entry(s.users, key).block(ev.EntityVersion, ev.Time, true)
		default:
			if e := s.users[key]; e != nil {
				e.lift(ev.EntityVersion, ev.Time)
			} else {
				// Remember the version: a lock older than this unlock, arriving late,
				// must not lock the user again.
				s.users[key] = &cutoff{version: ev.EntityVersion, seen: ev.Time.Unix()}
			}
		}
	case "consent.clientaccess":
		var st schema.ClientAccessState
		if err := json.Unmarshal(ev.Data, &st); err != nil {
			return fmt.Errorf("decode client access: %w", err)
		}
		if st.Tenant != ev.Tenant || st.Subject+"~"+st.ClientId != id {
			return fmt.Errorf("client access %s/%s~%s in an event for %s/%s", st.Tenant, st.Subject, st.ClientId, ev.Tenant, id)
		}
		key := accessKey{ev.Tenant, st.Subject, st.ClientId}
		if ev.Deleted || st.Deleted {
			entry(s.access, key).block(ev.EntityVersion, ev.Time, true)
		} else if e := s.access[key]; e != nil {
			e.lift(ev.EntityVersion, ev.Time)
		} else {
			s.access[key] = &cutoff{version: ev.EntityVersion, seen: ev.Time.Unix()}
		}
	}
	return nil
}

func entry[K comparable](m map[K]*cutoff, k K) *cutoff {
	e := m[k]
	if e == nil {
		e = &cutoff{}
		m[k] = e
	}
	return e
}

// Prune forgets what no longer refuses any unexpired token: a revoked token past its exp,
// a cut-off older than the longest token lifetime. A standing block (a locked user, a
// revoked access) is kept.
func (s *Set) Prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	horizon := now.Add(-s.MaxTTL - Leeway).Unix()
	for k, exp := range s.tokens {
		if exp < now.Add(-Leeway).Unix() {
			delete(s.tokens, k)
		}
	}
	for k, at := range s.secrets {
		// Every token of the secret was issued before its revocation (give or take a
		// request in flight), so none outlives it by more than the longest lifetime.
		if at < horizon {
			delete(s.secrets, k)
		}
	}
	pruneCutoffs(s.clients, horizon)
	pruneCutoffs(s.users, horizon)
	pruneCutoffs(s.access, horizon)
}

func pruneCutoffs[K comparable](m map[K]*cutoff, horizon int64) {
	for k, e := range m {
		if !e.all && max(e.seen, e.before) < horizon {
			delete(m, k)
		}
	}
}

// Len is the number of entries, for the metric.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tokens) + len(s.clients) + len(s.users) + len(s.access) + len(s.secrets)
}
