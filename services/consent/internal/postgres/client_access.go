package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
	"github.com/iamplane/iam/services/consent/internal/events"
)

// clientAccessEvent records the state of one (subject, client) access, or its tombstone,
// as of at; Record stamps its version.
func clientAccessEvent(ctx context.Context, tx *sqlx.Tx, tenant, subject, clientID string, scopes []string, revoked bool, at time.Time) error {
	var ev pkgevents.Envelope
	var err error
	if revoked {
		ev, err = events.ClientAccessRevoked(tenant, subject, clientID, at)
	} else {
		ev, err = events.ClientAccess(tenant, subject, clientID, scopes, at)
	}
	if err != nil {
		return err
	}
	return pkgevents.Record(ctx, tx, ev)
}

// GrantClientAccess records that subject let a client in, as g says.
func (s *Store) GrantClientAccess(ctx context.Context, tenant, subject string, g consents.AccessGrant) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		return grantClientAccess(ctx, tx, tenant, subject, g)
	})
}

// grantClientAccess is GrantClientAccess inside tx, which the consent screen shares with
// its other records.
func grantClientAccess(ctx context.Context, tx *sqlx.Tx, tenant, subject string, g consents.AccessGrant) error {
	var known bool
	if err := tx.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM client_view WHERE tenant = $1 AND id = $2)`, tenant, g.ClientID); err != nil {
		return postgres.Classify(err)
	}
	if !known {
		return errs.Fields("unknown client", errs.FieldError{Field: "clientId", Message: "client " + g.ClientID + " does not exist in this tenant"})
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO client_access (tenant, subject, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant, subject, client_id) DO UPDATE SET scopes = EXCLUDED.scopes, granted_at = EXCLUDED.granted_at`,
		tenant, subject, g.ClientID, pq.StringArray(g.Scopes), g.At); err != nil {
		return postgres.Classify(err)
	}
	if err := appendLedger(ctx, tx, tenant, []consents.LedgerEvent{g.Event}); err != nil {
		return err
	}
	return clientAccessEvent(ctx, tx, tenant, subject, g.ClientID, g.Scopes, false, g.At)
}

// RevokeClientAccess removes a client's access for subject and publishes the tombstone.
func (s *Store) RevokeClientAccess(ctx context.Context, tenant, subject, clientID string, at time.Time) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		return revokeClientAccess(ctx, tx, tenant, subject, clientID, at)
	})
}

func revokeClientAccess(ctx context.Context, tx *sqlx.Tx, tenant, subject, clientID string, at time.Time) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM client_access WHERE tenant = $1 AND subject = $2 AND client_id = $3`, tenant, subject, clientID)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "client %q has no access for %s", clientID, subject)
	}
	if err := appendLedger(ctx, tx, tenant, []consents.LedgerEvent{{Type: consents.ClientAccessRevoked, Subject: subject,
		Context: map[string]string{"clientId": clientID}, OccurredAt: at}}); err != nil {
		return err
	}
	return clientAccessEvent(ctx, tx, tenant, subject, clientID, nil, true, at)
}

// ClientAccess lists the clients subject let in, named from the views.
func (s *Store) ClientAccess(ctx context.Context, tenant, subject string) ([]consents.ClientAccess, error) {
	var rows []struct {
		ClientID  string         `db:"client_id"`
		Name      string         `db:"name"`
		LogoURI   string         `db:"logo_uri"`
		Scopes    pq.StringArray `db:"scopes"`
		GrantedAt time.Time      `db:"granted_at"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT a.client_id, coalesce(c.name, a.client_id) AS name, coalesce(c.logo_uri, '') AS logo_uri,
		a.scopes, a.granted_at FROM client_access a LEFT JOIN client_view c ON c.tenant = a.tenant AND c.id = a.client_id
		WHERE a.tenant = $1 AND a.subject = $2 ORDER BY name, a.client_id`, tenant, subject); err != nil {
		return nil, postgres.Classify(err)
	}
	var names []struct {
		Name        string `db:"name"`
		DisplayName string `db:"display_name"`
	}
	if err := s.DB.SelectContext(ctx, &names, `SELECT name, display_name FROM scope_view WHERE tenant IN ($1, 'system')`, tenant); err != nil {
		return nil, postgres.Classify(err)
	}
	display := map[string]string{}
	for _, n := range names {
		display[n.Name] = n.DisplayName
	}
	out := make([]consents.ClientAccess, len(rows))
	for i, r := range rows {
		out[i] = consents.ClientAccess{ClientID: r.ClientID, ClientName: r.Name, LogoURI: r.LogoURI, GrantedAt: r.GrantedAt.UTC()}
		for _, sc := range r.Scopes {
			name := display[sc]
			if name == "" {
				name = sc
			}
			out[i].Scopes = append(out[i].Scopes, consents.ScopeName{Name: sc, DisplayName: name})
		}
	}
	return out, nil
}

// PutClient keeps what consent screens show of a client and decide from.
func (s *Store) PutClient(ctx context.Context, tx *sqlx.Tx, tenant string, c events.Client) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO client_view (tenant, id, name, logo_uri, client_uri, policy_uri, tos_uri, consent_action_id, trusted)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (tenant, id) DO UPDATE SET name = EXCLUDED.name, logo_uri = EXCLUDED.logo_uri, client_uri = EXCLUDED.client_uri,
			policy_uri = EXCLUDED.policy_uri, tos_uri = EXCLUDED.tos_uri, consent_action_id = EXCLUDED.consent_action_id, trusted = EXCLUDED.trusted`,
		tenant, c.ID, c.Name, c.LogoURI, c.ClientURI, c.PolicyURI, c.TosURI, c.ConsentActionID, c.Trusted)
	return postgres.Classify(err)
}

// DropClient forgets a deleted client: its view row, the access subjects gave it, and
// its own grants (a client is a subject too).
func (s *Store) DropClient(ctx context.Context, tx *sqlx.Tx, tenant, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_view WHERE tenant = $1 AND id = $2`, tenant, id); err != nil {
		return postgres.Classify(err)
	}
	var subjects []string
	if err := tx.SelectContext(ctx, &subjects, `SELECT subject FROM client_access WHERE tenant = $1 AND client_id = $2`, tenant, id); err != nil {
		return postgres.Classify(err)
	}
	slices.Sort(subjects)
	now := time.Now().UTC() // the consumer's stamp: no use case runs here
	for _, subject := range subjects {
		if err := revokeClientAccess(ctx, tx, tenant, subject, id, now); err != nil {
			return err
		}
	}
	return forgetSubject(ctx, tx, tenant, "client-"+id)
}

// PutScope keeps a scope's display name and description.
func (s *Store) PutScope(ctx context.Context, tx *sqlx.Tx, tenant, name, displayName, description string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO scope_view (tenant, name, display_name, description) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant, name) DO UPDATE SET display_name = EXCLUDED.display_name, description = EXCLUDED.description`,
		tenant, name, displayName, description)
	return postgres.Classify(err)
}

// DropScope forgets a deleted scope.
func (s *Store) DropScope(ctx context.Context, tx *sqlx.Tx, tenant, name string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM scope_view WHERE tenant = $1 AND name = $2`, tenant, name)
	return postgres.Classify(err)
}
