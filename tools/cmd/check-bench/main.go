// Command check-bench measures iam-policies' hot path on the real stack:
//
//   - the check index: how long the tenant's takes to load and its memory (its own
//     estimate, iam_check_index_bytes, and what the heap grew by while it loaded);
//   - check throughput and latency, from the loaded index: POST /check, half for random (user, action, scope), half
//     for questions a seeded policy allows (a denial is reported as a wrong answer), against a
//     tenant seeded with -users users, -groups groups nested in chains of five (each user in
//     one group) and -policies policies on scopes /res/<n>, from -concurrency workers for
//     -duration;
//   - propagation: a membership added in iam-subjects, until a check that depends on it is
//     allowed in iam-policies (outbox -> NATS -> view -> check), over -changes changes.
//
// Seeding writes iam-policies' views and policies directly, with the invariants its
// consumer keeps (closure rows). PostgreSQL: $DATABASE_URL or a private cluster.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iamplane/iam/tools/benchkit"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

const tenant = "bench"

// profile, when set, receives a CPU profile of the check load.
var profile io.Writer

func main() {
	users := flag.Int("users", 100_000, "users")
	groups := flag.Int("groups", 10_000, "groups (a multiple of 5)")
	nPolicies := flag.Int("policies", 1_000_000, "policies")
	concurrency := flag.Int("concurrency", 8, "check workers")
	duration := flag.Duration("duration", 10*time.Second, "check load duration")
	changes := flag.Int("changes", 100, "membership changes timed end to end")
	perPath := flag.Int("per-path", 50, "policies on each (scope path, action): 50 makes the index's arrays long, 1 gives every policy a path of its own (the index's largest form)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the check load (the services run in this process)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		profile = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *users, *groups, *nPolicies, *nPolicies / *perPath, *concurrency, *duration, *changes); err != nil {
		fmt.Fprintln(os.Stderr, "check-bench:", err)
		os.Exit(1)
	}
}

// run seeds nPolicies policies on nPaths scope paths (/res/0 .. /res/<nPaths-1>) and
// measures.
func run(ctx context.Context, nUsers, nGroups, nPolicies, nPaths, concurrency int, duration time.Duration, changes int) error {
	stack, err := benchkit.Start(ctx, "check-bench")
	if err != nil {
		return err
	}
	defer stack.Close()
	db, err := sqlx.Open("postgres", stack.Databases["iam-policies"])
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := seed(ctx, db, nUsers, nGroups, nPolicies, nPaths); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("seeded %d users, %d groups (chains of 5), %d policies in %s\n", nUsers, nGroups, nPolicies, time.Since(start).Round(time.Second))

	token, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}, Timeout: 10 * time.Second}
	checkURL := "http://" + stack.Addrs["iam-policies"] + "/v1/tenants/" + tenant + "/check"
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
	}
	// The first check loads the tenant's index in the background (checks meanwhile query
	// the database); the load is timed once it serves.
	heapBefore := liveHeap()
	metricsURL := "http://" + stack.Addrs["iam-policies"] + "/metrics"
	indexStart := time.Now()
	if err := post(hc, checkURL, token, `{"subject":"user-u1","action":"act0","scope":"/res/0"}`, nil); err != nil {
		return err
	}
	for n, _ := gauge(metricsURL, "iam_check_index_tenants"); n < 1; n, _ = gauge(metricsURL, "iam_check_index_tenants") {
		if time.Since(indexStart) > 5*time.Minute {
			return fmt.Errorf("the check index did not load within 5 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	indexLoaded := time.Since(indexStart)
	heapGrowth := int64(liveHeap()) - int64(heapBefore)
	estimate, err := gauge(metricsURL, "iam_check_index_bytes")
	if err != nil {
		return err
	}
	fmt.Printf("check index loaded in %s: %.1f MB estimated (iam_check_index_bytes), heap grew %.1f MB: %.0f bytes a policy\n",
		indexLoaded.Round(time.Millisecond), estimate/1e6, float64(heapGrowth)/1e6, estimate/float64(nPolicies))
	var mu sync.Mutex
	var total, allowed int
	lat, failed := load(ctx, concurrency, duration, func(r *rand.Rand) error {
		// Half the questions are random (almost all denied); half follow a seeded policy
		// down to a user it reaches (allowed, usually through a chain of groups), and
		// a denial of one of those is a wrong answer.
		body, mustAllow := fmt.Sprintf(`{"subject":"user-u%d","action":"act%d","scope":"/res/%d/items/%d"}`,
			1+r.IntN(nUsers), r.IntN(20), r.IntN(nPaths), r.IntN(100)), false
		if r.IntN(2) == 0 {
			body, mustAllow = allowedQuestion(r, nUsers, nGroups, nPolicies, nPaths), true
		}
		var d struct{ Allowed bool }
		if err := post(hc, checkURL, token, body, &d); err != nil {
			return err
		}
		if mustAllow && !d.Allowed {
			return fmt.Errorf("wrong answer: %s denied", body)
		}
		mu.Lock()
		total++
		if d.Allowed {
			allowed++
		}
		mu.Unlock()
		return nil
	})
	if profile != nil {
		pprof.StopCPUProfile()
	}
	fmt.Printf("POST /check, %d workers for %s: %.0f checks/s  p50 %.2f ms  p99 %.2f ms  (%d%% allowed)\n",
		concurrency, duration, float64(len(lat))/duration.Seconds(), benchkit.Ms(benchkit.Percentile(lat, 50)), benchkit.Ms(benchkit.Percentile(lat, 99)), 100*allowed/max(total, 1))
	if failed > 0 {
		return fmt.Errorf("%d checks failed or answered wrongly", failed)
	}

	// Propagation: user and group made through iam-subjects' API, policy on the group.
	base := stack.URL + "/v1/tenants/" + tenant
	var lags []time.Duration
	for i := 0; i < changes && ctx.Err() == nil; i++ {
		var user, group struct {
			ID string `json:"id"`
		}
		if err := post(hc, base+"/users", token, fmt.Sprintf(`{"username":"prop%d"}`, i), &user); err != nil {
			return err
		}
		if err := post(hc, base+"/groups", token, fmt.Sprintf(`{"displayName":"prop group %d"}`, i), &group); err != nil {
			return err
		}
		if err := post(hc, base+"/policies", token, fmt.Sprintf(`{"subject":"group-%s","scope":"/prop/%d","action":"prop.read"}`, group.ID, i), nil); err != nil {
			return err
		}
		check := fmt.Sprintf(`{"subject":"user-%s","action":"prop.read","scope":"/prop/%d"}`, user.ID, i)
		begin := time.Now()
		if err := post(hc, base+"/groups/"+group.ID+"/members", token, fmt.Sprintf(`{"subjectIds":["user-%s"]}`, user.ID), nil); err != nil {
			return err
		}
		for {
			var d struct{ Allowed bool }
			if err := post(hc, checkURL, token, check, &d); err != nil {
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
	fmt.Printf("membership added in iam-subjects -> check allowed in iam-policies (%d changes): p50 %.2f ms  p99 %.2f ms\n",
		len(lags), benchkit.Ms(benchkit.Percentile(lags, 50)), benchkit.Ms(benchkit.Percentile(lags, 99)))
	return nil
}

// allowedQuestion follows seeded policy n (see seed) to a user it reaches: the policy's
// own user, or a user in the bottom group of the policy group's chain.
func allowedQuestion(r *rand.Rand, nUsers, nGroups, nPolicies, nPaths int) string {
	n := 1 + r.IntN(nPolicies)
	user := 1 + (n*7)%nUsers
	if n%5 != 0 {
		group := 1 + (n*13)%nGroups
		chain, chains := (group-1)/5, nGroups/5 // the chain's bottom group is 5*(chain+1)
		// Users u with u % chains == chain sit in that bottom group.
		user = chain + chains*r.IntN((nUsers-chain)/chains+1)
		for user < 1 || user > nUsers {
			user = chain + chains*r.IntN((nUsers-chain)/chains+1)
		}
	}
	return fmt.Sprintf(`{"subject":"user-u%d","action":"act%d","scope":"/res/%d/items/%d"}`, user, n%20, n%nPaths, r.IntN(100))
}

// seed writes the views iam-policies keeps from events, and policies.
func seed(ctx context.Context, db *sqlx.DB, nUsers, nGroups, nPolicies, nPaths int) error {
	r := strings.NewReplacer("$U", fmt.Sprint(nUsers), "$G", fmt.Sprint(nGroups), "$P", fmt.Sprint(nPolicies), "$R", fmt.Sprint(nPaths))
	for i, s := range []string{
		`INSERT INTO subject_view (tenant, subject, display_name) SELECT 'bench', 'user-u' || n, 'User ' || n FROM generate_series(1, $U) n`,
		`INSERT INTO subject_view (tenant, subject, display_name) SELECT 'bench', 'group-g' || n, 'Group ' || n FROM generate_series(1, $G) n`,
		`INSERT INTO group_closure (tenant, ancestor, descendant, paths) SELECT 'bench', 'g' || n, 'g' || n, 1 FROM generate_series(1, $G) n`,
		`INSERT INTO membership_view (tenant, group_id, member) SELECT 'bench', 'g' || n, 'group-g' || (n + 1) FROM generate_series(1, $G) n WHERE n % 5 <> 0`,
		`INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		 SELECT 'bench', 'g' || i, 'g' || (i + d), 1 FROM generate_series(1, $G) i, generate_series(1, 4) d WHERE (i - 1) / 5 = (i + d - 1) / 5`,
		// Each user in one group at the bottom of a chain, so it inherits through five levels.
		`INSERT INTO membership_view (tenant, group_id, member) SELECT 'bench', 'g' || (5 * (1 + n % ($G / 5))), 'user-u' || n FROM generate_series(1, $U) n`,
		// Policies: on groups (80%) and users (20%), 20 actions, scopes /res/<n>.
		`INSERT INTO policies (tenant, id, subject, scope, action, resource_type)
		 SELECT 'bench', gen_random_uuid(),
		        CASE WHEN n % 5 = 0 THEN 'user-u' || (1 + (n * 7) % $U) ELSE 'group-g' || (1 + (n * 13) % $G) END,
		        '/res/' || (n % $R), 'act' || (n % 20), 'res'
		 FROM generate_series(1, $P) n ON CONFLICT DO NOTHING`,
		`ANALYZE`,
	} {
		if _, err := db.ExecContext(ctx, r.Replace(s)); err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
	}
	return nil
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// gauge reads an unlabelled gauge from a Prometheus text exposition.
func gauge(url, name string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", name, url)
}

func post(hc *http.Client, url, token, body string, out any) error {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
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

// load runs f from n workers for d; it returns the latencies of the calls that succeeded
// and how many failed (each failure is printed).
func load(ctx context.Context, n int, d time.Duration, f func(*rand.Rand) error) ([]time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	failed := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				if err := f(r); err != nil {
					fmt.Fprintln(os.Stderr, err)
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, failed
}
