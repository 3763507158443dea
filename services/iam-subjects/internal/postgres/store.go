// Package postgres is iam-subjects' storage: SQL only, returning domain errors.
package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

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

func record(ctx context.Context, tx *sqlx.Tx, evs ...pkgevents.Envelope) error {
	return pkgevents.Record(ctx, tx, evs...)
}

func notFound(kind, id string) error { return errs.E(errs.NotFound, "%s %q not found", kind, id) }
