// Package events says what iam-subjects consumes (and, from issue 3 on, publishes).
package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// ClientSubjects keeps the client-subject view from oauth-clients' client events.
func ClientSubjects() *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "iam-subjects-clients",
		Subjects: []string{"iam.*.clients.client.*"},
		Apply:    applyClient,
	}
}

func applyClient(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
	if ev.Deleted {
		_, err := tx.ExecContext(ctx, `DELETE FROM client_subjects WHERE tenant = $1 AND id = $2`, ev.Tenant, ev.EntityID())
		return err
	}
	var c schema.ClientState
	if err := json.Unmarshal(ev.Data, &c); err != nil {
		return fmt.Errorf("decode client state: %w", err)
	}
	if c.ClientId != ev.EntityID() || c.Tenant != ev.Tenant {
		return fmt.Errorf("client state names %s/%s, the event %s/%s", c.Tenant, c.ClientId, ev.Tenant, ev.EntityID())
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO client_subjects (tenant, id, display_name, description, icon_uri, updated_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (tenant, id) DO UPDATE SET display_name = EXCLUDED.display_name,
			description = EXCLUDED.description, icon_uri = EXCLUDED.icon_uri, updated_at = now()`,
		c.Tenant, c.ClientId, c.ClientName, deref(c.Description), deref(c.LogoUri))
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
