package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	pkgpostgres "github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
	"github.com/iamplane/iam/services/iam-policies/internal/postgres"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// world is a migrated iam-policies database with a running check index.
type world struct {
	t       *testing.T
	db      *sqlx.DB
	views   *postgres.Views
	store   *postgres.Policies
	indexes *postgres.Indexes
	metrics *prometheus.Registry
}

func mustWorld(t *testing.T, maxPolicies int) *world {
	t.Helper()
	return mustWorldWith(t, func(x *postgres.Indexes) { x.MaxPolicies = maxPolicies })
}

// mustWorldWith is mustWorld with the indexes configured by configure, metrics in w.metrics.
func mustWorldWith(t *testing.T, configure func(*postgres.Indexes)) *world {
	t.Helper()
	ctx := context.Background()
	dsn := testenv.NewDatabase(t)
	db, err := pkgpostgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := pkgpostgres.Migrate(ctx, db, postgres.Migrations(), testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, db: db, views: &postgres.Views{Scopes: &postgres.ScopeSets{}}}
	w.store = &postgres.Policies{DB: db, Scopes: w.views.Scopes}
	w.indexes = &postgres.Indexes{DB: db, DSN: dsn, Logger: testenv.Logger(t)}
	configure(w.indexes)
	w.metrics = prometheus.NewRegistry()
	w.indexes.Register(w.metrics)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.indexes.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

// changes applies a batch's changes of tenant acme's subjects and memberships as the
// consumer would, in its own transaction.
func (w *world) changes(c events.Changes) {
	w.t.Helper()
	if err := pkgpostgres.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
		return w.views.ApplySubjects(context.Background(), tx, "acme", c)
	}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) grant(subject, scope, action string) {
	w.t.Helper()
	if _, err := w.store.Grant(context.Background(), &policies.Policy{Tenant: "acme", ID: uuid.NewString(), Subject: subject, Scope: scope, Action: action}); err != nil {
		w.t.Fatal(err)
	}
}

// index waits until the tenant's index is loaded and serving, and is not old.
func (w *world) index(old *policies.Index) *policies.Index {
	w.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if x := w.indexes.For(context.Background(), "acme"); x != nil && x != old {
			return x
		}
	}
	w.t.Fatal("the index never loaded")
	return nil
}

// decides waits until the index's decision is want, as notifications arrive.
func (w *world) decides(x *policies.Index, subject, scope, want string) {
	w.t.Helper()
	got := ""
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		got = ""
		if p := x.Decide("acme", subject, "read", policies.Covering(scope)); p != nil {
			got = p.GrantedTo + " " + p.Scope
		}
		if got == want {
			return
		}
	}
	w.t.Fatalf("%s on %s: decided %q, want %q", subject, scope, got, want)
}

// TestIndexFollowsEveryChange loads an index, then changes memberships, nesting and
// policies the ways the service does, and sees each change in the index's decisions.
func TestIndexFollowsEveryChange(t *testing.T) {
	w := mustWorld(t, 1000)
	ctx := context.Background()
	w.changes(events.Changes{Joined: []events.Membership{{Group: "top", Member: "group-mid"}}})
	w.changes(events.Changes{Joined: []events.Membership{{Group: "mid", Member: "user-u"}}})
	w.grant("group-top", "/x", "read")
	x := w.index(nil)
	w.decides(x, "user-u", "/x/1", "group-top /x")

	// A nesting cut two levels up takes the access away; restoring it gives it back.
	w.changes(events.Changes{Left: []events.Membership{{Group: "top", Member: "group-mid"}}})
	w.decides(x, "user-u", "/x/1", "")
	w.changes(events.Changes{Joined: []events.Membership{{Group: "top", Member: "group-mid"}}})
	w.decides(x, "user-u", "/x/1", "group-top /x")
	// A deeper, more specific grant wins; a direct one is preferred on the same path.
	w.grant("group-mid", "/x/1", "read")
	w.decides(x, "user-u", "/x/1/a", "group-mid /x/1")
	w.grant("user-u", "/x/1", "read")
	w.decides(x, "user-u", "/x/1/a", "user-u /x/1")
	// Leaving the group directly.
	w.changes(events.Changes{Left: []events.Membership{{Group: "mid", Member: "user-u"}}})
	if _, err := w.store.Revoke(ctx, "acme", policies.Filter{Subject: "user-u"}); err != nil {
		t.Fatal(err)
	}
	// Settle is the write path's fence: once it returns, this replica's index has the revocation.
	if err := w.indexes.Settle(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if p := x.Decide("acme", "user-u", "read", policies.Covering("/x/1/a")); p != nil {
		t.Fatalf("after Settle the revoked policy still decides: %+v", p)
	}
	// A deleted group drops the tenant's index; the next check reloads it.
	w.changes(events.Changes{Gone: []string{"group-top"}})
	x = w.index(x)
	w.changes(events.Changes{Joined: []events.Membership{{Group: "mid", Member: "user-u"}}})
	w.decides(x, "user-u", "/x/1/a", "group-mid /x/1")
	w.decides(x, "user-u", "/x/2", "")

	if pkgCtx := pkgevents.WithAwaited(ctx); w.indexes.For(pkgCtx, "acme") != nil {
		t.Error("a request that passed a consistency token was given the index")
	}
}

func TestTooLargeATenantIsNotIndexed(t *testing.T) {
	w := mustWorld(t, 1)
	w.grant("user-a", "/", "read")
	w.grant("user-b", "/", "read")
	for range 50 {
		if w.indexes.For(context.Background(), "acme") != nil {
			t.Fatal("a tenant over MaxPolicies was indexed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIndexSurvivesListenerLoss cuts the listener's connection and changes a policy while
// it is away: that notification is lost, so the index must be dropped and reloaded, never
// served stale.
func TestIndexSurvivesListenerLoss(t *testing.T) {
	w := mustWorld(t, 1000)
	w.changes(events.Changes{Joined: []events.Membership{{Group: "ops", Member: "user-u"}}})
	x := w.index(nil)
	w.decides(x, "user-u", "/a", "")

	var cut int
	if err := w.db.Get(&cut, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil || cut != 1 {
		t.Fatalf("cut %d listener connections: %v", cut, err)
	}
	w.grant("group-ops", "/a", "read")
	fresh := w.index(x)
	w.decides(fresh, "user-u", "/a/b", "group-ops /a")
}

// seed gives tenant n policies straight in the table (the index reads them from there).
func (w *world) seed(tenant string, n int) {
	w.t.Helper()
	if _, err := w.db.Exec(`INSERT INTO policies (tenant, id, subject, scope, action, resource_type)
		SELECT $1, gen_random_uuid(), 'user-u' || (i % 100), '/r/' || i, 'read', 'r' FROM generate_series(1, $2) i`, tenant, n); err != nil {
		w.t.Fatal(err)
	}
}

// loaded waits until tenant's index serves.
func (w *world) loaded(tenant string) *policies.Index {
	w.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if x := w.indexes.For(context.Background(), tenant); x != nil {
			return x
		}
	}
	w.t.Fatalf("%s's index never loaded", tenant)
	return nil
}

// metric is a gauge's value, or the sum of a counter's, in w.metrics.
func (w *world) metric(name string) float64 {
	w.t.Helper()
	families, err := w.metrics.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// An index no check uses is dropped after IdleAfter, one in use is kept; the next check
// loads it again.
func TestIdleIndexesAreDropped(t *testing.T) {
	const idle = 300 * time.Millisecond
	w := mustWorldWith(t, func(x *postgres.Indexes) { x.MaxPolicies, x.IdleAfter = 1000, idle })
	w.seed("acme", 10)
	x := w.loaded("acme")
	if w.metric("iam_check_index_bytes") <= 0 || w.metric("iam_check_index_tenants") != 1 {
		t.Fatalf("a loaded index: %v bytes, %v tenants", w.metric("iam_check_index_bytes"), w.metric("iam_check_index_tenants"))
	}
	for range 50 { // 1 s of checks, over three times IdleAfter
		if got := w.indexes.For(context.Background(), "acme"); got != x {
			t.Fatal("an index in use was dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(3 * idle)
	if w.metric("iam_check_index_tenants") != 0 || w.metric("iam_check_index_bytes") != 0 || w.metric("iam_check_index_evictions_total") != 1 {
		t.Fatalf("after %s without checks: %v tenants, %v bytes, %v evictions", 3*idle,
			w.metric("iam_check_index_tenants"), w.metric("iam_check_index_bytes"), w.metric("iam_check_index_evictions_total"))
	}
	if again := w.loaded("acme"); again == x {
		t.Error("the dropped index was served again")
	}
}

// Past MaxBytes the least recently used index goes; a tenant whose index alone exceeds
// the budget is answered from the database.
func TestIndexesKeepTheMemoryBudget(t *testing.T) {
	// The size of one tenant's index, measured on an unbounded replica first.
	probe := mustWorld(t, 100_000)
	probe.seed("acme", 2000)
	one := probe.loaded("acme").Bytes()

	w := mustWorldWith(t, func(x *postgres.Indexes) { x.MaxPolicies, x.MaxBytes = 100_000, one*5/2 })
	for _, tenant := range []string{"t1", "t2", "t3"} {
		w.seed(tenant, 2000)
	}
	w.seed("huge", 20000)
	w.loaded("t1")
	time.Sleep(150 * time.Millisecond)
	w.loaded("t2")
	time.Sleep(150 * time.Millisecond)
	w.loaded("t1") // t2 is now the least recently used
	time.Sleep(150 * time.Millisecond)
	w.loaded("t3")
	for deadline := time.Now().Add(2 * time.Second); w.metric("iam_check_index_evictions_total") < 1 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := w.metric("iam_check_index_bytes"); got > float64(one*5/2) || w.metric("iam_check_index_tenants") != 2 {
		t.Fatalf("over the budget of %d: %v bytes in %v tenants", one*5/2, got, w.metric("iam_check_index_tenants"))
	}
	// Two indexes held, t1 and t3 among them: t2, the least recently used, went.
	if w.indexes.For(context.Background(), "t1") == nil || w.indexes.For(context.Background(), "t3") == nil {
		t.Fatal("a recently used index was dropped")
	}

	// huge alone is over the budget: loading it drops t1 and t3, then huge itself, and
	// its checks query the database from then on; it does not load again and again.
	w.indexes.For(context.Background(), "huge")
	for deadline := time.Now().Add(5 * time.Second); w.metric("iam_check_index_evictions_total") < 4 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := w.metric("iam_check_index_evictions_total"); n != 4 {
		t.Fatalf("%v evictions, want t2, t1, t3 and huge", n)
	}
	for range 20 {
		if w.indexes.For(context.Background(), "huge") != nil {
			t.Fatal("a tenant over the budget by itself was served from memory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.metric("iam_check_index_bytes"); got != 0 {
		t.Errorf("%v bytes held, want none", got)
	}
}
