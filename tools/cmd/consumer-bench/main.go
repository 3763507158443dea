// Command consumer-bench measures how fast iam-policies' subjects consumer applies
// iam-subjects' events, and how long a membership takes to reach a check:
//
//   - bulk: -users users and -groups groups (nested in chains of five), each user in
//     -memberships/-users groups, with a policy on the tenant root for every chain's top
//     group, so that memberships change entitled scope sets, which iam-policies
//     recomputes and republishes. With -via stream the events go straight onto the stream
//     as iam-subjects publishes them (its NATS user, source, subjects and payloads), as
//     fast as JetStream takes them, so the consumer's own rate is what is measured; the
//     reconcilers are off then, since iam-subjects' database holds none of these
//     entities. With -via api the same data set is written through iam-subjects' API by
//     -workers workers. Reported: how long the writes took, how long after the last write
//     answered iam-policies' view held every event, and the events applied per second
//     (events / time from the first write until the view held them all);
//   - propagation: -changes users added one at a time to a group that holds a policy
//     (iam-subjects' API), each until a check that depends on it is allowed in
//     iam-policies, with the index loaded (outbox -> NATS -> consumer -> index -> check).
//
// PostgreSQL: $DATABASE_URL or a private cluster, as every benchkit tool.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/tools/benchkit"
)

const tenant = "bench"

type options struct {
	users, groups, memberships int
	via                        string
	workers                    int
	changes                    int
	timeout                    time.Duration
	cpuProfile                 string
}

func main() {
	var o options
	flag.IntVar(&o.users, "users", 10_000, "users")
	flag.IntVar(&o.groups, "groups", 1_000, "groups (nested in chains of five)")
	flag.IntVar(&o.memberships, "memberships", 20_000, "memberships of users (a multiple of -users, at most -users × -groups)")
	flag.StringVar(&o.via, "via", "stream", "how the data set is written: stream (events straight onto the stream) or api (iam-subjects' API)")
	flag.IntVar(&o.workers, "workers", 8, "concurrent API writers")
	flag.IntVar(&o.changes, "changes", 1_000, "membership changes timed end to end (0: none)")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "longest wait for the view to hold the data set")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the bulk load (the services run in this process)")
	flag.Parse()
	if o.via != "stream" && o.via != "api" {
		fmt.Fprintln(os.Stderr, "consumer-bench: -via is stream or api")
		os.Exit(2)
	}
	if o.groups%5 != 0 || o.memberships%o.users != 0 || o.memberships/o.users > o.groups {
		fmt.Fprintln(os.Stderr, "consumer-bench: -groups must be a multiple of 5, -memberships a multiple of -users and at most -users × -groups")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "consumer-bench:", err)
		os.Exit(1)
	}
}

// dataSet is the bulk load, by index: users 1..U, groups 1..G.
type dataSet struct {
	users, groups, perUser int
}

// groupsOf lists the groups user n is in: perUser distinct groups spread over all.
func (d dataSet) groupsOf(n int) []int {
	out := make([]int, d.perUser)
	for j := range out {
		out[j] = 1 + (n+j*(d.groups/d.perUser))%d.groups
	}
	return out
}

// parentOf is the group that nests group g (0: none): chains of five, g in g-1 unless g
// heads its chain.
func parentOf(g int) int {
	if (g-1)%5 == 0 {
		return 0
	}
	return g - 1
}

// entities is how many entities (hence event_versions rows) the data set has.
func (d dataSet) entities() int {
	return d.users + d.groups + d.users*d.perUser + d.groups*4/5
}

func run(ctx context.Context, o options) error {
	env := map[string]string{}
	if o.via == "stream" {
		env["IAM_RECONCILE_INTERVAL"] = "0"
	}
	stack, err := benchkit.StartWith(ctx, "consumer-bench", env)
	if err != nil {
		return err
	}
	defer stack.Close()
	db, err := sqlx.Open("postgres", stack.Databases["iam-policies"])
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	c := &client{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second},
		base: stack.URL + "/v1/tenants/" + tenant, token: token}
	d := dataSet{users: o.users, groups: o.groups, perUser: o.memberships / o.users}

	var w writer
	if o.via == "stream" {
		sw, err := newStreamWriter(stack.NATS.URLFor("iam-subjects"))
		if err != nil {
			return err
		}
		defer sw.close()
		w = sw
	} else {
		w = &apiWriter{c: c, workers: o.workers}
	}
	fmt.Printf("data set: %d users, %d groups (chains of 5), %d user memberships, %d nestings, %d root policies: %d events, written via %s\n",
		d.users, d.groups, d.users*d.perUser, d.groups*4/5, d.groups/5, d.entities(), o.via)
	before, err := applied(ctx, db)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := w.load(ctx, c, d); err != nil {
		return err
	}
	written := time.Now()
	want := before + d.entities()
	fmt.Printf("written in %s (%.0f events/s)\n", written.Sub(start).Round(time.Millisecond), float64(d.entities())/written.Sub(start).Seconds())
	if err := await(ctx, db, want, w.last(), o.timeout, start); err != nil {
		return err
	}
	held := time.Now()
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("iam-policies' view held all %d events %s after the last write answered, %s after the first: %.0f events/s applied\n",
		d.entities(), held.Sub(written).Round(time.Millisecond), held.Sub(start).Round(time.Millisecond),
		float64(d.entities())/held.Sub(start).Seconds())
	var published int
	if err := db.GetContext(ctx, &published, `SELECT count(*) FROM entitled_scopes WHERE tenant = $1 AND cardinality(scopes) > 0`, tenant); err != nil {
		return err
	}
	fmt.Printf("entitled scope sets held: %d users with scopes\n", published)
	if addr := stack.Addrs["iam-policies"]; addr != "" {
		printConsumerMetrics("http://" + addr + "/metrics")
	}
	if o.changes > 0 {
		return propagation(ctx, c, db, stack.Addrs["iam-policies"], o)
	}
	return nil
}

// applied counts the entities iam-policies' views hold for the tenant.
func applied(ctx context.Context, db *sqlx.DB) (int, error) {
	var n int
	err := db.GetContext(ctx, &n, `SELECT count(*) FROM event_versions WHERE tenant = $1 AND NOT deleted`, tenant)
	return n, err
}

// await polls until the view holds want entities, printing progress every 10 s. A count
// reads every row of the tenant's event_versions: polled often it would take a good part
// of the database's time from the consumer it measures. So with last (the subject and
// version of the last event written, which the consumer applies last: it takes events in
// stream order and commits them in order) it looks that one up every 2 ms and counts
// once at the end; without it, it counts every 100 ms.
func await(ctx context.Context, db *sqlx.DB, want int, last *lastEvent, timeout time.Duration, since time.Time) error {
	deadline, report := time.Now().Add(timeout), time.Now().Add(10*time.Second)
	for {
		done := false
		if last != nil {
			if err := db.GetContext(ctx, &done, `SELECT EXISTS (SELECT 1 FROM event_versions WHERE subject = $1 AND version >= $2)`,
				last.subject, last.version); err != nil {
				return err
			}
		}
		if last == nil || done || time.Now().After(report) {
			n, err := applied(ctx, db)
			if err != nil {
				return err
			}
			if n >= want {
				return nil
			}
			if done {
				return fmt.Errorf("the last event is applied, but the view holds %d of %d", n, want)
			}
			if time.Now().After(report) {
				fmt.Printf("  %s: view holds %d of %d\n", time.Since(since).Round(time.Second), n, want)
				report = report.Add(10 * time.Second)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("view not complete after %s", timeout)
		}
		pause := 100 * time.Millisecond
		if last != nil {
			pause = 2 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// lastEvent names the last event written straight onto the stream.
type lastEvent struct {
	subject string
	version int64
}

// writer writes the data set, policies included; last is the last event it wrote, when
// it knows it.
type writer interface {
	load(ctx context.Context, c *client, d dataSet) error
	last() *lastEvent
}

// streamWriter publishes iam-subjects' events itself, with iam-subjects' NATS user.
type streamWriter struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	version int64
	acks    []jetstream.PubAckFuture
	written lastEvent
}

func (w *streamWriter) last() *lastEvent { return &w.written }

func newStreamWriter(url string) (*streamWriter, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		return nil, err
	}
	// Versions as iam-subjects draws them: past the wall clock in microseconds.
	return &streamWriter{nc: nc, js: js, version: time.Now().UnixMicro()}, nil
}

func (w *streamWriter) close() { w.nc.Close() }

func (w *streamWriter) publish(kind, id string, state any) error {
	w.version++
	ev, err := events.New("/iam/iam-subjects", events.Entity{Tenant: tenant, Area: "subjects", Kind: kind, ID: id}, w.version, false, state)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if w.js.PublishAsyncPending() >= 2048 {
		<-w.js.PublishAsyncComplete() // JetStream's pace, not a stall
	}
	ack, err := w.js.PublishMsgAsync(&nats.Msg{Subject: ev.Subject, Data: raw, Header: nats.Header{"Nats-Msg-Id": []string{ev.ID}}})
	if err != nil {
		return err
	}
	w.acks = append(w.acks, ack)
	w.written = lastEvent{ev.Subject, ev.EntityVersion}
	return nil
}

func (w *streamWriter) membership(group int, member string, memberType schema.MembershipStateMemberType) error {
	g := fmt.Sprintf("g%d", group)
	return w.publish("membership", g+"~"+member, schema.MembershipState{Tenant: tenant, GroupId: g, Member: member, MemberType: memberType})
}

func (w *streamWriter) load(ctx context.Context, c *client, d dataSet) error {
	// The policies first, through iam-policies' API: they name groups before they exist
	// in the view, as a policy may.
	for g := 1; g <= d.groups; g += 5 {
		if err := c.grant(fmt.Sprintf("group-g%d", g), "/", fmt.Sprintf("bulk%d", (g/5)%20)); err != nil {
			return err
		}
	}
	for g := 1; g <= d.groups; g++ {
		id := fmt.Sprintf("g%d", g)
		name := map[string]string{"en": "Group " + id}
		if err := w.publish("group", id, schema.GroupState{Id: id, SubjectId: "group-" + id, Tenant: tenant, DisplayName: "Group " + id, Name: &name, Code: &id}); err != nil {
			return err
		}
	}
	for g := 1; g <= d.groups; g++ {
		if p := parentOf(g); p != 0 {
			if err := w.membership(p, fmt.Sprintf("group-g%d", g), schema.Group); err != nil {
				return err
			}
		}
	}
	for u := 1; u <= d.users; u++ {
		id, status := fmt.Sprintf("u%d", u), "ACTIVE"
		if err := w.publish("user", id, schema.UserState{Id: id, SubjectId: "user-" + id, Tenant: tenant, DisplayName: "User " + id,
			UserType: schema.EMPLOYEE, Username: &id, Status: &status}); err != nil {
			return err
		}
	}
	for u := 1; u <= d.users; u++ {
		for _, g := range d.groupsOf(u) {
			if err := w.membership(g, fmt.Sprintf("user-u%d", u), schema.User); err != nil {
				return err
			}
		}
	}
	select {
	case <-w.js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return errors.New("publish acks not back within a minute")
	}
	for _, ack := range w.acks {
		select {
		case err := <-ack.Err():
			return fmt.Errorf("publish: %w", err)
		case <-ack.Ok():
		}
	}
	return nil
}

// apiWriter writes the data set through iam-subjects' API, as a migration would.
type apiWriter struct {
	c       *client
	workers int
}

func (w *apiWriter) last() *lastEvent { return nil } // the relay, not the writer, orders them

func (w *apiWriter) load(ctx context.Context, c *client, d dataSet) error {
	groupIDs := make([]string, d.groups+1)
	if err := parallel(ctx, w.workers, d.groups, func(i int) error {
		var g struct{ ID string }
		err := c.post("/groups", fmt.Sprintf(`{"displayName":"Group %d"}`, i+1), &g)
		groupIDs[i+1] = g.ID
		return err
	}); err != nil {
		return err
	}
	for g := 1; g <= d.groups; g += 5 {
		if err := c.grant("group-"+groupIDs[g], "/", fmt.Sprintf("bulk%d", (g/5)%20)); err != nil {
			return err
		}
	}
	if err := parallel(ctx, w.workers, d.groups, func(i int) error {
		if p := parentOf(i + 1); p != 0 {
			return c.post("/groups/"+groupIDs[p]+"/members", `{"subjectIds":["group-`+groupIDs[i+1]+`"]}`, nil)
		}
		return nil
	}); err != nil {
		return err
	}
	userIDs := make([]string, d.users+1)
	if err := parallel(ctx, w.workers, d.users, func(i int) error {
		var u struct{ ID string }
		err := c.post("/users", fmt.Sprintf(`{"username":"bulk%d"}`, i+1), &u)
		userIDs[i+1] = u.ID
		return err
	}); err != nil {
		return err
	}
	members := make([][]string, d.groups+1)
	for u := 1; u <= d.users; u++ {
		for _, g := range d.groupsOf(u) {
			members[g] = append(members[g], `"user-`+userIDs[u]+`"`)
		}
	}
	return parallel(ctx, w.workers, d.groups, func(i int) error {
		return c.post("/groups/"+groupIDs[i+1]+"/members", `{"subjectIds":[`+strings.Join(members[i+1], ",")+`]}`, nil)
	})
}

// propagation adds o.changes users, one at a time, to a group holding a policy, and
// times each until a check depending on it is allowed.
func propagation(ctx context.Context, c *client, db *sqlx.DB, policiesAddr string, o options) error {
	before, err := applied(ctx, db)
	if err != nil {
		return err
	}
	var group struct{ ID string }
	if err := c.post("/groups", `{"displayName":"Propagation"}`, &group); err != nil {
		return err
	}
	if err := c.grant("group-"+group.ID, "/lag", "lag.read"); err != nil {
		return err
	}
	users := make([]string, o.changes)
	if err := parallel(ctx, o.workers, o.changes, func(i int) error {
		var u struct{ ID string }
		err := c.post("/users", fmt.Sprintf(`{"username":"lag%d"}`, i), &u)
		users[i] = u.ID
		return err
	}); err != nil {
		return err
	}
	// Let the view take the new users and the check index load, so each change measures
	// the membership's way alone.
	if err := await(ctx, db, before+1+o.changes, nil, o.timeout, time.Now()); err != nil {
		return err
	}
	checkURL := "http://" + policiesAddr + "/v1/tenants/" + tenant + "/check"
	var d struct{ Allowed bool }
	if err := c.postTo(checkURL, `{"subject":"user-x","action":"lag.read","scope":"/lag"}`, &d); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	lags := make([]time.Duration, 0, o.changes)
	for i, user := range users {
		if ctx.Err() != nil {
			break
		}
		check := fmt.Sprintf(`{"subject":"user-%s","action":"lag.read","scope":"/lag/%d"}`, user, i)
		begin := time.Now()
		if err := c.post("/groups/"+group.ID+"/members", `{"subjectIds":["user-`+user+`"]}`, nil); err != nil {
			return err
		}
		for {
			if err := c.postTo(checkURL, check, &d); err != nil {
				return err
			}
			if d.Allowed {
				break
			}
			if time.Since(begin) > 10*time.Second {
				return fmt.Errorf("membership %d not reflected after 10s", i)
			}
			time.Sleep(time.Millisecond)
		}
		lags = append(lags, time.Since(begin))
	}
	fmt.Printf("membership added in iam-subjects -> check allowed in iam-policies (%d changes): p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
		len(lags), benchkit.Ms(benchkit.Percentile(lags, 50)), benchkit.Ms(benchkit.Percentile(lags, 99)), benchkit.Ms(benchkit.Percentile(lags, 100)))
	return nil
}

// printConsumerMetrics prints the subjects consumer's counters from iam-policies' metrics.
func printConsumerMetrics(url string) {
	resp, err := http.Get(url)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	values := map[string]string{}
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.Contains(line, `consumer="iam-policies-subjects"`) || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		if _, value, ok := strings.Cut(rest, "} "); ok && !strings.Contains(rest, "le=") {
			values[name] = value
		}
	}
	if len(values) == 0 {
		return
	}
	fmt.Printf("iam-policies-subjects metrics: applied %s, batches %s (%s events in them), lag %s, dead letters %s\n",
		or(values["iam_consumer_applied_events_total"]), or(values["iam_consumer_batch_size_count"]),
		or(values["iam_consumer_batch_size_sum"]), or(values["iam_consumer_lag"]), or(values["iam_consumer_dead_letters_total"]))
}

func or(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// client calls the platform's API with an admin token.
type client struct {
	hc          *http.Client
	base, token string
}

func (c *client) grant(subject, scope, action string) error {
	return c.post("/policies", fmt.Sprintf(`{"subject":%q,"scope":%q,"action":%q}`, subject, scope, action), nil)
}

func (c *client) post(path, body string, out any) error { return c.postTo(c.base+path, body, out) }

func (c *client) postTo(url, body string, out any) error {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
