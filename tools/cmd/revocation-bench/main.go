// Command revocation-bench measures how fast a revocation reaches every service: it
// starts a throwaway platform (all four services, real PostgreSQL and NATS), and for each
// of -revocations tokens of a services.iam client it has every service accept the token
// (so it sits in their verified-token caches), revokes it (POST /oauth2/revoke) and times
// from the revocation's answer until every service answers 401 to it. Each service is
// polled on its own address, every -poll. The path measured is oauth-clients' outbox,
// the relay, JetStream and each service's ordered consumer into its deny set.
// PostgreSQL: $DATABASE_URL (a server URL) or a private cluster in a temporary directory.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/tools/benchkit"
)

func main() {
	n := flag.Int("revocations", 200, "tokens to revoke")
	poll := flag.Duration("poll", time.Millisecond, "how often each service is asked whether it still accepts the token")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "revocation-bench:", err)
		os.Exit(1)
	}
}

const tenant = "bench"

// reads are one read of each service's resource API, all allowed to services.iam.
var reads = map[string]string{
	"oauth-clients": "/v1/tenants/" + tenant + "/clients?pageSize=10",
	"iam-subjects":  "/v1/tenants/" + tenant + "/users?pageSize=10",
	"iam-policies":  "/v1/tenants/" + tenant + "/policies?pageSize=10",
	"consent":       "/v1/tenants/" + tenant + "/consents?pageSize=10",
}

var hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}

func run(ctx context.Context, n int, poll time.Duration) error {
	stack, err := benchkit.Start(ctx, "revocation-bench")
	if err != nil {
		return err
	}
	defer stack.Close()
	admin, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	id, secret, err := benchkit.CreateClient(hc, stack.URL, admin, tenant, "revocation-bench", "services.iam")
	if err != nil {
		return err
	}
	// A plain subscription sees each revocation event as JetStream stores it: the split
	// between the outbox relay's share and the services' consumers'.
	nc, err := nats.Connect(stack.NATS.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	var (
		seenMu sync.Mutex
		seen   = map[string]time.Time{}
	)
	sub, err := nc.Subscribe("iam."+tenant+".clients.revocation.*", func(m *nats.Msg) {
		seenMu.Lock()
		seen[m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]] = time.Now()
		seenMu.Unlock()
	})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		return err
	}
	fmt.Printf("platform up; revoking %d tokens of a services.iam client, polling every %s\n", n, poll)
	var all, published []time.Duration
	per := map[string][]time.Duration{}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		token, err := benchkit.Token(stack.URL, tenant, id, secret)
		if err != nil {
			return err
		}
		for service, path := range reads {
			if status := get(stack.Addrs[service], path, token); status != http.StatusOK {
				return fmt.Errorf("%s refuses a fresh token: %d", service, status)
			}
		}
		if err := revoke(stack.URL, id, secret, token); err != nil {
			return err
		}
		answered := time.Now()
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			worst time.Duration
			fail  error
		)
		for service, path := range reads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for deadline := answered.Add(10 * time.Second); ; time.Sleep(poll) {
					if get(stack.Addrs[service], path, token) == http.StatusUnauthorized {
						took := time.Since(answered)
						mu.Lock()
						per[service] = append(per[service], took)
						worst = max(worst, took)
						mu.Unlock()
						return
					}
					if time.Now().After(deadline) {
						mu.Lock()
						fail = fmt.Errorf("%s still accepts a revoked token after 10s", service)
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		if fail != nil {
			return fail
		}
		all = append(all, worst)
		seenMu.Lock()
		if at, ok := seen[jti(token)]; ok {
			published = append(published, at.Sub(answered))
		}
		seenMu.Unlock()
	}
	fmt.Printf("revocation answered -> refused by every service (%d revocations): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		len(all), benchkit.Ms(benchkit.Percentile(all, 50)), benchkit.Ms(benchkit.Percentile(all, 99)), benchkit.Ms(benchkit.Percentile(all, 100)))
	fmt.Printf("  %-14s p50 %.2f ms, p99 %.2f ms (answer -> event on NATS, %d seen; negative: published before the answer left)\n", "published",
		benchkit.Ms(benchkit.Percentile(published, 50)), benchkit.Ms(benchkit.Percentile(published, 99)), len(published))
	services := make([]string, 0, len(per))
	for s := range per {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, s := range services {
		fmt.Printf("  %-14s p50 %.2f ms, p99 %.2f ms\n", s, benchkit.Ms(benchkit.Percentile(per[s], 50)), benchkit.Ms(benchkit.Percentile(per[s], 99)))
	}
	return nil
}

// jti reads the token's jti claim.
func jti(token string) string {
	parts := strings.Split(token, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		ID string `json:"jti"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.ID
}

func get(addr, path, token string) int {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func revoke(base, id, secret, token string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/tenants/"+tenant+"/oauth2/revoke",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke: status %d", resp.StatusCode)
	}
	return nil
}
