package faults

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	consentapi "github.com/iamplane/iam/services/consent/api"
	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// Tenants the workload writes to.
var Tenants = []string{"acme", "globex"}

// Scopes each tenant defines for the workload (consent's scope view, client access).
var workloadScopes = []string{"fault.read", "fault.write"}

// Workload drives a mix of writes through the HTTP API that touches every view:
// oauth-clients' clients and scope definitions (iam-subjects' client subjects, iam-policies'
// subject and scope views, consent's client and scope views), iam-subjects' users, groups
// and nested memberships with removals and deletions (iam-policies' subjects, memberships
// and closure; consent's user tombstones), iam-policies' policies (the entitled scope sets
// oauth-clients keeps) and consent's client-access grants (oauth-clients' revocations).
//
// Every entity is written by one worker only, so the workload knows what each source
// database must hold afterwards: the last state a 2xx answer confirmed, or, after a write
// whose outcome is unknown (a 5xx, a dropped connection), either state.
type Workload struct {
	p        *Platform
	clients  *clientsapi.ClientWithResponses
	subjects *subjectsapi.ClientWithResponses
	policies *policiesapi.ClientWithResponses
	consent  *consentapi.ClientWithResponses
	workers  []*worker

	mu       sync.Mutex
	entities map[string]*entity

	attempted, ok, refused, failed atomic.Int64
	refusals                       sync.Map // "op status" -> count, to explain refusals
}

// Counts are the workload's write figures.
type Counts struct {
	Attempted, OK, Refused, Failed int64
}

// Sub is c minus an earlier snapshot.
func (c Counts) Sub(before Counts) Counts {
	return Counts{c.Attempted - before.Attempted, c.OK - before.OK, c.Refused - before.Refused, c.Failed - before.Failed}
}

// Counts returns the figures so far.
func (w *Workload) Counts() Counts {
	return Counts{w.attempted.Load(), w.ok.Load(), w.refused.Load(), w.failed.Load()}
}

// state is what a source database holds for an entity: absent, or present with value.
type state struct {
	present bool
	value   string
}

type entity struct {
	kind, tenant string
	keys         []string // what the probe query takes after the tenant
	acceptable   []state  // what the source may hold now
	confirmed    bool     // some write of it was answered 2xx
}

// worker owns its entities in one tenant; a stable core (a client, users and groups that
// are never deleted, so policies and grants on them stay) and churn around it.
type worker struct {
	w      *Workload
	tenant string
	rng    *rand.Rand
	n      int

	stableClient string
	stableUsers  []string // user ids
	stableGroups []string // group ids
	clients      []string
	users        []string
	groups       []string // creation order: a group only ever contains groups created after it
	members      [][2]string
	policies     [][3]string // subject, scope, action
	access       []string    // client ids the stable user let in
	wrote        bool        // the current step made a write
}

// NewWorkload prepares workers (two per tenant) and their stable entities.
func NewWorkload(ctx context.Context, p *Platform, workers int, seed uint64) (*Workload, error) {
	w := &Workload{p: p, entities: map[string]*entity{}}
	var err error
	if w.clients, err = clientsapi.NewClientWithResponses(p.URL, clientsapi.WithHTTPClient(p.http), clientsapi.WithRequestEditorFn(p.authorize)); err != nil {
		return nil, err
	}
	if w.subjects, err = subjectsapi.NewClientWithResponses(p.URL, subjectsapi.WithHTTPClient(p.http), subjectsapi.WithRequestEditorFn(p.authorize)); err != nil {
		return nil, err
	}
	if w.policies, err = policiesapi.NewClientWithResponses(p.URL, policiesapi.WithHTTPClient(p.http), policiesapi.WithRequestEditorFn(p.authorize)); err != nil {
		return nil, err
	}
	if w.consent, err = consentapi.NewClientWithResponses(p.URL, consentapi.WithHTTPClient(p.http), consentapi.WithRequestEditorFn(p.authorize)); err != nil {
		return nil, err
	}
	for _, t := range Tenants {
		for _, s := range workloadScopes {
			if err := w.defineScope(ctx, t, s, "initial"); err != nil {
				return nil, err
			}
		}
	}
	for i := range workers {
		wk := &worker{w: w, tenant: Tenants[i%len(Tenants)], rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		if err := wk.prepare(ctx); err != nil {
			return nil, err
		}
		w.workers = append(w.workers, wk)
	}
	return w, nil
}

func (w *Workload) defineScope(ctx context.Context, tenant, name, display string) error {
	desc := "fault suite"
	resp, err := w.clients.CreateScopeWithResponse(ctx, tenant, clientsapi.ScopeInput{Name: name, DisplayName: &display, Description: &desc})
	if err != nil || (resp.StatusCode() != 201 && resp.StatusCode() != 409) {
		return fmt.Errorf("define scope %s: %v %s", name, err, body(resp))
	}
	return nil
}

// body describes a generated client's response: its status and body.
func body(r interface{ StatusCode() int }) string {
	v := reflect.ValueOf(r)
	if r == nil || v.IsNil() {
		return ""
	}
	b, _ := v.Elem().FieldByName("Body").Interface().([]byte)
	return fmt.Sprintf("status %d: %s", r.StatusCode(), b)
}

// prepare creates the worker's stable entities, which must succeed.
func (wk *worker) prepare(ctx context.Context) error {
	id, err := wk.createClient(ctx, true)
	if err != nil || id == "" {
		return fmt.Errorf("stable client: %v", err)
	}
	wk.stableClient = id
	for range 2 {
		id, err := wk.createUser(ctx)
		if err != nil || id == "" {
			return fmt.Errorf("stable user: %v", err)
		}
		wk.stableUsers = append(wk.stableUsers, id)
		g, err := wk.createGroup(ctx)
		if err != nil || g == "" {
			return fmt.Errorf("stable group: %v", err)
		}
		wk.stableGroups = append(wk.stableGroups, g)
	}
	return nil
}

// Run makes n writes spread evenly over d (as fast as the platform answers when d is 0)
// and returns when they are done or ctx ends.
func (w *Workload) Run(ctx context.Context, n int, d time.Duration) {
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for _, wk := range w.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := next.Add(1)
				if k > int64(n) {
					return
				}
				if d > 0 {
					at := start.Add(time.Duration(float64(d) * float64(k-1) / float64(n)))
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Until(at)):
					}
				}
				wk.wrote = false
				wk.step(ctx)
				if !wk.wrote {
					next.Add(-1) // a step that found nothing to do is no write
				}
			}
		})
	}
	wg.Wait()
}

// outcome classifies an answer: ok (2xx), refused (4xx: nothing changed), or unknown
// (a 5xx or no answer: the write may or may not have happened).
type outcome int

const (
	outcomeOK outcome = iota
	outcomeRefused
	outcomeUnknown
)

func (w *Workload) classify(op string, status int, err error) outcome {
	w.attempted.Add(1)
	switch {
	case err == nil && status >= 200 && status < 300:
		w.ok.Add(1)
		return outcomeOK
	case err == nil && status >= 400 && status < 500:
		w.refused.Add(1)
		key := fmt.Sprintf("%s %d", op, status)
		v, _ := w.refusals.LoadOrStore(key, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		return outcomeRefused
	default:
		w.failed.Add(1)
		return outcomeUnknown
	}
}

// Refusals lists the 4xx answers by operation and status.
func (w *Workload) Refusals() string {
	var parts []string
	w.refusals.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s x%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// note records a write's outcome for the entity it wrote.
func (w *Workload) note(o outcome, kind, tenant string, keys []string, next state) {
	if o == outcomeRefused {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	k := kind + "/" + tenant + "/" + strings.Join(keys, "/")
	e := w.entities[k]
	if e == nil {
		e = &entity{kind: kind, tenant: tenant, keys: keys, acceptable: []state{{}}}
		w.entities[k] = e
	}
	if o == outcomeOK {
		e.acceptable, e.confirmed = []state{next}, true
	} else if !slices.Contains(e.acceptable, next) {
		e.acceptable = append(e.acceptable, next)
	}
}

// cascade applies a deletion's outcome to every membership naming subject.
func (w *Workload) cascade(o outcome, tenant, groupID, subjectID string) {
	if o == outcomeRefused {
		return
	}
	w.mu.Lock()
	var keys [][]string
	for _, e := range w.entities {
		if e.kind == "membership" && e.tenant == tenant && (e.keys[0] == groupID || e.keys[1] == subjectID) {
			keys = append(keys, e.keys)
		}
	}
	w.mu.Unlock()
	for _, k := range keys {
		w.note(o, "membership", tenant, k, state{})
	}
}

func (wk *worker) step(ctx context.Context) {
	wk.n++
	r := wk.rng.IntN(100)
	switch {
	case r < 10 || len(wk.clients) == 0:
		id, _ := wk.createClient(ctx, false)
		if id != "" {
			wk.clients = append(wk.clients, id)
		}
	case r < 17:
		wk.renameClient(ctx, wk.pick(wk.clients))
	case r < 21:
		i := wk.rng.IntN(len(wk.clients))
		if wk.deleteClient(ctx, wk.clients[i]) {
			wk.clients = slices.Delete(wk.clients, i, i+1)
		}
	case r < 32 || len(wk.users) == 0:
		id, _ := wk.createUser(ctx)
		if id != "" {
			wk.users = append(wk.users, id)
		}
	case r < 38:
		wk.replaceUser(ctx, wk.pick(wk.users))
	case r < 41:
		i := wk.rng.IntN(len(wk.users))
		if wk.deleteUser(ctx, wk.users[i]) {
			wk.users = slices.Delete(wk.users, i, i+1)
		}
	case r < 47 || len(wk.groups) < 2:
		g, _ := wk.createGroup(ctx)
		if g != "" {
			wk.groups = append(wk.groups, g)
		}
	case r < 63:
		wk.addMember(ctx)
	case r < 69:
		if len(wk.members) > 0 {
			i := wk.rng.IntN(len(wk.members))
			if wk.removeMember(ctx, wk.members[i]) {
				wk.members = slices.Delete(wk.members, i, i+1)
			}
		}
	case r < 71:
		i := wk.rng.IntN(len(wk.groups))
		if wk.deleteGroup(ctx, wk.groups[i]) {
			wk.groups = slices.Delete(wk.groups, i, i+1)
		}
	case r < 83:
		wk.grantPolicy(ctx)
	case r < 88:
		if len(wk.policies) > 0 {
			i := wk.rng.IntN(len(wk.policies))
			if wk.revokePolicy(ctx, wk.policies[i]) {
				wk.policies = slices.Delete(wk.policies, i, i+1)
			}
		}
	case r < 91:
		name := workloadScopes[wk.rng.IntN(len(workloadScopes))]
		wk.redefineScope(ctx, name)
	default:
		wk.clientAccess(ctx)
	}
}

// classify is Workload.classify, noting that this step made a write.
func (wk *worker) classify(op string, status int, err error) outcome {
	wk.wrote = true
	return wk.w.classify(op, status, err)
}

func (wk *worker) pick(ids []string) string { return ids[wk.rng.IntN(len(ids))] }

// etag is the ETag of a read, for the If-Match of the change based on it.
func etag(r *http.Response) *string {
	if r == nil || r.Header.Get("ETag") == "" {
		return nil
	}
	return ptr(r.Header.Get("ETag"))
}

func ptr[T any](v T) *T { return &v }

func (wk *worker) label(what string) string {
	return fmt.Sprintf("%s %s %d-%d", what, wk.tenant, wk.rng.IntN(1_000_000), wk.n)
}

func (wk *worker) createClient(ctx context.Context, stable bool) (string, error) {
	name := wk.label("client")
	resp, err := wk.w.clients.CreateClientWithResponse(ctx, wk.tenant, clientsapi.ClientInput{ClientName: name,
		Description: ptr("fault suite")})
	o := wk.classify("create client", status(resp, err), err)
	if o != outcomeOK || resp.JSON201 == nil {
		if stable {
			return "", fmt.Errorf("create client: %v %s", err, body(resp))
		}
		return "", err
	}
	id := resp.JSON201.ClientId
	wk.w.note(o, "client", wk.tenant, []string{id}, state{true, name})
	return id, nil
}

func status(r interface{ StatusCode() int }, err error) int {
	if err != nil {
		return 0
	}
	return r.StatusCode()
}

func (wk *worker) renameClient(ctx context.Context, id string) {
	name := wk.label("client")
	cur, err := wk.w.clients.GetClientWithResponse(ctx, wk.tenant, id)
	if err != nil || cur.JSON200 == nil {
		return // a read: no write attempted
	}
	resp, err := wk.w.clients.UpdateClientWithResponse(ctx, wk.tenant, id, &clientsapi.UpdateClientParams{IfMatch: etag(cur.HTTPResponse)},
		clientsapi.ClientInput{ClientName: name, Description: ptr("renamed")})
	wk.w.note(wk.classify("rename client", status(resp, err), err), "client", wk.tenant, []string{id}, state{true, name})
}

func (wk *worker) deleteClient(ctx context.Context, id string) bool {
	resp, err := wk.w.clients.DeleteClientWithResponse(ctx, wk.tenant, id)
	o := wk.classify("delete client", status(resp, err), err)
	wk.w.note(o, "client", wk.tenant, []string{id}, state{})
	return o == outcomeOK
}

func (wk *worker) createUser(ctx context.Context) (string, error) {
	last := wk.label("last")
	resp, err := wk.w.subjects.CreateUserWithResponse(ctx, wk.tenant, subjectsapi.UserInput{FirstName: ptr("Fault"), LastName: &last,
		Username: ptr("fault-" + uuid.NewString())})
	o := wk.classify("create user", status(resp, err), err)
	if o != outcomeOK || resp.JSON201 == nil {
		return "", fmt.Errorf("create user: %v %s", err, body(resp))
	}
	id := resp.JSON201.Id
	wk.w.note(o, "user", wk.tenant, []string{id}, state{true, last})
	return id, nil
}

func (wk *worker) replaceUser(ctx context.Context, id string) {
	last := wk.label("last")
	// PUT replaces the user's direct groups too: keep the ones the workload added.
	var groups []string
	for _, m := range wk.members {
		if m[1] == "user-"+id {
			groups = append(groups, m[0])
		}
	}
	if groups == nil {
		groups = []string{}
	}
	cur, err := wk.w.subjects.GetUserWithResponse(ctx, wk.tenant, id, &subjectsapi.GetUserParams{})
	if err != nil || cur.JSON200 == nil {
		return
	}
	resp, err := wk.w.subjects.ReplaceUserWithResponse(ctx, wk.tenant, id, &subjectsapi.ReplaceUserParams{IfMatch: etag(cur.HTTPResponse)},
		subjectsapi.UserInput{FirstName: ptr("Fault"), LastName: &last, GroupIds: &groups, Username: cur.JSON200.Username})
	wk.w.note(wk.classify("replace user", status(resp, err), err), "user", wk.tenant, []string{id}, state{true, last})
}

func (wk *worker) deleteUser(ctx context.Context, id string) bool {
	resp, err := wk.w.subjects.DeleteUserWithResponse(ctx, wk.tenant, id, &subjectsapi.DeleteUserParams{ForceDelete: ptr(true)})
	o := wk.classify("delete user", status(resp, err), err)
	wk.w.note(o, "user", wk.tenant, []string{id}, state{})
	wk.w.cascade(o, wk.tenant, "", "user-"+id)
	if o == outcomeOK {
		wk.members = slices.DeleteFunc(wk.members, func(m [2]string) bool { return m[1] == "user-"+id })
	}
	return o == outcomeOK
}

func (wk *worker) createGroup(ctx context.Context) (string, error) {
	name := wk.label("group")
	resp, err := wk.w.subjects.CreateGroupWithResponse(ctx, wk.tenant, subjectsapi.GroupInput{Name: &subjectsapi.LocalizedText{"en": name}})
	o := wk.classify("create group", status(resp, err), err)
	if o != outcomeOK || resp.JSON201 == nil {
		return "", fmt.Errorf("create group: %v %s", err, body(resp))
	}
	id := resp.JSON201.Id
	wk.w.note(o, "group", wk.tenant, []string{id}, state{true, name})
	return id, nil
}

func (wk *worker) deleteGroup(ctx context.Context, id string) bool {
	resp, err := wk.w.subjects.DeleteGroupWithResponse(ctx, wk.tenant, id, &subjectsapi.DeleteGroupParams{ForceDelete: ptr(true)})
	o := wk.classify("delete group", status(resp, err), err)
	wk.w.note(o, "group", wk.tenant, []string{id}, state{})
	wk.w.cascade(o, wk.tenant, id, "group-"+id)
	if o == outcomeOK {
		wk.members = slices.DeleteFunc(wk.members, func(m [2]string) bool { return m[0] == id || m[1] == "group-"+id })
	}
	return o == outcomeOK
}

// addMember adds a user, a stable user or client, or a later group (nesting, never a
// cycle) to one of the worker's groups or stable groups.
func (wk *worker) addMember(ctx context.Context) {
	groups := append(slices.Clone(wk.stableGroups), wk.groups...)
	gi := wk.rng.IntN(len(groups))
	group := groups[gi]
	var member string
	switch r := wk.rng.IntN(10); {
	case r < 4 && len(wk.users) > 0:
		member = "user-" + wk.pick(wk.users)
	case r < 6:
		member = "user-" + wk.pick(wk.stableUsers)
	case r < 7:
		member = "client-" + wk.stableClient
	default:
		if gi+1 >= len(groups) {
			return
		}
		member = "group-" + groups[gi+1+wk.rng.IntN(len(groups)-gi-1)]
	}
	if slices.Contains(wk.members, [2]string{group, member}) {
		return
	}
	resp, err := wk.w.subjects.AddGroupMembersWithResponse(ctx, wk.tenant, group, subjectsapi.MemberChange{SubjectIds: []string{member}})
	o := wk.classify("add member", status(resp, err), err)
	wk.w.note(o, "membership", wk.tenant, []string{group, member}, state{present: true})
	if o != outcomeRefused {
		wk.members = append(wk.members, [2]string{group, member})
	}
}

func (wk *worker) removeMember(ctx context.Context, m [2]string) bool {
	resp, err := wk.w.subjects.RemoveGroupMembersWithResponse(ctx, wk.tenant, m[0], subjectsapi.MemberChange{SubjectIds: []string{m[1]}})
	o := wk.classify("remove member", status(resp, err), err)
	wk.w.note(o, "membership", wk.tenant, []string{m[0], m[1]}, state{})
	return o == outcomeOK
}

var policyActions = []string{"fault.read", "fault.write", "iam.policy.read", "billing.invoice.read"}

// grantPolicy grants an action to a stable subject, on the tenant root half the time
// (an entitled scope set, published to oauth-clients) or below it.
func (wk *worker) grantPolicy(ctx context.Context) {
	subjects := []string{"client-" + wk.stableClient}
	for _, u := range wk.stableUsers {
		subjects = append(subjects, "user-"+u)
	}
	for _, g := range wk.stableGroups {
		subjects = append(subjects, "group-"+g)
	}
	p := [3]string{wk.pick(subjects), "/", policyActions[wk.rng.IntN(len(policyActions))]}
	if wk.rng.IntN(2) == 0 {
		p[1] = fmt.Sprintf("/subscriptions/%d", wk.rng.IntN(50))
	}
	if slices.Contains(wk.policies, p) {
		return
	}
	resp, err := wk.w.policies.GrantPolicyWithResponse(ctx, wk.tenant, nil, policiesapi.PolicyInput{Subject: p[0], Scope: p[1], Action: p[2]})
	o := wk.classify("grant policy", status(resp, err), err)
	wk.w.note(o, "policy", wk.tenant, p[:], state{present: true})
	if o != outcomeRefused {
		wk.policies = append(wk.policies, p)
	}
}

func (wk *worker) revokePolicy(ctx context.Context, p [3]string) bool {
	resp, err := wk.w.policies.RevokePoliciesWithResponse(ctx, wk.tenant, &policiesapi.RevokePoliciesParams{Subject: p[0], Scope: &p[1], Action: &p[2]})
	o := wk.classify("revoke policy", status(resp, err), err)
	wk.w.note(o, "policy", wk.tenant, p[:], state{})
	return o == outcomeOK
}

// redefineScope changes a scope definition's display name (consent's scope view). Scope
// definitions are shared by the workers of a tenant, so their values are not checked.
func (wk *worker) redefineScope(ctx context.Context, name string) {
	display := wk.label("scope")
	cur, err := wk.w.clients.GetScopeWithResponse(ctx, wk.tenant, name)
	if err != nil || cur.JSON200 == nil {
		return
	}
	resp, err := wk.w.clients.UpdateScopeWithResponse(ctx, wk.tenant, name, &clientsapi.UpdateScopeParams{IfMatch: etag(cur.HTTPResponse)},
		clientsapi.ScopeUpdate{DisplayName: &display})
	wk.classify("redefine scope", status(resp, err), err)
}

// clientAccess lets the worker's clients in for its first stable user, or revokes one.
func (wk *worker) clientAccess(ctx context.Context) {
	subject := "user-" + wk.stableUsers[0]
	if len(wk.access) > 0 && wk.rng.IntN(3) == 0 {
		i := wk.rng.IntN(len(wk.access))
		client := wk.access[i]
		resp, err := wk.w.consent.RevokeClientAccessWithResponse(ctx, wk.tenant, subject, client)
		o := wk.classify("revoke client access", status(resp, err), err)
		wk.w.note(o, "access", wk.tenant, []string{subject, client}, state{})
		if o == outcomeOK {
			wk.access = slices.Delete(wk.access, i, i+1)
		}
		return
	}
	client := wk.stableClient
	scope := workloadScopes[wk.rng.IntN(len(workloadScopes))]
	resp, err := wk.w.consent.GrantClientAccessWithResponse(ctx, wk.tenant, subject, nil, consentapi.ClientAccessInput{ClientId: client, Scopes: []string{scope}})
	o := wk.classify("grant client access", status(resp, err), err)
	wk.w.note(o, "access", wk.tenant, []string{subject, client}, state{true, scope})
	if o != outcomeRefused && !slices.Contains(wk.access, client) {
		wk.access = append(wk.access, client)
	}
}

// probes read an entity's state from its source database: the value, or no row.
var probes = map[string]struct{ service, query string }{
	"client":     {"oauth-clients", `SELECT name FROM clients WHERE tenant = $1 AND id = $2`},
	"user":       {"iam-subjects", `SELECT last_name FROM users WHERE tenant = $1 AND id = $2`},
	"group":      {"iam-subjects", `SELECT display_name FROM groups WHERE tenant = $1 AND id = $2`},
	"membership": {"iam-subjects", `SELECT '' FROM memberships WHERE tenant = $1 AND group_id = $2 AND lower(member_type) || '-' || member_id = $3`},
	"policy":     {"iam-policies", `SELECT '' FROM policies WHERE tenant = $1 AND subject = $2 AND scope = $3 AND action = $4`},
	"access":     {"consent", `SELECT array_to_string(scopes, ' ') FROM client_access WHERE tenant = $1 AND subject = $2 AND client_id = $3`},
}

// Lost counts the entities a 2xx write confirmed whose source database now holds
// neither that state nor one a later write of unknown outcome may have left; it
// describes the first few.
func (w *Workload) Lost(ctx context.Context) (int, []string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lost := 0
	var details []string
	for k, e := range w.entities {
		if !e.confirmed {
			continue
		}
		have, err := w.probe(ctx, e)
		if err != nil {
			return 0, nil, err
		}
		if !slices.Contains(e.acceptable, have) {
			lost++
			if len(details) < 5 {
				details = append(details, fmt.Sprintf("%s: source holds %+v, expected one of %+v", k, have, e.acceptable))
			}
		}
	}
	return lost, details, nil
}

func (w *Workload) probe(ctx context.Context, e *entity) (state, error) {
	pr := probes[e.kind]
	db, err := w.p.DB(pr.service)
	if err != nil {
		return state{}, err
	}
	args := []any{e.tenant}
	for _, k := range e.keys {
		args = append(args, k)
	}
	var v string
	err = db.QueryRowContext(ctx, pr.query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("probe %s: %w", e.kind, err)
	}
	return state{true, v}, nil
}

// Entities says how many entities the workload wrote and confirmed.
func (w *Workload) Entities() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.entities {
		if e.confirmed {
			n++
		}
	}
	return n
}
