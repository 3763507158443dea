package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// EntitlementView stores entitled scope sets.
type EntitlementView interface {
	Put(ctx context.Context, tx *sqlx.Tx, tenant, subject string, scopes []string) error
}

// Entitlements keeps the entitled scopes iam-policies publishes for each subject: adding a
// client subject to a group widens its next token, removing it narrows it, with no edit of
// the client and no call between services.
func Entitlements(view EntitlementView) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "oauth-clients-entitlements",
		Subjects: []string{"iam.*.policies.scopes.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			var set schema.ScopeSetState
			if err := json.Unmarshal(ev.Data, &set); err != nil {
				return fmt.Errorf("decode scope set: %w", err)
			}
			if set.Tenant != ev.Tenant || set.Subject != ev.EntityID() {
				return fmt.Errorf("scope set for %s/%s in an event for %s/%s", set.Tenant, set.Subject, ev.Tenant, ev.EntityID())
			}
			return view.Put(ctx, tx, ev.Tenant, set.Subject, set.Scopes)
		},
	}
}
