package clients

import (
	"context"
	"slices"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// Caller is who calls a use case: its token subject, and whether it is an admin of the
// tenant (services.iam), for whom developer rules do not apply.
type Caller struct {
	Subject string
	Admin   bool
}

// ScopeRules says which scopes a developer may give its clients. The scope definitions
// implement it.
type ScopeRules interface {
	// OpenToDevelopers refuses, naming each, the scopes a developer may not assign.
	OpenToDevelopers(ctx context.Context, tenant string, names []string) error
}

// checkDeveloper applies the self-service rules to metadata a developer submits for a
// client that had the scopes before (none for a new client): no trusted flag, and only
// newly listed scopes that are open to developers. An admin is not restricted.
func (r *Registry) checkDeveloper(ctx context.Context, tenant string, who Caller, m Metadata, before []string) error {
	if who.Admin {
		return nil
	}
	if m.Trusted {
		return errs.Fields("a developer cannot mark a client trusted",
			errs.FieldError{Field: "trusted", Message: "only an admin may mark a client trusted"})
	}
	var added []string
	for _, s := range m.Scopes {
		if !slices.Contains(before, s) {
			added = append(added, s)
		}
	}
	if len(added) == 0 || r.scopeRules == nil {
		return nil
	}
	return r.scopeRules.OpenToDevelopers(ctx, tenant, added)
}

// CreateOwned registers a client owned by the caller (developer self-service).
func (r *Registry) CreateOwned(ctx context.Context, tenant string, m Metadata, who Caller) (*Client, *Secret, error) {
	if err := r.checkDeveloper(ctx, tenant, who, m, nil); err != nil {
		return nil, nil, err
	}
	return r.create(ctx, tenant, m, who.Subject, who.Subject, "")
}

// owned loads a client the caller may see through self-service: its own, or any
// developer's for an admin. Anything else is not found, so that a developer cannot
// even learn that another's client exists.
func owned(c *Client, id string, who Caller) error {
	if c.DeveloperID == "" || (!who.Admin && c.DeveloperID != who.Subject) {
		return notFound(id)
	}
	return nil
}

func notFound(id string) error { return errs.E(errs.NotFound, "client %q not found", id) }

// GetOwned returns one of the caller's clients.
func (r *Registry) GetOwned(ctx context.Context, tenant, id string, who Caller) (*Client, error) {
	c, err := r.store.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if err := owned(c, id, who); err != nil {
		return nil, err
	}
	return c, nil
}

// ListOwned pages through the caller's clients (every developer's for an admin, or one
// developer's when q.Developer is set).
func (r *Registry) ListOwned(ctx context.Context, tenant string, q ListQuery, who Caller) (Page, error) {
	q.DevelopersOnly = true
	if !who.Admin {
		q.Developer = who.Subject
	}
	return r.store.List(ctx, tenant, q)
}

// UpdateOwned replaces the metadata of one of the caller's clients.
func (r *Registry) UpdateOwned(ctx context.Context, tenant, id string, m Metadata, stated Stated, pre precondition.Version, who Caller) (*Client, error) {
	defer r.cache.Invalidate(tenant, id)
	return r.store.Update(ctx, tenant, id, func(c *Client) error {
		if err := owned(c, id, who); err != nil {
			return err
		}
		if err := c.CheckStated(stated); err != nil {
			return err
		}
		return r.ownedChange(ctx, tenant, c, m, pre, who)
	})
}

// ownedChange applies a developer's metadata to one of its clients.
func (r *Registry) ownedChange(ctx context.Context, tenant string, c *Client, m Metadata, pre precondition.Version, who Caller) error {
	if err := r.checkDeveloper(ctx, tenant, who, m, c.Scopes); err != nil {
		return err
	}
	if c.Trusted && !who.Admin {
		m.Trusted = true // an admin's decision a developer's edit keeps
	}
	return r.change(c, m, pre, who.Subject)
}

// DeleteOwned removes one of the caller's clients.
func (r *Registry) DeleteOwned(ctx context.Context, tenant, id string, who Caller) error {
	defer r.cache.Invalidate(tenant, id)
	return r.store.Delete(ctx, tenant, id, func(c *Client) error {
		if err := owned(c, id, who); err != nil {
			return err
		}
		return deletable(c, id)
	})
}
