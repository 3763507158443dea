package events

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Anti-entropy. Every view can be compared with its source, tenant by tenant, and
// repaired, whatever made them differ (a lost event, a restore of either side, a bug).
// The source answers on NATS, request-reply (never on a request path):
//
//	iamsync.<area>.digests  {filters}                   -> {tenant: {count, sum}} for every tenant
//	iamsync.<area>.digest   {tenant, filters}           -> {count, sum} of its live entities
//	iamsync.<area>.tenants  {filters}                   -> {tenants} holding live entities
//	iamsync.<area>.list     {tenant, filters, subjects, after} -> {entries: [{subject, version}]}, a page
//	iamsync.<area>.resend   {tenant, subjects}          -> {resent}
//
// A digest is the number of live entities matching the filters and the sum of a 60-bit
// hash of each one's "subject version": independent of order, cheap to compute from
// the source's published_versions and the view's event_versions. Resend makes the source
// record each named entity's current state anew (a fresh version; a tombstone for one it
// no longer has), so the view, and the compact stream a rebuild reads, both end right.
const syncPrefix = "iamsync"

// SyncRequest is the body of every iamsync request.
type SyncRequest struct {
	Tenant   string   `json:"tenant,omitempty"`
	Filters  []string `json:"filters,omitempty"`  // NATS subject filters, e.g. iam.*.subjects.*.*
	Subjects []string `json:"subjects,omitempty"` // list: only these; resend: these
	After    string   `json:"after,omitempty"`    // list: the page after this subject
}

// Digest summarises the live entities of one tenant under some filters.
type Digest struct {
	Count int64  `json:"count"`
	Sum   string `json:"sum"`
}

// VersionEntry is one live entity and its newest version.
type VersionEntry struct {
	Subject string `json:"subject" db:"subject"`
	Version int64  `json:"version" db:"version"`
}

// SyncReply is a source's answer to an iamsync request; Error is set when it failed.
type SyncReply struct {
	Digest  *Digest           `json:"digest,omitempty"`
	Digests map[string]Digest `json:"digests,omitempty"`
	Tenants []string          `json:"tenants,omitempty"`
	Entries []VersionEntry    `json:"entries,omitempty"`
	Resent  int               `json:"resent,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// Republish records, in tx, the current state of each of entities (all of tenant and of
// the source's area; Source has checked that): an event for an entity that exists, a
// tombstone for one that does not. The publishing service implements it; Record stamps
// the new versions.
type Republish func(ctx context.Context, tx *sqlx.Tx, tenant string, entities []Entity) error

// EachEntity is a Republish built from state, which reads one entity's current state (a
// tombstone for one that no longer exists) inside the transaction; the events are
// recorded together.
func EachEntity(state func(ctx context.Context, tx *sqlx.Tx, e Entity) (Envelope, error)) Republish {
	return func(ctx context.Context, tx *sqlx.Tx, _ string, entities []Entity) error {
		evs := make([]Envelope, 0, len(entities))
		for _, e := range entities {
			ev, err := state(ctx, tx, e)
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return Record(ctx, tx, evs...)
	}
}

// Source answers the iamsync requests for the area a service publishes.
type Source struct {
	Area      string // subjects, clients, policies, consent
	DB        *sqlx.DB
	Republish Republish
	Logger    *slog.Logger
}

// Run answers requests until ctx ends; replicas share the work through a queue group.
func (s *Source) Run(ctx context.Context, nc *nats.Conn) error {
	sub, err := nc.QueueSubscribe(syncPrefix+"."+s.Area+".*", syncPrefix+"-"+s.Area, func(m *nats.Msg) {
		reply, err := s.answer(ctx, m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], m.Data)
		if err != nil {
			s.Logger.Warn("sync request failed", "subject", m.Subject, "error", err)
			reply = SyncReply{Error: err.Error()}
		}
		raw, _ := json.Marshal(reply)
		_ = m.Respond(raw)
	})
	if err != nil {
		return fmt.Errorf("sync source %s: %w", s.Area, err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

func (s *Source) answer(ctx context.Context, op string, body []byte) (SyncReply, error) {
	var req SyncRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return SyncReply{}, fmt.Errorf("decode request: %w", err)
	}
	if op == "resend" {
		if err := s.resend(ctx, req.Tenant, req.Subjects); err != nil {
			return SyncReply{}, err
		}
		return SyncReply{Resent: len(req.Subjects)}, nil
	}
	patterns, err := filterPatterns(req.Filters, s.Area)
	if err != nil {
		return SyncReply{}, err
	}
	switch op {
	case "digest":
		d, err := digestOf(ctx, s.DB, "published_versions", req.Tenant, patterns)
		return SyncReply{Digest: &d}, err
	case "digests":
		ds, err := digestsOf(ctx, s.DB, "published_versions", patterns)
		return SyncReply{Digests: ds}, err
	case "tenants":
		ts, err := tenantsOf(ctx, s.DB, "published_versions", patterns)
		return SyncReply{Tenants: ts}, err
	case "list":
		es, err := entriesOf(ctx, s.DB, "published_versions", req.Tenant, patterns,
			pageRange{Only: req.Subjects, After: req.After, Limit: listPage})
		return SyncReply{Entries: es}, err
	}
	return SyncReply{}, fmt.Errorf("unknown sync operation %q", op)
}

func (s *Source) resend(ctx context.Context, tenant string, subjects []string) error {
	entities := make([]Entity, len(subjects))
	for i, subject := range subjects {
		parts := strings.Split(subject, ".")
		if len(parts) != 5 || parts[0] != "iam" || parts[1] != tenant || parts[2] != s.Area || parts[3] == "" || parts[4] == "" {
			return fmt.Errorf("subject %q is not an entity of area %s in tenant %s", subject, s.Area, tenant)
		}
		entities[i] = Entity{Tenant: tenant, Area: s.Area, Kind: parts[3], ID: parts[4]}
	}
	if len(entities) == 0 {
		return nil
	}
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.Republish(ctx, tx, tenant, entities); err != nil {
		return err
	}
	return tx.Commit()
}

// filterPatterns turns NATS subject filters into anchored regular expressions, refusing
// filters outside area (a view asks each source only for what that source owns).
func filterPatterns(filters []string, area string) (pq.StringArray, error) {
	if len(filters) == 0 {
		return nil, errors.New("no subject filters")
	}
	out := make(pq.StringArray, len(filters))
	for i, f := range filters {
		tokens := strings.Split(f, ".")
		if len(tokens) < 3 || tokens[0] != "iam" || (area != "" && tokens[2] != area) {
			return nil, fmt.Errorf("filter %q is not under iam.<tenant>.%s", f, area)
		}
		for j, t := range tokens {
			switch t {
			case "*":
				tokens[j] = `[^.]+`
			case ">":
				tokens[j] = `.+`
			default:
				tokens[j] = regexp.QuoteMeta(t)
			}
		}
		out[i] = "^" + strings.Join(tokens, `\.`) + "$"
	}
	return out, nil
}

// digestOf, tenantsOf and entriesOf read published_versions (a source) or event_versions
// (a view): both have subject, tenant, version and deleted.
func digestOf(ctx context.Context, db *sqlx.DB, table, tenant string, patterns pq.StringArray) (Digest, error) {
	var d Digest
	err := db.QueryRowxContext(ctx, fmt.Sprintf(`SELECT count(*),
		coalesce(sum(('x' || substr(md5(subject || ' ' || version), 1, 15))::bit(60)::bigint), 0)::text
		FROM %s WHERE tenant = $1 AND NOT deleted AND subject ~ ANY($2)`, table), tenant, patterns).Scan(&d.Count, &d.Sum)
	return d, err
}

// digestsOf is digestOf for every tenant at once: one scan, one round trip per source.
func digestsOf(ctx context.Context, db *sqlx.DB, table string, patterns pq.StringArray) (map[string]Digest, error) {
	rows, err := db.QueryxContext(ctx, fmt.Sprintf(`SELECT tenant, count(*),
		coalesce(sum(('x' || substr(md5(subject || ' ' || version), 1, 15))::bit(60)::bigint), 0)::text
		FROM %s WHERE NOT deleted AND subject ~ ANY($1) GROUP BY tenant`, table), patterns)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Digest{}
	for rows.Next() {
		var tenant string
		var d Digest
		if err := rows.Scan(&tenant, &d.Count, &d.Sum); err != nil {
			return nil, err
		}
		out[tenant] = d
	}
	return out, rows.Err()
}

func tenantsOf(ctx context.Context, db *sqlx.DB, table string, patterns pq.StringArray) ([]string, error) {
	var ts []string
	err := db.SelectContext(ctx, &ts, fmt.Sprintf(`SELECT DISTINCT tenant FROM %s WHERE NOT deleted AND subject ~ ANY($1)`, table), patterns)
	return ts, err
}

// listPage is how many entries one list reply holds: well under NATS's 1 MB payload.
const listPage = 2000

// entriesOf lists live entities in subject order: those after `after` (and up to upTo,
// unless ""), at most limit (0: no limit), or only those of only when given.
func entriesOf(ctx context.Context, db *sqlx.DB, table, tenant string, patterns pq.StringArray, r pageRange) ([]VersionEntry, error) {
	var es []VersionEntry
	q := fmt.Sprintf(`SELECT subject, version FROM %s WHERE tenant = $1 AND NOT deleted AND subject ~ ANY($2)`, table)
	args := []any{tenant, patterns}
	if r.Only != nil {
		args = append(args, pq.StringArray(r.Only))
		q += fmt.Sprintf(` AND subject = ANY($%d)`, len(args))
	}
	if r.After != "" {
		args = append(args, r.After)
		q += fmt.Sprintf(` AND subject COLLATE "C" > $%d`, len(args))
	}
	if r.UpTo != "" {
		args = append(args, r.UpTo)
		q += fmt.Sprintf(` AND subject COLLATE "C" <= $%d`, len(args))
	}
	q += ` ORDER BY subject COLLATE "C"`
	if r.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, r.Limit)
	}
	err := db.SelectContext(ctx, &es, q, args...)
	return es, err
}

// pageRange selects entries for entriesOf.
type pageRange struct {
	Only        []string
	After, UpTo string
	Limit       int
}

// Reconciler compares a service's views with their sources, tenant by tenant, and has
// the source resend what differs. It runs in every replica; a pass is cheap when nothing
// differs (one digest request and one aggregate per tenant and source).
type Reconciler struct {
	DB        *sqlx.DB
	NATS      *nats.Conn
	Consumers []*Consumer
	Interval  time.Duration // between passes; default 1m
	// Grace is how long a difference must persist before it is repaired: events in
	// flight make a view differ for the propagation lag, which is no drift.
	Grace   time.Duration // default 5s
	Logger  *slog.Logger
	Service string // answers iamsync.reconcile.<Service>: a pass on demand

	drift   *prometheus.GaugeVec
	repairs *prometheus.CounterVec
}

// ReconcileSubject is where a replica of service runs a reconciliation pass on request
// (tools/cmd/iam-sync); one replica answers.
func ReconcileSubject(service string) string { return syncPrefix + ".reconcile." + service }

// ReconcileReport says what one pass found and did.
type ReconcileReport struct {
	Tenants   int `json:"tenants"`   // tenant and source pairs compared
	Differing int `json:"differing"` // of which the digests differed
	Resent    int `json:"resent"`    // entities the sources were asked to resend
	Behind    int `json:"behind"`    // consumers skipped because they still had events to apply
}

// Register adds the reconciler's metrics.
func (r *Reconciler) Register(reg prometheus.Registerer) {
	r.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "iam_view_drift_tenants",
		Help: "Tenants whose view differed from its source in the last reconciliation pass."}, []string{"consumer"})
	r.repairs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iam_view_repairs_total",
		Help: "Entities a source was asked to resend because a view differed."}, []string{"consumer"})
	reg.MustRegister(r.drift, r.repairs)
}

// Run reconciles every Interval, and on request, until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	if r.Interval == 0 {
		r.Interval = time.Minute
	}
	if r.Service != "" {
		sub, err := r.NATS.QueueSubscribe(ReconcileSubject(r.Service), "iamsync-reconcile-"+r.Service, func(m *nats.Msg) {
			var req struct {
				DryRun bool `json:"dryRun"` // compare only: how many tenant views differ, nothing resent
			}
			_ = json.Unmarshal(m.Data, &req)
			pass := r.Pass
			if req.DryRun {
				pass = r.Compare
			}
			rep, err := pass(ctx)
			out := map[string]any{"report": rep}
			if err != nil {
				out["error"] = err.Error()
			}
			raw, _ := json.Marshal(out)
			_ = m.Respond(raw)
		})
		if err != nil {
			return err
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if !r.NATS.IsConnected() {
				continue // the sources cannot be asked, and events are held up anyway
			}
			if rep, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
				r.Logger.Warn("reconciliation pass failed", "error", err)
			} else if rep.Differing > 0 {
				r.Logger.Warn("views differed from their sources; repaired", "tenants", rep.Differing, "resent", rep.Resent)
			}
		}
	}
}

// Pass compares every consumer's view with its sources once and repairs what differs.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileReport, error) { return r.pass(ctx, true) }

// Compare is Pass without the repair: it reports which tenant views differ from their
// sources right now (no grace period), e.g. to measure how long views take to converge.
func (r *Reconciler) Compare(ctx context.Context) (ReconcileReport, error) { return r.pass(ctx, false) }

func (r *Reconciler) pass(ctx context.Context, repair bool) (ReconcileReport, error) {
	if r.drift == nil {
		r.Register(prometheus.NewRegistry())
	}
	var rep ReconcileReport
	var errs []error
	for _, c := range r.Consumers {
		// A view still working through its backlog differs from its source by what is in
		// flight: that is lag, not drift. Resending it would only put the same entities at
		// the end of the stream again (new versions), behind the backlog, pass after pass.
		repairNow := repair
		if repair && c.behind(ctx) {
			repairNow = false
			rep.Behind++
		}
		differing := 0
		for area, filters := range filtersByArea(c.Subjects) {
			n, d, resent, err := r.reconcileArea(ctx, area, filters, repairNow)
			rep.Tenants, rep.Differing, rep.Resent = rep.Tenants+n, rep.Differing+d, rep.Resent+resent
			differing += d
			if resent > 0 {
				r.repairs.WithLabelValues(c.Name).Add(float64(resent))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s from %s: %w", c.Name, area, err))
			}
		}
		if repairNow {
			r.drift.WithLabelValues(c.Name).Set(float64(differing))
		}
	}
	return rep, errors.Join(errs...)
}

func filtersByArea(subjects []string) map[string][]string {
	out := map[string][]string{}
	for _, s := range subjects {
		if tokens := strings.Split(s, "."); len(tokens) >= 3 {
			out[tokens[2]] = append(out[tokens[2]], s)
		}
	}
	return out
}

// reconcileArea compares the view of one source area with the source, every tenant's
// digest in one request, and repairs the tenants whose digests differ.
func (r *Reconciler) reconcileArea(ctx context.Context, area string, filters []string, repair bool) (tenants, differing, resent int, err error) {
	patterns, err := filterPatterns(filters, area)
	if err != nil {
		return 0, 0, 0, err
	}
	var remote SyncReply
	if err := r.ask(ctx, area, "digests", SyncRequest{Filters: filters}, &remote); err != nil {
		return 0, 0, 0, err
	}
	local, err := digestsOf(ctx, r.DB, "event_versions", patterns)
	if err != nil {
		return 0, 0, 0, err
	}
	var candidates []string
	for tenant, d := range remote.Digests {
		if local[tenant] != d {
			candidates = append(candidates, tenant)
		}
	}
	for tenant := range local {
		if _, ok := remote.Digests[tenant]; !ok {
			candidates = append(candidates, tenant)
		}
	}
	tenants = len(remote.Digests)
	for tenant := range local {
		if _, ok := remote.Digests[tenant]; !ok {
			tenants++
		}
	}
	if !repair || len(candidates) == 0 {
		return tenants, len(candidates), 0, nil
	}
	diffs := map[string][]string{}
	for _, tenant := range candidates {
		if diffs[tenant], err = r.differences(ctx, area, tenant, filters, patterns, nil); err != nil {
			return tenants, 0, 0, err
		}
	}
	// Events in flight make a view differ for the propagation lag: repair only what
	// still differs after the grace period.
	grace := r.Grace
	if grace == 0 {
		grace = 5 * time.Second
	}
	select {
	case <-ctx.Done():
		return tenants, 0, 0, ctx.Err()
	case <-time.After(grace):
	}
	for _, tenant := range slices.Sorted(maps.Keys(diffs)) {
		diff := diffs[tenant]
		if len(diff) == 0 {
			continue
		}
		if diff, err = r.differences(ctx, area, tenant, filters, patterns, diff); err != nil {
			return tenants, differing, resent, err
		}
		if len(diff) == 0 {
			continue
		}
		differing++
		for chunk := range slices.Chunk(diff, 500) {
			var reply SyncReply
			if err := r.ask(ctx, area, "resend", SyncRequest{Tenant: tenant, Subjects: chunk}, &reply); err != nil {
				return tenants, differing, resent, err
			}
			resent += reply.Resent
		}
	}
	return tenants, differing, resent, nil
}

// differences lists the entities of tenant whose live version differs between the view
// and the source (only among only, when given).
func (r *Reconciler) differences(ctx context.Context, area, tenant string, filters []string, patterns pq.StringArray, only []string) ([]string, error) {
	var diff []string
	compare := func(remote, local []VersionEntry) {
		versions := make(map[string]int64, len(local))
		for _, e := range local {
			versions[e.Subject] = e.Version
		}
		for _, e := range remote {
			if v, ok := versions[e.Subject]; !ok || v != e.Version {
				diff = append(diff, e.Subject)
			}
			delete(versions, e.Subject)
		}
		for subject := range versions { // live in the view, gone at the source
			diff = append(diff, subject)
		}
	}
	if only != nil {
		for chunk := range slices.Chunk(only, listPage) {
			var remote SyncReply
			if err := r.ask(ctx, area, "list", SyncRequest{Tenant: tenant, Filters: filters, Subjects: chunk}, &remote); err != nil {
				return nil, err
			}
			local, err := entriesOf(ctx, r.DB, "event_versions", tenant, patterns, pageRange{Only: chunk})
			if err != nil {
				return nil, err
			}
			compare(remote.Entries, local)
		}
	} else {
		// Both sides in subject order, a page of the source's at a time, with the view's
		// entries of the same range.
		for after := ""; ; {
			var remote SyncReply
			if err := r.ask(ctx, area, "list", SyncRequest{Tenant: tenant, Filters: filters, After: after}, &remote); err != nil {
				return nil, err
			}
			upTo := "" // the last page: everything after
			if len(remote.Entries) == listPage {
				upTo = remote.Entries[len(remote.Entries)-1].Subject
			}
			local, err := entriesOf(ctx, r.DB, "event_versions", tenant, patterns, pageRange{After: after, UpTo: upTo})
			if err != nil {
				return nil, err
			}
			compare(remote.Entries, local)
			if upTo == "" {
				break
			}
			after = upTo
		}
	}
	slices.Sort(diff)
	return diff, nil
}

func (r *Reconciler) ask(ctx context.Context, area, op string, req SyncRequest, out *SyncReply) error {
	raw, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	msg, err := r.NATS.RequestWithContext(ctx, syncPrefix+"."+area+"."+op, raw)
	if err != nil {
		return fmt.Errorf("ask %s source for %s: %w", area, op, err)
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", op, err)
	}
	if out.Error != "" {
		return fmt.Errorf("%s source: %s", area, out.Error)
	}
	return nil
}

// behind reports whether the consumer has events in the stream it has not applied yet
// (pending or delivered but unacknowledged). Unknown (no JetStream) counts as not behind.
func (c *Consumer) behind(ctx context.Context) bool {
	if c.JS == nil {
		return false
	}
	cons, err := c.JS.Consumer(ctx, StreamName, c.Name)
	if err != nil {
		return false
	}
	info, err := cons.Info(ctx)
	return err == nil && (info.NumPending > 0 || info.NumAckPending > 0)
}

// DigestOf is what digestOf computes in SQL, computed in Go from (subject, version)
// pairs: for tests and tools that check a source's or a view's digest independently.
func DigestOf(entries map[string]int64) Digest {
	sum := new(big.Int)
	for subject, version := range entries {
		h := md5.Sum([]byte(subject + " " + strconv.FormatInt(version, 10)))
		n, _ := new(big.Int).SetString(hex.EncodeToString(h[:])[:15], 16)
		sum.Add(sum, n)
	}
	return Digest{Count: int64(len(entries)), Sum: sum.String()}
}
