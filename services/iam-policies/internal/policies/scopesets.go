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
// transaction of the change that may have altered them. Each call takes many subjects:
// a batch of a thousand memberships costs three queries, not three thousand.
type ScopeSets interface {
	// Members lists everything in the groups, through nesting: users, clients and groups.
	Members(ctx context.Context, groups []string) ([]string, error)
	// Entitled computes the subjects' entitled scopes as the transaction sees them, each
	// set in order; a subject entitled to nothing may be missing.
	Entitled(ctx context.Context, subjects []string) (map[string][]string, error)
	// Published is the set last published for each of subjects that has one.
	Published(ctx context.Context, subjects []string) (map[string][]string, error)
}

// ChangedScopeSets lists, in subject order, the entitled scope sets of subjects that are
// to be republished: those that differ from the last one published, or of which none
// was. A group has no set of its own: it stands for every user and client in it,
// through nesting. Each subject comes once, however many of subjects reach it.
func ChangedScopeSets(ctx context.Context, sets ScopeSets, subjects []string) ([]ScopeSet, error) {
	var affected, groups []string
	for _, s := range subjects {
		if group, isGroup := strings.CutPrefix(s, "group-"); isGroup {
			groups = append(groups, group)
		} else {
			affected = append(affected, s)
		}
	}
	if len(groups) > 0 {
		slices.Sort(groups)
		members, err := sets.Members(ctx, slices.Compact(groups))
		if err != nil {
			return nil, err
		}
		affected = append(affected, slices.DeleteFunc(members, isGroupSubject)...)
	}
	if len(affected) == 0 {
		return nil, nil
	}
	slices.Sort(affected)
	affected = slices.Compact(affected)
	entitled, err := sets.Entitled(ctx, affected)
	if err != nil {
		return nil, err
	}
	published, err := sets.Published(ctx, affected)
	if err != nil {
		return nil, err
	}
	var changed []ScopeSet
	for _, subject := range affected {
		scopes := entitled[subject]
		if scopes == nil {
			scopes = []string{}
		}
		if before, ok := published[subject]; !ok || !slices.Equal(before, scopes) {
			changed = append(changed, ScopeSet{Subject: subject, Scopes: scopes})
		}
	}
	return changed, nil
}

func isGroupSubject(subject string) bool { return strings.HasPrefix(subject, "group-") }
