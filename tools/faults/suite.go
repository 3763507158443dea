// Package faults is the fault suite: each scenario starts its own platform (the four
// services as separate processes, a private PostgreSQL, embedded NATS), drives writes
// through the HTTP API, injects a fault, waits for every view to converge, and reports
// writes attempted and answered 2xx, writes lost at their source, views still differing,
// and the time to converge. tools/cmd/iam-faults runs it (`make test-faults`).
package faults

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Suite is what every scenario shares.
type Suite struct {
	Dir    string        // scenarios' directories are made below it
	Bins   string        // the service binaries (Build)
	Outage time.Duration // length of each outage
	Writes int           // writes per scenario; 0: each scenario's default
	Bound  time.Duration // longest a scenario may take to converge after its fault
	Seed   uint64
	Out    io.Writer // progress
	// ReconcileInterval is the services' IAM_RECONCILE_INTERVAL (scenario 5 sets its own).
	ReconcileInterval time.Duration
	// Verbose reports how each wait for convergence goes, every 5 s.
	Verbose bool
}

// Result is one scenario's figures.
type Result struct {
	N    int
	Name string
	Counts
	Lost      int
	Differing int // summed over the services' last dry runs; -1: some did not answer
	Content   int // view rows that differ from their sources (CompareViews)
	Converged bool
	Converge  time.Duration // from the fault's end to every dry run reporting 0
	Took      time.Duration
	Notes     []string
	Err       error
}

// Passed reports whether the scenario met every bound.
func (r *Result) Passed() bool {
	return r.Err == nil && r.Lost == 0 && r.Differing == 0 && r.Content == 0 && r.Converged
}

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Scenario is one fault.
type Scenario struct {
	N    int
	Name string
	Run  func(ctx context.Context, s *Suite, r *Result) error
}

// Scenarios in the order they run.
var Scenarios = []Scenario{
	{1, "nats-outage", NATSOutage},
	{2, "kill-services", KillServices},
	{3, "consumer-db-down", ConsumerDatabaseDown},
	{4, "postgres-restart", PostgresRestart},
	{5, "redelivery", Redelivery},
	{6, "republish", Republish},
	{7, "restore", Restore},
	{8, "replicas", Replicas},
}

// Select picks scenarios by number or name from a comma-separated list ("" is all).
func Select(only string) ([]Scenario, error) {
	if only == "" {
		return Scenarios, nil
	}
	var out []Scenario
	for _, want := range strings.Split(only, ",") {
		want = strings.TrimSpace(want)
		found := false
		for _, sc := range Scenarios {
			if want == sc.Name || want == fmt.Sprint(sc.N) {
				out, found = append(out, sc), true
			}
		}
		if !found {
			return nil, fmt.Errorf("no scenario %q", want)
		}
	}
	return out, nil
}

// RunScenario runs one scenario and fills its result.
func (s *Suite) RunScenario(ctx context.Context, sc Scenario) *Result {
	r := &Result{N: sc.N, Name: sc.Name}
	start := time.Now()
	s.logf("== %d %s", sc.N, sc.Name)
	r.Err = sc.Run(ctx, s, r)
	r.Took = time.Since(start)
	s.logf("== %d %s: %s in %s", sc.N, sc.Name, map[bool]string{true: "passed", false: "FAILED"}[r.Passed()], r.Took.Round(time.Second))
	for _, n := range r.Notes {
		s.logf("   %s", n)
	}
	if r.Err != nil {
		s.logf("   error: %v", r.Err)
	}
	return r
}

func (s *Suite) logf(format string, args ...any) {
	fmt.Fprintf(s.Out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// writes is the scenario's number of writes: -writes if given, else def.
func (s *Suite) writes(def int) int {
	if s.Writes > 0 {
		return s.Writes
	}
	return def
}

// platform starts a scenario's platform in a directory of its own.
func (s *Suite) platform(ctx context.Context, r *Result, opts Options) (*Platform, error) {
	opts.Dir = filepath.Join(s.Dir, fmt.Sprintf("%d-%s", r.N, r.Name))
	opts.Bins = s.Bins
	if s.ReconcileInterval > 0 {
		env := map[string]string{"IAM_RECONCILE_INTERVAL": s.ReconcileInterval.String()}
		for k, v := range opts.Env {
			env[k] = v
		}
		opts.Env = env
	}
	start := time.Now()
	p, err := Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start platform: %w", err)
	}
	if s.Verbose {
		p.Progress = func(format string, args ...any) { s.logf("   "+format, args...) }
	}
	s.logf("   platform up in %s (%s)", time.Since(start).Round(100*time.Millisecond), opts.Dir)
	return p, nil
}

// finish waits for convergence after the fault ended at faultEnd, then checks the
// sources for lost writes and the views' contents, and notes crashed processes.
func (s *Suite) finish(ctx context.Context, p *Platform, w *Workload, r *Result, faultEnd time.Time) error {
	c := p.WaitConverged(ctx, s.Bound-time.Since(faultEnd))
	r.Converged, r.Differing, r.Converge = c.Converged, c.Differing, time.Since(faultEnd)
	if !c.Converged {
		r.note("not converged within %s: %s", s.Bound, c.Last)
	}
	return s.check(ctx, p, w, r)
}

// check counts lost writes and differing view rows.
func (s *Suite) check(ctx context.Context, p *Platform, w *Workload, r *Result) error {
	r.Counts = w.Counts()
	lost, details, err := w.Lost(ctx)
	if err != nil {
		return err
	}
	r.Lost = lost
	for _, d := range details {
		r.note("lost: %s", d)
	}
	n, lines, err := CompareViews(ctx, p)
	if err != nil {
		return err
	}
	r.Content = n
	for _, l := range lines {
		r.note("view differs: %s", l)
	}
	if refusals := w.Refusals(); refusals != "" {
		r.note("refused (4xx): %s", refusals)
	}
	for _, d := range p.Down() {
		r.note("process exited by itself: %s", d)
	}
	return nil
}

// Table prints the results.
func Table(out io.Writer, results []*Result) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tscenario\twrites\t2xx\t4xx\tunknown\tlost\tdiffering\tview rows off\tconverged in\ttook\tresult\t")
	for _, r := range results {
		conv := r.Converge.Round(100 * time.Millisecond).String()
		if !r.Converged {
			conv = "no (" + conv + ")"
		}
		result := "pass"
		if !r.Passed() {
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", r.N, r.Name, r.Attempted, r.OK, r.Refused, r.Failed,
			r.Lost, r.Differing, r.Content, conv, r.Took.Round(time.Second), result)
	}
	_ = tw.Flush()
}

// MakeDir creates the suite's directory, enterable by the postgres OS user when the suite
// runs as root (pgcluster then runs PostgreSQL as that user).
func MakeDir() (string, error) {
	dir, err := os.MkdirTemp("", "iam-faults-")
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}
