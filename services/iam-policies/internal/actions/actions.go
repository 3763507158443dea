// Package actions is the catalog of IAM actions that policies name (iam.policy.read, ...).
package actions

import (
	"context"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/precondition"
	"github.com/iamplane/iam/pkg/readonly"
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
	// Update loads the action locked, lets change edit it and stores the result, in one
	// transaction.
	Update(ctx context.Context, tenant, id string, change func(*Action) error) (*Action, error)
	// Delete removes an action no policy grants (errs.Conflict otherwise).
	Delete(ctx context.Context, tenant, id string) error
}

// Catalog is the actions catalog's use cases.
type Catalog struct {
	store Store
	clock func() time.Time
}

// NewCatalog returns the catalog's use cases on store, stamping changes with clock.
func NewCatalog(store Store, clock func() time.Time) *Catalog {
	return &Catalog{store: store, clock: clock}
}

// now is cut to PostgreSQL's microseconds, so a changed action reads back exactly as it
// was returned.
func (c *Catalog) now() time.Time {
	return c.clock().UTC().Truncate(time.Microsecond)
}

// List pages through the catalog; the search text is matched without surrounding spaces.
func (c *Catalog) List(ctx context.Context, tenant string, q Query) ([]Action, int, error) {
	q.Search = strings.TrimSpace(q.Search)
	return c.store.List(ctx, tenant, q)
}

// Create adds an action at version 1.
func (c *Catalog) Create(ctx context.Context, tenant, id, displayName, description string) (*Action, error) {
	now := c.now()
	a := &Action{Tenant: tenant, ID: id, DisplayName: strings.TrimSpace(displayName), Description: description,
		Version: 1, CreatedAt: now, ModifiedAt: now}
	return a, c.store.Add(ctx, a)
}

// Get reads one action.
func (c *Catalog) Get(ctx context.Context, tenant, id string) (*Action, error) {
	return c.store.Get(ctx, tenant, id)
}

// Echo is what a write sent back of an action's read-only fields, as a GET showed them
// (read-modify-write): ignored when they equal the stored ones, refused naming each field
// when they differ. A nil field was not sent.
type Echo struct {
	ID                    *string
	CreatedAt, ModifiedAt *time.Time
}

// Update changes an action's names, if pre names its current version and the read-only
// fields sent back are the stored ones.
func (c *Catalog) Update(ctx context.Context, tenant, id, displayName, description string, echo Echo, pre precondition.Version) (*Action, error) {
	return c.store.Update(ctx, tenant, id, func(a *Action) error {
		if err := pre.Check(a.Version); err != nil {
			return err
		}
		var ro readonly.Check
		ro.String("id", echo.ID, a.ID)
		ro.Time("metadata.createdAt", echo.CreatedAt, a.CreatedAt)
		ro.Time("metadata.modifiedAt", echo.ModifiedAt, a.ModifiedAt)
		if err := ro.Err(); err != nil {
			return err
		}
		a.DisplayName, a.Description = strings.TrimSpace(displayName), description
		a.Version, a.ModifiedAt = a.Version+1, c.now()
		return nil
	})
}

// Delete removes an action no policy grants.
func (c *Catalog) Delete(ctx context.Context, tenant, id string) error {
	return c.store.Delete(ctx, tenant, id)
}
