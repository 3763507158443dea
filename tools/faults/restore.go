package faults

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/pgcluster"

	"github.com/iamplane/iam/tools/devstack"
)

// Restore (7): iam-subjects' database is restored from a pg_dump taken an outage earlier
// (the service stopped, the database dropped and restored with pg_restore, the service
// started). Afterwards the views agree with the restored source: users, groups and
// memberships created after the dump are gone from every view, changes after the dump
// undone. New writes after the restore propagate: the restored version sequence is
// advanced past the clock at start-up, so the views do not drop them as old.
func Restore(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	n := s.writes(1200)
	w.Run(ctx, n/2, 0)
	if c := p.WaitConverged(ctx, s.Bound); !c.Converged {
		return fmt.Errorf("views did not converge before the dump: %s", c.Last)
	}
	bin, err := pgcluster.BinDir()
	if err != nil {
		return err
	}
	dump := filepath.Join(p.opts.Dir, "iam-subjects.dump")
	if out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_dump"), "-Fc", "-f", dump, "-d", p.DBURL["iam-subjects"]).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_dump: %w\n%s", err, out)
	}
	dumped := time.Now()
	snap := w.snapshot()

	// After the dump: writes for the outage, and the views take them all in.
	w.Run(ctx, n/2, s.Outage)
	if c := p.WaitConverged(ctx, s.Bound); !c.Converged {
		return fmt.Errorf("views did not converge before the restore: %s", c.Last)
	}
	gone := w.restore(snap) // subjects the restore takes away
	p.StopService("iam-subjects", 0)
	subjectsDB := devstack.DatabaseName("iam-subjects")
	server := p.pg.cluster.URL("postgres")
	if err := devstack.DropDatabase(ctx, server, subjectsDB); err != nil {
		return err
	}
	if _, err := devstack.EnsureDatabase(ctx, server, subjectsDB); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_restore"), "--no-owner", "-d", p.DBURL["iam-subjects"], dump).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_restore: %w\n%s", err, out)
	}
	if err := p.StartService(ctx, "iam-subjects", 0); err != nil {
		return err
	}
	faultEnd := time.Now()
	r.note("restored iam-subjects from a dump taken %s earlier: %d users, groups and memberships created since are gone",
		faultEnd.Sub(dumped).Round(time.Second), len(gone))
	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	if err := stillInViews(ctx, p, r, gone); err != nil {
		return err
	}

	// New writes after the restore reach every view.
	w.Run(ctx, n/4, 0)
	again := time.Now()
	c := p.WaitConverged(ctx, s.Bound)
	r.note("%d writes after the restore converged in %s", n/4, time.Since(again).Round(100*time.Millisecond))
	if !c.Converged {
		r.Converged, r.Differing = false, c.Differing
		r.note("writes after the restore did not converge: %s", c.Last)
	}
	lost, content := r.Lost, r.Content
	if err := s.check(ctx, p, w, r); err != nil {
		return err
	}
	r.Lost, r.Content = r.Lost+lost, r.Content+content
	return nil
}

// stillInViews fails if a subject the restore took away is still live in a view.
func stillInViews(ctx context.Context, p *Platform, r *Result, gone []string) error {
	if len(gone) == 0 {
		return nil
	}
	found := 0
	for _, q := range []struct{ service, query string }{
		{"iam-policies", `SELECT count(*) FROM event_versions WHERE NOT deleted AND subject = ANY($1)`},
		{"consent", `SELECT count(*) FROM event_versions WHERE NOT deleted AND subject = ANY($1)`},
	} {
		db, err := p.DB(q.service)
		if err != nil {
			return err
		}
		var n int
		if err := db.QueryRowContext(ctx, q.query, pq.StringArray(gone)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			r.note("%d entities created after the dump are still live in %s's view", n, q.service)
		}
		found += n
	}
	if found > 0 {
		return fmt.Errorf("%d entities the restore took away are still in views", found)
	}
	return nil
}

// subjectKinds are the entities iam-subjects owns, which a restore of its database
// resets.
var subjectKinds = []string{"user", "group", "membership"}

// snapshot is the workload's knowledge of iam-subjects' entities at a point in time.
type snapshot struct {
	entities map[string]entity
	workers  []workerLists
}

// workerLists are a worker's churning iam-subjects entities.
type workerLists struct {
	users, groups []string
	members       [][2]string
}

func (w *Workload) snapshot() *snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	sn := &snapshot{entities: map[string]entity{}}
	for k, e := range w.entities {
		if slices.Contains(subjectKinds, e.kind) {
			c := *e
			c.acceptable = slices.Clone(e.acceptable)
			sn.entities[k] = c
		}
	}
	for _, wk := range w.workers {
		sn.workers = append(sn.workers, workerLists{slices.Clone(wk.users), slices.Clone(wk.groups), slices.Clone(wk.members)})
	}
	return sn
}

// restore resets iam-subjects' entities to sn (those created since must be absent) and
// returns the NATS subjects of the entities the restore takes away.
func (w *Workload) restore(sn *snapshot) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var gone []string
	for k, e := range w.entities {
		if !slices.Contains(subjectKinds, e.kind) {
			continue
		}
		if old, ok := sn.entities[k]; ok {
			c := old
			w.entities[k] = &c
			continue
		}
		if e.confirmed && slices.ContainsFunc(e.acceptable, func(s state) bool { return s.present }) {
			gone = append(gone, eventSubject(e))
		}
		e.acceptable, e.confirmed = []state{{}}, true
	}
	for i, wk := range w.workers {
		wk.users, wk.groups, wk.members = sn.workers[i].users, sn.workers[i].groups, sn.workers[i].members
	}
	return gone
}

// eventSubject is the NATS subject iam-subjects publishes the entity on.
func eventSubject(e *entity) string {
	id := e.keys[0]
	if e.kind == "membership" {
		id = e.keys[0] + "~" + e.keys[1]
	}
	return strings.Join([]string{"iam", e.tenant, "subjects", e.kind, id}, ".")
}
