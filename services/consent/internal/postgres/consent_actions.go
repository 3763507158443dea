package postgres

import (
	"context"
	"encoding/json"
	"time"

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
	ID          string    `db:"id"`
	Name        string    `db:"name"`
	Description string    `db:"description"`
	Consents    []byte    `db:"consents"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"created_at"`
	ModifiedAt  time.Time `db:"modified_at"`
	Total       int       `db:"total"`
}

const actionColumns = `tenant, id, name, description, consents, version, created_at, modified_at`

// actionByIDOrName matches $2 against the id or the name; an id match wins, in case a
// name happens to spell another action's id.
const actionByIDOrName = `tenant = $1 AND (id = $2 OR name = $2) ORDER BY id = $2 DESC LIMIT 1`

func (r actionRow) action() consents.Action {
	a := consents.Action{Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
	_ = json.Unmarshal(r.Consents, &a.Consents)
	if a.Consents == nil {
		a.Consents = []consents.ActionConsent{}
	}
	return a
}

// unknownConsents refuses consent ids the tenant does not have, naming each.
func unknownConsents(ctx context.Context, q sqlx.QueryerContext, tenant string, cs []consents.ActionConsent) error {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ConsentID
	}
	var missing []string
	if err := sqlx.SelectContext(ctx, q, &missing, `SELECT x.id FROM unnest($2::text[]) AS x(id)
		WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE c.tenant = $1 AND c.id = x.id)`, tenant, pq.StringArray(ids)); err != nil {
		return postgres.Classify(err)
	}
	if len(missing) > 0 {
		bad := make([]errs.FieldError, len(missing))
		for i, m := range missing {
			bad[i] = errs.FieldError{Field: "consents", Message: "consent " + m + " does not exist"}
		}
		return errs.Fields("unknown consents", bad...)
	}
	return nil
}

func nameClash(err error, name string) error {
	if postgres.IsUniqueViolation(err, "consent_actions_name_key") {
		return errs.E(errs.Conflict, "consent action %q already exists", name)
	}
	return postgres.Classify(err)
}

// Add inserts a consent action; a name the tenant already has is a conflict, a consent it
// does not have is invalid.
func (s *ConsentActions) Add(ctx context.Context, a *consents.Action) error {
	if err := unknownConsents(ctx, s.DB, a.Tenant, a.Consents); err != nil {
		return err
	}
	cs, _ := json.Marshal(a.Consents)
	_, err := s.DB.ExecContext(ctx, `INSERT INTO consent_actions (`+actionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.Tenant, a.ID, a.Name, a.Description, cs, a.Version, a.CreatedAt, a.ModifiedAt)
	if postgres.IsUniqueViolation(err, "consent_actions_pkey") {
		return errs.E(errs.Conflict, "consent action %q already exists", a.ID)
	}
	return nameClash(err, a.Name)
}

func getAction(ctx context.Context, q sqlx.QueryerContext, tenant, action string, lock bool) (*consents.Action, error) {
	query := `SELECT ` + actionColumns + `, 0 AS total FROM consent_actions WHERE ` + actionByIDOrName
	if lock {
		query += ` FOR UPDATE`
	}
	var row actionRow
	if err := sqlx.GetContext(ctx, q, &row, query, tenant, action); err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, errs.E(errs.NotFound, "consent action %q not found", action)
		}
		return nil, postgres.Classify(err)
	}
	a := row.action()
	return &a, nil
}

// Get loads one consent action by id or name.
func (s *ConsentActions) Get(ctx context.Context, tenant, action string) (*consents.Action, error) {
	return getAction(ctx, s.DB, tenant, action, false)
}

// Update locks the action, applies change and saves the result; the consents it then
// names must exist, at that moment, in the same transaction.
func (s *ConsentActions) Update(ctx context.Context, tenant, action string, change func(*consents.Action) error) (*consents.Action, error) {
	var out *consents.Action
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		a, err := getAction(ctx, tx, tenant, action, true)
		if err != nil {
			return err
		}
		if err := change(a); err != nil {
			return err
		}
		if err := unknownConsents(ctx, tx, tenant, a.Consents); err != nil {
			return err
		}
		cs, _ := json.Marshal(a.Consents)
		if _, err := tx.ExecContext(ctx, `UPDATE consent_actions SET name = $3, description = $4, consents = $5, version = $6, modified_at = $7
			WHERE tenant = $1 AND id = $2`, tenant, a.ID, a.Name, a.Description, cs, a.Version, a.ModifiedAt); err != nil {
			return nameClash(err, a.Name)
		}
		out = a
		return nil
	})
	return out, err
}

// Delete removes a consent action by id or name.
func (s *ConsentActions) Delete(ctx context.Context, tenant, action string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM consent_actions WHERE tenant = $1 AND id = (
		SELECT id FROM consent_actions WHERE `+actionByIDOrName+`)`, tenant, action)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "consent action %q not found", action)
	}
	return nil
}

// List pages through consent actions by name.
func (s *ConsentActions) List(ctx context.Context, tenant string, q consents.Query) ([]consents.Action, int, error) {
	const where = `WHERE tenant = $1 AND ($2 = '' OR name ILIKE '%' || $2 || '%' OR description ILIKE '%' || $2 || '%')`
	var rows []actionRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT `+actionColumns+`, count(*) OVER () AS total FROM consent_actions `+where+`
		ORDER BY name LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(q.Search), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.Action, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.action(), r.Total
	}
	if len(rows) == 0 && q.Offset > 0 {
		// A page past the end has no row to carry the total.
		if err := s.DB.GetContext(ctx, &total, `SELECT count(*) FROM consent_actions `+where, tenant, postgres.EscapeLike(q.Search)); err != nil {
			return nil, 0, postgres.Classify(err)
		}
	}
	return out, total, nil
}

// Status reads, for each consent of the action that still exists, its current version and
// subject's granted version.
func (s *ConsentActions) Status(ctx context.Context, tenant, action, subject string) (*consents.ActionStatus, error) {
	var a struct {
		ID       string `db:"id"`
		Consents []byte `db:"consents"`
	}
	err := s.DB.GetContext(ctx, &a, `SELECT id, consents FROM consent_actions WHERE `+actionByIDOrName, tenant, action)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "consent action %q not found", action)
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var asked []consents.ActionConsent
	_ = json.Unmarshal(a.Consents, &asked)
	out := &consents.ActionStatus{ActionID: a.ID, Consents: []consents.ActionConsentStatus{}}
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
		out.Consents = append(out.Consents, consents.ActionConsentStatus{ConsentID: ac.ConsentID, Name: row.Name, Required: ac.Required,
			CurrentVersion: row.Version, GrantedVersion: row.Granted})
	}
	return out, nil
}

// Consents loads the consents an action asks for that still exist, in the action's order.
func (s *ConsentActions) Consents(ctx context.Context, tenant string, asked []consents.ActionConsent) ([]consents.Consent, error) {
	ids := make([]string, len(asked))
	for i, a := range asked {
		ids[i] = a.ConsentID
	}
	var rows []consentRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+consentColumns+`, 0 AS total FROM consents c
		JOIN unnest($2::text[]) WITH ORDINALITY AS x(want, n) ON x.want = c.id
		WHERE c.tenant = $1 ORDER BY x.n`, tenant, pq.StringArray(ids)); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make([]consents.Consent, len(rows))
	for i, r := range rows {
		out[i] = r.consent()
	}
	return out, nil
}
