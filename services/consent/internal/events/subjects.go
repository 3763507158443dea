// Package events says what the consent service consumes: deletions of users and clients.
package events

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
)

// Forgetter drops a deleted subject's live grants, keeping its ledger.
type Forgetter interface {
	SubjectDeleted(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error
}

// DeletedSubjects follows user and client tombstones: a deleted subject keeps its ledger
// (it is evidence) but loses its live grants.
func DeletedSubjects(f Forgetter) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "consent-subjects",
		Subjects: []string{"iam.*.subjects.user.*", "iam.*.clients.client.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			if !ev.Deleted {
				return nil
			}
			kind := strings.Split(ev.Subject, ".")[3] // user or client
			return f.SubjectDeleted(ctx, tx, ev.Tenant, kind+"-"+ev.EntityID())
		},
	}
}
