package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

// ConsentActions stores consent actions.
type ConsentActions struct{ DB *sqlx.DB }

var _ consents.ActionStore = (*ConsentActions)(nil)

type actionRow struct {
	Tenant      string    `db:"tenant"`
	ID          uuid.UUID `db:"id"`
	Name        string    `db:"name"`
	Description string    `db:"description"`
	Consents    []byte    `db:"consents"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"created_at"`
	ModifiedAt  time.Time `db:"modified_at"`
	Total       int       `db:"total"`
}

// Add inserts a consent action; a name the tenant already has is a conflict, a consent it
// does not have is invalid.
func (s *ConsentActions) Add(ctx context.Context, a *consents.Action) error {
	ids := make([]string, len(a.Consents))
	for i, c := range a.Consents {
		ids[i] = c.ConsentID
	}
	var missing []string
	if err := s.DB.SelectContext(ctx, &missing, `SELECT x.id FROM unnest($2::uuid[]) AS x(id)
		WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE c.tenant = $1 AND c.id = x.id)`, a.Tenant, pq.StringArray(ids)); err != nil {
		return postgres.Classify(err)
	}
	if len(missing) > 0 {
		bad := make([]errs.FieldError, len(missing))
		for i, m := range missing {
			bad[i] = errs.FieldError{Field: "consents", Message: "consent " + m + " does not exist"}
		}
		return errs.Fields("unknown consents", bad...)
	}
	cs, _ := json.Marshal(a.Consents)
	_, err := s.DB.ExecContext(ctx, `INSERT INTO consent_actions (tenant, id, name, description, consents, version, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.Tenant, a.ID, a.Name, a.Description, cs, a.Version, a.CreatedAt, a.ModifiedAt)
	if postgres.IsUniqueViolation(err, "consent_actions_name_key") {
		return errs.E(errs.Conflict, "consent action %q already exists", a.Name)
	}
	return postgres.Classify(err)
}

// List pages through consent actions by name.
func (s *ConsentActions) List(ctx context.Context, tenant string, q consents.Query) ([]consents.Action, int, error) {
	var rows []actionRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT tenant, id, name, description, consents, version, created_at, modified_at, count(*) OVER () AS total
		FROM consent_actions WHERE tenant = $1 AND ($2 = '' OR name ILIKE '%' || $2 || '%' OR description ILIKE '%' || $2 || '%')
		ORDER BY name LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(q.Search), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.Action, len(rows)), 0
	for i, r := range rows {
		out[i] = consents.Action{Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description,
			Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
		_ = json.Unmarshal(r.Consents, &out[i].Consents)
		total = r.Total
	}
	return out, total, nil
}

// Status reports, for each consent of the action, whether subject accepted its current
// version.
func (s *ConsentActions) Status(ctx context.Context, tenant, action, subject string) (*consents.ActionStatus, error) {
	var a struct {
		ID       uuid.UUID `db:"id"`
		Consents []byte    `db:"consents"`
	}
	err := s.DB.GetContext(ctx, &a, `SELECT id, consents FROM consent_actions WHERE tenant = $1 AND (id::text = $2 OR name = $2)`, tenant, action)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "consent action %q not found", action)
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var asked []consents.ActionConsent
	_ = json.Unmarshal(a.Consents, &asked)
	out := &consents.ActionStatus{ActionID: a.ID.String(), Complete: true, Consents: []consents.ActionConsentStatus{}}
	for _, ac := range asked {
		var row struct {
			Name    string `db:"name"`
			Version int64  `db:"version"`
			Granted *int64 `db:"granted_version"`
		}
		err := s.DB.GetContext(ctx, &row, `SELECT c.name, c.version, g.granted_version FROM consents c
			LEFT JOIN grants g ON g.tenant = c.tenant AND g.consent_id = c.id AND g.subject = $3
			WHERE c.tenant = $1 AND c.id = $2`, tenant, ac.ConsentID, subject)
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			continue // deleted since the action was made: nothing to accept
		}
		if err != nil {
			return nil, postgres.Classify(err)
		}
		st := consents.ActionConsentStatus{ConsentID: ac.ConsentID, Name: row.Name, Required: ac.Required, CurrentVersion: row.Version,
			Accepted: row.Granted != nil && *row.Granted == row.Version}
		if st.Required && !st.Accepted {
			out.Complete = false
		}
		out.Consents = append(out.Consents, st)
	}
	return out, nil
}
