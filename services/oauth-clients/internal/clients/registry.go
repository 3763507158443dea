package clients

import (
	"context"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/version"
)

// Registry is the client registry's use cases.
type Registry struct {
	Store Store
	Now   func() time.Time
	// RemoteKeys fetches the key sets of private_key_jwt clients registered with a jwksUri.
	RemoteKeys *RemoteKeys
	// ScopeRules limits the scopes developers may assign; nil allows all defined ones.
	ScopeRules ScopeRules
	// Cache holds credentials for Authenticate; every write here drops the client's entry
	// after its commit. Nil means no caching.
	Cache *CredentialCache
}

// forget drops a client's cached credentials after a write to it.
func (r *Registry) forget(tenant, id string) {
	if r.Cache != nil {
		r.Cache.Invalidate(tenant, id)
	}
}

// Forget drops the cached credentials of clients changed elsewhere (another replica's
// event, a forced scope deletion).
func (r *Registry) Forget(tenant string, ids []string) {
	for _, id := range ids {
		r.forget(tenant, id)
	}
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now().UTC()
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
	var secret *Secret
	if c.NeedsSecret() {
		var err error
		if secret, err = NewSecret("", "initial", nil, now); err != nil {
			return nil, nil, err
		}
	}
	if err := r.Store.Create(ctx, c, secret); err != nil {
		return nil, nil, err
	}
	return c, secret, nil
}

// Get returns one client.
func (r *Registry) Get(ctx context.Context, tenant, id string) (*Client, error) {
	return r.Store.Get(ctx, tenant, id)
}

// List pages through the tenant's clients.
func (r *Registry) List(ctx context.Context, tenant string, q ListQuery) (Page, error) {
	return r.Store.List(ctx, tenant, q)
}

// Update replaces a client's metadata, refusing stale versions and system clients.
func (r *Registry) Update(ctx context.Context, tenant, id string, m Metadata, pre version.Precondition, actor string) (*Client, error) {
	defer r.forget(tenant, id)
	return r.Store.Update(ctx, tenant, id, func(c *Client) error { return r.change(c, m, pre, actor) })
}

func (r *Registry) change(c *Client, m Metadata, pre version.Precondition, actor string) error {
	if c.System {
		return errs.E(errs.Forbidden, "client %q is a system client and cannot be changed through the API", c.ID)
	}
	if err := pre.Check(c.Version); err != nil {
		return err
	}
	if err := c.Apply(m); err != nil {
		return err
	}
	c.Version++
	c.UpdatedBy, c.UpdatedAt = actor, r.now()
	return nil
}

// Delete removes a client and its secrets.
func (r *Registry) Delete(ctx context.Context, tenant, id string) error {
	defer r.forget(tenant, id)
	return r.Store.Delete(ctx, tenant, id, func(c *Client) error { return deletable(c, id) })
}

func deletable(c *Client, id string) error {
	if c.System {
		return errs.E(errs.Forbidden, "client %q is a system client and cannot be deleted through the API", id)
	}
	return nil
}

// Authenticate checks a client's credentials. Every failure is the same Unauthorized
// error, so a caller cannot tell an unknown client from a wrong or expired secret.
func (r *Registry) Authenticate(ctx context.Context, tenant, clientID, secret string) (*Client, error) {
	fail := errs.E(errs.Unauthorized, "client authentication failed")
	if clientID == "" || secret == "" {
		return nil, fail
	}
	creds, err := r.credentials(ctx, tenant, clientID)
	if errs.Is(err, errs.NotFound) {
		return nil, fail
	}
	if err != nil {
		return nil, err
	}
	now := r.now()
	for i := range creds.secrets {
		if creds.secrets[i].Live(now) && r.match(creds, i, secret) {
			return creds.client, nil
		}
	}
	return nil, fail
}

// Lookup returns a client for the token endpoints (introspection, revocation), from the
// credentials cache when there is one.
func (r *Registry) Lookup(ctx context.Context, tenant, clientID string) (*Client, error) {
	creds, err := r.credentials(ctx, tenant, clientID)
	if err != nil {
		return nil, err
	}
	return creds.client, nil
}

func (r *Registry) credentials(ctx context.Context, tenant, clientID string) (*credentials, error) {
	load := func(ctx context.Context) (*Client, []Secret, error) {
		return r.Store.Credentials(ctx, tenant, clientID)
	}
	if r.Cache == nil {
		c, secrets, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return &credentials{client: c, secrets: secrets}, nil
	}
	return r.Cache.get(ctx, tenant, clientID, load)
}

func (r *Registry) match(creds *credentials, i int, value string) bool {
	if r.Cache == nil {
		return creds.secrets[i].Matches(value)
	}
	return r.Cache.match(creds, i, value)
}

// Bootstrap makes sure the platform's first admin client exists in the system tenant with
// the umbrella scope and accepts secret. It is idempotent and safe to run from every
// replica at start-up.
func (r *Registry) Bootstrap(ctx context.Context, tenant, id, secret string) error {
	now := r.now()
	s := &Secret{ID: "bootstrap-" + randomHex(4), Value: secret, Hash: hashArgon2id(secret), Hint: "", Description: "bootstrap", CreatedAt: now}
	_, secrets, err := r.Store.Credentials(ctx, tenant, id)
	switch {
	case errs.Is(err, errs.NotFound):
		c := &Client{Tenant: tenant, ID: id, System: true, Trusted: true, CreatedBy: "bootstrap", UpdatedBy: "bootstrap",
			CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := c.Apply(Metadata{Name: "Platform bootstrap admin", Scopes: []string{"services.iam"}}); err != nil {
			return err
		}
		if err := r.Store.Create(ctx, c, s); err != nil && !errs.Is(err, errs.Conflict) {
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
	defer r.forget(tenant, id)
	return r.Store.AddSecret(ctx, tenant, id, s)
}
