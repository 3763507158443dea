package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
)

// Republish records anew, in tx, the entitled scope set of each named subject (NATS
// subjects iam.<tenant>.policies.scopes.<subjectId> of tenant): the set last published,
// as stored in entitled_scopes, or a tombstone for a subject that has none. A view's
// reconciler asks for it when the view differs from this service (pkg/events.Source).
//
// It takes the tenant's turn among scope-set refreshes (Refresh), as a change would, so
// the republished set cannot overtake a concurrent refresh: it reads what the previous
// refresh committed, and its event has the higher version.
func (ScopeSets) Republish(ctx context.Context, tx *sqlx.Tx, tenant string, entities []pkgevents.Entity) error {
	ids := make([]string, len(entities))
	for i, e := range entities {
		if e.Kind != "scopes" {
			return fmt.Errorf("iam-policies publishes no %q entities", e.Kind)
		}
		ids[i] = e.ID
	}
	if err := postgres.LockTenant(ctx, tx, scopeSetsLock, tenant); err != nil {
		return err
	}
	var rows []struct {
		Subject string         `db:"subject"`
		Scopes  pq.StringArray `db:"scopes"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT subject, scopes FROM entitled_scopes
		WHERE tenant = $1 AND subject = ANY($2) ORDER BY subject FOR UPDATE`, tenant, pq.StringArray(ids)); err != nil {
		return postgres.Classify(err)
	}
	stored := make(map[string][]string, len(rows))
	for _, r := range rows {
		stored[r.Subject] = r.Scopes
	}
	evs := make([]pkgevents.Envelope, len(ids))
	for i, id := range ids {
		var err error
		if scopes, ok := stored[id]; ok {
			if scopes == nil {
				scopes = []string{}
			}
			evs[i], err = events.ScopeSet(tenant, id, scopes, 0)
		} else {
			evs[i], err = events.ScopeSetDeleted(tenant, id, 0)
		}
		if err != nil {
			return err
		}
	}
	return pkgevents.Record(ctx, tx, evs...)
}
