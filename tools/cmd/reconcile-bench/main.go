// Command reconcile-bench measures what the views' anti-entropy costs when there is
// nothing to repair: it seeds many tenants through the API, waits until every view
// agrees with its sources, then runs reconciliation rounds (one pass of each of the four
// services) and reports the CPU they take, the platform's and PostgreSQL's together, as a
// share of one core at the default interval (IAM_RECONCILE_INTERVAL, 1m).
//
//	go run ./tools/cmd/reconcile-bench -tenants 100 -rounds 5
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/pkg/events"

	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"

	"github.com/iamplane/iam/tools/benchkit"
)

func main() {
	tenants := flag.Int("tenants", 100, "tenants to seed")
	users := flag.Int("users", 20, "users per tenant (each in one of 5 groups, one group nested in another)")
	rounds := flag.Int("rounds", 5, "reconciliation rounds to measure")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *tenants, *users, *rounds, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reconcile-bench:", err)
		os.Exit(1)
	}
}

var services = []string{"oauth-clients", "iam-subjects", "iam-policies", "consent"}

func run(ctx context.Context, tenants, users, rounds int, out io.Writer) error {
	p, err := benchkit.Start(ctx, "reconcile-bench")
	if err != nil {
		return err
	}
	defer p.Close()
	token, err := benchkit.Token(p.URL, "system", benchkit.AdminID, benchkit.AdminSecret)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := seed(ctx, p.URL, token, tenants, users); err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %d tenants (%d users, 5 groups, 2 clients each) in %s\n", tenants, users, time.Since(start).Round(time.Second))

	nc, err := nats.Connect(p.NATS.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	start = time.Now()
	for {
		differing := 0
		for _, s := range services {
			rep, err := reconcile(ctx, nc, s, true)
			if err != nil {
				return err
			}
			differing += rep.Differing
		}
		if differing == 0 {
			break
		}
		if time.Since(start) > 2*time.Minute {
			return fmt.Errorf("views still differ from their sources after 2 minutes (%d tenant views)", differing)
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintf(out, "every view agrees with its sources (%s after seeding)\n", time.Since(start).Round(time.Millisecond))

	// The idle platform's own CPU (relay polls, heartbeats) over a comparable time is
	// subtracted, so the figure is the reconciliation's.
	idleCPU, idleWall := measure(p.PostgresDir, func() error { time.Sleep(5 * time.Second); return nil })
	var tenantViews int
	cpu, wall := measure(p.PostgresDir, func() error {
		for range rounds {
			for _, s := range services {
				rep, err := reconcile(ctx, nc, s, false)
				if err != nil {
					return err
				}
				if rep.Differing != 0 || rep.Resent != 0 {
					return fmt.Errorf("%s found something to repair: %+v", s, rep)
				}
				tenantViews += rep.Tenants
			}
		}
		return nil
	})
	idle := time.Duration(float64(idleCPU) * float64(wall) / float64(idleWall))
	perRound := (cpu - idle) / time.Duration(rounds)
	fmt.Fprintf(out, "%d rounds, %d tenant views compared per round: %s wall and %s CPU per round (platform + PostgreSQL, idle subtracted)\n",
		rounds, tenantViews/rounds, (wall / time.Duration(rounds)).Round(time.Millisecond), perRound.Round(time.Millisecond))
	fmt.Fprintf(out, "at the default interval of 1m: %.2f %% of one core\n", 100*perRound.Seconds()/60)
	return nil
}

func reconcile(ctx context.Context, nc *nats.Conn, service string, dryRun bool) (events.ReconcileReport, error) {
	req, _ := json.Marshal(map[string]bool{"dryRun": dryRun})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, events.ReconcileSubject(service), req)
	if err != nil {
		return events.ReconcileReport{}, fmt.Errorf("reconcile %s: %w", service, err)
	}
	var reply struct {
		Report events.ReconcileReport `json:"report"`
		Error  string                 `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return reply.Report, err
	}
	if reply.Error != "" {
		return reply.Report, fmt.Errorf("reconcile %s: %s", service, reply.Error)
	}
	return reply.Report, nil
}

// measure runs fn and returns the CPU time it cost this process and the PostgreSQL
// cluster in pgDir (if any), and the wall time.
func measure(pgDir string, fn func() error) (cpu, wall time.Duration) {
	c0, t0 := cpuTime(pgDir), time.Now()
	if err := fn(); err != nil {
		fmt.Fprintln(os.Stderr, "reconcile-bench:", err)
		os.Exit(1)
	}
	return cpuTime(pgDir) - c0, time.Since(t0)
}

// cpuTime is this process's CPU time plus that of the postmaster in pgDir and its
// children (the backends serving the platform's connection pools).
func cpuTime(pgDir string) time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if pgDir == "" {
		return total
	}
	pidFile, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if err != nil {
		return total
	}
	postmaster := strings.SplitN(string(pidFile), "\n", 2)[0]
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range procs {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15), counted after the comm's ')'.
		fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		pid := filepath.Base(filepath.Dir(path))
		if len(fields) < 13 || (pid != postmaster && fields[1] != postmaster) {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		total += time.Duration(utime+stime) * time.Second / 100 // clock ticks (USER_HZ = 100)
	}
	return total
}

// seed creates each tenant's users, groups (one nested in another), memberships and
// clients through the API, eight tenants at a time.
func seed(ctx context.Context, base, token string, tenants, users int) error {
	bearer := func(_ context.Context, r *http.Request) error { r.Header.Set("Authorization", "Bearer "+token); return nil }
	sc, err := subjectsapi.NewClientWithResponses(base, subjectsapi.WithRequestEditorFn(bearer))
	if err != nil {
		return err
	}
	cc, err := clientsapi.NewClientWithResponses(base, clientsapi.WithRequestEditorFn(bearer))
	if err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, tenants)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				errs <- seedTenant(ctx, sc, cc, fmt.Sprintf("t%03d", i), users)
			}
		})
	}
	for i := range tenants {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func seedTenant(ctx context.Context, sc *subjectsapi.ClientWithResponses, cc *clientsapi.ClientWithResponses, tenant string, users int) error {
	groups := make([]string, 5)
	for g := range groups {
		name := fmt.Sprintf("group %d", g)
		resp, err := sc.CreateGroupWithResponse(ctx, tenant, subjectsapi.GroupInput{DisplayName: &name})
		if err != nil || resp.JSON201 == nil {
			return fmt.Errorf("create group in %s: %v %s", tenant, err, body(resp))
		}
		groups[g] = resp.JSON201.Id
	}
	members := make([][]string, len(groups))
	members[0] = append(members[0], "group-"+groups[1])
	for u := range users {
		username := fmt.Sprintf("user%d", u)
		resp, err := sc.CreateUserWithResponse(ctx, tenant, subjectsapi.UserInput{Username: &username})
		if err != nil || resp.JSON201 == nil {
			return fmt.Errorf("create user in %s: %v %s", tenant, err, body(resp))
		}
		members[u%len(groups)] = append(members[u%len(groups)], "user-"+resp.JSON201.Id)
	}
	for g, ids := range members {
		if len(ids) == 0 {
			continue
		}
		resp, err := sc.AddGroupMembersWithResponse(ctx, tenant, groups[g], subjectsapi.MemberChange{SubjectIds: ids})
		if err != nil || resp.JSON200 == nil {
			return fmt.Errorf("add members in %s: %v %s", tenant, err, body(resp))
		}
	}
	for c := range 2 {
		resp, err := cc.CreateClientWithResponse(ctx, tenant, clientsapi.ClientInput{ClientName: fmt.Sprintf("client %d", c)})
		if err != nil || resp.JSON201 == nil {
			return fmt.Errorf("create client in %s: %v %s", tenant, err, body(resp))
		}
	}
	return nil
}

func body(r interface{ GetBody() []byte }) string {
	if r == nil {
		return ""
	}
	return string(r.GetBody())
}
