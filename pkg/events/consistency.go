package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
)

// A consistency token is what a write answers with so that a later read elsewhere can
// wait until the write's events have reached that reader's views. It names the entity
// versions the write recorded in its outbox (NATS subject and entityversion): a consumer
// that holds at least those versions (its event_versions table) has applied the write, or
// something newer. Versions, not outbox or stream positions: outbox sequence numbers
// commit out of order, and the stream keeps only the last event per subject, so neither
// says "everything up to here is applied"; a version per entity does, on any replica.
type Token struct {
	Service string `json:"s"`           // the writing service
	Marks   []Mark `json:"m,omitempty"` // its newest entity versions, at most maxMarks
}

// Mark is one entity's version a reader must have applied.
type Mark struct {
	Subject string `json:"n"`
	Version int64  `json:"v"`
}

// maxMarks bounds a token's size. A bulk write of thousands of memberships keeps its
// last maxMarks entities: the relay publishes an outbox transaction in order, so those
// arrive last, and for a single consumer they imply the rest.
const maxMarks = 16

// TokenHeader is the response header every successful write carries.
const TokenHeader = "Consistency-Token"

// String is the token's opaque wire form.
func (t Token) String() string {
	raw, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// ParseToken reads a token's wire form; anything malformed is a 400 naming the parameter.
func ParseToken(s string) (Token, error) {
	var t Token
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil || t.Service == "" || len(t.Marks) > maxMarks {
		return Token{}, errs.E(errs.BadRequest, "consistencyToken is not a token this platform issued")
	}
	return t, nil
}

type tokenKey struct{}

// Marks collects the events recorded while serving one write request.
type Marks struct {
	mu    sync.Mutex
	marks []Mark
}

// WithMarks returns a context in which Record notes every event it writes in m.
func WithMarks(ctx context.Context) (context.Context, *Marks) {
	m := &Marks{}
	return context.WithValue(ctx, tokenKey{}, m), m
}

func (m *Marks) note(evs []Envelope) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ev := range evs {
		m.marks = append(m.marks, Mark{Subject: ev.Subject, Version: ev.EntityVersion})
	}
}

// Token is the token for what was recorded: the newest version of each of the last
// maxMarks entities.
func (m *Marks) Token(service string) Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := Token{Service: service}
	seen := map[string]int{}
	for i := len(m.marks) - 1; i >= 0 && len(t.Marks) < maxMarks; i-- {
		mk := m.marks[i]
		if j, ok := seen[mk.Subject]; ok {
			t.Marks[j].Version = max(t.Marks[j].Version, mk.Version)
			continue
		}
		seen[mk.Subject] = len(t.Marks)
		t.Marks = append(t.Marks, mk)
	}
	return t
}

func marksFrom(ctx context.Context) *Marks {
	m, _ := ctx.Value(tokenKey{}).(*Marks)
	return m
}

type awaitedKey struct{}

// WithAwaited marks a request that passed a consistency token: it has waited for the
// views, and must now read them, not a cache that may lag behind them.
func WithAwaited(ctx context.Context) context.Context {
	return context.WithValue(ctx, awaitedKey{}, true)
}

// Awaited reports whether ctx is such a request.
func Awaited(ctx context.Context) bool {
	v, _ := ctx.Value(awaitedKey{}).(bool)
	return v
}

// Waiter holds reads back until this service's views have applied a token.
type Waiter struct {
	DB      *sqlx.DB
	Service string        // this service: its own writes are visible at once
	Timeout time.Duration // the bound; past it the read fails rather than answer stale
	// Subjects are the NATS subject filters this service consumes; marks outside them are
	// not this service's concern (it would wait for them forever).
	Subjects []string
}

// Wait returns once every relevant mark of token is applied, or fails with Unavailable
// when the bound passes. tenant is the request's tenant: a token of another tenant is refused.
func (w *Waiter) Wait(ctx context.Context, tenant string, t Token) error {
	if t.Service == w.Service {
		return nil
	}
	var subjects []string
	var versions []int64
	for _, mk := range t.Marks {
		parts := strings.SplitN(mk.Subject, ".", 3)
		if len(parts) < 3 || parts[0] != "iam" || parts[1] != tenant {
			return errs.E(errs.BadRequest, "consistencyToken belongs to another tenant")
		}
		if w.consumes(mk.Subject) {
			subjects, versions = append(subjects, mk.Subject), append(versions, mk.Version)
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	deadline := time.Now().Add(w.Timeout)
	pause := time.Millisecond
	for {
		var missing int
		if err := w.DB.GetContext(ctx, &missing, `SELECT count(*) FROM unnest($1::text[], $2::bigint[]) AS t(subject, version)
			WHERE NOT EXISTS (SELECT 1 FROM event_versions e WHERE e.subject = t.subject AND e.version >= t.version)`,
			pq.Array(subjects), pq.Array(versions)); err != nil {
			return fmt.Errorf("consistency wait: %w", err)
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errs.E(errs.Unavailable, "the change named by consistencyToken has not reached %s within %s; retry", w.Service, w.Timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
}

func (w *Waiter) consumes(subject string) bool {
	for _, f := range w.Subjects {
		if SubjectMatches(f, subject) {
			return true
		}
	}
	return false
}

// SubjectMatches applies NATS wildcard rules: * is one token, > the rest.
func SubjectMatches(filter, subject string) bool {
	fs, ss := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range fs {
		if f == ">" {
			return len(ss) > i
		}
		if i >= len(ss) || (f != "*" && f != ss[i]) {
			return false
		}
	}
	return len(fs) == len(ss)
}
