// Package consents is the consent domain: consent actions (moments such as signup at
// which a subject is asked for consents), and later consents and grants.
package consents

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Action is a consent action: a named moment listing the consents a subject must accept.
// ID is generated here; Name is the tenant-unique handle clients use.
type Action struct {
	Tenant      string
	ID          uuid.UUID
	Name        string
	Description string
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Query filters and pages consent actions.
type Query struct {
	Search string
	Offset int
	Limit  int
}

// ActionStore persists consent actions. Add refuses a name the tenant already has (errs.Conflict).
type ActionStore interface {
	Add(ctx context.Context, a *Action) error
	List(ctx context.Context, tenant string, q Query) ([]Action, int, error)
}

// New prepares a consent action with a fresh id, at version 1. now is cut to PostgreSQL's
// microseconds, so the created resource reads back exactly as it was returned.
func New(tenant, name, description string, now time.Time) *Action {
	now = now.Truncate(time.Microsecond)
	return &Action{Tenant: tenant, ID: uuid.New(), Name: name, Description: description,
		Version: 1, CreatedAt: now, ModifiedAt: now}
}
