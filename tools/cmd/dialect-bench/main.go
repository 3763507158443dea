// Command dialect-bench measures what a seed dialect costs over the native API for the
// same operation (issue 16 wants at most 10 %): it starts a throwaway platform (benchkit),
// prepares one entity, then times the operation through the gateway, native and in every
// dialect, interleaved request by request in one run so that all see the same machine,
// and prints percentiles and each dialect's overhead over native.
//
//	go run ./tools/cmd/dialect-bench -op client -requests 3000
//
// PostgreSQL: $DATABASE_URL (a server URL) or a private cluster in a temporary directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/iamplane/iam/tools/benchkit"
)

// variant is one way to call the operation: native or a dialect's path.
type variant struct {
	name, path string
}

// operation prepares what it measures on the platform and names its variants.
type operation func(ctx context.Context, base, systemToken string) (bearer string, variants []variant, err error)

// operations are the measurable operations, by -op.
var operations = map[string]operation{
	"client": getClient,
}

func main() {
	op := flag.String("op", "client", "operation to measure: client (get a client)")
	requests := flag.Int("requests", 2000, "requests per variant")
	warmup := flag.Int("warmup", 200, "unmeasured requests per variant first")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	prepare, ok := operations[*op]
	if !ok {
		fmt.Fprintf(os.Stderr, "dialect-bench: unknown -op %q\n", *op)
		os.Exit(2)
	}
	if err := run(ctx, prepare, *requests, *warmup); err != nil {
		fmt.Fprintln(os.Stderr, "dialect-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, prepare operation, requests, warmup int) error {
	stack, err := benchkit.Start(ctx, "dialect-bench")
	if err != nil {
		return err
	}
	defer stack.Close()
	system, err := benchkit.Token(stack.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	bearer, variants, err := prepare(ctx, stack.URL, system)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	call := func(path string) (time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, stack.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		return took, nil
	}
	took := make([][]time.Duration, len(variants))
	for i := range warmup + requests {
		// Round robin, each round in a rotated order: no variant always goes first.
		for j := range variants {
			k := (i + j) % len(variants)
			d, err := call(variants[k].path)
			if err != nil {
				return err
			}
			if i >= warmup {
				took[k] = append(took[k], d)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Printf("%d requests per variant, interleaved, through the gateway\n", requests)
	fmt.Printf("%-16s %8s %8s %8s %8s %10s\n", "variant", "mean ms", "p50 ms", "p90 ms", "p99 ms", "vs native")
	base := mean(took[0])
	for i, v := range variants {
		m := mean(took[i])
		over := "-"
		if i > 0 {
			over = fmt.Sprintf("%+.1f %%", 100*(float64(m)/float64(base)-1))
		}
		fmt.Printf("%-16s %8.3f %8.3f %8.3f %8.3f %10s\n", v.name, benchkit.Ms(m), benchkit.Ms(benchkit.Percentile(took[i], 50)),
			benchkit.Ms(benchkit.Percentile(took[i], 90)), benchkit.Ms(benchkit.Percentile(took[i], 99)), over)
	}
	return nil
}

func mean(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	var sum time.Duration
	for _, x := range xs {
		sum += x
	}
	return sum / time.Duration(len(xs))
}
