package postgres

import (
	"context"
	"encoding/json"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

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
	if err != nil || len(changed) == 0 {
		return err
	}
	stored := make([]storedSet, len(changed))
	evs := make([]pkgevents.Envelope, len(changed))
	for i, set := range changed {
		stored[i] = storedSet{Subject: set.Subject, Scopes: set.Scopes}
		// Record stamps the version.
		if evs[i], err = events.ScopeSet(tenant, set.Subject, set.Scopes, 0); err != nil {
			return err
		}
	}
	// One statement for every set (in subject order, as ChangedScopeSets lists them); the
	// sets travel as JSON, since an array of arrays of different lengths cannot.
	rows, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO entitled_scopes (tenant, subject, scopes)
		SELECT $1, s.subject, ARRAY(SELECT x FROM jsonb_array_elements_text(s.scopes) WITH ORDINALITY AS e(x, n) ORDER BY n)
		FROM jsonb_to_recordset($2::jsonb) AS s(subject text, scopes jsonb)
		ON CONFLICT (tenant, subject) DO UPDATE SET scopes = EXCLUDED.scopes`, tenant, rows); err != nil {
		return postgres.Classify(err)
	}
	return pkgevents.Record(ctx, tx, evs...)
}

type storedSet struct {
	Subject string   `json:"subject"`
	Scopes  []string `json:"scopes"`
}

// scopeSets reads what policies.ChangedScopeSets needs, in one tenant and transaction.
type scopeSets struct {
	tx     *sqlx.Tx
	tenant string
}

func (s scopeSets) Members(ctx context.Context, groups []string) ([]string, error) {
	var members []string
	err := s.tx.SelectContext(ctx, &members, `SELECT DISTINCT x.member FROM unnest($2::text[]) AS g(id), LATERAL (
		SELECT m.member FROM group_closure c JOIN membership_view m ON m.tenant = $1 AND m.group_id = c.descendant
		WHERE c.tenant = $1 AND c.ancestor = g.id OFFSET 0) x`, s.tenant, pq.StringArray(groups))
	return members, postgres.Classify(err)
}

// Entitled is entitled (below) for many subjects in one query: each subject's principals
// (itself and every group it is in, through nesting, found subject by subject through
// the indexes, as in nesting.go), then their root policies' actions and their access
// controls' scopes.
func (s scopeSets) Entitled(ctx context.Context, subjects []string) (map[string][]string, error) {
	var rows []struct {
		Subject string         `db:"subject"`
		Scopes  pq.StringArray `db:"scopes"`
	}
	if err := s.tx.SelectContext(ctx, &rows, `
		WITH principals AS (
			SELECT s AS subject, s AS principal FROM unnest($2::text[]) AS s
			UNION SELECT s.subject, g.principal FROM unnest($2::text[]) AS s(subject), LATERAL (
				SELECT 'group-' || c.ancestor AS principal FROM membership_view m
				JOIN group_closure c ON c.tenant = $1 AND c.descendant = m.group_id
				WHERE m.tenant = $1 AND m.member = s.subject OFFSET 0) g),
		acs AS (
			SELECT p.subject, a.access_control_id AS id FROM principals p
			JOIN rbac_assignments a ON a.tenant = $1 AND a.subject = p.principal AND a.access_control_id IS NOT NULL
			UNION SELECT p.subject, t.access_control_id FROM principals p
			JOIN rbac_assignments a ON a.tenant = $1 AND a.subject = p.principal
			JOIN rbac_template_access_controls t ON t.tenant = a.tenant AND t.template_id = a.template_id),
		scopes AS (
			SELECT p.subject, pol.action AS scope FROM principals p
			JOIN policies pol ON pol.tenant = $1 AND pol.scope = '/' AND pol.subject = p.principal
			UNION
			SELECT acs.subject, x.scope FROM acs JOIN rbac_access_control_scopes x ON x.tenant = $1 AND x.access_control_id = acs.id)
		SELECT subject, array_agg(scope ORDER BY scope) AS scopes FROM scopes GROUP BY subject`, s.tenant, pq.StringArray(subjects)); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make(map[string][]string, len(rows))
	for _, r := range rows {
		out[r.Subject] = r.Scopes
	}
	return out, nil
}

func (s scopeSets) Published(ctx context.Context, subjects []string) (map[string][]string, error) {
	var rows []struct {
		Subject string         `db:"subject"`
		Scopes  pq.StringArray `db:"scopes"`
	}
	if err := s.tx.SelectContext(ctx, &rows, `SELECT subject, scopes FROM entitled_scopes WHERE tenant = $1 AND subject = ANY($2)`,
		s.tenant, pq.StringArray(subjects)); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make(map[string][]string, len(rows))
	for _, r := range rows {
		out[r.Subject] = r.Scopes
	}
	return out, nil
}
