// Package events says what the consent service consumes and publishes.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// View is what the consumer writes: what consent screens show of clients and scopes, and
// the forgetting of deleted subjects (which keep their ledger but lose live grants and
// client access).
type View interface {
	SubjectDeleted(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error
	PutClient(ctx context.Context, tx *sqlx.Tx, tenant string, c Client) error
	DropClient(ctx context.Context, tx *sqlx.Tx, tenant, id string) error
	PutScope(ctx context.Context, tx *sqlx.Tx, tenant, name, displayName, description string) error
	DropScope(ctx context.Context, tx *sqlx.Tx, tenant, name string) error
}

// Client is what consent keeps of a client (oauth-clients' ClientState): what consent
// screens and client-access lists show, and what the screen decides from.
type Client struct {
	ID, Name, LogoURI, ClientURI, PolicyURI, TosURI string
	// ConsentActionID names the consent action whose consents the screen asks for.
	ConsentActionID string
	// Trusted clients (first-party) skip the scope part of the consent screen.
	Trusted bool
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Views follows user tombstones, clients and scope definitions.
func Views(v View) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "consent-views",
		Subjects: []string{"iam.*.subjects.user.*", "iam.*.clients.client.*", "iam.*.clients.scope.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			switch kind := strings.Split(ev.Subject, ".")[3]; kind {
			case "user":
				if ev.Deleted {
					return v.SubjectDeleted(ctx, tx, ev.Tenant, "user-"+ev.EntityID())
				}
			case "client":
				if ev.Deleted {
					return v.DropClient(ctx, tx, ev.Tenant, ev.EntityID())
				}
				var c schema.ClientState
				if err := json.Unmarshal(ev.Data, &c); err != nil {
					return fmt.Errorf("decode client: %w", err)
				}
				return v.PutClient(ctx, tx, ev.Tenant, Client{ID: ev.EntityID(), Name: c.ClientName, LogoURI: deref(c.LogoUri),
					ClientURI: deref(c.ClientUri), PolicyURI: deref(c.PolicyUri), TosURI: deref(c.TosUri),
					ConsentActionID: deref(c.ConsentActionId), Trusted: c.Trusted})
			case "scope":
				var sc schema.ScopeDefinitionState
				if err := json.Unmarshal(ev.Data, &sc); err != nil {
					return fmt.Errorf("decode scope: %w", err)
				}
				if ev.Deleted {
					return v.DropScope(ctx, tx, ev.Tenant, sc.Name)
				}
				return v.PutScope(ctx, tx, ev.Tenant, sc.Name, sc.DisplayName, sc.Description)
			}
			return nil
		},
	}
}
