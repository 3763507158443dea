// Package events says what iam-policies publishes (entitled scope sets) and consumes
// (subjects, memberships and clients, into its own views).
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// View is what the subjects consumer writes to: a batch of events at a time, tenant by
// tenant, so that what derives from the sets (the group closure, the check index, the
// entitled scope sets) is derived once per batch, not once per event.
type View interface {
	ApplySubjects(ctx context.Context, tx *sqlx.Tx, tenant string, c Changes) error
}

// Changes is what a batch of events changes in one tenant's subject and membership sets:
// each entity's newest state (pkgevents.ClaimNewest gives no entity twice).
type Changes struct {
	Put    []Subject    // users, groups and clients created or changed
	Gone   []string     // subject ids whose tombstone came
	Joined []Membership // memberships added
	Left   []Membership // memberships removed (tombstones)
	// Groups is, for each group whose event came (its subject id), the access controls
	// and templates it names (Emporix's group.accessControls and group.templates): none
	// when its event names none or is a tombstone.
	Groups map[string]GroupRefs
}

// GroupRefs is what a group names of iam-policies' RBAC.
type GroupRefs struct {
	AccessControls, Templates []string
}

// Subject is a user, group or client as the subject view keeps it.
type Subject struct {
	ID          string // user-<id>, group-<id>, client-<id>
	DisplayName string
}

// Membership is one direct membership: Member (a subject id) is in group Group (a group
// id, without the group- prefix).
type Membership struct {
	Group, Member string
}

// Empty reports whether c changes nothing.
func (c Changes) Empty() bool {
	return len(c.Put)+len(c.Gone)+len(c.Joined)+len(c.Left)+len(c.Groups) == 0
}

// Decode sorts a batch of subject, membership and client events into each tenant's
// changes, tenants in name order (so that two replicas take the tenants' locks in the
// same order). An event that cannot be decoded fails the whole batch: the consumer then
// applies its events one at a time, and dead-letters that one.
func Decode(evs []pkgevents.Envelope) (tenants []string, changes map[string]*Changes, err error) {
	changes = map[string]*Changes{}
	for _, ev := range evs {
		c, ok := changes[ev.Tenant]
		if !ok {
			c = &Changes{}
			changes[ev.Tenant] = c
			tenants = append(tenants, ev.Tenant)
		}
		kind := strings.Split(ev.Subject, ".")[3]
		switch kind {
		case "user", "group", "client":
			subject := kind + "-" + ev.EntityID()
			var s struct {
				DisplayName    string   `json:"displayName"`
				ClientName     string   `json:"clientName"`
				AccessControls []string `json:"accessControls"`
				Templates      []string `json:"templates"`
			}
			if !ev.Deleted {
				if err := json.Unmarshal(ev.Data, &s); err != nil {
					return nil, nil, fmt.Errorf("decode %s %s: %w", kind, ev.Subject, err)
				}
			}
			if kind == "group" {
				if c.Groups == nil {
					c.Groups = map[string]GroupRefs{}
				}
				c.Groups[subject] = GroupRefs{AccessControls: s.AccessControls, Templates: s.Templates}
			}
			if ev.Deleted {
				c.Gone = append(c.Gone, subject)
				continue
			}
			c.Put = append(c.Put, Subject{ID: subject, DisplayName: s.DisplayName + s.ClientName})
		case "membership":
			var m schema.MembershipState
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				return nil, nil, fmt.Errorf("decode membership %s: %w", ev.Subject, err)
			}
			if m.Tenant != ev.Tenant {
				return nil, nil, fmt.Errorf("membership of tenant %q in an event of %q", m.Tenant, ev.Tenant)
			}
			if ev.Deleted {
				c.Left = append(c.Left, Membership{Group: m.GroupId, Member: m.Member})
			} else {
				c.Joined = append(c.Joined, Membership{Group: m.GroupId, Member: m.Member})
			}
		}
		// Any other kind is none this view keeps.
	}
	slices.Sort(tenants)
	return tenants, changes, nil
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
// group and membership events and oauth-clients' client events, a batch at a time.
func Subjects(view View) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "iam-policies-subjects",
		Subjects: []string{"iam.*.subjects.*.*", "iam.*.clients.client.*"},
		ApplyBatch: func(ctx context.Context, tx *sqlx.Tx, evs []pkgevents.Envelope) error {
			tenants, changes, err := Decode(evs)
			if err != nil {
				return err
			}
			for _, tenant := range tenants {
				if c := changes[tenant]; !c.Empty() {
					if err := view.ApplySubjects(ctx, tx, tenant, *c); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}
