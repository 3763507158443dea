package postgres

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
)

// rbacLock is the tenant lock every RBAC write takes (RBAC.write); deriving a group's
// assignments takes it too, so a group naming an access control and the access control's
// creation never miss each other.
const rbacLock = "iam-policies.rbac"

// deriveGroupAssignments replaces, for each group of refs, the access controls and
// templates it names (the newest group event's sets; none for a tombstone), and derives
// its from_group assignments from them: one per named access control or template that
// exists, none for what it no longer names. Assignments made through the API are left
// alone. It returns the groups whose assignments changed.
func deriveGroupAssignments(ctx context.Context, tx *sqlx.Tx, tenant string, refs map[string]events.GroupRefs) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if err := postgres.LockTenant(ctx, tx, rbacLock, tenant); err != nil {
		return nil, err
	}
	groups := make([]string, 0, len(refs))
	type ref struct {
		Subject         string `json:"subject"`
		AccessControlID string `json:"ac"`
		TemplateID      string `json:"tpl"`
	}
	rows := []ref{}
	for g, r := range refs {
		groups = append(groups, g)
		for _, id := range r.AccessControls {
			rows = append(rows, ref{Subject: g, AccessControlID: id})
		}
		for _, id := range r.Templates {
			rows = append(rows, ref{Subject: g, TemplateID: id})
		}
	}
	slices.Sort(groups)
	raw, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	var changed []string
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_rbac_refs WHERE tenant = $1 AND subject = ANY($2)`, tenant, pq.StringArray(groups)); err != nil {
		return nil, postgres.Classify(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO group_rbac_refs (tenant, subject, access_control_id, template_id)
		SELECT $1, r.subject, r.ac, r.tpl FROM jsonb_to_recordset($2::jsonb) AS r(subject text, ac text, tpl text)
		ON CONFLICT DO NOTHING`, tenant, string(raw)); err != nil {
		return nil, postgres.Classify(err)
	}
	if err := tx.SelectContext(ctx, &changed, `DELETE FROM rbac_assignments a
		WHERE a.tenant = $1 AND a.subject = ANY($2) AND a.from_group AND NOT EXISTS (SELECT 1 FROM group_rbac_refs r
			WHERE r.tenant = a.tenant AND r.subject = a.subject
			  AND r.access_control_id = coalesce(a.access_control_id, '') AND r.template_id = coalesce(a.template_id, ''))
		RETURNING a.subject`, tenant, pq.StringArray(groups)); err != nil {
		return nil, postgres.Classify(err)
	}
	added, err := materialize(ctx, tx, tenant, `r.subject = ANY($2)`, pq.StringArray(groups))
	if err != nil {
		return nil, err
	}
	return sortedSet(append(changed, added...)), nil
}

// materialize adds the from_group assignments of the refs that where selects ($1
// tenant, $2 arg) whose access control or template exists; it returns their groups.
func materialize(ctx context.Context, tx *sqlx.Tx, tenant, where string, arg any) ([]string, error) {
	var subjects []string
	err := tx.SelectContext(ctx, &subjects, `INSERT INTO rbac_assignments (tenant, id, subject, access_control_id, template_id, created_at, from_group)
		SELECT r.tenant, gen_random_uuid()::text, r.subject, nullif(r.access_control_id, ''), nullif(r.template_id, ''), now(), true
		FROM group_rbac_refs r
		WHERE r.tenant = $1 AND `+where+`
		  AND (EXISTS (SELECT 1 FROM rbac_access_controls x WHERE x.tenant = r.tenant AND x.id = r.access_control_id)
		    OR EXISTS (SELECT 1 FROM rbac_templates x WHERE x.tenant = r.tenant AND x.id = r.template_id))
		ORDER BY r.subject, r.access_control_id, r.template_id
		ON CONFLICT DO NOTHING
		RETURNING subject`, tenant, arg)
	return subjects, postgres.Classify(err)
}

// assignNamingGroups gives the groups that already name a new access control or
// template (their event came first) its assignment, in the creating transaction, and
// republishes their scope sets.
func (s *RBAC) assignNamingGroups(ctx context.Context, tx *sqlx.Tx, tenant, column, id string) error {
	groups, err := materialize(ctx, tx, tenant, `r.`+column+` = $2`, id)
	if err != nil {
		return err
	}
	return s.Scopes.Refresh(ctx, tx, tenant, sortedSet(groups))
}
