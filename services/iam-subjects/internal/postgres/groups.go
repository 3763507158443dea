package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

type groupRow struct {
	Tenant         string          `db:"tenant"`
	ID             string          `db:"id"`
	DisplayName    string          `db:"display_name"`
	Name           json.RawMessage `db:"name"`
	Description    json.RawMessage `db:"description"`
	Code           string          `db:"code"`
	UserType       string          `db:"user_type"`
	LegalEntityID  string          `db:"legal_entity_id"`
	AccessControls pq.StringArray  `db:"access_controls"`
	Templates      pq.StringArray  `db:"templates"`
	Version        int64           `db:"version"`
	CreatedAt      time.Time       `db:"created_at"`
	ModifiedAt     time.Time       `db:"modified_at"`
	MemberCount    int             `db:"member_count"`
	Total          int             `db:"total"`
}

// groupColumns include the direct member count, from the membership primary key index.
const groupColumns = `g.tenant, g.id, g.display_name, g.name, g.description, g.code, g.user_type, g.legal_entity_id,
	g.access_controls, g.templates, g.version, g.created_at, g.modified_at,
	(SELECT count(*) FROM memberships m WHERE m.tenant = g.tenant AND m.group_id = g.id) AS member_count`

func (r groupRow) group() (subjects.Group, error) {
	g := subjects.Group{Tenant: r.Tenant, ID: r.ID, MemberCount: r.MemberCount, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC(),
		GroupFields: subjects.GroupFields{DisplayName: r.DisplayName, Code: r.Code, UserType: subjects.UserType(r.UserType), LegalEntityID: r.LegalEntityID,
			AccessControls: nonNil(r.AccessControls), Templates: nonNil(r.Templates)}}
	if err := json.Unmarshal(r.Name, &g.Name); err != nil {
		return g, errs.Wrap(errs.Internal, err, "corrupt group name")
	}
	if err := json.Unmarshal(r.Description, &g.Description); err != nil {
		return g, errs.Wrap(errs.Internal, err, "corrupt group description")
	}
	return g, nil
}

func groupsOf(rows []groupRow) ([]subjects.Group, int, error) {
	out, total := make([]subjects.Group, len(rows)), 0
	for i, r := range rows {
		g, err := r.group()
		if err != nil {
			return nil, 0, err
		}
		out[i], total = g, r.Total
	}
	return out, total, nil
}

func saveGroup(ctx context.Context, tx *sqlx.Tx, g *subjects.Group, insert bool) error {
	name, _ := json.Marshal(g.Name)
	description, _ := json.Marshal(g.Description)
	args := []any{g.Tenant, g.ID, g.DisplayName, name, description, g.Code, string(g.UserType), g.LegalEntityID, g.Version, g.CreatedAt, g.ModifiedAt,
		stringArray(nonNil(g.AccessControls)), stringArray(nonNil(g.Templates))}
	query := `INSERT INTO groups (tenant, id, display_name, name, description, code, user_type, legal_entity_id, version, created_at, modified_at,
		access_controls, templates)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	if !insert {
		query = `UPDATE groups SET display_name = $3, name = $4, description = $5, code = $6, user_type = $7,
			legal_entity_id = $8, version = $9, created_at = $10, modified_at = $11, access_controls = $12, templates = $13
			WHERE tenant = $1 AND id = $2`
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		if postgres.IsUniqueViolation(err, "") {
			return errs.E(errs.Conflict, "group %q already exists", g.ID)
		}
		return postgres.Classify(err)
	}
	if insert {
		if err := nesting.AddGroup(ctx, tx, g.Tenant, g.ID); err != nil {
			return err
		}
	}
	if err := putSubject(ctx, tx, g.Subject()); err != nil {
		return err
	}
	ev, err := events.GroupChanged(g)
	if err != nil {
		return err
	}
	return record(ctx, tx, ev)
}

// CreateGroup inserts a group.
func (s *Directory) CreateGroup(ctx context.Context, g *subjects.Group) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return saveGroup(ctx, tx, g, true) })
}

func getGroup(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*subjects.Group, error) {
	query := `SELECT ` + groupColumns + `, 0 AS total FROM groups g WHERE g.tenant = $1 AND g.id = $2`
	if lock {
		query += ` FOR UPDATE OF g`
	}
	var row groupRow
	if err := sqlx.GetContext(ctx, q, &row, query, tenant, id); err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, notFound("group", id)
		}
		return nil, postgres.Classify(err)
	}
	g, err := row.group()
	return &g, err
}

// GetGroup loads a group with its member count.
func (s *Directory) GetGroup(ctx context.Context, tenant, id string) (*subjects.Group, error) {
	return getGroup(ctx, s.DB, tenant, id, false)
}

// groupOrder is the SQL of each sort field of groups.
var groupOrder = map[string]string{
	"name": "s.sort_name", "code": "g.code", "userType": "g.user_type",
	"metadata.createdAt": "g.created_at", "metadata.modifiedAt": "g.modified_at",
}

// ListGroups pages through groups (by display name unless sorted otherwise), searching
// the subject index; name and description match any language's text.
func (s *Directory) ListGroups(ctx context.Context, tenant string, q subjects.GroupQuery) ([]subjects.Group, int, error) {
	order := ""
	for _, k := range q.Sort {
		col, ok := groupOrder[k.Field]
		if !ok {
			return nil, 0, errs.E(errs.BadRequest, "groups cannot be sorted by %q", k.Field)
		}
		order += col
		if k.Descending {
			order += " DESC"
		}
		order += ", "
	}
	order += "s.sort_name, s.id"
	var rows []groupRow
	if err := s.DB.SelectContext(ctx, &rows, `
		SELECT `+groupColumns+`, count(*) OVER () AS total
		FROM subjects s JOIN groups g ON g.tenant = s.tenant AND g.id = s.id
		WHERE s.tenant = $1 AND s.type = 'Group' AND ($2 = '' OR s.search LIKE '%' || $2 || '%' OR lower(g.code) = $2)
		  AND ($3 = '' OR g.user_type = $3)
		  AND ($6 = '' OR EXISTS (SELECT 1 FROM jsonb_each_text(g.name) n WHERE lower(n.value) LIKE '%' || $6 || '%'))
		  AND ($7 = '' OR EXISTS (SELECT 1 FROM jsonb_each_text(g.description) d WHERE lower(d.value) LIKE '%' || $7 || '%'))
		  AND ($8::timestamptz IS NULL OR g.modified_at >= $8)
		  AND ($9 = '' OR EXISTS (SELECT 1 FROM memberships m
			WHERE m.tenant = g.tenant AND m.group_id = g.id AND m.member_type = 'User' AND m.member_id = $9))
		ORDER BY `+order+` LIMIT $4 OFFSET $5`,
		tenant, likeText(q.Search), string(q.UserType), q.Limit, q.Offset, likeText(q.Name), likeText(q.Description), q.ModifiedSince,
		userKey(q.Member)); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	return groupsOf(rows)
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// UpdateGroup locks and changes a group, or creates it when absent.
func (s *Directory) UpdateGroup(ctx context.Context, tenant, id string, change func(*subjects.Group) error, absent func() (*subjects.Group, error)) (*subjects.Group, bool, error) {
	var out *subjects.Group
	var created bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		g, err := getGroup(ctx, tx, tenant, id, true)
		if errs.Is(err, errs.NotFound) {
			if g, err = absent(); err != nil {
				return err
			}
			out, created = g, true
			return saveGroup(ctx, tx, g, true)
		}
		if err != nil {
			return err
		}
		if err := change(g); err != nil {
			return err
		}
		out, created = g, false
		return saveGroup(ctx, tx, g, false)
	})
	return out, created, err
}

// DeleteGroup removes a group with every membership it has, in both directions.
func (s *Directory) DeleteGroup(ctx context.Context, tenant, id string, check func(*subjects.Group, int) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		ref := subjects.Ref{Type: subjects.TypeGroup, ID: id}
		if _, err := lockSubject(ctx, tx, tenant, ref); err != nil {
			return err
		}
		g, err := getGroup(ctx, tx, tenant, id, true)
		if err != nil {
			return err
		}
		if err := check(g, g.MemberCount); err != nil {
			return err
		}
		if err := leaveAll(ctx, tx, tenant, ref); err != nil { // out of its parents
			return err
		}
		if _, err := removeMembers(ctx, tx, tenant, id, `true`); err != nil { // its own members
			return err
		}
		if err := nesting.RemoveGroup(ctx, tx, tenant, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE tenant = $1 AND id = $2`, tenant, id); err != nil {
			return postgres.Classify(err)
		}
		if err := dropSubject(ctx, tx, tenant, ref); err != nil {
			return err
		}
		ev, err := events.GroupDeleted(tenant, id)
		if err != nil {
			return err
		}
		return record(ctx, tx, ev)
	})
}
