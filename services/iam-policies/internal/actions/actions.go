// Package actions is the catalog of IAM actions that policies name (iam.policy.read, ...).
package actions

import (
	"context"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/version"
)

// Action is one entry of a tenant's catalog.
type Action struct {
	Tenant      string
	ID          string
	DisplayName string
	Description string
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Query filters and pages the catalog.
type Query struct {
	Search string
	Offset int
	Limit  int
}

// Store persists the catalog. Add refuses an id the tenant already has (errs.Conflict).
type Store interface {
	Add(ctx context.Context, a *Action) error
	List(ctx context.Context, tenant string, q Query) ([]Action, int, error)
	Get(ctx context.Context, tenant, id string) (*Action, error)
	// Update changes display name and description if pre names the current version.
	Update(ctx context.Context, tenant, id, displayName, description string, pre version.Precondition) (*Action, error)
	// Delete removes an action no policy grants (errs.Conflict otherwise).
	Delete(ctx context.Context, tenant, id string) error
}

// New prepares an action for the catalog, at version 1; now is cut to PostgreSQL's
// microseconds, so the created resource reads back exactly as it was returned.
func New(tenant, id, displayName, description string, now time.Time) *Action {
	now = now.Truncate(time.Microsecond)
	return &Action{Tenant: tenant, ID: id, DisplayName: strings.TrimSpace(displayName), Description: description,
		Version: 1, CreatedAt: now, ModifiedAt: now}
}
