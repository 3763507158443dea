package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

type subjectRow struct {
	Tenant      string `db:"tenant"`
	Type        string `db:"type"`
	ID          string `db:"id"`
	DisplayName string `db:"display_name"`
	Username    string `db:"username"`
	Email       string `db:"email"`
	PhoneNumber string `db:"phone_number"`
	IconURI     string `db:"icon_uri"`
	Description string `db:"description"`
	MemberCount *int32 `db:"member_count"`
	Total       int    `db:"total"`
}

// subjectColumns of subjects s; groups also get their direct member count.
const subjectColumns = `s.tenant, s.type, s.id, s.display_name, s.username, s.email, s.phone_number, s.icon_uri, s.description,
	CASE WHEN s.type = 'Group' THEN (SELECT count(*) FROM memberships m WHERE m.tenant = s.tenant AND m.group_id = s.id) END AS member_count`

func (r subjectRow) subject() subjects.Subject {
	return subjects.Subject{Tenant: r.Tenant, Type: subjects.Type(r.Type), ID: r.ID, DisplayName: r.DisplayName,
		Properties: subjects.Properties{Username: r.Username, Email: r.Email, PhoneNumber: r.PhoneNumber,
			IconURI: r.IconURI, Description: r.Description, MemberCount: r.MemberCount}}
}

func subjectsOf(rows []subjectRow) ([]subjects.Subject, int) {
	out, total := make([]subjects.Subject, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.subject(), r.Total
	}
	return out, total
}

// putSubject writes a subject's search row.
func putSubject(ctx context.Context, tx *sqlx.Tx, sub subjects.Subject) error {
	p := sub.Properties
	search := searchText(sub.DisplayName, p.Username, p.Email)
	_, err := tx.ExecContext(ctx, `
		INSERT INTO subjects (tenant, type, id, display_name, username, email, phone_number, icon_uri, description, search)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (tenant, type, id) DO UPDATE SET display_name = EXCLUDED.display_name, username = EXCLUDED.username,
			email = EXCLUDED.email, phone_number = EXCLUDED.phone_number, icon_uri = EXCLUDED.icon_uri,
			description = EXCLUDED.description, search = EXCLUDED.search`,
		sub.Tenant, string(sub.Type), sub.ID, sub.DisplayName, p.Username, p.Email, p.PhoneNumber, p.IconURI, p.Description, search)
	if err != nil {
		return postgres.Classify(err)
	}
	// Member listings sort by the name kept on each membership.
	_, err = tx.ExecContext(ctx, `UPDATE memberships SET sort_name = lower($4)
		WHERE tenant = $1 AND member_type = $2 AND member_id = $3 AND sort_name <> lower($4)`,
		sub.Tenant, string(sub.Type), sub.ID, sub.DisplayName)
	return postgres.Classify(err)
}

// lockSubject locks a subject's row for deletion: a concurrent membership change that
// names it waits, then finds it gone.
func lockSubject(ctx context.Context, tx *sqlx.Tx, tenant string, r subjects.Ref) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, `SELECT count(*) FROM (SELECT 1 FROM subjects WHERE tenant = $1 AND type = $2 AND id = $3 FOR UPDATE) s`,
		tenant, string(r.Type), r.ID)
	return n == 1, postgres.Classify(err)
}

func dropSubject(ctx context.Context, tx *sqlx.Tx, tenant string, r subjects.Ref) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM subjects WHERE tenant = $1 AND type = $2 AND id = $3`, tenant, string(r.Type), r.ID)
	return postgres.Classify(err)
}

// Get returns one subject.
func (s *Directory) Get(ctx context.Context, tenant string, r subjects.Ref) (*subjects.Subject, error) {
	var row subjectRow
	err := s.DB.GetContext(ctx, &row, `SELECT `+subjectColumns+`, 0 AS total FROM subjects s
		WHERE s.tenant = $1 AND s.type = $2 AND s.id = $3`, tenant, string(r.Type), r.ID)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "subject %s not found", r)
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	sub := row.subject()
	return &sub, nil
}
