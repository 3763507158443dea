// Command signin-bench measures how fast people sign in, on a throwaway platform (all four
// services and the gateway, a real PostgreSQL, an embedded NATS):
//   - the whole browserless flow with a password: authorize -> login page -> password
//     (argon2id) -> consent page -> code -> token exchange, each with a fresh browser;
//   - the same flow with a login session and consent already given (no page shown);
//   - code exchange alone (authorization_code grant), on codes made just before;
//   - refresh alone (refresh_token grant with rotation), each worker on its own family;
//   - client_credentials, for comparison.
//
// The flows go through the gateway as a browser's would; the token endpoint alone
// (exchange, refresh, client_credentials) is called straight at oauth-clients, as
// iam-bench's direct figure.
//
// Usage: go run ./tools/cmd/signin-bench [-concurrency 8] [-seconds 10] [-codes 4000] [-cpuprofile f]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iamplane/iam/tools/benchkit"
)

func main() {
	concurrency := flag.Int("concurrency", 8, "concurrent browsers / clients")
	seconds := flag.Int("seconds", 10, "duration of each timed phase")
	codes := flag.Int("codes", 4000, "codes to exchange in the code-exchange phase")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (platform and load) to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "signin-bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*concurrency, time.Duration(*seconds)*time.Second, *codes); err != nil {
		fmt.Fprintln(os.Stderr, "signin-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// hc is the load's HTTP client: enough idle connections for every worker.
var hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}

type result struct {
	name      string
	n         int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) print() {
	fmt.Printf("%-34s %7d in %5.1fs  %8.1f/s  p50 %7.2f ms  p99 %7.2f ms\n", r.name, r.n, r.elapsed.Seconds(),
		float64(r.n)/r.elapsed.Seconds(), benchkit.Ms(benchkit.Percentile(r.latencies, 50)), benchkit.Ms(benchkit.Percentile(r.latencies, 99)))
}

// timed runs work on concurrency workers for d (or until work reports it found nothing to
// do) and collects the latency of each call that did something.
func timed(name string, concurrency int, d time.Duration, work func(worker int) (bool, error)) (result, error) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
		stop      atomic.Bool
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for !stop.Load() && time.Now().Before(deadline) {
				t := time.Now()
				did, err := work(w)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					stop.Store(true)
					break
				}
				if !did {
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{name: name, n: len(latencies), elapsed: time.Since(start), latencies: latencies}, firstErr
}

func run(concurrency int, d time.Duration, codes int) error {
	ctx := context.Background()
	p, err := benchkit.Start(ctx, "signin-bench")
	if err != nil {
		return err
	}
	defer p.Close()
	admin, err := benchkit.Token(p.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	app, err := benchkit.NewApp(hc, p.URL, admin, "bench", "https://app.bench/callback", concurrency)
	if err != nil {
		return err
	}
	fmt.Printf("signin-bench: %d concurrent browsers, %s per phase; flows through the gateway %s, the token endpoint alone straight at oauth-clients\n", concurrency, d, p.URL)

	// Every worker is one person; its first sign-in gives the consent, which later flows reuse.
	browsers := make([]*benchkit.Browser, concurrency)
	signIn := func(b *benchkit.Browser, person benchkit.Person) (string, benchkit.Attempt, error) {
		at := benchkit.NewAttempt()
		back, err := b.SignIn(ctx, app.AuthorizeURL(at, nil), app.RedirectURI, person)
		if err != nil {
			return "", at, err
		}
		code := back.Query().Get("code")
		if code == "" {
			return "", at, fmt.Errorf("no code: %s", back)
		}
		return code, at, nil
	}
	// The token endpoint is measured straight at oauth-clients, as the machine path is
	// (iam-bench): what the gateway adds is the gateway's (issue 20).
	direct := *app
	direct.Base = "http://" + p.Addrs["oauth-clients"]
	exchangeAt := func(a *benchkit.App, code string, at benchkit.Attempt) (benchkit.Tokens, error) {
		tok, status, err := a.Exchange(hc, code, at)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("exchange: status %d %s %s", status, tok.Error, tok.ErrorDescription)
		}
		return tok, err
	}
	exchange := func(code string, at benchkit.Attempt) (benchkit.Tokens, error) { return exchangeAt(app, code, at) }
	for w := range concurrency {
		browsers[w] = benchkit.NewBrowser()
		browsers[w].HTTP.Transport = hc.Transport
		if _, _, err := signIn(browsers[w], app.People[w]); err != nil {
			return err
		}
	}

	full, err := timed("flow with password (fresh browser)", concurrency, d, func(w int) (bool, error) {
		b := benchkit.NewBrowser()
		b.HTTP.Transport = hc.Transport
		code, at, err := signIn(b, app.People[w])
		if err != nil {
			return false, err
		}
		_, err = exchange(code, at)
		return true, err
	})
	if err != nil {
		return err
	}
	full.print()
	session, err := timed("flow with session (no page shown)", concurrency, d, func(w int) (bool, error) {
		code, at, err := signIn(browsers[w], app.People[w])
		if err != nil {
			return false, err
		}
		_, err = exchange(code, at)
		return true, err
	})
	if err != nil {
		return err
	}
	session.print()
	fmt.Printf("%-34s %7.2f ms per sign-in (p50 difference: the password check, mostly argon2id)\n", "password cost",
		benchkit.Ms(benchkit.Percentile(full.latencies, 50)-benchkit.Percentile(session.latencies, 50)))

	// Codes live 60 s: make them in batches and exchange each batch at once.
	type pending struct {
		code string
		at   benchkit.Attempt
	}
	var exchanges result
	exchanges.name = "code exchange"
	var families []string
	for made := 0; made < codes; {
		batch := min(1000, codes-made)
		queue := make(chan pending, batch)
		var next atomic.Int64
		if _, err := timed("", concurrency, time.Minute, func(w int) (bool, error) {
			if next.Add(1) > int64(batch) {
				return false, nil
			}
			code, at, err := signIn(browsers[w], app.People[w])
			queue <- pending{code, at}
			return true, err
		}); err != nil {
			return err
		}
		close(queue)
		var mu sync.Mutex
		r, err := timed("", concurrency, time.Minute, func(int) (bool, error) {
			c, ok := <-queue
			if !ok {
				return false, nil
			}
			tok, err := exchangeAt(&direct, c.code, c.at)
			if err == nil && tok.RefreshToken != "" {
				mu.Lock()
				families = append(families, tok.RefreshToken)
				mu.Unlock()
			}
			return true, err
		})
		if err != nil {
			return err
		}
		exchanges.n += r.n
		exchanges.elapsed += r.elapsed
		exchanges.latencies = append(exchanges.latencies, r.latencies...)
		made += batch
	}
	exchanges.print()

	if len(families) < concurrency {
		return fmt.Errorf("only %d refresh tokens for %d workers", len(families), concurrency)
	}
	// Each worker refreshes its share of the families in turn, as many people's apps
	// would: a family keeps at most tokens.MaxLiveAccessTokens unexpired access tokens, so
	// one family refreshed in a loop is refused after a hundred refreshes.
	next := make([]int, concurrency)
	for w := range next {
		next[w] = w
	}
	refresh, err := timed("refresh (rotation)", concurrency, d, func(w int) (bool, error) {
		i := next[w]
		next[w] = (i + concurrency) % (len(families) - len(families)%concurrency)
		tok, status, err := direct.Refresh(hc, families[i])
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("refresh: status %d %s %s", status, tok.Error, tok.ErrorDescription)
		}
		families[i] = tok.RefreshToken
		return true, err
	})
	if err != nil {
		return err
	}
	refresh.print()

	id, secret, err := benchkit.CreateClient(hc, p.URL, admin, "bench", "machine")
	if err != nil {
		return err
	}
	machine, err := timed("client_credentials (machine path)", concurrency, d, func(int) (bool, error) {
		_, err := benchkit.Token(direct.Base, "bench", id, secret)
		return true, err
	})
	if err != nil {
		return err
	}
	machine.print()
	return nil
}
