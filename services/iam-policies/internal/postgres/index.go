package postgres

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

// indexChannel carries, on commit, the keys of what a transaction changed that an
// in-memory check index holds: every replica re-reads those keys. NOTIFY is delivered
// only after commit, so the re-read sees the change.
const indexChannel = "check_index"

// Change kinds, the first field of a notification (fields are tab-separated).
const (
	changeGrants   = "grants"   // tenant, scope, action: the policies on that key changed
	changeMemberOf = "memberof" // tenant, subject...: their direct groups changed
	changeNesting  = "nesting"  // tenant, group...: the closure of every group under them changed
	changeReset    = "reset"    // tenant: too much changed; forget the tenant's index
	changeFence    = "fence"    // tenant, nonce: everything committed before it is applied
)

// notifyIndex tells every replica's index, on commit, that key changed.
func notifyIndex(ctx context.Context, tx *sqlx.Tx, kind, tenant string, key ...string) error {
	payload := strings.Join(append([]string{kind, tenant}, key...), "\t")
	if len(payload) > maxPayload {
		payload = changeReset + "\t" + tenant
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, indexChannel, payload)
	return postgres.Classify(err)
}

// maxPayload keeps a notification well below PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// notifyKeys tells every replica's index, on commit, that keys of one kind changed: as
// few notifications as fit them, in one statement, so a batch of a thousand memberships
// costs the listener a few re-reads rather than a thousand.
func notifyKeys(ctx context.Context, tx *sqlx.Tx, kind, tenant string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	head := kind + "\t" + tenant
	var payloads []string
	payload := head
	for _, k := range keys {
		if len(head)+1+len(k) > maxPayload {
			return notifyIndex(ctx, tx, changeReset, tenant) // a key no notification can carry
		}
		if len(payload)+1+len(k) > maxPayload {
			payloads, payload = append(payloads, payload), head
		}
		payload += "\t" + k
	}
	payloads = append(payloads, payload)
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS x(p, n) ORDER BY n`,
		indexChannel, pq.StringArray(payloads))
	return postgres.Classify(err)
}

// notifyGrants reports the (scope, action) keys a change of policies touched.
func notifyGrants(ctx context.Context, tx *sqlx.Tx, tenant string, keys []grantKey) error {
	if len(keys) > 100 {
		return notifyIndex(ctx, tx, changeReset, tenant)
	}
	for _, k := range keys {
		if err := notifyIndex(ctx, tx, changeGrants, tenant, k.Scope, k.Action); err != nil {
			return err
		}
	}
	return nil
}

type grantKey struct {
	Scope  string `db:"scope"`
	Action string `db:"action"`
}

// Indexes keeps an in-memory check index per tenant, loaded on the tenant's first check
// and then kept current from the change notifications of every replica's writes and
// event applications. A tenant with more than MaxPolicies policies is not indexed (its
// checks query the database). Memory is bounded: an index no check has used for
// IdleAfter is dropped, and while all of them together hold more than MaxBytes the least
// recently used are; a dropped tenant's next check loads it again (its checks query the
// database meanwhile).
type Indexes struct {
	DB          *sqlx.DB
	DSN         string
	Logger      *slog.Logger
	MaxPolicies int
	// IdleAfter drops an index no check has used for this long (0: never).
	IdleAfter time.Duration
	// MaxBytes is the memory budget of all tenants' indexes together, as they estimate
	// it (policies.Index.Bytes); 0: none. A tenant whose index alone exceeds it is not
	// indexed until it has been idle for IdleAfter.
	MaxBytes int64

	mu        sync.RWMutex
	listening bool
	tenants   map[string]*tenantIndex
	fences    map[string]chan struct{}
	evictions *prometheus.CounterVec
}

type tenantIndex struct {
	mu      sync.Mutex  // serializes loading and applying changes
	tooBig  atomic.Bool // over MaxPolicies or the memory budget: never served, changes ignored
	pending [][]string  // changes that arrived while loading
	// index is set, once loaded and caught up, under mu; checks read it without mu.
	index atomic.Pointer[policies.Index]
	// used is when a check last used the index (or asked for it first), in Unix
	// nanoseconds, to a tenth of a second: a store on every check would make the cores
	// of all checks fight for the cache line.
	used atomic.Int64
}

func (t *tenantIndex) touch(now time.Time) {
	if n := now.UnixNano(); n-t.used.Load() > int64(100*time.Millisecond) {
		t.used.Store(n)
	}
}

// Register adds the indexes' metrics: their estimated memory, how many tenants are
// indexed, and the evictions by reason.
func (x *Indexes) Register(reg prometheus.Registerer) {
	x.evictions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iam_check_index_evictions_total",
		Help: "Tenant check indexes dropped to bound memory: idle (IAM_CHECK_INDEX_IDLE) or budget (IAM_CHECK_INDEX_MAX_BYTES)."}, []string{"reason"})
	reg.MustRegister(x.evictions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iam_check_index_bytes",
			Help: "Estimated memory of this replica's check indexes (all tenants)."}, func() float64 { b, _ := x.size(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iam_check_index_tenants",
			Help: "Tenants whose checks this replica answers from memory."}, func() float64 { _, n := x.size(); return float64(n) }))
}

// size is the estimated memory of the loaded indexes and how many there are.
func (x *Indexes) size() (bytes int64, tenants int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, t := range x.tenants {
		if idx := t.index.Load(); idx != nil {
			bytes, tenants = bytes+idx.Bytes(), tenants+1
		}
	}
	return bytes, tenants
}

// Bytes is the estimated memory of this replica's check indexes.
func (x *Indexes) Bytes() int64 {
	b, _ := x.size()
	return b
}

// sweep drops the indexes idle for longer than IdleAfter, then, while the rest hold
// more than MaxBytes, the least recently used.
func (x *Indexes) sweep(now time.Time) {
	type loaded struct {
		tenant string
		t      *tenantIndex
		used   int64
		bytes  int64
	}
	var all []loaded
	var total int64
	x.mu.Lock()
	defer x.mu.Unlock()
	for tenant, t := range x.tenants {
		idx := t.index.Load()
		if idx == nil && !t.tooBig.Load() {
			continue // loading
		}
		if x.IdleAfter > 0 && now.UnixNano()-t.used.Load() > int64(x.IdleAfter) {
			delete(x.tenants, tenant)
			x.evicted("idle", tenant, idx)
			continue
		}
		if idx != nil {
			all = append(all, loaded{tenant, t, t.used.Load(), idx.Bytes()})
			total += idx.Bytes()
		}
	}
	if x.MaxBytes <= 0 || total <= x.MaxBytes {
		return
	}
	slices.SortFunc(all, func(a, b loaded) int { return cmp.Compare(a.used, b.used) })
	for i, l := range all {
		if total <= x.MaxBytes {
			return
		}
		total -= l.bytes
		x.evicted("budget", l.tenant, l.t.index.Load())
		if i == len(all)-1 {
			// Alone over the budget: checks query the database; after IdleAfter without
			// checks it may try again.
			l.t.tooBig.Store(true)
			l.t.index.Store(nil)
			x.Logger.Warn("check index: tenant alone exceeds IAM_CHECK_INDEX_MAX_BYTES; checks query the database",
				"tenant", l.tenant, "bytes", l.bytes, "budget", x.MaxBytes)
			return
		}
		delete(x.tenants, l.tenant)
	}
}

func (x *Indexes) evicted(reason, tenant string, idx *policies.Index) {
	if x.evictions != nil {
		x.evictions.WithLabelValues(reason).Inc()
	}
	var bytes int64
	if idx != nil {
		bytes = idx.Bytes()
	}
	x.Logger.Info("check index dropped", "tenant", tenant, "reason", reason, "bytes", bytes)
}

// sweepEvery is how often Run sweeps: a tenth of IdleAfter, within [10ms, 10s].
func (x *Indexes) sweepEvery() time.Duration {
	if x.IdleAfter > 0 {
		return min(max(x.IdleAfter/10, 10*time.Millisecond), 10*time.Second)
	}
	return 10 * time.Second
}

var _ policies.Indexes = (*Indexes)(nil)

// For returns tenant's index when it is loaded and current, else nil (the caller asks
// the database) and starts loading it. A request that passed a consistency token always
// gets nil: it must see state the index may not have caught up with yet.
func (x *Indexes) For(ctx context.Context, tenant string) *policies.Index {
	if pkgevents.Awaited(ctx) {
		return nil
	}
	x.mu.RLock()
	t, ok := x.tenants[tenant]
	listening := x.listening
	x.mu.RUnlock()
	switch {
	case !listening:
		return nil // changes could be missed; never serve from an index then
	case ok:
		idx := t.index.Load()
		if idx != nil {
			t.touch(time.Now())
		}
		return idx
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.tenants[tenant]; !ok && x.listening {
		t = &tenantIndex{}
		t.used.Store(time.Now().UnixNano())
		x.tenants[tenant] = t
		go x.load(tenant, t)
	}
	return nil
}

// Run listens for changes until ctx ends. Indexes are served only while the listener is
// connected and listening; whenever that stops, every index is dropped, since changes may
// be missed, and they reload on demand once it is back.
func (x *Indexes) Run(ctx context.Context) error {
	var mu sync.Mutex
	connected, listening := false, false
	update := func(c, l bool) { // under mu
		connected, listening = c, l
		x.reset(connected && listening)
	}
	listener := pq.NewListener(x.DSN, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch ev {
		case pq.ListenerEventConnected, pq.ListenerEventReconnected: // LISTEN is (re)issued before these
			update(true, listening)
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			update(false, listening)
		}
		if err != nil {
			x.Logger.Warn("check index listener", "error", err)
		}
	})
	defer listener.Close()
	defer x.reset(false)
	// Listen returns at once when not yet connected (the connection will LISTEN when it
	// comes up), or after the server acknowledged it.
	if err := listener.Listen(indexChannel); err != nil {
		return fmt.Errorf("check index: listen: %w", err)
	}
	mu.Lock()
	update(connected, true)
	mu.Unlock()
	sweeps := time.NewTicker(x.sweepEvery())
	defer sweeps.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-sweeps.C:
			x.sweep(now)
		case n := <-listener.Notify:
			if n == nil { // reconnected: whatever was sent meanwhile is lost
				x.reset(true)
				continue
			}
			x.apply(ctx, strings.Split(n.Extra, "\t"))
		case <-time.After(time.Minute):
			go func() { _ = listener.Ping() }()
		}
	}
}

func (x *Indexes) reset(listening bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.listening, x.tenants = listening, map[string]*tenantIndex{}
	if x.fences == nil {
		x.fences = map[string]chan struct{}{}
	}
}

func (x *Indexes) tenant(tenant string) *tenantIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.tenants[tenant]
}

// Settle returns once this replica's index of tenant holds every change committed
// before the call, so that a write answers only when a check on the same replica sees it.
// PostgreSQL delivers notifications in commit order and the listener applies them in
// order, so when the fence it sends comes back, everything before it is applied.
func (x *Indexes) Settle(ctx context.Context, tenant string) error {
	t := x.tenant(tenant)
	if t == nil {
		return nil // not indexed here: checks read the database
	}
	nonce, done := uuid.NewString(), make(chan struct{})
	x.mu.Lock()
	x.fences[nonce] = done
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		delete(x.fences, nonce)
		x.mu.Unlock()
	}()
	if _, err := x.DB.ExecContext(ctx, `SELECT pg_notify($1, $2)`, indexChannel, changeFence+"\t"+tenant+"\t"+nonce); err != nil {
		return postgres.Classify(err)
	}
	select {
	case <-done:
	case <-time.After(time.Second):
		x.Logger.Warn("check index: fence not back within 1s; dropping the tenant's index", "tenant", tenant)
		x.forget(tenant, t)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// apply re-reads the changed key into the tenant's index (or queues it while loading).
func (x *Indexes) apply(ctx context.Context, change []string) {
	if len(change) < 2 {
		return
	}
	if change[0] == changeFence && len(change) == 3 {
		x.mu.Lock()
		if done, ok := x.fences[change[2]]; ok {
			close(done)
			delete(x.fences, change[2])
		}
		x.mu.Unlock()
		return
	}
	t := x.tenant(change[1])
	if t == nil {
		return // not indexed here
	}
	if change[0] == changeReset {
		x.forget(change[1], t)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.tooBig.Load():
		return
	case t.index.Load() == nil:
		t.pending = append(t.pending, change)
		return
	}
	if err := x.reread(ctx, t.index.Load(), change); err != nil {
		x.Logger.Warn("check index: change not applied; dropping the tenant's index", "tenant", change[1], "error", err)
		x.forget(change[1], t)
	}
}

func (x *Indexes) forget(tenant string, t *tenantIndex) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.tenants[tenant] == t {
		delete(x.tenants, tenant)
	}
}

// reread brings one key of index up to the database's committed state.
func (x *Indexes) reread(ctx context.Context, index *policies.Index, change []string) error {
	kind, tenant := change[0], change[1]
	switch {
	case kind == changeGrants && len(change) == 4:
		var grants []policies.Grant
		if err := x.DB.SelectContext(ctx, &grants, `SELECT id::text AS id, subject FROM policies
			WHERE tenant = $1 AND scope = $2 AND action = $3`, tenant, change[2], change[3]); err != nil {
			return err
		}
		index.SetGrants(change[2], change[3], grants)
	case kind == changeMemberOf && len(change) >= 3:
		members := change[2:]
		var rows []struct {
			Member string         `db:"member"`
			Groups pq.StringArray `db:"groups"`
		}
		if err := x.DB.SelectContext(ctx, &rows, `SELECT s.member, g.groups FROM unnest($2::text[]) AS s(member), LATERAL (
			SELECT array_agg(group_id) AS groups FROM membership_view WHERE tenant = $1 AND member = s.member) g
			WHERE g.groups IS NOT NULL`, tenant, pq.StringArray(members)); err != nil {
			return err
		}
		groups := make(map[string][]string, len(rows))
		for _, r := range rows {
			groups[r.Member] = r.Groups
		}
		for _, m := range members {
			index.SetMemberOf(m, groups[m]) // none: in no group any more
		}
	case kind == changeNesting && len(change) >= 3:
		rows, err := x.DB.QueryxContext(ctx, `SELECT d.descendant, coalesce(array_agg(a.ancestor) FILTER (WHERE a.ancestor IS NOT NULL), '{}')
			FROM (SELECT DISTINCT x.descendant FROM unnest($2::text[]) AS c(id), LATERAL (
				SELECT descendant FROM group_closure WHERE tenant = $1 AND ancestor = c.id OFFSET 0) x) d
			LEFT JOIN group_closure a ON a.tenant = $1 AND a.descendant = d.descendant
			GROUP BY d.descendant`, tenant, pq.StringArray(change[2:]))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var group string
			var ancestors pq.StringArray
			if err := rows.Scan(&group, &ancestors); err != nil {
				return err
			}
			index.SetAncestors(group, ancestors)
		}
		return rows.Err()
	default:
		return fmt.Errorf("change %q", strings.Join(change, " "))
	}
	return nil
}

// load reads the tenant's policies, memberships and closure, then the changes that
// arrived meanwhile, and only then serves the index; then it keeps the budget.
func (x *Indexes) load(tenant string, t *tenantIndex) {
	x.loadIndex(tenant, t)
	if x.MaxBytes > 0 {
		x.sweep(time.Now())
	}
}

func (x *Indexes) loadIndex(tenant string, t *tenantIndex) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	index, n, err := x.read(ctx, tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil && n > x.MaxPolicies {
		x.Logger.Info("check index: tenant too large to index; checks query the database", "tenant", tenant, "policies", n)
		t.tooBig.Store(true)
		t.pending = nil
		return
	}
	for _, change := range t.pending {
		if err != nil {
			break
		}
		err = x.reread(ctx, index, change)
	}
	if err != nil {
		x.Logger.Warn("check index: load failed; checks query the database", "tenant", tenant, "error", err)
		x.forget(tenant, t)
		return
	}
	t.pending = nil
	t.index.Store(index)
	x.Logger.Info("check index loaded", "tenant", tenant, "policies", n, "bytes", index.Bytes(), "took", time.Since(start).Round(time.Millisecond))
}

func (x *Indexes) read(ctx context.Context, tenant string) (*policies.Index, int, error) {
	index := policies.NewIndex()
	var n int
	if err := x.DB.GetContext(ctx, &n, `SELECT count(*) FROM policies WHERE tenant = $1`, tenant); err != nil || n > x.MaxPolicies {
		return nil, n, err
	}
	rows, err := x.DB.QueryContext(ctx, `SELECT scope, action, array_agg(id::text), array_agg(subject) FROM policies
		WHERE tenant = $1 GROUP BY scope, action`, tenant)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var scope, action string
		var ids, subjects pq.StringArray
		if err := rows.Scan(&scope, &action, &ids, &subjects); err != nil {
			return nil, 0, err
		}
		grants := make([]policies.Grant, len(ids))
		for i := range ids {
			grants[i] = policies.Grant{ID: ids[i], Subject: subjects[i]}
		}
		index.SetGrants(scope, action, grants)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for _, q := range []struct {
		sql string
		set func(string, []string)
	}{
		{`SELECT member, array_agg(group_id) FROM membership_view WHERE tenant = $1 GROUP BY member`, index.SetMemberOf},
		{`SELECT descendant, array_agg(ancestor) FROM group_closure WHERE tenant = $1 GROUP BY descendant`, index.SetAncestors},
	} {
		rows, err := x.DB.QueryContext(ctx, q.sql, tenant)
		if err != nil {
			return nil, 0, err
		}
		for rows.Next() {
			var key string
			var values pq.StringArray
			if err := rows.Scan(&key, &values); err != nil {
				rows.Close()
				return nil, 0, err
			}
			q.set(key, values)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, err
		}
	}
	return index, n, nil
}
