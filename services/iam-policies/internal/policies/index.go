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
	// bytes is what the entries point to (see Bytes), kept as they change, under mu.
	bytes int64
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

// name interns s; x.mu must be held for writing. Names are never dropped: a tenant's
// subjects and actions come and go far less than its policies.
func (x *Index) name(s string) int32 {
	n, ok := x.names[s]
	if !ok {
		n = int32(len(x.nameOf))
		x.names[s] = n
		x.nameOf = append(x.nameOf, s)
		x.bytes += nameBytes(s)
	}
	return n
}

// SetMemberOf replaces subject's direct groups.
func (x *Index) SetMemberOf(subject string, groups []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.setList(x.memberOf, subject, groups)
}

// SetAncestors replaces group's closure (it need not list the group itself).
func (x *Index) SetAncestors(group string, ancestors []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.setList(x.ancestors, group, ancestors)
}

// setList replaces m[key] with values (none: deletes it); x.mu must be held for writing.
func (x *Index) setList(m map[string][]string, key string, values []string) {
	if old, ok := m[key]; ok {
		x.bytes -= listBytes(key, old)
	}
	if len(values) == 0 {
		delete(m, key)
		return
	}
	m[key] = values
	x.bytes += listBytes(key, values)
}

// Bytes estimates the memory the index holds: its maps' tables, the strings and arrays
// they point to, and the interned names. TestIndexBytes keeps the estimate within a
// quarter of what the heap measures, at sizes where the maps are full and where they
// have just grown.
func (x *Index) Bytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.bytes +
		mapBytes(len(x.memberOf), stringHeader+sliceHeader) + mapBytes(len(x.ancestors), stringHeader+sliceHeader) +
		mapBytes(len(x.grants), stringHeader+8+sliceHeader) + mapBytes(len(x.names), stringHeader+8) +
		int64(cap(x.nameOf))*stringHeader
}

// The estimate's parts. A map is Go's swiss table: slots of key and value with a control
// byte each, at most 7/8 full, the slot count a power of two (so the estimate follows the
// map's growth, a doubling at a time); strings and arrays are heap objects rounded up to
// Go's size classes.
func mapBytes(entries int, slot int64) int64 {
	if entries == 0 {
		return 0
	}
	slots := int64(8)
	for slots*7/8 < int64(entries) {
		slots *= 2
	}
	return slots * (slot + 1)
}

func heapBytes(n int64) int64 {
	switch {
	case n == 0:
		return 0
	case n <= 32:
		return (n + 7) / 8 * 8
	case n <= 128:
		return (n + 15) / 16 * 16
	default:
		return (n + 63) / 64 * 64
	}
}

const (
	stringHeader = 16
	sliceHeader  = 24
	grantBytes   = 20 // a UUID and a name number
)

// listBytes is what one memberOf or ancestors entry points to: its key, the array of
// names and the names themselves (each a string of its own, as the database driver
// gives them).
func listBytes(key string, values []string) int64 {
	n := heapBytes(int64(len(key))) + heapBytes(int64(cap(values))*stringHeader)
	for _, v := range values {
		n += heapBytes(int64(len(v)))
	}
	return n
}

// grantsBytes is what one grants entry points to: its scope and the array of grants.
func grantsBytes(scope string, grants []grant) int64 {
	return heapBytes(int64(len(scope))) + heapBytes(int64(cap(grants))*grantBytes)
}

// nameBytes is one interned name's string (its slot in names and its place in nameOf
// are counted with them).
func nameBytes(s string) int64 { return heapBytes(int64(len(s))) }

// SetGrants replaces the policies for action on exactly scope. A policy id that is not
// a UUID (never written by this service) is skipped.
func (x *Index) SetGrants(scope, action string, grants []Grant) {
	x.mu.Lock()
	defer x.mu.Unlock()
	key := grantKey{scope, x.name(action)}
	if old, ok := x.grants[key]; ok {
		x.bytes -= grantsBytes(scope, old)
	}
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
	x.bytes += grantsBytes(scope, gs)
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
