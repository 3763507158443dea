package policies

import (
	"strings"
	"sync"

	"github.com/google/uuid"
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
	// grants is (scope path, action) -> the policies on exactly that path. Its values hold
	// no pointers (subjects and actions are numbers into names), so the garbage collector
	// never scans a million policies.
	grants map[grantKey][]grant
	names  map[string]int32
	nameOf []string
}

type grantKey struct {
	scope  string
	action int32
}

type grant struct {
	id      uuid.UUID
	subject int32
}

// Grant is one policy as the index is given it.
type Grant struct {
	ID, Subject string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{memberOf: map[string][]string{}, ancestors: map[string][]string{}, grants: map[grantKey][]grant{}, names: map[string]int32{}}
}

// name interns s; x.mu must be held for writing.
func (x *Index) name(s string) int32 {
	n, ok := x.names[s]
	if !ok {
		n = int32(len(x.nameOf))
		x.names[s] = n
		x.nameOf = append(x.nameOf, s)
	}
	return n
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

// SetGrants replaces the policies for action on exactly scope. A policy id that is not
// a UUID (never written by this service) is skipped.
func (x *Index) SetGrants(scope, action string, grants []Grant) {
	x.mu.Lock()
	defer x.mu.Unlock()
	key := grantKey{scope, x.name(action)}
	if len(grants) == 0 {
		delete(x.grants, key)
		return
	}
	gs := make([]grant, 0, len(grants))
	for _, g := range grants {
		if id, err := uuid.Parse(g.ID); err == nil {
			gs = append(gs, grant{id: id, subject: x.name(g.Subject)})
		}
	}
	x.grants[key] = gs
}

// Decide is Store.Check in memory: the policy on the most specific of paths that allows
// action to subject or a group it is in, preferring one granted to subject itself, then
// the lowest group id (so the explanation is stable).
func (x *Index) Decide(tenant, subject, action string, paths []string) *Policy {
	x.mu.RLock()
	defer x.mu.RUnlock()
	act, ok := x.names[action]
	if !ok {
		return nil // no policy names this action
	}
	self, ok := x.names[subject]
	if !ok {
		self = -1 // holds no policy itself
	}
	var principals []string // subject's groups, computed on the first path with grants
	for i := len(paths) - 1; i >= 0; i-- {
		grants := x.grants[grantKey{paths[i], act}]
		if len(grants) == 0 {
			continue
		}
		if principals == nil {
			principals = x.principals(subject)
		}
		var best *grant
		for j := range grants {
			g := &grants[j]
			if g.subject == self {
				best = g
				break
			}
			name := x.nameOf[g.subject]
			if group, ok := strings.CutPrefix(name, "group-"); ok && contains(principals, group) && (best == nil || name < x.nameOf[best.subject]) {
				best = g
			}
		}
		if best != nil {
			granted := x.nameOf[best.subject]
			p := Policy{Tenant: tenant, ID: best.id.String(), Subject: granted, Scope: paths[i], Action: action, GrantedTo: granted}
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
