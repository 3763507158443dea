package clients

import (
	"context"
	"regexp"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// The seed dialects (Identity Service, Aritma v0, Cloudentity) have no versions on their
// clients: a change there is applied to the client as it is when the change is made
// (last writer wins, as in the seeds), and a caller may choose a new client's id and first
// secret, so that a migration keeps them. These use cases are those of the native API with
// that difference; every rule on the metadata is the same (Client.Apply).

// Revise changes a client's metadata from its current state: revise gets the client as
// it is (to read, not to change) and its metadata (to change), inside the transaction that
// writes the result, and may refuse.
func (r *Registry) Revise(ctx context.Context, tenant, id string, revise func(*Client, *Metadata) error, actor string) (*Client, error) {
	defer r.cache.Invalidate(tenant, id)
	return r.store.Update(ctx, tenant, id, func(c *Client) error {
		m := c.Metadata()
		if err := revise(c, &m); err != nil {
			return err
		}
		return r.change(c, m, current(c), actor)
	})
}

// ReviseOwned is Revise on one of the caller's clients, under the self-service rules.
func (r *Registry) ReviseOwned(ctx context.Context, tenant, id string, revise func(*Client, *Metadata) error, who Caller) (*Client, error) {
	defer r.cache.Invalidate(tenant, id)
	return r.store.Update(ctx, tenant, id, func(c *Client) error {
		if err := owned(c, id, who); err != nil {
			return err
		}
		m := c.Metadata()
		if err := revise(c, &m); err != nil {
			return err
		}
		return r.ownedChange(ctx, tenant, c, m, current(c), who)
	})
}

// current is the precondition of a change based on the client as it is now.
func current(c *Client) precondition.Version {
	v := c.Version
	return precondition.Version{Body: &v}
}

// Chosen is what a caller may choose for a new client besides its metadata: its id and its
// first secret. Empty fields are generated.
type Chosen struct {
	ID     string
	Secret string
	// CreatedAt is when the client was first registered, where it was before (zero: now).
	CreatedAt time.Time
	// Developer owns the client, as it did where it was before ("": none).
	Developer string
}

// idPattern is what a chosen client id may be: it goes into paths, into the client's
// subject id (client-<id>) and into event subjects, where '.' and '*' have meanings.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether id can be a caller-chosen client id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Import registers a client with a caller-chosen id and secret (either may be empty:
// generated then). A taken id is a conflict; a chosen secret has 8 to 32 characters and is
// only for a client that authenticates with a secret.
func (r *Registry) Import(ctx context.Context, tenant string, chosen Chosen, m Metadata, actor string) (*Client, *Secret, error) {
	if chosen.ID != "" && !ValidID(chosen.ID) {
		return nil, nil, errs.Fields("invalid client id", errs.FieldError{Field: "clientId", Message: "letters, digits, _ and - only, at most 64"})
	}
	now := r.now()
	c := &Client{Tenant: tenant, ID: chosen.ID, DeveloperID: chosen.Developer, CreatedBy: actor, UpdatedBy: actor,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if !chosen.CreatedAt.IsZero() {
		if chosen.CreatedAt.After(now) {
			return nil, nil, errs.Fields("a client cannot be created in the future", errs.FieldError{Field: "createdAt", Message: "must not be in the future"})
		}
		c.CreatedAt = chosen.CreatedAt.UTC()
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if err := c.Apply(m); err != nil {
		return nil, nil, err
	}
	if err := r.checkJWKSURI(c); err != nil {
		return nil, nil, err
	}
	var secret *Secret
	switch {
	case c.NeedsSecret():
		var err error
		if secret, err = NewSecret(chosen.Secret, "initial", nil, now); err != nil {
			return nil, nil, errs.Fields("invalid secret", errs.FieldError{Field: "clientSecret", Message: err.Error()})
		}
	case chosen.Secret != "":
		return nil, nil, errs.Fields("the client has no secret", errs.FieldError{Field: "clientSecret",
			Message: "only a client that authenticates with client_secret_basic or client_secret_post has a secret"})
	}
	if err := r.store.Create(ctx, c, secret); err != nil {
		return nil, nil, err
	}
	return c, secret, nil
}
