package clients

import (
	"context"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// Registry is the client registry's use cases.
type Registry struct {
	store Store
	// scopeRules limits the scopes developers may assign; nil allows all defined ones.
	scopeRules ScopeRules
	// remoteKeys fetches the key sets of private_key_jwt clients registered with a jwksUri.
	remoteKeys *RemoteKeys
	// cache holds credentials for client authentication; every write here drops the client's entry
	// after its commit. Nil means no caching.
	cache *CredentialCache
	now   func() time.Time
}

// NewRegistry builds the registry's use cases on store. scopeRules may be nil (developers
// may assign every defined scope), and so may cache (no credentials caching); a nil clock
// is the wall clock in UTC.
func NewRegistry(store Store, scopeRules ScopeRules, remoteKeys *RemoteKeys, cache *CredentialCache, clock func() time.Time) *Registry {
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	return &Registry{store: store, scopeRules: scopeRules, remoteKeys: remoteKeys, cache: cache, now: clock}
}

// Create registers a client; a confidential one gets a generated secret, returned once.
func (r *Registry) Create(ctx context.Context, tenant string, m Metadata, actor string) (*Client, *Secret, error) {
	return r.create(ctx, tenant, m, actor, "", "")
}

func (r *Registry) create(ctx context.Context, tenant string, m Metadata, actor, developer, regTokenHash string) (*Client, *Secret, error) {
	now := r.now()
	c := &Client{Tenant: tenant, ID: NewID(), DeveloperID: developer, RegistrationTokenHash: regTokenHash,
		CreatedBy: actor, UpdatedBy: actor, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := c.Apply(m); err != nil {
		return nil, nil, err
	}
	if err := r.checkJWKSURI(c); err != nil {
		return nil, nil, err
	}
	var secret *Secret
	if c.NeedsSecret() {
		var err error
		if secret, err = NewSecret("", "initial", nil, now); err != nil {
			return nil, nil, err
		}
	}
	if err := r.store.Create(ctx, c, secret); err != nil {
		return nil, nil, err
	}
	return c, secret, nil
}

// Get returns one client.
func (r *Registry) Get(ctx context.Context, tenant, id string) (*Client, error) {
	return r.store.Get(ctx, tenant, id)
}

// List pages through the tenant's clients.
func (r *Registry) List(ctx context.Context, tenant string, q ListQuery) (Page, error) {
	return r.store.List(ctx, tenant, q)
}

// Update replaces a client's metadata, refusing stale versions and system clients.
// The read-only fields the caller stated must be the client's.
func (r *Registry) Update(ctx context.Context, tenant, id string, m Metadata, stated Stated, pre precondition.Version, actor string) (*Client, error) {
	defer r.cache.Invalidate(tenant, id)
	return r.store.Update(ctx, tenant, id, func(c *Client) error {
		if err := c.CheckStated(stated); err != nil {
			return err
		}
		return r.change(c, m, pre, actor)
	})
}

func (r *Registry) change(c *Client, m Metadata, pre precondition.Version, actor string) error {
	if c.System {
		return errs.E(errs.Forbidden, "client %q is a system client and cannot be changed through the API", c.ID)
	}
	if err := pre.Check(c.Version); err != nil {
		return err
	}
	if err := c.Apply(m); err != nil {
		return err
	}
	if err := r.checkJWKSURI(c); err != nil {
		return err
	}
	c.Version++
	c.UpdatedBy, c.UpdatedAt = actor, r.now()
	return nil
}

// Delete removes a client and its secrets.
func (r *Registry) Delete(ctx context.Context, tenant, id string) error {
	defer r.cache.Invalidate(tenant, id)
	return r.store.Delete(ctx, tenant, id, func(c *Client) error { return deletable(c, id) })
}

func deletable(c *Client, id string) error {
	if c.System {
		return errs.E(errs.Forbidden, "client %q is a system client and cannot be deleted through the API", id)
	}
	return nil
}

// Bootstrap makes sure the platform's first admin client exists in the system tenant with
// the umbrella scope and accepts secret. It is idempotent and safe to run from every
// replica at start-up.
func (r *Registry) Bootstrap(ctx context.Context, tenant, id, secret string) error {
	now := r.now()
	s := &Secret{ID: "bootstrap-" + randomHex(4), Value: secret, Hash: hashArgon2id(secret), Hint: "", Description: "bootstrap", CreatedAt: now}
	_, secrets, err := r.store.Credentials(ctx, tenant, id)
	switch {
	case errs.Is(err, errs.NotFound):
		c := &Client{Tenant: tenant, ID: id, System: true, Trusted: true, CreatedBy: "bootstrap", UpdatedBy: "bootstrap",
			CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := c.Apply(Metadata{Name: "Platform bootstrap admin", Scopes: []string{"services.iam"}}); err != nil {
			return err
		}
		if err := r.store.Create(ctx, c, s); err != nil && !errs.Is(err, errs.Conflict) {
			return err
		}
		return nil
	case err != nil:
		return err
	}
	for i := range secrets {
		if secrets[i].Matches(secret) {
			return nil
		}
	}
	defer r.cache.Invalidate(tenant, id)
	return r.store.AddSecret(ctx, tenant, id, s)
}

// checkJWKSURI refuses a jwksUri that names what the server must never fetch from (an
// internal address, localhost, anything but https); a name is checked again, resolved,
// whenever its keys are fetched.
func (r *Registry) checkJWKSURI(c *Client) error {
	if err := r.remoteKeys.CheckURL(c.JWKSURI); err != nil {
		return errs.Fields("jwksUri is not allowed", errs.FieldError{Field: "jwksUri",
			Message: "must be an https URL of a public host: " + strings.TrimPrefix(err.Error(), "egress: ")})
	}
	return nil
}
