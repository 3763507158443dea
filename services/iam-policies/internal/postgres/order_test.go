package postgres_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	pkgpostgres "github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
	"github.com/iamplane/iam/services/iam-policies/internal/postgres"
)

var orderSeed = flag.Uint64("order.seed", 0, "seed of TestViewsAreOrderIndependent, to replay a failure (0: from the clock)")

// The subject, membership and closure views are derived from sets, so the order in which
// events reach them must not matter: whatever the order, with duplicates and stale copies
// mixed in, the consumer ends with the source's final sets and the closure they imply.
// These tests play iam-subjects (and oauth-clients, for clients) as a model that
// publishes events the way those services do, apply the events through the real consumer
// (events.Subjects, with pkgevents.Consumer.ApplyEvents, the transaction the consumer
// runs: one event at a time, or in batches of random sizes as events waiting together
// are taken), and compare the views with the in-order result and with what the model's
// final state implies, computed here in Go.
//
// Every run of a sequence uses a tenant of its own in one database: the views, the
// version guard (subjects name the tenant) and the nesting and scope-set locks are all
// per tenant, so the runs cannot see one another and can go in parallel.

// grants are the policies on the root each tenant holds before any event, to subjects
// that the model never deletes (a deleted subject takes its policies with it, and a
// stale tombstone of a re-created id rightly does not: policies are no derived set).
var grants = map[string][]string{
	"user-alice": {"alice.read"},
	"group-top":  {"top.read"},
	"group-mid":  {"mid.read", "shared.read"},
	"group-side": {"shared.read", "side.read"},
}

// model is the source: its current sets and every event it published, in order.
type model struct {
	version int64
	users   map[string]string // id -> display name
	groups  map[string]string
	clients map[string]string
	members map[edge]bool // live memberships
	log     []published
}

// edge is one direct membership: member (a subject id) is in group.
type edge struct{ group, member string }

// published is one event of the model, to be built for any tenant.
type published struct {
	kind    string // user, group, client, membership
	id      string // entity id (a membership: its edge)
	name    string
	m       edge
	version int64
	deleted bool
}

func newModel() *model {
	return &model{users: map[string]string{}, groups: map[string]string{}, clients: map[string]string{}, members: map[edge]bool{}}
}

func (m *model) publish(p published) {
	m.version++
	p.version = m.version
	m.log = append(m.log, p)
}

func (m *model) putUser(id, name string) {
	m.users[id] = name
	m.publish(published{kind: "user", id: id, name: name})
}

func (m *model) putGroup(id, name string) {
	m.groups[id] = name
	m.publish(published{kind: "group", id: id, name: name})
}

func (m *model) putClient(id, name string) {
	m.clients[id] = name
	m.publish(published{kind: "client", id: id, name: name})
}

// exists says whether member (a subject id) exists at the source.
func (m *model) exists(member string) bool {
	kind, id, _ := strings.Cut(member, "-")
	_, ok := map[string]map[string]string{"user": m.users, "group": m.groups, "client": m.clients}[kind][id]
	return ok
}

// above lists group and every group it is nested in, through the live memberships.
func above(members map[edge]bool, group string) map[string]bool {
	seen := map[string]bool{group: true}
	for todo := []string{group}; len(todo) > 0; {
		g := todo[0]
		todo = todo[1:]
		for e := range members {
			if e.member == "group-"+g && !seen[e.group] {
				seen[e.group] = true
				todo = append(todo, e.group)
			}
		}
	}
	return seen
}

// join adds member to group as iam-subjects would: only between existing subjects, never
// twice, never closing a cycle. It reports whether it did.
func (m *model) join(group, member string) bool {
	e := edge{group, member}
	if _, ok := m.groups[group]; !ok || !m.exists(member) || m.members[e] {
		return false
	}
	if child, ok := strings.CutPrefix(member, "group-"); ok && above(m.members, group)[child] {
		return false
	}
	m.members[e] = true
	m.publish(published{kind: "membership", m: e})
	return true
}

func (m *model) leave(group, member string) bool {
	e := edge{group, member}
	if !m.members[e] {
		return false
	}
	delete(m.members, e)
	m.publish(published{kind: "membership", m: e, deleted: true})
	return true
}

// leaveAll takes member out of every group it is in (iam-subjects' leaveAll).
func (m *model) leaveAll(member string) {
	for _, e := range slices.SortedFunc(maps.Keys(m.members), compareEdges) {
		if e.member == member {
			m.leave(e.group, member)
		}
	}
}

// move takes member from one group to another: two memberships, two events.
func (m *model) move(member, from, to string) bool {
	if !m.members[edge{from, member}] || m.members[edge{to, member}] {
		return false
	}
	m.leave(from, member)
	if !m.join(to, member) { // a cycle: put it back where it was
		m.join(from, member)
	}
	return true
}

// deleteGroup is iam-subjects' group deletion: the group leaves its parents, its members
// leave it, each with a membership tombstone, and the group's own tombstone comes last.
func (m *model) deleteGroup(id string) {
	m.leaveAll("group-" + id)
	for _, e := range slices.SortedFunc(maps.Keys(m.members), compareEdges) {
		if e.group == id {
			m.leave(id, e.member)
		}
	}
	delete(m.groups, id)
	m.publish(published{kind: "group", id: id, deleted: true})
}

func (m *model) deleteUser(id string) {
	m.leaveAll("user-" + id)
	delete(m.users, id)
	m.publish(published{kind: "user", id: id, deleted: true})
}

// deleteClient is oauth-clients' deletion, then iam-subjects' taking the client out of
// its groups when that tombstone reaches it.
func (m *model) deleteClient(id string) {
	delete(m.clients, id)
	m.publish(published{kind: "client", id: id, deleted: true})
	m.leaveAll("client-" + id)
}

func compareEdges(a, b edge) int {
	return strings.Compare(a.group+"\x00"+a.member, b.group+"\x00"+b.member)
}

// envelope builds p for tenant as its publisher would, and as the consumer receives it
// (encoded, then parsed from its NATS subject).
func (p published) envelope(tb testing.TB, tenant string) pkgevents.Envelope {
	tb.Helper()
	var (
		ev  pkgevents.Envelope
		err error
	)
	subjects := func(kind, id string) pkgevents.Entity {
		return pkgevents.Entity{Tenant: tenant, Area: "subjects", Kind: kind, ID: id}
	}
	switch p.kind {
	case "user":
		state := schema.UserState{Id: p.id, SubjectId: "user-" + p.id, Tenant: tenant, DisplayName: p.name, Deleted: p.deleted,
			UserType: schema.EMPLOYEE}
		if !p.deleted {
			username, status := p.id, "ACTIVE"
			state.Username, state.Status = &username, &status
		}
		ev, err = pkgevents.New("/iam/iam-subjects", subjects("user", p.id), p.version, p.deleted, state)
	case "group":
		state := schema.GroupState{Id: p.id, SubjectId: "group-" + p.id, Tenant: tenant, DisplayName: p.name, Deleted: p.deleted}
		if !p.deleted {
			code, name := p.id, map[string]string{"en": p.name}
			state.Code, state.Name = &code, &name
		}
		ev, err = pkgevents.New("/iam/iam-subjects", subjects("group", p.id), p.version, p.deleted, state)
	case "client":
		ev, err = pkgevents.New("/iam/oauth-clients", pkgevents.Entity{Tenant: tenant, Area: "clients", Kind: "client", ID: p.id},
			p.version, p.deleted, schema.ClientState{ClientId: p.id, ClientName: p.name, Tenant: tenant, Deleted: p.deleted,
				GrantTypes: []string{"client_credentials"}, Scopes: []string{}})
	case "membership":
		memberType := map[string]schema.MembershipStateMemberType{"user": schema.User, "group": schema.Group, "client": schema.Client}[strings.SplitN(p.m.member, "-", 2)[0]]
		ev, err = pkgevents.New("/iam/iam-subjects", subjects("membership", p.m.group+"~"+p.m.member), p.version, p.deleted,
			schema.MembershipState{Tenant: tenant, GroupId: p.m.group, Member: p.m.member, MemberType: memberType, Deleted: p.deleted})
	}
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	if ev, err = pkgevents.Parse(ev.Subject, raw); err != nil {
		tb.Fatal(err)
	}
	return ev
}

func (m *model) envelopes(tb testing.TB, tenant string) []pkgevents.Envelope {
	evs := make([]pkgevents.Envelope, len(m.log))
	for i, p := range m.log {
		evs[i] = p.envelope(tb, tenant)
	}
	return evs
}

// scripted publishes what every sequence holds: users, groups, a client, nesting four
// levels deep, a rename, a moved membership, a group deleted with its memberships'
// tombstones and its id re-created and nested elsewhere, a deleted user and a deleted
// client.
func scripted() *model {
	m := newModel()
	for _, g := range []string{"top", "mid", "low", "team", "side", "tmp"} {
		m.putGroup(g, "Group "+g)
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		m.putUser(u, "User "+u)
	}
	m.putClient("c1", "Client one")
	m.join("top", "group-mid")
	m.join("mid", "group-low")
	m.join("low", "group-team")
	m.join("side", "group-low")
	m.join("team", "user-bob")
	m.join("team", "user-alice")
	m.join("low", "user-carol")
	m.join("mid", "user-dave")
	m.join("tmp", "user-erin")
	m.join("team", "client-c1")
	m.join("low", "group-tmp")
	m.putUser("carol", "Carol Renamed")
	m.move("user-bob", "team", "side")
	m.deleteGroup("team")
	m.putGroup("team", "Team again")
	m.join("side", "group-team")
	m.join("team", "user-carol")
	m.deleteUser("dave")
	m.deleteClient("c1")
	m.putClient("c1", "Client one again")
	m.join("tmp", "client-c1")
	m.deleteGroup("tmp") // nested in low, with members of its own
	return m
}

// randomly continues a sequence with n changes iam-subjects could make.
func (m *model) randomly(rng *rand.Rand, n int) {
	groupIDs := []string{"top", "mid", "low", "team", "side", "tmp", "ops", "dev"}
	userIDs := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	protected := map[string]bool{"top": true, "mid": true, "side": true, "alice": true}
	pick := func(ids []string) string { return ids[rng.IntN(len(ids))] }
	member := func() string {
		switch rng.IntN(5) {
		case 0, 1:
			return "group-" + pick(groupIDs)
		case 2:
			return "client-c1"
		}
		return "user-" + pick(userIDs)
	}
	for made := 0; made < n; {
		ok := true
		switch op := rng.IntN(12); {
		case op < 4:
			ok = m.join(pick(groupIDs), member())
		case op < 6:
			live := slices.SortedFunc(maps.Keys(m.members), compareEdges)
			if ok = len(live) > 0; ok {
				e := live[rng.IntN(len(live))]
				if op == 4 {
					m.leave(e.group, e.member)
				} else {
					ok = m.move(e.member, e.group, pick(groupIDs))
				}
			}
		case op == 6:
			g := pick(groupIDs)
			if _, live := m.groups[g]; live && !protected[g] {
				m.deleteGroup(g)
			} else {
				ok = false
			}
		case op == 7:
			u := pick(userIDs)
			if _, live := m.users[u]; live && !protected[u] {
				m.deleteUser(u)
			} else {
				ok = false
			}
		case op == 8:
			if _, live := m.clients["c1"]; live {
				m.deleteClient("c1")
			} else {
				m.putClient("c1", fmt.Sprintf("Client %d", m.version))
			}
		case op == 9:
			m.putGroup(pick(groupIDs), fmt.Sprintf("Group v%d", m.version)) // a rename or a (re-)creation
		default:
			m.putUser(pick(userIDs), fmt.Sprintf("User v%d", m.version))
		}
		if ok {
			made++
		}
	}
}

// expected is what the views must hold once every event is applied, computed from the
// model's final sets.
func (m *model) expected() snapshot {
	var s snapshot
	for e := range m.members {
		s.memberships = append(s.memberships, e.group+" ∋ "+e.member)
	}
	for kind, names := range map[string]map[string]string{"user": m.users, "group": m.groups, "client": m.clients} {
		for id, name := range names {
			s.subjects = append(s.subjects, kind+"-"+id+" "+name)
		}
	}
	for _, r := range closureOf(m.groups, m.members) {
		s.closure = append(s.closure, r.ancestor+" ⊇ "+r.descendant+" 1")
	}
	entitled := map[string]bool{}
	for u := range m.users {
		entitled["user-"+u] = true
	}
	for c := range m.clients {
		entitled["client-"+c] = true
	}
	for subject := range grants {
		if !strings.HasPrefix(subject, "group-") {
			entitled[subject] = true
		}
	}
	for subject := range entitled {
		s.entitled = append(s.entitled, subject+":"+strings.Join(entitledOf(m.members, subject), " "))
	}
	latest := map[string]published{}
	for _, p := range m.log {
		latest[p.key()] = p
	}
	for key, p := range latest {
		s.versions = append(s.versions, versionLine(key, p.version, p.deleted))
	}
	s.sort()
	return s
}

func (p published) key() string {
	switch p.kind {
	case "client":
		return "clients.client." + p.id
	case "membership":
		return "subjects.membership." + p.m.group + "~" + p.m.member
	}
	return "subjects." + p.kind + "." + p.id
}

func versionLine(key string, version int64, deleted bool) string {
	if deleted {
		return fmt.Sprintf("%s %d deleted", key, version)
	}
	return fmt.Sprintf("%s %d", key, version)
}

type closureRow struct{ ancestor, descendant string }

// closureOf is the nesting closure by its definition, independently of the SQL: a group
// is known while it exists or a membership names it; a known group has its own row; a ⊇
// d whenever a chain of group memberships leads from d up to a.
func closureOf(groups map[string]string, members map[edge]bool) []closureRow {
	known := map[string]bool{}
	for g := range groups {
		known[g] = true
	}
	for e := range members {
		known[e.group] = true
		if child, ok := strings.CutPrefix(e.member, "group-"); ok {
			known[child] = true
		}
	}
	var rows []closureRow
	for d := range known {
		for a := range above(members, d) {
			rows = append(rows, closureRow{a, d})
		}
	}
	return rows
}

// entitledOf is subject's entitled scope set by its definition: the root grants of the
// subject and of every group it is in, through nesting.
func entitledOf(members map[edge]bool, subject string) []string {
	principals := map[string]bool{subject: true}
	for e := range members {
		if e.member == subject {
			for a := range above(members, e.group) {
				principals["group-"+a] = true
			}
		}
	}
	var scopes []string
	for p := range principals {
		scopes = append(scopes, grants[p]...)
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// snapshot is a tenant's views, one line a row, sorted.
type snapshot struct {
	memberships, subjects, closure, entitled, versions []string
}

func (s *snapshot) sort() {
	for _, rows := range []*[]string{&s.memberships, &s.subjects, &s.closure, &s.entitled, &s.versions} {
		slices.Sort(*rows)
		if *rows == nil {
			*rows = []string{}
		}
	}
}

// diff says how s differs from want (nothing when equal); entitled scope sets are
// compared only when withEntitled.
func (s snapshot) diff(want snapshot, withEntitled bool) string {
	var out strings.Builder
	check := func(what string, got, want []string) {
		if slices.Equal(got, want) {
			return
		}
		missing, extra := minus(want, got), minus(got, want)
		fmt.Fprintf(&out, "\n  %s: missing %q, extra %q", what, missing, extra)
	}
	check("membership_view", s.memberships, want.memberships)
	check("subject_view", s.subjects, want.subjects)
	check("group_closure", s.closure, want.closure)
	check("event_versions", s.versions, want.versions)
	if withEntitled {
		check("entitled_scopes (non-empty)", nonEmpty(s.entitled), nonEmpty(want.entitled))
	}
	return out.String()
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// nonEmpty drops the empty entitled sets. A subject's set is stored when a change that
// concerns it is applied; a subject whose only membership events cancel out (a join and
// its removal) may see none of them applied when the removal comes first, and then has
// no set where the in-order run has an empty one. Both publish no scope.
func nonEmpty(entitled []string) []string {
	return slices.DeleteFunc(slices.Clone(entitled), func(line string) bool { return strings.HasSuffix(line, ":") })
}

// views reads tenant's views.
func views(db *sqlx.DB, tenant string) (snapshot, error) {
	var s snapshot
	for _, q := range []struct {
		rows *[]string
		sql  string
	}{
		{&s.memberships, `SELECT group_id || ' ∋ ' || member FROM membership_view WHERE tenant = $1`},
		{&s.subjects, `SELECT subject || ' ' || display_name FROM subject_view WHERE tenant = $1`},
		{&s.closure, `SELECT ancestor || ' ⊇ ' || descendant || ' ' || paths FROM group_closure WHERE tenant = $1`},
		{&s.entitled, `SELECT subject || ':' || array_to_string(scopes, ' ') FROM entitled_scopes WHERE tenant = $1`},
		{&s.versions, `SELECT substr(subject, length($1) + 6) || ' ' || version || CASE WHEN deleted THEN ' deleted' ELSE '' END
			FROM event_versions WHERE tenant = $1`},
	} {
		if err := db.Select(q.rows, q.sql, tenant); err != nil {
			return s, err
		}
	}
	s.sort()
	return s, nil
}

func mustViews(tb testing.TB, db *sqlx.DB, tenant string) snapshot {
	tb.Helper()
	s, err := views(db, tenant)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// orderWorld is a migrated database and the consumer under test.
type orderWorld struct {
	db       *sqlx.DB
	consumer *pkgevents.Consumer
	store    *postgres.Policies
}

func mustOrderWorld(t *testing.T) *orderWorld {
	t.Helper()
	ctx := context.Background()
	// Durability is no concern of these tests, and thousands of commits are.
	dsn, err := url.Parse(testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	q := dsn.Query()
	q.Set("synchronous_commit", "off")
	dsn.RawQuery = q.Encode()
	db, err := pkgpostgres.Open(ctx, dsn.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := pkgpostgres.Migrate(ctx, db, postgres.Migrations(), testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	v := &postgres.Views{Scopes: &postgres.ScopeSets{}}
	consumer := events.Subjects(v)
	consumer.DB = db
	return &orderWorld{db: db, consumer: consumer, store: &postgres.Policies{DB: db, Scopes: v.Scopes}}
}

// tenant prepares a tenant: the grants, before any event.
func (w *orderWorld) tenant(tenant string) error {
	for _, subject := range slices.Sorted(maps.Keys(grants)) {
		for _, action := range grants[subject] {
			if _, err := w.store.Grant(context.Background(), &policies.Policy{Tenant: tenant, ID: uuid.NewString(),
				Subject: subject, Scope: "/", Action: action}); err != nil {
				return err
			}
		}
	}
	return nil
}

// run prepares tenant and applies evs to it in the order given, one at a time.
func (w *orderWorld) run(tenant string, evs []pkgevents.Envelope) error {
	return w.runBatched(tenant, evs, nil)
}

// runBatched prepares tenant and applies evs to it in the order given, in batches of
// random sizes (up to 40) drawn from rng; one at a time if rng is nil.
func (w *orderWorld) runBatched(tenant string, evs []pkgevents.Envelope, rng *rand.Rand) error {
	if err := w.tenant(tenant); err != nil {
		return err
	}
	if rng == nil {
		return w.applyAll(evs)
	}
	for len(evs) > 0 {
		n := min(len(evs), 1+rng.IntN(40))
		if _, err := w.applyBatch(evs[:n]); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// apply applies ev alone, as the consumer does an event that came by itself. It reports
// whether ev was fresh.
func (w *orderWorld) apply(ev pkgevents.Envelope) (bool, error) {
	n, err := w.applyBatch([]pkgevents.Envelope{ev})
	return n == 1, err
}

// applyBatch applies evs in one transaction, exactly as the consumer applies events
// waiting together, and reports how many the version guard found fresh.
func (w *orderWorld) applyBatch(evs []pkgevents.Envelope) (int, error) {
	n, err := w.consumer.ApplyEvents(context.Background(), evs)
	if err != nil {
		return n, fmt.Errorf("apply %d events from %s v%d: %w", len(evs), evs[0].Subject, evs[0].EntityVersion, err)
	}
	return n, nil
}

func (w *orderWorld) applyAll(evs []pkgevents.Envelope) error {
	for _, ev := range evs {
		if _, err := w.apply(ev); err != nil {
			return err
		}
	}
	return nil
}

// shuffled is evs in a random order with random duplicates mixed in (some land before
// their original: early copies that make the original a duplicate).
func shuffled(rng *rand.Rand, evs []pkgevents.Envelope) []pkgevents.Envelope {
	out := slices.Clone(evs)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	for range len(evs) / 4 {
		out = slices.Insert(out, rng.IntN(len(out)+1), evs[rng.IntN(len(evs))])
	}
	return out
}

// parallel runs fn for 0..n-1 on a few workers, each run on a tenant of its own.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestViewsAreOrderIndependent applies realistic sequences in source order and in many
// random orders with duplicates and stale copies, one event at a time and in batches of
// random sizes, and finds the same views every time: the model's final sets and the
// closure they imply.
func TestViewsAreOrderIndependent(t *testing.T) {
	seed := *orderSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./services/iam-policies/internal/postgres -run %s -order.seed=%d)", seed, t.Name(), seed)
	sequences, shuffles, extra := 3, 10, 50
	if testing.Short() {
		sequences, shuffles, extra = 2, 4, 30
	}
	w := mustOrderWorld(t)

	// One run per tenant: run 0 of each sequence in source order, the others shuffled,
	// the last in source order again, in batches (then duplicates and stale copies
	// re-applied, each of which must be refused).
	type run struct {
		seq, shuffle int
		batched      bool // odd runs take the events in batches of random sizes
		tenant       string
		evs, order   []pkgevents.Envelope
		rng          *rand.Rand
		got          snapshot
		err          error
	}
	models := make([]*model, sequences)
	var runs []*run
	for seq := range models {
		models[seq] = scripted()
		models[seq].randomly(rand.New(rand.NewPCG(seed, uint64(seq))), extra)
		for shuffle := range shuffles + 2 {
			r := &run{seq: seq, shuffle: shuffle, batched: shuffle%2 == 1 || shuffle > shuffles, tenant: fmt.Sprintf("s%d-run%d", seq, shuffle),
				rng: rand.New(rand.NewPCG(seed^0x5eed, uint64(seq*1000+shuffle)))}
			r.evs = models[seq].envelopes(t, r.tenant)
			r.order = r.evs
			if shuffle > 0 && shuffle <= shuffles {
				r.order = shuffled(r.rng, r.evs)
			}
			runs = append(runs, r)
		}
	}
	parallel(len(runs), func(i int) {
		r := runs[i]
		var batches *rand.Rand
		if r.batched {
			batches = r.rng
		}
		if r.err = w.runBatched(r.tenant, r.order, batches); r.err != nil {
			return
		}
		stale := make([]pkgevents.Envelope, len(r.evs)/3)
		for i := range stale {
			stale[i] = r.evs[r.rng.IntN(len(r.evs))]
			if fresh, err := w.apply(stale[i]); err != nil || fresh {
				r.err = fmt.Errorf("re-applying %s v%d: fresh %v, %v", stale[i].Subject, stale[i].EntityVersion, fresh, err)
				return
			}
		}
		if fresh, err := w.applyBatch(stale); err != nil || fresh != 0 {
			r.err = fmt.Errorf("re-applying %d events as a batch: %d fresh, %v", len(stale), fresh, err)
			return
		}
		r.got, r.err = views(w.db, r.tenant)
	})

	var reference snapshot
	failures := 0
	for _, r := range runs {
		what := fmt.Sprintf("seed %d, sequence %d, in order", seed, r.seq)
		if r.shuffle > 0 && r.shuffle <= shuffles {
			what = fmt.Sprintf("seed %d, sequence %d, shuffle %d", seed, r.seq, r.shuffle)
		}
		if r.batched {
			what += ", in batches"
		}
		before := failures
		switch {
		case r.err != nil:
			t.Errorf("%s: %v", what, r.err)
			failures++
			continue
		case r.shuffle == 0:
			reference = r.got
		default:
			if d := r.got.diff(reference, true); d != "" {
				t.Errorf("%s, against the in-order run:%s", what, d)
				failures++
			}
		}
		if d := r.got.diff(models[r.seq].expected(), true); d != "" {
			t.Errorf("%s, against the model:%s", what, d)
			failures++
		}
		if !checkEntitled(t, what, models[r.seq], r.got) && failures == before {
			failures++
		}
		if failures > 5 {
			t.Fatalf("seed %d: giving up after %d failing runs", seed, failures)
		}
	}
}

// checkEntitled compares the stored entitled scope sets with their definition over the
// model's final memberships: every stored set is right, and every subject entitled to
// something has its set.
func checkEntitled(t *testing.T, what string, m *model, got snapshot) bool {
	t.Helper()
	right := true
	stored := map[string]string{}
	for _, line := range got.entitled {
		subject, scopes, _ := strings.Cut(line, ":")
		stored[subject] = scopes
	}
	subjects := slices.Collect(maps.Keys(stored))
	for u := range m.users {
		subjects = append(subjects, "user-"+u)
	}
	for c := range m.clients {
		subjects = append(subjects, "client-"+c)
	}
	for _, subject := range subjects {
		want := strings.Join(entitledOf(m.members, subject), " ")
		if have, ok := stored[subject]; ok && have != want || !ok && want != "" {
			t.Errorf("%s: entitled scopes of %s: stored %q (%v), want %q", what, subject, have, ok, want)
			right = false
		}
	}
	return right
}

// TestGroupTombstoneBeforeItsNestingTombstone is the reproduction: a group nested
// in another is deleted (its memberships' tombstones, then its own), and its id is used
// again for a new group nested elsewhere. The group's tombstone reaching the view before
// the tombstone of the membership that nested it, with the re-created group before or
// after, must leave no ancestor row of the deleted group behind. Every order of the
// deletion's and the re-creation's events is tried.
func TestGroupTombstoneBeforeItsNestingTombstone(t *testing.T) {
	w := mustOrderWorld(t)
	m := newModel()
	for _, g := range []string{"top", "mid", "other"} {
		m.putGroup(g, "Group "+g)
	}
	m.putUser("u", "User u")
	m.join("top", "group-mid")
	m.join("mid", "user-u")
	head := len(m.log)
	m.deleteGroup("mid") // top ∌ mid, mid ∌ u, then mid's tombstone
	m.putGroup("mid", "Mid again")
	m.join("other", "group-mid")
	want := m.expected()
	if !slices.Contains(want.closure, "other ⊇ mid 1") || slices.Contains(want.closure, "top ⊇ mid 1") {
		t.Fatalf("the model's closure %q", want.closure)
	}

	// The order first, step by step: the group's tombstone, then the nesting's.
	evs := m.envelopes(t, "issue")
	if err := w.run("issue", evs[:head]); err != nil {
		t.Fatal(err)
	}
	tail := evs[head:] // [top∌mid, mid∌u, mid deleted, mid created, other∋mid]
	if err := w.applyAll([]pkgevents.Envelope{tail[2], tail[0], tail[1]}); err != nil {
		t.Fatal(err)
	}
	for _, row := range mustViews(t, w.db, "issue").closure {
		if strings.Contains(row, "mid") {
			t.Errorf("after mid's deletion, before its re-creation: closure row %q", row)
		}
	}
	if err := w.applyAll(tail[3:]); err != nil {
		t.Fatal(err)
	}
	if d := mustViews(t, w.db, "issue").diff(want, true); d != "" {
		t.Errorf("the issue's order:%s", d)
	}

	// Then every order of the tail.
	var orders [][]int
	var permute func(prefix, rest []int)
	permute = func(prefix, rest []int) {
		if len(rest) == 0 {
			orders = append(orders, prefix)
			return
		}
		for i := range rest {
			permute(append(slices.Clone(prefix), rest[i]), slices.Concat(rest[:i], rest[i+1:]))
		}
	}
	permute(nil, []int{0, 1, 2, 3, 4})
	sequences := make([][]pkgevents.Envelope, len(orders))
	for i, order := range orders {
		evs := m.envelopes(t, fmt.Sprintf("order%d", i))
		sequences[i] = slices.Clone(evs[:head])
		for _, j := range order {
			sequences[i] = append(sequences[i], evs[head+j])
		}
	}
	parallel(len(orders), func(i int) {
		tenant := fmt.Sprintf("order%d", i)
		err := w.run(tenant, sequences[i])
		var got snapshot
		if err == nil {
			got, err = views(w.db, tenant)
		}
		if err != nil {
			t.Errorf("tail order %v: %v", orders[i], err)
		} else if d := got.diff(want, true); d != "" {
			t.Errorf("tail order %v:%s", orders[i], d)
		}
	})

	// And every order of the tail in two batches, cut at every place in turn: a group's
	// tombstone and its memberships' in one transaction, or split across two.
	parallel(len(orders), func(i int) {
		tenant, cut := fmt.Sprintf("batched%d", i), i%6
		evs := m.envelopes(t, tenant)
		tail := make([]pkgevents.Envelope, 0, len(orders[i]))
		for _, j := range orders[i] {
			tail = append(tail, evs[head+j])
		}
		err := w.run(tenant, evs[:head])
		for _, batch := range [][]pkgevents.Envelope{tail[:cut], tail[cut:]} {
			if err == nil && len(batch) > 0 {
				_, err = w.applyBatch(batch)
			}
		}
		var got snapshot
		if err == nil {
			got, err = views(w.db, tenant)
		}
		if err != nil {
			t.Errorf("tail order %v in batches cut at %d: %v", orders[i], cut, err)
		} else if d := got.diff(want, true); d != "" {
			t.Errorf("tail order %v in batches cut at %d:%s", orders[i], cut, d)
		}
	})
}
