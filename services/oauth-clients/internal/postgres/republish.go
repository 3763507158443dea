package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/events"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// Republish records anew, in tx, the current state of each named client, scope
// definition or client secret of tenant: an event
// for what exists, a tombstone for what does not. A view's reconciler asks for it when
// the view differs from this registry (pkg/events.Source); the rows are locked as a
// write would lock them, so the republished state cannot overtake a concurrent change.
func (s *Clients) Republish(ctx context.Context, tx *sqlx.Tx, tenant string, entities []pkgevents.Entity) error {
	return pkgevents.EachEntity(currentState)(ctx, tx, tenant, entities)
}

func currentState(ctx context.Context, tx *sqlx.Tx, e pkgevents.Entity) (pkgevents.Envelope, error) {
	tenant, id := e.Tenant, e.ID
	switch e.Kind {
	case "client":
		c, err := lockClient(ctx, tx, tenant, id)
		if errs.Is(err, errs.NotFound) {
			return events.ClientGone(tenant, id)
		} else if err != nil {
			return pkgevents.Envelope{}, err
		}
		return events.ClientChanged(c)
	case "scope":
		name := scopes.NameOfToken(id)
		d, err := lockScope(ctx, tx, tenant, name)
		if errs.Is(err, errs.NotFound) {
			return events.ScopeGone(tenant, name)
		} else if err != nil {
			return pkgevents.Envelope{}, err
		}
		return events.ScopeChanged(d)
	case "clientsecret":
		// A secret's id is random: one client's at most, whichever it is.
		var rows []struct {
			ClientID string `db:"client_id"`
			secretRow
		}
		if err := tx.SelectContext(ctx, &rows, `SELECT client_id, id, hash, hint, description, created_at, expires_at
			FROM client_secrets WHERE tenant = $1 AND id = $2 ORDER BY client_id LIMIT 1 FOR UPDATE`, tenant, id); err != nil {
			return pkgevents.Envelope{}, postgres.Classify(err)
		}
		if len(rows) == 0 {
			return events.SecretGone(tenant, id)
		}
		secret := rows[0].secret()
		return events.SecretAdded(tenant, rows[0].ClientID, &secret)
	}
	return pkgevents.Envelope{}, fmt.Errorf("oauth-clients publishes no %q entities", e.Kind)
}
