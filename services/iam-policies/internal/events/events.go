// Package events says what iam-policies publishes (entitled scope sets) and consumes
// (subjects, memberships and clients, into its own views).
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

// Source is the CloudEvents source of this service's events.
const Source = "/iam/iam-policies"

// ScopeSet is a subject's new entitled scope set.
func ScopeSet(tenant, subject string, scopes []string, version int64) (pkgevents.Envelope, error) {
	return pkgevents.New(Source, pkgevents.Entity{Tenant: tenant, Area: "policies", Kind: "scopes", ID: subject}, version, false,
		schema.ScopeSetState{Tenant: tenant, Subject: subject, Scopes: scopes})
}

// ScopeSetDeleted is the tombstone of a subject's entitled scope set: this service holds
// none for it. Its payload is a ScopeSetState with no scopes, what every consumer of
// scope sets decodes (and what a consumer that ignores the deleted flag should keep).
func ScopeSetDeleted(tenant, subject string, version int64) (pkgevents.Envelope, error) {
	return pkgevents.New(Source, pkgevents.Entity{Tenant: tenant, Area: "policies", Kind: "scopes", ID: subject}, version, true,
		schema.ScopeSetState{Tenant: tenant, Subject: subject, Scopes: []string{}})
}

// View is what the subjects consumer writes to.
type View interface {
	PutSubject(ctx context.Context, tx *sqlx.Tx, tenant, subject, displayName string) error
	DropSubject(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error
	PutMembership(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error
	DropMembership(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error
}

// ScopeRefs is what the scope-definition consumer writes to.
type ScopeRefs interface {
	// PutScopeRefs replaces the policies scope (of tenant) names; none when it is deleted.
	PutScopeRefs(ctx context.Context, tx *sqlx.Tx, tenant, scope string, policyIDs []string) error
}

// ScopeDefinitions keeps which policies oauth-clients' scope definitions reference, so
// that such a policy cannot be revoked from under them. A consumer of its own, so that
// it starts from the first scope definition in the stream.
func ScopeDefinitions(view ScopeRefs) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "iam-policies-scopes",
		Subjects: []string{"iam.*.clients.scope.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			var d schema.ScopeDefinitionState
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return fmt.Errorf("decode scope definition: %w", err)
			}
			var ids []string
			if !ev.Deleted {
				for _, id := range []string{d.UserPolicyId, d.DeveloperPolicyId} {
					if id != "" {
						ids = append(ids, id)
					}
				}
			}
			return view.PutScopeRefs(ctx, tx, ev.Tenant, d.Name, ids)
		},
	}
}

// Subjects keeps the subject, membership and closure views from iam-subjects' user,
// group and membership events and oauth-clients' client events, in stream order.
func Subjects(view View) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "iam-policies-subjects",
		Subjects: []string{"iam.*.subjects.*.*", "iam.*.clients.client.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			kind := strings.Split(ev.Subject, ".")[3]
			switch kind {
			case "user", "group", "client":
				subject := kind + "-" + ev.EntityID()
				if ev.Deleted {
					return view.DropSubject(ctx, tx, ev.Tenant, subject)
				}
				var s struct {
					DisplayName string `json:"displayName"`
					ClientName  string `json:"clientName"`
				}
				if err := json.Unmarshal(ev.Data, &s); err != nil {
					return fmt.Errorf("decode %s: %w", kind, err)
				}
				return view.PutSubject(ctx, tx, ev.Tenant, subject, s.DisplayName+s.ClientName)
			case "membership":
				var m schema.MembershipState
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					return fmt.Errorf("decode membership: %w", err)
				}
				if m.Tenant != ev.Tenant {
					return fmt.Errorf("membership of tenant %q in an event of %q", m.Tenant, ev.Tenant)
				}
				if ev.Deleted {
					return view.DropMembership(ctx, tx, ev.Tenant, m.GroupId, m.Member)
				}
				return view.PutMembership(ctx, tx, ev.Tenant, m.GroupId, m.Member)
			}
			return nil // a kind this view does not keep
		},
	}
}
