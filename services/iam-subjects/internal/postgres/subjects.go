package postgres

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Subjects searches the subject tables.
type Subjects struct{ DB *sqlx.DB }

var _ subjects.Store = (*Subjects)(nil)

type subjectRow struct {
	Tenant      string `db:"tenant"`
	Type        string `db:"type"`
	ID          string `db:"id"`
	DisplayName string `db:"display_name"`
	Description string `db:"description"`
	IconURI     string `db:"icon_uri"`
	Total       int    `db:"total"`
}

func (r subjectRow) subject() subjects.Subject {
	return subjects.Subject{Tenant: r.Tenant, Type: subjects.Type(r.Type), ID: r.ID, DisplayName: r.DisplayName,
		Properties: subjects.Properties{Description: r.Description, IconURI: r.IconURI}}
}

// allSubjects is every subject as one relation; users and groups join it as their
// tables arrive.
const allSubjects = `(SELECT tenant, 'Client' AS type, id, display_name, description, icon_uri FROM client_subjects) AS s`

// Search pages through subjects by display name.
func (s *Subjects) Search(ctx context.Context, tenant string, q subjects.Query) ([]subjects.Subject, int, error) {
	var rows []subjectRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT tenant, type, id, display_name, description, icon_uri, count(*) OVER () AS total FROM `+allSubjects+`
		WHERE tenant = $1 AND ($2 = '' OR type = $2)
		  AND ($3 = '' OR display_name ILIKE '%' || $3 || '%' OR id ILIKE '%' || $3 || '%')
		ORDER BY lower(display_name), id LIMIT $4 OFFSET $5`,
		tenant, string(q.Type), postgres.EscapeLike(q.Search), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]subjects.Subject, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.subject(), r.Total
	}
	return out, total, nil
}

// Get returns one subject.
func (s *Subjects) Get(ctx context.Context, tenant string, t subjects.Type, id string) (*subjects.Subject, error) {
	var row subjectRow
	err := s.DB.GetContext(ctx, &row, `SELECT tenant, type, id, display_name, description, icon_uri, 0 AS total FROM `+allSubjects+`
		WHERE tenant = $1 AND type = $2 AND id = $3`, tenant, string(t), id)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "subject %s-%s not found", strings.ToLower(string(t)), id)
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	sub := row.subject()
	return &sub, nil
}
