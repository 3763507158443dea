package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// PutClient writes a client subject from oauth-clients' events.
func (s *Directory) PutClient(ctx context.Context, tx *sqlx.Tx, sub subjects.Subject) error {
	return putSubject(ctx, tx, sub)
}

// DropClient removes a deleted client's subject and its memberships, publishing the
// membership tombstones so that policies stop applying to it through its groups.
func (s *Directory) DropClient(ctx context.Context, tx *sqlx.Tx, tenant, clientID string) error {
	ref := subjects.Ref{Type: subjects.TypeClient, ID: clientID}
	if _, err := lockSubject(ctx, tx, tenant, ref); err != nil {
		return err
	}
	if err := leaveAll(ctx, tx, tenant, ref); err != nil {
		return err
	}
	return dropSubject(ctx, tx, tenant, ref)
}
