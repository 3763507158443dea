package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

// EntitledScopes are the actions granted to subject or its groups on the tenant root,
// and the scopes of the access controls assigned to them (see RBAC).
func (s *Policies) EntitledScopes(ctx context.Context, tenant, subject string) ([]string, error) {
	return entitled(ctx, s.DB, tenant, subject)
}

func entitled(ctx context.Context, q sqlx.QueryerContext, tenant, subject string) ([]string, error) {
	var scopes []string
	err := sqlx.SelectContext(ctx, q, &scopes, `WITH principals AS (`+principals+`), acs AS (`+effectiveAccessControls+`)
		SELECT p.action FROM policies p
		WHERE p.tenant = $1 AND p.scope = '/' AND p.subject IN (SELECT subject FROM principals)
		UNION
		SELECT s.scope FROM rbac_access_control_scopes s WHERE s.tenant = $1 AND s.access_control_id IN (SELECT id FROM acs)
		ORDER BY 1`, tenant, subject)
	if scopes == nil {
		scopes = []string{}
	}
	return scopes, postgres.Classify(err)
}

// ScopeSets republishes entitled scope sets that changed.
type ScopeSets struct{}

// scopeSetsLock names the tenant lock that makes writers of scope sets take turns.
const scopeSetsLock = "iam-policies.scopesets"

// Refresh republishes, in the caller's transaction, the entitled scope sets of subjects
// that changed (policies.ChangedScopeSets says which): each is stored and recorded as a
// ScopeSetState event.
//
// Refreshes of one tenant take turns (a transaction-scoped advisory lock): each computes
// from a snapshot taken after the previous one committed, so of two concurrent changes
// (a grant and a membership, say) the later refresh sees both, and its event, with the
// higher version, is the one consumers keep. Without the turns each could miss the other
// and the published set would stay wrong until the next change.
func (ScopeSets) Refresh(ctx context.Context, tx *sqlx.Tx, tenant string, subjects []string) error {
	if len(subjects) == 0 {
		return nil
	}
	if err := postgres.LockTenant(ctx, tx, scopeSetsLock, tenant); err != nil {
		return err
	}
	changed, err := policies.ChangedScopeSets(ctx, scopeSets{tx, tenant}, subjects)
	if err != nil {
		return err
	}
	evs := make([]pkgevents.Envelope, len(changed))
	for i, set := range changed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO entitled_scopes (tenant, subject, scopes) VALUES ($1, $2, $3)
			ON CONFLICT (tenant, subject) DO UPDATE SET scopes = EXCLUDED.scopes`, tenant, set.Subject, pq.StringArray(set.Scopes)); err != nil {
			return postgres.Classify(err)
		}
		// Record stamps the version.
		if evs[i], err = events.ScopeSet(tenant, set.Subject, set.Scopes, 0); err != nil {
			return err
		}
	}
	return pkgevents.Record(ctx, tx, evs...)
}

// scopeSets reads what policies.ChangedScopeSets needs, in one tenant and transaction.
type scopeSets struct {
	tx     *sqlx.Tx
	tenant string
}

func (s scopeSets) Members(ctx context.Context, group string) ([]string, error) {
	var members []string
	err := s.tx.SelectContext(ctx, &members, `SELECT DISTINCT m.member FROM group_closure c
		JOIN membership_view m ON m.tenant = c.tenant AND m.group_id = c.descendant
		WHERE c.tenant = $1 AND c.ancestor = $2`, s.tenant, group)
	return members, postgres.Classify(err)
}

func (s scopeSets) Entitled(ctx context.Context, subject string) ([]string, error) {
	return entitled(ctx, s.tx, s.tenant, subject)
}

func (s scopeSets) Published(ctx context.Context, subject string) ([]string, bool, error) {
	var scopes pq.StringArray
	err := postgres.Classify(s.tx.GetContext(ctx, &scopes, `SELECT scopes FROM entitled_scopes WHERE tenant = $1 AND subject = $2`, s.tenant, subject))
	if errs.Is(err, errs.NotFound) {
		return nil, false, nil
	}
	return scopes, err == nil, err
}
