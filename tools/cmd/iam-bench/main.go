// Command iam-bench measures the figures the README quotes, on a throwaway platform it
// starts itself (the same devstack `make dev` runs):
//
//   - token issuance: client_credentials requests per second, with p50/p99 latency, for
//     -concurrency workers over -duration, straight to oauth-clients and through the gateway;
//   - propagation: how long after a client is created it is visible as a subject in
//     iam-subjects (oauth-clients -> outbox -> NATS -> iam-subjects view), p50/p99 over -clients.
//
// PostgreSQL: $DATABASE_URL (a server URL; databases are created and dropped) or a
// private cluster in a temporary directory. NATS: embedded.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/iamplane/iam/tools/benchkit"
)

func main() {
	concurrency := flag.Int("concurrency", 16, "token workers")
	duration := flag.Duration("duration", 10*time.Second, "token load duration")
	clients := flag.Int("clients", 200, "clients created for the propagation measurement")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *concurrency, *duration, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "iam-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, concurrency int, duration time.Duration, nClients int) error {
	stack, err := benchkit.Start(ctx, "iam-bench")
	if err != nil {
		return err
	}
	defer stack.Close()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}, Timeout: 10 * time.Second}
	admin, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	id, secret, err := benchkit.CreateClient(hc, stack.URL, admin, "bench", "bench client", "iam.client_read")
	if err != nil {
		return err
	}
	fmt.Printf("token issuance, client_credentials with a generated secret, %d workers, %s each\n", concurrency, duration)
	for _, target := range []struct{ name, base string }{
		{"oauth-clients direct", "http://" + stack.Addrs["oauth-clients"]},
		{"through the gateway", stack.URL},
	} {
		n, lat, errs := load(ctx, hc, concurrency, duration, func() error {
			_, err := token(hc, target.base, "bench", id, secret)
			return err
		})
		fmt.Printf("  %-22s %8.0f tokens/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", target.name,
			float64(n)/duration.Seconds(), benchkit.Ms(benchkit.Percentile(lat, 50)), benchkit.Ms(benchkit.Percentile(lat, 99)), errs)
	}

	fmt.Printf("propagation, create client -> visible in iam-subjects (%d clients, one at a time)\n", nClients)
	lags := make([]time.Duration, 0, nClients)
	for i := 0; i < nClients && ctx.Err() == nil; i++ {
		start := time.Now()
		cid, _, err := benchkit.CreateClient(hc, stack.URL, admin, "bench", "bench client", "iam.client_read")
		if err != nil {
			return err
		}
		created := time.Now()
		for {
			resp, err := get(hc, stack.URL+"/v1/tenants/bench/subjects/client-"+cid, admin)
			if err == nil && resp == http.StatusOK {
				break
			}
			if time.Since(start) > 10*time.Second {
				return fmt.Errorf("client %s not visible after 10s", cid)
			}
			time.Sleep(500 * time.Microsecond)
		}
		lags = append(lags, time.Since(created))
	}
	fmt.Printf("  lag after the create answered: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
		benchkit.Ms(benchkit.Percentile(lags, 50)), benchkit.Ms(benchkit.Percentile(lags, 99)), benchkit.Ms(benchkit.Percentile(lags, 100)))
	return nil
}

// load runs f from n workers for d and returns the count of successes, their latencies
// and the count of failures.
func load(ctx context.Context, _ *http.Client, n int, d time.Duration, f func() error) (int, []time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	failures := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			bad := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				if err := f(); err != nil {
					bad++
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all, failures = append(all, lat...), failures+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return len(all), all, failures
}

func token(hc *http.Client, base, tenant, id, secret string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/tenants/"+tenant+"/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token: status %d %v", resp.StatusCode, err)
	}
	return body.AccessToken, nil
}

func get(hc *http.Client, u, bearer string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
