package faults

import (
	"context"
	"fmt"
	"time"
)

// workers is how many writers run at once: two per tenant.
const workers = 4

// background runs the workload in the background; the returned func waits for it.
func background(ctx context.Context, w *Workload, n int, over time.Duration) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, n, over)
	}()
	return func() { <-done }
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// NATSOutage (1): NATS is stopped for the outage while writes keep coming; every write
// must still answer 2xx (it waits in the outbox), and the events flow once NATS is back.
// The time to converge is the figure the issue asks for with -writes 10000: how long
// every view takes to catch up with what queued during the outage.
func NATSOutage(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	n := s.writes(1500)
	w.Run(ctx, 50, 0) // the burst is under way when NATS goes
	p.NATS.Stop()
	outageStart := time.Now()
	before := w.Counts()
	// The writes are spread over the outage (at most as fast as the platform answers);
	// NATS stays away until the outage is over and every write has been made.
	w.Run(ctx, n, s.Outage*9/10)
	during := w.Counts().Sub(before)
	sleep(ctx, time.Until(outageStart.Add(s.Outage)))
	if err := p.NATS.Restart(); err != nil {
		return err
	}
	faultEnd := time.Now()
	r.note("%d writes queued during a %s NATS outage: %d answered 2xx, %d 4xx, %d 5xx or no answer",
		during.Attempted, faultEnd.Sub(outageStart).Round(time.Second), during.OK, during.Refused, during.Failed)
	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	if during.Failed > 0 {
		return fmt.Errorf("%d writes failed while NATS was down: a NATS outage must never fail a write", during.Failed)
	}
	return nil
}

// KillServices (2): each service in turn is killed with SIGKILL in the middle of a write
// burst, then started again.
func KillServices(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	const up, down = 4 * time.Second, 2 * time.Second
	span := time.Duration(len(Services))*(up+down) + up
	wait := background(ctx, w, s.writes(1500), span)
	for _, svc := range Services {
		sleep(ctx, up)
		p.Kill(svc, 0)
		killed := time.Now()
		sleep(ctx, down)
		if err := p.StartService(ctx, svc, 0); err != nil {
			wait()
			return err
		}
		s.logf("   %s killed, back after %s", svc, time.Since(killed).Round(100*time.Millisecond))
	}
	faultEnd := time.Now()
	wait()
	return s.finish(ctx, p, w, r, faultEnd)
}

// ConsumerDatabaseDown (3): iam-policies' own PostgreSQL refuses connections for the
// outage while its sources (iam-subjects, oauth-clients) keep writing; its consumers must
// pause, not dead-letter, and catch up when the database is back.
func ConsumerDatabaseDown(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{OwnPostgres: "iam-policies"})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	lead := 5 * time.Second
	wait := background(ctx, w, s.writes(1500), lead+s.Outage)
	sleep(ctx, lead)
	if err := p.ownPG.stop(); err != nil {
		return err
	}
	outageStart := time.Now()
	sleep(ctx, s.Outage)
	if err := p.ownPG.start(ctx); err != nil {
		return err
	}
	faultEnd := time.Now()
	s.logf("   iam-policies' PostgreSQL back after %s", faultEnd.Sub(outageStart).Round(time.Second))
	wait()
	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	return deadLetters(ctx, p, r)
}

// PostgresRestart (4): the PostgreSQL every service shares restarts under load.
func PostgresRestart(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	const span = 20 * time.Second
	wait := background(ctx, w, s.writes(1500), span)
	sleep(ctx, span/3)
	restart := time.Now()
	if err := p.pg.restart(ctx); err != nil {
		wait()
		return err
	}
	faultEnd := time.Now()
	s.logf("   PostgreSQL restarted in %s", faultEnd.Sub(restart).Round(100*time.Millisecond))
	wait()
	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	return deadLetters(ctx, p, r)
}
