package events

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// notifyChannel is the LISTEN/NOTIFY channel that wakes the relay when an outbox row
// commits; NOTIFY is delivered only on commit, so the relay never sees a row early.
const notifyChannel = "outbox"

// Record writes events into the outbox inside the caller's transaction: the change and
// its events commit together or not at all. Any number of events is one statement, so a
// bulk change of 10,000 memberships costs one round trip, not 10,000.
//
// Record stamps each event's EntityVersion from the database's version sequence (the
// version the caller passed to New is replaced): versions grow in the order events are
// recorded, across entities, and never go backwards, not even after a restore from an
// older dump (AdvanceVersions). It also notes each entity's newest version in
// published_versions, the source side of the views' digests.
func Record(ctx context.Context, tx *sqlx.Tx, evs ...Envelope) error {
	if len(evs) == 0 {
		return nil
	}
	var versions []int64
	if err := tx.SelectContext(ctx, &versions, `SELECT nextval('event_version_seq') FROM generate_series(1, $1)`, len(evs)); err != nil {
		return fmt.Errorf("event versions: %w", err)
	}
	slices.Sort(versions) // in recording order, whatever order the rows came back in
	ids, subjects, payloads := make([]string, len(evs)), make([]string, len(evs)), make([][]byte, len(evs))
	tenants, deleted := make([]string, len(evs)), make([]bool, len(evs))
	for i := range evs {
		evs[i].EntityVersion = versions[i]
		payload, err := json.Marshal(evs[i])
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		ids[i], subjects[i], payloads[i] = evs[i].ID, evs[i].Subject, payload
		tenants[i], deleted[i] = evs[i].Tenant, evs[i].Deleted
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (id, subject, payload)
		SELECT id, subject, payload FROM unnest($1::uuid[], $2::text[], $3::bytea[]) WITH ORDINALITY AS e(id, subject, payload, n)
		ORDER BY n`, pq.Array(ids), pq.Array(subjects), pq.ByteaArray(payloads)); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	// The newest event of each entity wins (DISTINCT ON keeps the highest version).
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO published_versions (subject, tenant, version, deleted)
		SELECT DISTINCT ON (subject) subject, tenant, version, deleted
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[]) AS e(subject, tenant, version, deleted)
		ORDER BY subject, version DESC
		ON CONFLICT (subject) DO UPDATE SET version = EXCLUDED.version, deleted = EXCLUDED.deleted, tenant = EXCLUDED.tenant
		WHERE published_versions.version < EXCLUDED.version`,
		pq.Array(subjects), pq.Array(tenants), pq.Array(versions), pq.BoolArray(deleted)); err != nil {
		return fmt.Errorf("record published versions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
		return fmt.Errorf("notify relay: %w", err)
	}
	if m := marksFrom(ctx); m != nil {
		m.note(evs)
	}
	return nil
}

// AdvanceVersions moves the version sequence past the wall clock, in microseconds, unless
// it is already beyond. Every service calls it at start-up: after a restore from a dump
// taken a minute earlier, the sequence would otherwise hand out versions its consumers
// already hold, and they would drop the changes as duplicates.
func AdvanceVersions(ctx context.Context, db *sqlx.DB) error {
	_, err := db.ExecContext(ctx, `SELECT setval('event_version_seq', GREATEST(
		(SELECT last_value FROM event_version_seq), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint))`)
	if err != nil {
		return fmt.Errorf("advance event versions: %w", err)
	}
	return nil
}
