package policies

import (
	"context"
	"slices"
	"strings"
)

// A subject's entitled scope set is the actions granted to it (or its groups) on the
// tenant root, with the scopes of the RBAC access controls assigned to them. Other
// services read it from ScopeSetState events, republished whenever it changes.

// EffectiveScopes is subject's entitled scope set in the form a token carries it: the
// scopes, then tenant=<tenant>.
func (e *Engine) EffectiveScopes(ctx context.Context, tenant, subject string) ([]string, error) {
	scopes, err := e.store.EntitledScopes(ctx, tenant, subject)
	if err != nil {
		return nil, err
	}
	return append(scopes, "tenant="+tenant), nil
}

// ScopeSet is one subject's entitled scopes.
type ScopeSet struct {
	Subject string
	Scopes  []string
}

// ScopeSets is what finding changed entitled scope sets needs of storage, inside the
// transaction of the change that may have altered them.
type ScopeSets interface {
	// Members lists everything in group, through nesting: users, clients and groups.
	Members(ctx context.Context, group string) ([]string, error)
	// Entitled computes subject's entitled scopes as the transaction sees them.
	Entitled(ctx context.Context, subject string) ([]string, error)
	// Published is the set last published for subject; ok is false if none was.
	Published(ctx context.Context, subject string) (scopes []string, ok bool, err error)
}

// ChangedScopeSets lists, in subject order, the entitled scope sets of subjects that are
// to be republished: those that differ from the last one published, or of which none
// was. A group has no set of its own: it stands for every user and client in it,
// through nesting.
func ChangedScopeSets(ctx context.Context, sets ScopeSets, subjects []string) ([]ScopeSet, error) {
	var affected []string
	for _, s := range subjects {
		group, isGroup := strings.CutPrefix(s, "group-")
		if !isGroup {
			affected = append(affected, s)
			continue
		}
		members, err := sets.Members(ctx, group)
		if err != nil {
			return nil, err
		}
		affected = append(affected, slices.DeleteFunc(members, isGroupSubject)...)
	}
	slices.Sort(affected)
	var changed []ScopeSet
	for _, subject := range slices.Compact(affected) {
		scopes, err := sets.Entitled(ctx, subject)
		if err != nil {
			return nil, err
		}
		before, published, err := sets.Published(ctx, subject)
		if err != nil {
			return nil, err
		}
		if !published || !slices.Equal(before, scopes) {
			changed = append(changed, ScopeSet{Subject: subject, Scopes: scopes})
		}
	}
	return changed, nil
}

func isGroupSubject(subject string) bool { return strings.HasPrefix(subject, "group-") }
