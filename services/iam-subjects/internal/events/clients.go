// Package events says what iam-subjects publishes and consumes.
package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// ClientView is what the client-subject consumer writes to: the subject index, and the
// memberships a deleted client must leave (with their events, in the same transaction).
type ClientView interface {
	PutClient(ctx context.Context, tx *sqlx.Tx, s subjects.Subject) error
	DropClient(ctx context.Context, tx *sqlx.Tx, tenant, clientID string) error
}

// ClientSubjects keeps client subjects from oauth-clients' client events.
func ClientSubjects(view ClientView) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "iam-subjects-clients",
		Subjects: []string{"iam.*.clients.client.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			if ev.Deleted {
				return view.DropClient(ctx, tx, ev.Tenant, ev.EntityID())
			}
			var c schema.ClientState
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				return fmt.Errorf("decode client state: %w", err)
			}
			if c.ClientId != ev.EntityID() || c.Tenant != ev.Tenant {
				return fmt.Errorf("client state names %s/%s, the event %s/%s", c.Tenant, c.ClientId, ev.Tenant, ev.EntityID())
			}
			return view.PutClient(ctx, tx, subjects.Subject{Tenant: c.Tenant, Type: subjects.TypeClient, ID: c.ClientId,
				DisplayName: c.ClientName, Properties: subjects.Properties{Description: deref(c.Description), IconURI: deref(c.LogoUri)}})
		},
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
