// Command ledger-bench measures the consent service's privacy ledger at size: it seeds one
// tenant with -events ledger events (default 10,000,000) spread over -subjects subjects
// and a year, then times `GET /privacy-ledger?subject=&from=&to=` (one subject's events in a
// 30-day window) over HTTP on the real stack.
//
// Seeding writes the ledger table directly (the hash chain is not what is measured).
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
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/iamplane/iam/tools/benchkit"
)

func main() {
	nEvents := flag.Int("events", 10_000_000, "ledger events to seed")
	nSubjects := flag.Int("subjects", 100_000, "subjects the events belong to")
	requests := flag.Int("requests", 2000, "requests to time")
	concurrency := flag.Int("concurrency", 2, "concurrent requests")
	flag.Parse()
	// SIGTERM too, so a stopped run still drops its databases.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *nEvents, *nSubjects, *requests, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "ledger-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, nEvents, nSubjects, requests, concurrency int) error {
	stack, err := benchkit.Start(ctx, "ledger-bench")
	if err != nil {
		return err
	}
	defer stack.Close()
	db, err := sqlx.Open("postgres", stack.Databases["consent"])
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	// Events one second apart, starting a year ago, round-robin over the subjects.
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`
		INSERT INTO privacy_ledger (tenant, seq, type, subject, occurred_at, prev_hash, hash)
		SELECT 'bench', n, CASE WHEN n %% 3 = 0 THEN 'consent_revoked' ELSE 'consent_granted' END,
		       'user-u' || (n %% %d), now() - interval '365 days' + n * (interval '365 days' / %d), '', md5(n::text)
		FROM generate_series(1, %d) n`, nSubjects, nEvents, nEvents)); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE privacy_ledger`); err != nil {
		return err
	}
	fmt.Printf("seeded %d ledger events for %d subjects in %s\n", nEvents, nSubjects, time.Since(start).Round(time.Second))

	token, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	base := "http://" + stack.Addrs["consent"] + "/v1/tenants/bench/privacy-ledger"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for range jobs {
				from := time.Now().Add(-time.Duration(30+r.IntN(300)) * 24 * time.Hour)
				q := url.Values{"subject": {fmt.Sprintf("user-u%d", r.IntN(nSubjects))},
					"from": {from.Format(time.RFC3339)}, "to": {from.Add(30 * 24 * time.Hour).Format(time.RFC3339)}}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"?"+q.Encode(), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				lat = append(lat, time.Since(t))
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < requests && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("GET /privacy-ledger?subject&from&to (30 days), %d requests, %d concurrent: p50 %.2f ms  p99 %.2f ms\n",
		requests, concurrency, benchkit.Ms(benchkit.Percentile(lat, 50)), benchkit.Ms(benchkit.Percentile(lat, 99)))
	return nil
}
