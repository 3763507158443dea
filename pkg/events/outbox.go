package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// notifyChannel is the LISTEN/NOTIFY channel that wakes the relay when an outbox row
// commits; NOTIFY is delivered only on commit, so the relay never sees a row early.
const notifyChannel = "outbox"

// Record writes events into the outbox inside the caller's transaction: the change and
// its events commit together or not at all. Any number of events is one statement, so a
// bulk change of 10,000 memberships costs one round trip, not 10,000.
func Record(ctx context.Context, tx *sqlx.Tx, evs ...Envelope) error {
	if len(evs) == 0 {
		return nil
	}
	ids, subjects, payloads := make([]string, len(evs)), make([]string, len(evs)), make([][]byte, len(evs))
	for i, ev := range evs {
		payload, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		ids[i], subjects[i], payloads[i] = ev.ID, ev.Subject, payload
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (id, subject, payload)
		SELECT id, subject, payload FROM unnest($1::uuid[], $2::text[], $3::bytea[]) WITH ORDINALITY AS e(id, subject, payload, n)
		ORDER BY n`, pq.Array(ids), pq.Array(subjects), pq.ByteaArray(payloads)); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
		return fmt.Errorf("notify relay: %w", err)
	}
	if m := marksFrom(ctx); m != nil {
		m.note(evs)
	}
	return nil
}
