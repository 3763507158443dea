// Command revocation-bench measures how fast a revocation reaches every service: it
// starts a throwaway platform (all four services, real PostgreSQL and NATS), and for each
// of -revocations tokens of a services.iam client it has every service accept the token
// (so it sits in their verified-token caches), revokes it and times from the revocation's
// answer until every service answers 401 to it. Each service is polled on its own
// address, every -poll. With -kind token the revocation is POST /oauth2/revoke (its event
// is expedited by oauth-clients, then relayed from the outbox); with -kind secret the
// token was issued with a secret of its own, which is deleted (DELETE
// /clients/{id}/secrets/{secretId}: the secret's tombstone, through the outbox relay);
// with -kind client the token's client is deleted (DELETE /clients/{id}: the client's
// tombstone, through the outbox relay).
// Either way the event goes through JetStream to each service's ordered consumer into its
// deny set. -load N runs N workers that get tokens and read with them through the
// gateway meanwhile, so that the figure is taken under load.
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
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/tools/benchkit"
)

func main() {
	n := flag.Int("revocations", 200, "tokens to revoke")
	poll := flag.Duration("poll", time.Millisecond, "how often each service is asked whether it still accepts the token")
	kind := flag.String("kind", "token", "what is revoked: token (POST /oauth2/revoke), secret (the secret the token was issued with) or client (the token's client, deleted)")
	load := flag.Int("load", 0, "workers getting tokens and reading with them through the gateway meanwhile")
	flag.Parse()
	if *kind != "token" && *kind != "secret" && *kind != "client" {
		fmt.Fprintln(os.Stderr, "revocation-bench: -kind is token, secret or client")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *poll, *kind, *load); err != nil {
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

func run(ctx context.Context, n int, poll time.Duration, kind string, load int) error {
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
	// A plain subscription sees each revocation event as it reaches NATS: the split
	// between the publication's share and the services' consumers'. It sees a revocation
	// twice (expedited, then relayed; JetStream stores it once): the first counts.
	nc, err := nats.Connect(stack.NATS.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	var (
		seenMu sync.Mutex
		seen   = map[string][]time.Time{}
	)
	subject := "iam." + tenant + ".clients.revocation.*"
	switch kind {
	case "secret":
		subject = "iam." + tenant + ".clients.clientsecret.*"
	case "client":
		subject = "iam." + tenant + ".clients.client.*"
	}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		now := time.Now()
		seenMu.Lock()
		key := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		seen[key] = append(seen[key], now)
		seenMu.Unlock()
	})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		return err
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var loadDone sync.WaitGroup
	var loadOps, loadErrs atomic.Int64
	for range load {
		loadDone.Add(1)
		go func() {
			defer loadDone.Done()
			for loadCtx.Err() == nil {
				token, err := benchkit.Token(stack.URL, tenant, id, secret)
				if err != nil || getVia(stack.URL, reads["iam-subjects"], token) != http.StatusOK {
					loadErrs.Add(1)
					continue
				}
				loadOps.Add(1)
			}
		}()
	}
	loadStart := time.Now()
	fmt.Printf("platform up; revoking %d %ss, polling every %s, %d load workers\n", n, kind, poll, load)
	var all, published []time.Duration
	per := map[string][]time.Duration{}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		var token, key string
		var revoke func() error
		switch kind {
		case "token":
			if token, err = benchkit.Token(stack.URL, tenant, id, secret); err != nil {
				return err
			}
			key = jti(token)
			revoke = func() error { return revokeToken(stack.URL, id, secret, token) }
		case "secret":
			secretID, value, err := addSecret(stack.URL, admin, id)
			if err != nil {
				return err
			}
			if token, err = benchkit.Token(stack.URL, tenant, id, value); err != nil {
				return err
			}
			key = secretID
			revoke = func() error { return deleteSecret(stack.URL, admin, id, secretID) }
		case "client":
			clientID, value, err := benchkit.CreateClient(hc, stack.URL, admin, tenant, fmt.Sprintf("doomed-%d", i), "services.iam")
			if err != nil {
				return err
			}
			if token, err = benchkit.Token(stack.URL, tenant, clientID, value); err != nil {
				return err
			}
			key = clientID
			revoke = func() error { return deleteClient(stack.URL, admin, clientID) }
		}
		for service, path := range reads {
			if status := get(stack.Addrs[service], path, token); status != http.StatusOK {
				return fmt.Errorf("%s refuses a fresh token: %d", service, status)
			}
		}
		sent := time.Now()
		if err := revoke(); err != nil {
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
		for _, at := range seen[key] {
			if !at.Before(sent) {
				published = append(published, at.Sub(answered))
				break
			}
		}
		delete(seen, key)
		seenMu.Unlock()
	}
	loadElapsed := time.Since(loadStart)
	stopLoad()
	loadDone.Wait()
	fmt.Printf("revocation answered -> refused by every service (%d %s revocations): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		len(all), kind, benchkit.Ms(benchkit.Percentile(all, 50)), benchkit.Ms(benchkit.Percentile(all, 99)), benchkit.Ms(benchkit.Percentile(all, 100)))
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
	if load > 0 {
		secs := loadElapsed.Seconds()
		fmt.Printf("  load: %d workers, %.0f token+read pairs/s through the gateway (%d failed)\n", load, float64(loadOps.Load())/secs, loadErrs.Load())
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

func get(addr, path, token string) int { return getVia("http://"+addr, path, token) }

func getVia(base, path, token string) int {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func revokeToken(base, id, secret, token string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/tenants/"+tenant+"/oauth2/revoke",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return expect(req, http.StatusOK, nil)
}

// addSecret adds a generated secret to the client, as admin: its id and value.
func addSecret(base, admin, clientID string) (id, value string, err error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/tenants/"+tenant+"/clients/"+clientID+"/secrets", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	var s struct {
		SecretID string `json:"secretId"`
		Value    string `json:"value"`
	}
	err = expect(req, http.StatusCreated, &s)
	return s.SecretID, s.Value, err
}

func deleteSecret(base, admin, clientID, secretID string) error {
	req, _ := http.NewRequest(http.MethodDelete, base+"/v1/tenants/"+tenant+"/clients/"+clientID+"/secrets/"+secretID, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	return expect(req, http.StatusNoContent, nil)
}

func deleteClient(base, admin, clientID string) error {
	req, _ := http.NewRequest(http.MethodDelete, base+"/v1/tenants/"+tenant+"/clients/"+clientID, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	return expect(req, http.StatusNoContent, nil)
}

func expect(req *http.Request, status int, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}
