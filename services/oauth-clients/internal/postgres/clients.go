package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/events"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// Clients stores clients and their secrets.
type Clients struct {
	DB *sqlx.DB
	// Expedite, if set, publishes a revoked secret's tombstone as soon as it has
	// committed, ahead of the outbox relay: every service's deny set follows it to refuse
	// the tokens issued with the secret.
	Expedite *pkgevents.Expediter
}

var _ clients.Store = (*Clients)(nil)

// clientRow is the table's shape; it never leaves this package.
type clientRow struct {
	Tenant      string          `db:"tenant"`
	ID          string          `db:"id"`
	Name        string          `db:"name"`
	Description string          `db:"description"`
	Metadata    json.RawMessage `db:"metadata"`
	System      bool            `db:"system"`
	DeveloperID string          `db:"developer_id"`
	RegToken    string          `db:"registration_token_hash"`
	Version     int64           `db:"version"`
	CreatedBy   string          `db:"created_by"`
	UpdatedBy   string          `db:"updated_by"`
	CreatedAt   time.Time       `db:"created_at"`
	UpdatedAt   time.Time       `db:"updated_at"`
	Total       int             `db:"total"`
}

// rfc7591 is the metadata column: the fields without columns of their own.
type rfc7591 struct {
	GrantTypes              []string                  `json:"grantTypes"`
	ResponseTypes           []string                  `json:"responseTypes"`
	RedirectURIs            []string                  `json:"redirectUris"`
	PostLogoutRedirectURIs  []string                  `json:"postLogoutRedirectUris,omitempty"`
	ConsentActionID         string                    `json:"consentActionId,omitempty"`
	Scopes                  []string                  `json:"scopes"`
	TokenEndpointAuthMethod string                    `json:"tokenEndpointAuthMethod"`
	Public                  bool                      `json:"public"`
	Audience                []string                  `json:"audience"`
	ClientURI               string                    `json:"clientUri,omitempty"`
	LogoURI                 string                    `json:"logoUri,omitempty"`
	PolicyURI               string                    `json:"policyUri,omitempty"`
	TosURI                  string                    `json:"tosUri,omitempty"`
	JWKS                    json.RawMessage           `json:"jwks,omitempty"`
	JWKSURI                 string                    `json:"jwksUri,omitempty"`
	Privacy                 map[string]privacyPurpose `json:"privacy,omitempty"`
	Trusted                 bool                      `json:"trusted"`
}

type privacyPurpose struct {
	Purpose       string   `json:"purpose"`
	PIICategories []string `json:"piiCategories,omitempty"`
}

func toRow(c *clients.Client) (clientRow, error) {
	meta, err := json.Marshal(rfc7591{
		GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, RedirectURIs: c.RedirectURIs, Scopes: c.Scopes,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, ConsentActionID: c.ConsentActionID,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, Public: c.Public, Audience: c.Audience,
		ClientURI: c.ClientURI, LogoURI: c.LogoURI, PolicyURI: c.PolicyURI, TosURI: c.TosURI, Trusted: c.Trusted,
		JWKS: c.JWKS, JWKSURI: c.JWKSURI, Privacy: privacyToRow(c.Privacy),
	})
	return clientRow{
		Tenant: c.Tenant, ID: c.ID, Name: c.Name, Description: c.Description, Metadata: meta, System: c.System,
		DeveloperID: c.DeveloperID, RegToken: c.RegistrationTokenHash, Version: c.Version, CreatedBy: c.CreatedBy, UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}, err
}

func (r clientRow) client() (*clients.Client, error) {
	var m rfc7591
	if err := json.Unmarshal(r.Metadata, &m); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "corrupt client metadata")
	}
	return &clients.Client{
		Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description,
		GrantTypes: m.GrantTypes, ResponseTypes: m.ResponseTypes, RedirectURIs: m.RedirectURIs, Scopes: m.Scopes,
		PostLogoutRedirectURIs: orEmpty(m.PostLogoutRedirectURIs), ConsentActionID: m.ConsentActionID,
		TokenEndpointAuthMethod: m.TokenEndpointAuthMethod, Public: m.Public, Audience: m.Audience,
		ClientURI: m.ClientURI, LogoURI: m.LogoURI, PolicyURI: m.PolicyURI, TosURI: m.TosURI, Trusted: m.Trusted,
		JWKS: m.JWKS, JWKSURI: m.JWKSURI, Privacy: privacyOfRow(m.Privacy),
		System: r.System, DeveloperID: r.DeveloperID, RegistrationTokenHash: r.RegToken, CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
	}, nil
}

const clientColumns = `tenant, id, name, description, metadata, system, developer_id, registration_token_hash, version,
	created_by, updated_by, created_at, updated_at`

func notFound(id string) error { return errs.E(errs.NotFound, "client %q not found", id) }

// Create inserts the client, its first secret and its event in one transaction.
func (s *Clients) Create(ctx context.Context, c *clients.Client, secret *clients.Secret) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if err := insertClient(ctx, tx, c); err != nil {
			return err
		}
		if err := record(ctx, tx, events.ClientChanged, c); err != nil {
			return err
		}
		if secret != nil {
			return insertSecret(ctx, tx, c.Tenant, c.ID, secret)
		}
		return nil
	})
}

func insertClient(ctx context.Context, tx *sqlx.Tx, c *clients.Client) error {
	if err := checkScopes(ctx, tx, c.Tenant, c.Scopes); err != nil {
		return err
	}
	row, err := toRow(c)
	if err != nil {
		return err
	}
	_, err = tx.NamedExecContext(ctx, `INSERT INTO clients (`+clientColumns+`)
		VALUES (:tenant, :id, :name, :description, :metadata, :system, :developer_id, :registration_token_hash, :version,
		        :created_by, :updated_by, :created_at, :updated_at)`, row)
	if postgres.IsUniqueViolation(err, "") {
		return errs.E(errs.Conflict, "client %q already exists", c.ID)
	}
	return postgres.Classify(err)
}

func record(ctx context.Context, tx *sqlx.Tx, build func(*clients.Client) (pkgevents.Envelope, error), c *clients.Client) error {
	ev, err := build(c)
	if err != nil {
		return err
	}
	return pkgevents.Record(ctx, tx, ev)
}

// Get loads one client.
func (s *Clients) Get(ctx context.Context, tenant, id string) (*clients.Client, error) {
	var row clientRow
	err := s.DB.GetContext(ctx, &row, `SELECT `+clientColumns+`, 0 AS total FROM clients WHERE tenant = $1 AND id = $2`, tenant, id)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, notFound(id)
		}
		return nil, postgres.Classify(err)
	}
	return row.client()
}

// List pages through clients, newest first, with the total in the same query.
func (s *Clients) List(ctx context.Context, tenant string, q clients.ListQuery) (clients.Page, error) {
	const filter = `tenant = $1
		AND ($2 = '' OR name ILIKE '%' || $2 || '%' OR id ILIKE '%' || $2 || '%' OR description ILIKE '%' || $2 || '%')
		AND ($3 = '' OR developer_id = $3) AND (NOT $4 OR developer_id <> '')`
	args := []any{tenant, postgres.EscapeLike(q.Search), q.Developer, q.DevelopersOnly}
	var rows []clientRow
	err := s.DB.SelectContext(ctx, &rows, `SELECT `+clientColumns+`, count(*) OVER () AS total FROM clients
		WHERE `+filter+` ORDER BY created_at DESC, id LIMIT $5 OFFSET $6`, append(args, q.Limit, q.Offset)...)
	if err != nil {
		return clients.Page{}, postgres.Classify(err)
	}
	page := clients.Page{Clients: make([]clients.Client, 0, len(rows))}
	for _, r := range rows {
		c, err := r.client()
		if err != nil {
			return clients.Page{}, err
		}
		page.Clients = append(page.Clients, *c)
		page.Total = r.Total
	}
	if len(rows) == 0 && (q.Offset > 0 || q.Limit == 0) {
		// Past the last page, or a page of none (the Identity Service's page[limit]=0):
		// count separately so the caller still learns the total.
		if err := s.DB.GetContext(ctx, &page.Total, `SELECT count(*) FROM clients WHERE `+filter, args...); err != nil {
			return clients.Page{}, postgres.Classify(err)
		}
	}
	return page, nil
}

// Update locks the client, lets change modify it and saves it with its event.
func (s *Clients) Update(ctx context.Context, tenant, id string, change func(*clients.Client) error) (*clients.Client, error) {
	var out *clients.Client
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		c, err := lockClient(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		if err := change(c); err != nil {
			return err
		}
		if err := checkScopes(ctx, tx, c.Tenant, c.Scopes); err != nil {
			return err
		}
		if err := saveClient(ctx, tx, c); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// saveClient writes a changed client and records its event.
func saveClient(ctx context.Context, tx *sqlx.Tx, c *clients.Client) error {
	row, err := toRow(c)
	if err != nil {
		return err
	}
	if _, err := tx.NamedExecContext(ctx, `UPDATE clients SET name = :name, description = :description,
		metadata = :metadata, system = :system, version = :version, updated_by = :updated_by, updated_at = :updated_at
		WHERE tenant = :tenant AND id = :id`, row); err != nil {
		return postgres.Classify(err)
	}
	return record(ctx, tx, events.ClientChanged, c)
}

// checkScopes refuses scopes the tenant does not define. The tenant's definitions are
// share-locked until the client commits, so a concurrent deletion of one of them waits
// and then sees this client among the scope's users. Built-in scopes need no lookup.
func checkScopes(ctx context.Context, tx *sqlx.Tx, tenant string, listed []string) error {
	var custom []string
	for _, s := range listed {
		if !scopes.IsPlatform(s) {
			custom = append(custom, s)
		}
	}
	if len(custom) == 0 {
		return nil
	}
	var found []string
	if err := tx.SelectContext(ctx, &found, `SELECT name FROM scope_definitions WHERE tenant = $1 AND name = ANY($2)
		ORDER BY name FOR SHARE`, tenant, pq.Array(custom)); err != nil {
		return postgres.Classify(err)
	}
	defined := make(map[string]bool, len(found))
	for _, s := range found {
		defined[s] = true
	}
	return clients.UndefinedScopes(listed, func(s string) bool { return scopes.IsPlatform(s) || defined[s] })
}

func lockClient(ctx context.Context, tx *sqlx.Tx, tenant, id string) (*clients.Client, error) {
	var row clientRow
	err := tx.GetContext(ctx, &row, `SELECT `+clientColumns+`, 0 AS total FROM clients WHERE tenant = $1 AND id = $2 FOR UPDATE`, tenant, id)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, notFound(id)
		}
		return nil, postgres.Classify(err)
	}
	return row.client()
}

// Delete removes the client (secrets cascade) and records its tombstone.
func (s *Clients) Delete(ctx context.Context, tenant, id string, check func(*clients.Client) error) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		c, err := lockClient(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		if err := check(c); err != nil {
			return err
		}
		// The secrets go with the client (ON DELETE CASCADE); each gets its tombstone, so
		// no secret stays live in the published state the views' digests compare.
		var secretIDs []string
		if err := tx.SelectContext(ctx, &secretIDs, `SELECT id FROM client_secrets WHERE tenant = $1 AND client_id = $2`, tenant, id); err != nil {
			return postgres.Classify(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE tenant = $1 AND id = $2`, tenant, id); err != nil {
			return postgres.Classify(err)
		}
		for _, secretID := range secretIDs {
			ev, err := events.SecretDeleted(tenant, id, secretID)
			if err != nil {
				return err
			}
			if err := pkgevents.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		return record(ctx, tx, events.ClientDeleted, c)
	})
}

// Credentials loads a client and its unexpired secrets in one round trip: this is the
// token endpoint's hot path.
func (s *Clients) Credentials(ctx context.Context, tenant, clientID string) (*clients.Client, []clients.Secret, error) {
	var rows []struct {
		clientRow
		SecretID   *string    `db:"secret_id"`
		Hash       *string    `db:"hash"`
		Hint       *string    `db:"hint"`
		SDesc      *string    `db:"secret_description"`
		SCreatedAt *time.Time `db:"secret_created_at"`
		SExpiresAt *time.Time `db:"expires_at"`
	}
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT c.tenant, c.id, c.name, c.description, c.metadata, c.system, c.developer_id, c.registration_token_hash,
		       c.version, c.created_by, c.updated_by,
		       c.created_at, c.updated_at, 0 AS total,
		       s.id AS secret_id, s.hash, s.hint, s.description AS secret_description, s.created_at AS secret_created_at, s.expires_at
		FROM clients c LEFT JOIN client_secrets s
		  ON s.tenant = c.tenant AND s.client_id = c.id AND (s.expires_at IS NULL OR s.expires_at > now())
		WHERE c.tenant = $1 AND c.id = $2`, tenant, clientID)
	if err != nil {
		return nil, nil, postgres.Classify(err)
	}
	if len(rows) == 0 {
		return nil, nil, notFound(clientID)
	}
	c, err := rows[0].client()
	if err != nil {
		return nil, nil, err
	}
	var secrets []clients.Secret
	for _, r := range rows {
		if r.SecretID != nil {
			secrets = append(secrets, clients.Secret{ID: *r.SecretID, Hash: *r.Hash, Hint: *r.Hint, Description: *r.SDesc, CreatedAt: *r.SCreatedAt, ExpiresAt: r.SExpiresAt})
		}
	}
	return c, secrets, nil
}

func privacyToRow(p map[string]clients.PrivacyPurpose) map[string]privacyPurpose {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]privacyPurpose, len(p))
	for k, v := range p {
		out[k] = privacyPurpose{Purpose: v.Purpose, PIICategories: v.PIICategories}
	}
	return out
}

func privacyOfRow(p map[string]privacyPurpose) map[string]clients.PrivacyPurpose {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]clients.PrivacyPurpose, len(p))
	for k, v := range p {
		out[k] = clients.PrivacyPurpose{Purpose: v.Purpose, PIICategories: v.PIICategories}
	}
	return out
}

// UseAssertion records the jti of a client assertion and reports whether it is fresh;
// a replayed assertion finds its jti already there.
func (s *Clients) UseAssertion(ctx context.Context, tenant, clientID, jti string, expiresAt time.Time) (bool, error) {
	res, err := s.DB.ExecContext(ctx, `INSERT INTO client_assertions (tenant, client_id, jti, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, tenant, clientID, jti, expiresAt)
	if err != nil {
		return false, postgres.Classify(err)
	}
	n, err := res.RowsAffected()
	return n == 1, postgres.Classify(err)
}

// PruneAssertions forgets the jti values of assertions that have expired anyway.
func (s *Clients) PruneAssertions(ctx context.Context) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM client_assertions WHERE expires_at < now() - interval '5 minutes'`)
	return postgres.Classify(err)
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
