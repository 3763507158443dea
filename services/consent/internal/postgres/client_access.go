package postgres

import (
	"context"
	"slices"
	"strings"
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

// GrantClientAccess records that subject let clientID in with scopes.
func (s *Store) GrantClientAccess(ctx context.Context, tenant, subject, clientID string, scopes []string, at time.Time) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var known bool
		if err := tx.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM client_view WHERE tenant = $1 AND id = $2)`, tenant, clientID); err != nil {
			return postgres.Classify(err)
		}
		if !known {
			return errs.Fields("unknown client", errs.FieldError{Field: "clientId", Message: "client " + clientID + " does not exist in this tenant"})
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_access (tenant, subject, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant, subject, client_id) DO UPDATE SET scopes = EXCLUDED.scopes, granted_at = EXCLUDED.granted_at`,
			tenant, subject, clientID, pq.StringArray(scopes), at); err != nil {
			return postgres.Classify(err)
		}
		if err := appendLedger(ctx, tx, tenant, []consents.LedgerEvent{{Type: consents.ClientAccessGranted, Subject: subject,
			Context: map[string]string{"clientId": clientID, "scopes": strings.Join(scopes, " ")}, OccurredAt: at}}); err != nil {
			return err
		}
		return clientAccessEvent(ctx, tx, tenant, subject, clientID, scopes, false, at)
	})
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

// PutClient keeps a client's name and logo for consent screens.
func (s *Store) PutClient(ctx context.Context, tx *sqlx.Tx, tenant, id, name, logo string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO client_view (tenant, id, name, logo_uri) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant, id) DO UPDATE SET name = EXCLUDED.name, logo_uri = EXCLUDED.logo_uri`, tenant, id, name, logo)
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

// PutScope keeps a scope's display name.
func (s *Store) PutScope(ctx context.Context, tx *sqlx.Tx, tenant, name, displayName string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO scope_view (tenant, name, display_name) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, name) DO UPDATE SET display_name = EXCLUDED.display_name`, tenant, name, displayName)
	return postgres.Classify(err)
}

// DropScope forgets a deleted scope.
func (s *Store) DropScope(ctx context.Context, tx *sqlx.Tx, tenant, name string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM scope_view WHERE tenant = $1 AND name = $2`, tenant, name)
	return postgres.Classify(err)
}
