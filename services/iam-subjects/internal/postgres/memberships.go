package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/closure"
	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// nesting is the closure of group nesting.
const nesting = closure.Table("group_closure")

// lockGroups locks groups (in id order, so concurrent changes cannot deadlock on them)
// and returns the ids that do not exist.
func lockGroups(ctx context.Context, tx *sqlx.Tx, tenant string, ids []string) ([]string, error) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var found []string
	if err := tx.SelectContext(ctx, &found, `SELECT id FROM groups WHERE tenant = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`,
		tenant, pq.StringArray(sorted)); err != nil {
		return nil, postgres.Classify(err)
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(found, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func lockGroup(ctx context.Context, tx *sqlx.Tx, tenant, id string) error {
	missing, err := lockGroups(ctx, tx, tenant, []string{id})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return notFound("group", id)
	}
	return nil
}

// addMembers adds refs to a locked group: every ref must name an existing subject (held
// with a share lock until commit), a group member must not contain the group already, and
// members already present are skipped. It returns the refs actually added, with their
// events recorded.
func addMembers(ctx context.Context, tx *sqlx.Tx, tenant, groupID string, refs []subjects.Ref) ([]subjects.Ref, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	types, ids := refArrays(refs)
	var known []refRow
	if err := tx.SelectContext(ctx, &known, `
		SELECT s.type AS member_type, s.id AS member_id FROM subjects s
		JOIN unnest($2::text[], $3::text[]) AS x(t, i) ON s.type = x.t AND s.id = x.i
		WHERE s.tenant = $1 FOR SHARE OF s`, tenant, types, ids); err != nil {
		return nil, postgres.Classify(err)
	}
	if len(known) < len(refs) {
		have := make(map[subjects.Ref]bool, len(known))
		for _, k := range known {
			have[k.ref()] = true
		}
		var bad []errs.FieldError
		for _, r := range refs {
			if !have[r] {
				bad = append(bad, errs.FieldError{Field: "subjectIds", Message: fmt.Sprintf("%s does not exist in this tenant", r)})
			}
		}
		return nil, errs.Fields("unknown subjects; nothing was changed", bad...)
	}
	var nested []string
	for _, r := range refs {
		if r.Type == subjects.TypeGroup {
			nested = append(nested, r.ID)
		}
	}
	if len(nested) > 0 {
		if err := nesting.Lock(ctx, tx, tenant); err != nil {
			return nil, err
		}
		// A group may not contain itself, nor any group it is already inside.
		cycles, err := nesting.Contains(ctx, tx, tenant, groupID, nested)
		if err != nil {
			return nil, err
		}
		if len(cycles) > 0 {
			return nil, errs.E(errs.Conflict, "adding group %q to group %q would make a cycle", cycles[0], groupID)
		}
	}
	var added []refRow
	if err := tx.SelectContext(ctx, &added, `
		INSERT INTO memberships (tenant, group_id, member_type, member_id, sort_name)
		SELECT $1, $2, x.t, x.i, coalesce(lower(s.display_name), '') FROM unnest($3::text[], $4::text[]) AS x(t, i)
		LEFT JOIN subjects s ON s.tenant = $1 AND s.type = x.t AND s.id = x.i
		ON CONFLICT DO NOTHING RETURNING member_type, member_id`, tenant, groupID, types, ids); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make([]subjects.Ref, len(added))
	for i, a := range added {
		out[i] = a.ref()
		if out[i].Type == subjects.TypeGroup {
			if err := nesting.Nest(ctx, tx, tenant, groupID, out[i].ID, 1); err != nil {
				return nil, err
			}
		}
	}
	return out, membershipEvents(ctx, tx, tenant, groupID, out, false)
}

// removeMembers removes refs from a locked group and records the tombstones.
func removeMembers(ctx context.Context, tx *sqlx.Tx, tenant, groupID string, where string, args ...any) ([]subjects.Ref, error) {
	var removed []refRow
	if err := tx.SelectContext(ctx, &removed, `DELETE FROM memberships WHERE tenant = $1 AND group_id = $2 AND `+where+`
		RETURNING member_type, member_id`, append([]any{tenant, groupID}, args...)...); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make([]subjects.Ref, len(removed))
	for i, r := range removed {
		out[i] = r.ref()
		if out[i].Type == subjects.TypeGroup {
			if err := nesting.Lock(ctx, tx, tenant); err != nil {
				return nil, err
			}
			if err := nesting.Nest(ctx, tx, tenant, groupID, out[i].ID, -1); err != nil {
				return nil, err
			}
		}
	}
	return out, membershipEvents(ctx, tx, tenant, groupID, out, true)
}

// AddMembers adds subjects to a group in one transaction.
func (s *Directory) AddMembers(ctx context.Context, tenant, groupID string, refs []subjects.Ref) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockGroup(ctx, tx, tenant, groupID); err != nil {
			return err
		}
		added, err := addMembers(ctx, tx, tenant, groupID, refs)
		n = len(added)
		return err
	})
	return n, err
}

// RemoveMembers removes subjects from a group in one transaction.
func (s *Directory) RemoveMembers(ctx context.Context, tenant, groupID string, refs []subjects.Ref) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockGroup(ctx, tx, tenant, groupID); err != nil {
			return err
		}
		types, ids := refArrays(refs)
		removed, err := removeMembers(ctx, tx, tenant, groupID,
			`(member_type, member_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`, types, ids)
		n = len(removed)
		return err
	})
	return n, err
}

// RemoveAllUsers removes every user member of a group.
func (s *Directory) RemoveAllUsers(ctx context.Context, tenant, groupID string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockGroup(ctx, tx, tenant, groupID); err != nil {
			return err
		}
		_, err := removeMembers(ctx, tx, tenant, groupID, `member_type = 'User'`)
		return err
	})
}

// RemoveFromAllGroups removes a subject from every group it is directly in.
func (s *Directory) RemoveFromAllGroups(ctx context.Context, tenant string, member subjects.Ref) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := lockSubject(ctx, tx, tenant, member)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(member.Type.Prefix(), member.ID)
		}
		return leaveAll(ctx, tx, tenant, member)
	})
}

// leaveAll removes member from all its groups inside tx.
func leaveAll(ctx context.Context, tx *sqlx.Tx, tenant string, member subjects.Ref) error {
	var groups []string
	if err := tx.SelectContext(ctx, &groups, `SELECT group_id FROM memberships WHERE tenant = $1 AND member_type = $2 AND member_id = $3`,
		tenant, string(member.Type), member.ID); err != nil {
		return postgres.Classify(err)
	}
	if _, err := lockGroups(ctx, tx, tenant, groups); err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := removeMembers(ctx, tx, tenant, g, `member_type = $3 AND member_id = $4`, string(member.Type), member.ID); err != nil {
			return err
		}
	}
	return nil
}

// setUserGroups makes groupIDs the user's direct groups.
func setUserGroups(ctx context.Context, tx *sqlx.Tx, tenant, userID string, want []string) error {
	var have []string
	if err := tx.SelectContext(ctx, &have, `SELECT group_id FROM memberships WHERE tenant = $1 AND member_type = 'User' AND member_id = $2`,
		tenant, userID); err != nil {
		return postgres.Classify(err)
	}
	var add, drop []string
	for _, g := range want {
		if !slices.Contains(have, g) {
			add = append(add, g)
		}
	}
	for _, g := range have {
		if !slices.Contains(want, g) {
			drop = append(drop, g)
		}
	}
	missing, err := lockGroups(ctx, tx, tenant, append(slices.Clone(add), drop...))
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		bad := make([]errs.FieldError, len(missing))
		for i, m := range missing {
			bad[i] = errs.FieldError{Field: "groupIds", Message: fmt.Sprintf("group %q does not exist", m)}
		}
		return errs.Fields("unknown groups; nothing was changed", bad...)
	}
	user := []subjects.Ref{{Type: subjects.TypeUser, ID: userID}}
	for _, g := range add {
		if _, err := addMembers(ctx, tx, tenant, g, user); err != nil {
			return err
		}
	}
	for _, g := range drop {
		if _, err := removeMembers(ctx, tx, tenant, g, `member_type = 'User' AND member_id = $3`, userID); err != nil {
			return err
		}
	}
	return nil
}

// GroupsOf lists r's groups: direct ones, or every ancestor of them through the closure.
func (s *Directory) GroupsOf(ctx context.Context, tenant string, r subjects.Ref, transitive bool, offset, limit int) ([]subjects.Group, int, error) {
	if _, err := s.Get(ctx, tenant, r); err != nil {
		return nil, 0, err
	}
	ids := `SELECT m.group_id AS id FROM memberships m WHERE m.tenant = $1 AND m.member_type = $2 AND m.member_id = $3`
	if transitive {
		ids = `SELECT DISTINCT c.ancestor AS id FROM memberships m
			JOIN group_closure c ON c.tenant = m.tenant AND c.descendant = m.group_id
			WHERE m.tenant = $1 AND m.member_type = $2 AND m.member_id = $3`
	}
	var rows []groupRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH ids AS (`+ids+`)
		SELECT `+groupColumns+`, count(*) OVER () AS total FROM ids JOIN groups g ON g.tenant = $1 AND g.id = ids.id
		ORDER BY lower(g.display_name), g.id LIMIT $4 OFFSET $5`, tenant, string(r.Type), r.ID, limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	return groupsOf(rows)
}

// DirectGroups returns each user's direct groups.
func (s *Directory) DirectGroups(ctx context.Context, tenant string, userIDs []string) (map[string][]subjects.Group, error) {
	var rows []struct {
		groupRow
		UserID string `db:"member_id"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+groupColumns+`, 0 AS total, m0.member_id
		FROM memberships m0 JOIN groups g ON g.tenant = m0.tenant AND g.id = m0.group_id
		WHERE m0.tenant = $1 AND m0.member_type = 'User' AND m0.member_id = ANY($2) ORDER BY g.display_name, g.id`,
		tenant, stringArray(userIDs)); err != nil {
		return nil, postgres.Classify(err)
	}
	out := map[string][]subjects.Group{}
	for _, r := range rows {
		g, err := r.group()
		if err != nil {
			return nil, err
		}
		out[r.UserID] = append(out[r.UserID], g)
	}
	return out, nil
}

// Members lists a group's members: direct ones, or every member of every group nested in
// it (the nested groups included), by name. A page costs a page, not the group's size:
// each group contributes its first offset+limit memberships in name order (the name is
// kept on the membership), and the first offset+limit distinct of those are the first of
// all, since a member's rank within any one group is no worse than its rank overall.
func (s *Directory) Members(ctx context.Context, tenant, groupID string, transitive bool, offset, limit int) ([]subjects.Subject, int, error) {
	if _, err := getGroup(ctx, s.DB, tenant, groupID, false); err != nil {
		return nil, 0, err
	}
	groups := `SELECT $2::text AS id`
	if transitive {
		groups = `SELECT c.descendant AS id FROM group_closure c WHERE c.tenant = $1 AND c.ancestor = $2`
	}
	var total int
	if err := s.DB.GetContext(ctx, &total, `WITH groups AS (`+groups+`)
		SELECT count(*) FROM (SELECT DISTINCT m.member_type, m.member_id FROM memberships m
			WHERE m.tenant = $1 AND m.group_id IN (SELECT id FROM groups)) AS members`, tenant, groupID); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	var rows []subjectRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH groups AS (`+groups+`),
		page AS (
			SELECT DISTINCT m.sort_name, m.member_type, m.member_id FROM groups g
			CROSS JOIN LATERAL (SELECT sort_name, member_type, member_id FROM memberships m
				WHERE m.tenant = $1 AND m.group_id = g.id ORDER BY sort_name, member_type, member_id LIMIT $3::int + $4::int) AS m
			ORDER BY 1, 2, 3 LIMIT $3 OFFSET $4
		)
		SELECT s.*, 0 AS total FROM page
		CROSS JOIN LATERAL (SELECT `+subjectColumns+` FROM subjects s
			WHERE s.tenant = $1 AND s.type = page.member_type AND s.id = page.member_id) AS s
		ORDER BY page.sort_name, page.member_type, page.member_id`, tenant, groupID, limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, _ := subjectsOf(rows)
	return out, total, nil
}

// refArrays splits refs into parallel arrays for unnest().
func refArrays(refs []subjects.Ref) (pq.StringArray, pq.StringArray) {
	types, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		types[i], ids[i] = string(r.Type), r.ID
	}
	return types, ids
}

type refRow struct {
	Type string `db:"member_type"`
	ID   string `db:"member_id"`
}

func (r refRow) ref() subjects.Ref { return subjects.Ref{Type: subjects.Type(r.Type), ID: r.ID} }

// membershipEvents records one event per changed membership of group.
func membershipEvents(ctx context.Context, tx *sqlx.Tx, tenant, groupID string, refs []subjects.Ref, removed bool) error {
	if len(refs) == 0 {
		return nil
	}
	evs := make([]pkgevents.Envelope, len(refs))
	for i, r := range refs {
		var err error
		if evs[i], err = events.Membership(tenant, groupID, r, removed); err != nil {
			return err
		}
	}
	return record(ctx, tx, evs...)
}

// GroupUsers lists a group's direct user members by user id, each with its type; with
// companies not nil, only users directly in a group of one of those legal entities.
func (s *Directory) GroupUsers(ctx context.Context, tenant, groupID string, companies []string, offset, limit int) ([]subjects.Assignment, int, error) {
	var rows []struct {
		UserID   string `db:"member_id"`
		UserType string `db:"user_type"`
		Total    int    `db:"total"`
	}
	var restrict any // NULL: every user
	if companies != nil {
		restrict = stringArray(companies)
	}
	if err := s.DB.SelectContext(ctx, &rows, `
		SELECT m.member_id, u.user_type, count(*) OVER () AS total
		FROM memberships m JOIN users u ON u.tenant = m.tenant AND u.id = m.member_id
		WHERE m.tenant = $1 AND m.group_id = $2 AND m.member_type = 'User'
		  AND ($3::text[] IS NULL OR EXISTS (
			SELECT 1 FROM memberships c JOIN groups cg ON cg.tenant = c.tenant AND cg.id = c.group_id
			WHERE c.tenant = m.tenant AND c.member_type = 'User' AND c.member_id = m.member_id
			  AND cg.legal_entity_id <> '' AND cg.legal_entity_id = ANY($3)))
		ORDER BY m.member_id LIMIT $4 OFFSET $5`, tenant, groupID, restrict, limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]subjects.Assignment, len(rows)), 0
	for i, r := range rows {
		out[i], total = subjects.Assignment{GroupID: groupID, UserID: r.UserID, UserType: subjects.UserType(r.UserType)}, r.Total
	}
	return out, total, nil
}
