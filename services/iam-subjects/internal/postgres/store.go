// Package postgres is iam-subjects' storage: SQL only, returning domain errors.
package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Directory implements subjects.Store.
type Directory struct {
	DB       *sqlx.DB
	trigrams trigramStats
}

var _ subjects.Store = (*Directory)(nil)

func (s *Directory) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return postgres.InTx(ctx, s.DB, fn)
}

// versions takes n event versions from the service's sequence; callers hold the entity
// locks, so versions grow in commit order per entity.
func versions(ctx context.Context, tx *sqlx.Tx, n int) ([]int64, error) {
	var vs []int64
	err := tx.SelectContext(ctx, &vs, `SELECT nextval('entity_version_seq') FROM generate_series(1, $1)`, n)
	return vs, postgres.Classify(err)
}

func version1(ctx context.Context, tx *sqlx.Tx) (int64, error) {
	vs, err := versions(ctx, tx, 1)
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

func record(ctx context.Context, tx *sqlx.Tx, evs ...pkgevents.Envelope) error {
	return pkgevents.Record(ctx, tx, evs...)
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

func notFound(kind, id string) error { return errs.E(errs.NotFound, "%s %q not found", kind, id) }

// membershipEvents records one event per changed membership of group.
func membershipEvents(ctx context.Context, tx *sqlx.Tx, tenant, groupID string, refs []subjects.Ref, removed bool) error {
	if len(refs) == 0 {
		return nil
	}
	vs, err := versions(ctx, tx, len(refs))
	if err != nil {
		return err
	}
	evs := make([]pkgevents.Envelope, len(refs))
	for i, r := range refs {
		if evs[i], err = events.Membership(tenant, groupID, r, vs[i], removed); err != nil {
			return err
		}
	}
	return record(ctx, tx, evs...)
}
