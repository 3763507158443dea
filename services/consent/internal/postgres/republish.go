package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/events"
)

// Republish records anew, in tx, the current state of each named client access (NATS
// subjects iam.<tenant>.consent.clientaccess.<subject>~<clientId> of tenant): the
// ClientAccessState event for an access that stands, as of its grant, or a tombstone for
// one that does not, as of now (a revocation that stands now). A view's reconciler asks
// for it when the view differs from this service (pkg/events.Source).
//
// It takes the tenant's ledger lock first, as every grant and revocation does before it
// records its event, and reads the accesses only then: the republished state cannot
// overtake a concurrent change, whose event comes after it with a higher version.
func (s *Store) Republish(ctx context.Context, tx *sqlx.Tx, tenant string, entities []pkgevents.Entity) error {
	type access struct{ subject, clientID string }
	want := make([]access, len(entities))
	subjects, clients := make(pq.StringArray, len(entities)), make(pq.StringArray, len(entities))
	for i, e := range entities {
		if e.Kind != "clientaccess" {
			return fmt.Errorf("consent publishes no %q entities", e.Kind)
		}
		subject, clientID, ok := events.ParseClientAccessID(e.ID)
		if !ok {
			return fmt.Errorf("%q names no <subject>~<clientId> access", e.ID)
		}
		want[i], subjects[i], clients[i] = access{subject, clientID}, subject, clientID
	}
	if _, err := lockLedger(ctx, tx, tenant); err != nil {
		return err
	}
	var rows []struct {
		Subject   string         `db:"subject"`
		ClientID  string         `db:"client_id"`
		Scopes    pq.StringArray `db:"scopes"`
		GrantedAt time.Time      `db:"granted_at"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT a.subject, a.client_id, a.scopes, a.granted_at FROM client_access a
		JOIN unnest($2::text[], $3::text[]) AS w(subject, client_id) ON w.subject = a.subject AND w.client_id = a.client_id
		WHERE a.tenant = $1`, tenant, subjects, clients); err != nil {
		return postgres.Classify(err)
	}
	type state struct {
		scopes    []string
		grantedAt time.Time
	}
	stored := make(map[access]state, len(rows))
	for _, r := range rows {
		stored[access{r.Subject, r.ClientID}] = state{r.Scopes, r.GrantedAt}
	}
	now := time.Now()
	evs := make([]pkgevents.Envelope, len(want))
	for i, a := range want {
		var err error
		if st, ok := stored[a]; ok {
			evs[i], err = events.ClientAccess(tenant, a.subject, a.clientID, st.scopes, st.grantedAt)
		} else {
			evs[i], err = events.ClientAccessRevoked(tenant, a.subject, a.clientID, now)
		}
		if err != nil {
			return err
		}
	}
	return pkgevents.Record(ctx, tx, evs...)
}
