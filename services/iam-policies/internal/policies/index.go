package policies

import (
	"strings"
	"sync"
)

// Index is one tenant's policies and group structure in memory, so that a check costs no
// database round trip: the hot path of the product. It holds copies of this service's
// tables and is kept current, key by key, by whoever loads it (internal/postgres); a
// check that must see a just-made change (a consistency token) bypasses it.
type Index struct {
	mu sync.RWMutex
	// memberOf is each subject's direct groups (group ids, without the group- prefix).
	memberOf map[string][]string
	// ancestors is each group's closure: itself and every group it is nested in.
	ancestors map[string][]string
	// grants is scope path -> action -> the policies on exactly that path.
	grants map[string]map[string][]Grant
}

// Grant is one policy as the index holds it.
type Grant struct {
	ID, Subject string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{memberOf: map[string][]string{}, ancestors: map[string][]string{}, grants: map[string]map[string][]Grant{}}
}

// SetMemberOf replaces subject's direct groups.
func (x *Index) SetMemberOf(subject string, groups []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(groups) == 0 {
		delete(x.memberOf, subject)
		return
	}
	x.memberOf[subject] = groups
}

// SetAncestors replaces group's closure (it need not list the group itself).
func (x *Index) SetAncestors(group string, ancestors []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(ancestors) == 0 {
		delete(x.ancestors, group)
		return
	}
	x.ancestors[group] = ancestors
}

// SetGrants replaces the policies for action on exactly scope.
func (x *Index) SetGrants(scope, action string, grants []Grant) {
	x.mu.Lock()
	defer x.mu.Unlock()
	byAction := x.grants[scope]
	if len(grants) == 0 {
		delete(byAction, action)
		if len(byAction) == 0 {
			delete(x.grants, scope)
		}
		return
	}
	if byAction == nil {
		byAction = map[string][]Grant{}
		x.grants[scope] = byAction
	}
	byAction[action] = grants
}

// Decide is Store.Check in memory: the policy on the most specific of paths that allows
// action to subject or a group it is in, preferring one granted to subject itself, then
// the lowest group id (so the explanation is stable).
func (x *Index) Decide(tenant, subject, action string, paths []string) *Policy {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var principals []string // subject's groups, computed on the first path with grants
	for i := len(paths) - 1; i >= 0; i-- {
		grants := x.grants[paths[i]][action]
		if len(grants) == 0 {
			continue
		}
		if principals == nil {
			principals = x.principals(subject)
		}
		var best *Grant
		for j := range grants {
			g := &grants[j]
			if g.Subject == subject {
				best = g
				break
			}
			if group, ok := strings.CutPrefix(g.Subject, "group-"); ok && contains(principals, group) && (best == nil || g.Subject < best.Subject) {
				best = g
			}
		}
		if best != nil {
			p := Policy{Tenant: tenant, ID: best.ID, Subject: best.Subject, Scope: paths[i], Action: action, GrantedTo: best.Subject}
			p.ResourceType, p.ResourceProvider = Describe(p.Scope)
			return &p
		}
	}
	return nil
}

// principals lists the groups subject is in, through nesting (never nil).
func (x *Index) principals(subject string) []string {
	out := []string{}
	for _, g := range x.memberOf[subject] {
		if anc, ok := x.ancestors[g]; ok {
			for _, a := range anc {
				if !contains(out, a) {
					out = append(out, a)
				}
			}
		}
		if !contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// contains is a linear scan: a subject is in a handful of groups, where a map costs more.
func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}
