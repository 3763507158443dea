package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// ClientAccessView stores subjects' revocations of clients' access.
type ClientAccessView interface {
	Revoke(ctx context.Context, tx *sqlx.Tx, tenant, clientID, subject string, at time.Time) error
	Regrant(ctx context.Context, tx *sqlx.Tx, tenant, clientID, subject string, at time.Time) error
}

// ClientAccess keeps consent's client-access revocations: when a subject takes a client's
// access away (a tombstone), the client's tokens for that subject stop introspecting as
// active; a later grant (an upsert) lets tokens issued from then on be active again. The
// event's time is when consent recorded the change.
func ClientAccess(view ClientAccessView) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "oauth-clients-client-access",
		Subjects: []string{"iam.*.consent.clientaccess.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			var st schema.ClientAccessState
			if err := json.Unmarshal(ev.Data, &st); err != nil {
				return fmt.Errorf("decode client access: %w", err)
			}
			if st.Tenant != ev.Tenant || st.Subject+"~"+st.ClientId != ev.EntityID() {
				return fmt.Errorf("client access %s/%s~%s in an event for %s/%s", st.Tenant, st.Subject, st.ClientId, ev.Tenant, ev.EntityID())
			}
			if ev.Time.IsZero() {
				return fmt.Errorf("client access event %s has no time", ev.ID)
			}
			if ev.Deleted || st.Deleted {
				return view.Revoke(ctx, tx, ev.Tenant, st.ClientId, st.Subject, ev.Time)
			}
			return view.Regrant(ctx, tx, ev.Tenant, st.ClientId, st.Subject, ev.Time)
		},
	}
}
