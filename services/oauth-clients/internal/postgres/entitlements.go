package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"
)

// Entitlements is the view of entitled scopes kept from iam-policies' events. Reads are
// cached for TTL: the token endpoint asks on every request, and a change applied by
// another replica's consumer reaches this one within TTL.
type Entitlements struct {
	DB  *sqlx.DB
	TTL time.Duration

	mu    sync.Mutex
	cache map[[2]string]entitled
}

type entitled struct {
	scopes []string
	at     time.Time
}

// Put records a subject's entitled scopes.
func (e *Entitlements) Put(ctx context.Context, tx *sqlx.Tx, tenant, subject string, scopes []string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO entitled_scopes (tenant, subject, scopes) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, subject) DO UPDATE SET scopes = EXCLUDED.scopes`, tenant, subject, pq.StringArray(scopes))
	if err != nil {
		return postgres.Classify(err)
	}
	e.mu.Lock()
	delete(e.cache, [2]string{tenant, subject})
	e.mu.Unlock()
	return nil
}

// Scopes returns a subject's entitled scopes (none when iam-policies never published any).
func (e *Entitlements) Scopes(ctx context.Context, tenant, subject string) ([]string, error) {
	key := [2]string{tenant, subject}
	e.mu.Lock()
	hit, ok := e.cache[key]
	e.mu.Unlock()
	if ok && time.Since(hit.at) < e.TTL {
		return hit.scopes, nil
	}
	var scopes pq.StringArray
	err := e.DB.GetContext(ctx, &scopes, `SELECT scopes FROM entitled_scopes WHERE tenant = $1 AND subject = $2`, tenant, subject)
	if err != nil && !errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, postgres.Classify(err)
	}
	e.mu.Lock()
	if e.cache == nil || len(e.cache) > 100000 {
		e.cache = map[[2]string]entitled{}
	}
	e.cache[key] = entitled{scopes: scopes, at: time.Now()}
	e.mu.Unlock()
	return scopes, nil
}
