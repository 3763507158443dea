// Command iam-faults runs the fault suite (`make test-faults`): each scenario starts the
// platform as separate processes on a private PostgreSQL and an embedded NATS, writes
// through the HTTP API, injects a fault and waits for every view to converge. It prints a
// table of the figures and exits non-zero if a write was lost, a view still differs, or a
// scenario did not converge within -bound.
//
//	go run ./tools/cmd/iam-faults                         # every scenario, 60 s outages
//	go run ./tools/cmd/iam-faults -only 1 -writes 10000   # the figure: 10,000 writes queued behind a 60 s NATS outage
//	go run ./tools/cmd/iam-faults -only 2,kill-services -outage 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/iamplane/iam/tools/faults"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iam-faults:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("iam-faults", flag.ContinueOnError)
	only := fs.String("only", "", "scenarios to run, by number or name, comma-separated (default all)")
	outage := fs.Duration("outage", 60*time.Second, "length of each outage")
	writes := fs.Int("writes", 0, "writes per scenario (default: each scenario's own, 1,000-1,500)")
	bound := fs.Duration("bound", 120*time.Second, "longest a scenario may take to converge after its fault")
	repo := fs.String("repo", ".", "the repository (go.work) to build the services from")
	keep := fs.Bool("keep", false, "keep the scenarios' directories (databases, logs)")
	reconcile := fs.Duration("reconcile-interval", 5*time.Second, "the services' IAM_RECONCILE_INTERVAL (the redelivery scenario runs with 10m)")
	verbose := fs.Bool("v", false, "report every 5 s how a wait for convergence goes (dry runs, consumers)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "workload seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scenarios, err := faults.Select(*only)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*repo, "go.work")); err != nil {
		return fmt.Errorf("-repo %s is not the repository: %w", *repo, err)
	}
	dir, err := faults.MakeDir()
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(out, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	start := time.Now()
	s := &faults.Suite{Dir: dir, Bins: filepath.Join(dir, "bin"), Outage: *outage, Writes: *writes, Bound: *bound,
		Seed: *seed, Out: out, Verbose: *verbose,
		ReconcileInterval: *reconcile}
	fmt.Fprintf(out, "building the services into %s ...\n", s.Bins)
	if err := faults.Build(ctx, *repo, s.Bins); err != nil {
		return err
	}
	fmt.Fprintf(out, "built in %s; outage %s, convergence bound %s, seed %d\n", time.Since(start).Round(time.Second), *outage, *bound, *seed)
	var results []*faults.Result
	failed := 0
	for _, sc := range scenarios {
		if ctx.Err() != nil {
			break
		}
		r := s.RunScenario(ctx, sc)
		results = append(results, r)
		if !r.Passed() {
			failed++
		}
	}
	fmt.Fprintln(out)
	faults.Table(out, results)
	fmt.Fprintf(out, "\nsuite took %s\n", time.Since(start).Round(time.Second))
	if failed > 0 {
		return fmt.Errorf("%d of %d scenarios failed", failed, len(results))
	}
	return ctx.Err()
}
