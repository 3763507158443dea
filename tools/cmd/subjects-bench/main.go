// Command subjects-bench measures iam-subjects at scale: it seeds one tenant with
// -users users (default 1,000,000), -groups groups (10,000) nested in chains of five, each
// user in two groups, then times over HTTP, through the platform's real stack:
//
//   - subject search pages (`GET /subjects?searchQuery=`) for name fragments, usernames,
//     last names, first names and two-letter word starts;
//   - transitive group listings of random users (`GET /subjects/user-<id>/groups?transitive=true`);
//   - transitive member listings of random top-level groups (first page).
//
// Seeding writes the tables directly (a million API calls would measure the seeding, not
// the reads) with the same invariants the service keeps (subject index, closure).
// PostgreSQL: $DATABASE_URL (a server URL) or a private cluster in a temporary directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/iamplane/iam/tools/benchkit"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

func main() {
	users := flag.Int("users", 1_000_000, "users to seed")
	groups := flag.Int("groups", 10_000, "groups to seed (a multiple of 5)")
	requests := flag.Int("requests", 2000, "requests per measurement")
	concurrency := flag.Int("concurrency", 2, "concurrent requests")
	keep := flag.Bool("keep", false, "keep the platform running after measuring, until interrupted (to EXPLAIN queries)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *users, *groups, *requests, *concurrency, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "subjects-bench:", err)
		os.Exit(1)
	}
}

const tenant = "bench"

func run(ctx context.Context, nUsers, nGroups, requests, concurrency int, keep bool) error {
	stack, err := benchkit.Start(ctx, "subjects-bench")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("keeping the platform running until interrupted; iam-subjects database:", stack.Databases["iam-subjects"])
	}
	defer stack.Close()
	db, err := sqlx.Open("postgres", stack.Databases["iam-subjects"])
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := seed(ctx, db, nUsers, nGroups); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("seeded %d users, %d groups (chains of 5), %d memberships in %s\n", nUsers, nGroups, 2*nUsers+nGroups*4/5, time.Since(start).Round(time.Second))

	token, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	var userIDs []string
	if err := db.Select(&userIDs, `SELECT id FROM subjects WHERE tenant = $1 AND type = 'User' ORDER BY random() LIMIT 1000`, tenant); err != nil {
		return err
	}
	base := "http://" + stack.Addrs["iam-subjects"] + "/v1/tenants/" + tenant
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}, Timeout: 30 * time.Second}
	measure := func(name string, path func(r *rand.Rand) string) error {
		lat, err := load(ctx, hc, token, requests, concurrency, func(r *rand.Rand) string { return base + path(r) })
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("  %-52s p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d concurrent)\n", name, benchkit.Ms(benchkit.Percentile(lat, 50)), benchkit.Ms(benchkit.Percentile(lat, 99)), requests, concurrency)
		return nil
	}
	fmt.Println("iam-subjects, straight to the service (HTTP, token verified, real PostgreSQL):")
	for _, m := range []struct {
		name string
		path func(r *rand.Rand) string
	}{
		{"search a name fragment (searchQuery=<first> <last prefix>)", func(r *rand.Rand) string {
			return "/subjects?searchQuery=" + url.QueryEscape(firstNames[r.IntN(len(firstNames))]+" "+prefix(lastNames[r.IntN(len(lastNames))], 3))
		}},
		{"search a username (searchQuery=user<n>)", func(r *rand.Rand) string {
			return "/subjects?searchQuery=user" + fmt.Sprint(1+r.IntN(nUsers))
		}},
		{"search users of one type by name (type=User)", func(r *rand.Rand) string {
			return "/subjects?type=User&searchQuery=" + url.QueryEscape(lastNames[r.IntN(len(lastNames))])
		}},
		// A first name's 38,000 matches sort together, the last ones behind 960,000 others.
		{"search a first name (searchQuery=<first>)", func(r *rand.Rand) string {
			return "/subjects?searchQuery=" + url.QueryEscape(firstNames[r.IntN(len(firstNames))])
		}},
		{"search a word start (searchQuery=<two letters>)", func(r *rand.Rand) string {
			return "/subjects?searchQuery=" + url.QueryEscape(prefix(lastNames[r.IntN(len(lastNames))], 2))
		}},
		{"a user's groups, transitive", func(r *rand.Rand) string {
			return "/subjects/user-" + userIDs[r.IntN(len(userIDs))] + "/groups?transitive=true"
		}},
		{"a top group's members, transitive (first page)", func(r *rand.Rand) string {
			return "/groups/g" + fmt.Sprint(1+5*r.IntN(nGroups/5)) + "/members?transitive=true"
		}},
	} {
		if err := measure(m.name, m.path); err != nil {
			return err
		}
	}
	if keep {
		<-ctx.Done()
	}
	return nil
}

var firstNames = []string{"Anna", "Bjorn", "Carla", "David", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kari", "Lena",
	"Mads", "Nora", "Omar", "Petra", "Quinn", "Rosa", "Sven", "Tara", "Ulla", "Viktor", "Wanda", "Xenia", "Yusuf", "Zofia"}
var lastNames = []string{"Andersen", "Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen",
	"Kowalski", "Larsen", "Moreau", "Nilsen", "Olsen", "Petersen", "Quist", "Rossi", "Schmidt", "Tanaka", "Ueda", "Vidal",
	"Weber", "Xu", "Young", "Zimmermann", "Holm", "Lund", "Strand", "Bakke"}

// seed writes users, groups, memberships, the closure and the subject index the way the
// service would, in bulk.
func seed(ctx context.Context, db *sqlx.DB, nUsers, nGroups int) error {
	stmts := []string{
		`INSERT INTO groups (tenant, id, display_name, name, version, created_at, modified_at)
		 SELECT $1, 'g' || n, 'Group ' || n, jsonb_build_object('en', 'Group ' || n), 1, now(), now() FROM generate_series(1, $3::int) n`,
		`INSERT INTO group_closure (tenant, ancestor, descendant, paths) SELECT $1, 'g' || n, 'g' || n, 1 FROM generate_series(1, $3::int) n`,
		// Chains of five: g1 ⊃ g2 ⊃ g3 ⊃ g4 ⊃ g5, g6 ⊃ ... .
		`INSERT INTO memberships (tenant, group_id, member_type, member_id, sort_name)
		 SELECT $1, 'g' || n, 'Group', 'g' || (n + 1), 'group ' || (n + 1) FROM generate_series(1, $3::int) n WHERE n % 5 <> 0`,
		`INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		 SELECT $1, 'g' || i, 'g' || (i + d), 1 FROM generate_series(1, $3::int) i, generate_series(1, 4) d
		 WHERE (i - 1) / 5 = (i + d - 1) / 5`,
		`INSERT INTO users (tenant, id, user_type, username, email, first_name, last_name, version, created_at, modified_at)
		 SELECT $1, gen_random_uuid(), 'EMPLOYEE', 'user' || n, 'user' || n || '@example.com',
		        (ARRAY['` + join(firstNames) + `'])[1 + n % ` + fmt.Sprint(len(firstNames)) + `],
		        (ARRAY['` + join(lastNames) + `'])[1 + (n / 7) % ` + fmt.Sprint(len(lastNames)) + `], 1, now(), now()
		 FROM generate_series(1, $2::int) n`,
		`INSERT INTO subjects (tenant, type, id, display_name, username, email, search)
		 SELECT tenant, 'User', id::text, first_name || ' ' || last_name, username, email,
		        lower(first_name || ' ' || last_name || ' ' || username || ' ' || email) FROM users WHERE tenant = $1`,
		`INSERT INTO subjects (tenant, type, id, display_name, search)
		 SELECT tenant, 'Group', id, display_name, lower(display_name) FROM groups WHERE tenant = $1`,
		// Every user in two groups, spread over all levels.
		`INSERT INTO memberships (tenant, group_id, member_type, member_id, sort_name)
		 SELECT $1, 'g' || (1 + (h % $3::int)), 'User', id::text, n FROM (SELECT id, abs(hashtext(id::text)) AS h, lower(first_name || ' ' || last_name) AS n FROM users WHERE tenant = $1) u
		 UNION SELECT $1, 'g' || (1 + ((h / 7) % $3::int)), 'User', id::text, n FROM (SELECT id, abs(hashtext(id::text)) AS h, lower(first_name || ' ' || last_name) AS n FROM users WHERE tenant = $1) u
		 ON CONFLICT DO NOTHING`,
		// What autovacuum does after a bulk load: statistics, and the visibility map that
		// lets name-ordered walks read the index alone.
		`VACUUM ANALYZE`,
	}
	for i, s := range stmts {
		s = strings.NewReplacer("$2::int", fmt.Sprint(nUsers), "$3::int", fmt.Sprint(nGroups)).Replace(s)
		var args []any
		if strings.Contains(s, "$1") {
			args = []any{tenant}
		}
		if _, err := db.ExecContext(ctx, s, args...); err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
	}
	return nil
}

func join(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += "','"
		}
		out += x
	}
	return out
}

// load sends n GETs from c workers and returns their latencies; any non-200 is an error.
func load(ctx context.Context, hc *http.Client, token string, n, c int, next func(*rand.Rand) string) ([]time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for range jobs {
				u := next(r)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
					}
				}
				d := time.Since(t)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return lat, firstErr
}

func prefix(s string, n int) string { return s[:min(n, len(s))] }
