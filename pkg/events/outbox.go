package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// notifyChannel is the LISTEN/NOTIFY channel that wakes the relay when an outbox row
// commits; NOTIFY is delivered only on commit, so the relay never sees a row early.
const notifyChannel = "outbox"

// Record writes events into the outbox inside the caller's transaction: the change and
// its events commit together or not at all.
func Record(ctx context.Context, tx *sqlx.Tx, evs ...Envelope) error {
	for _, ev := range evs {
		payload, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO outbox (id, subject, payload) VALUES ($1, $2, $3)`,
			ev.ID, ev.Subject, payload); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
	}
	if len(evs) > 0 {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
			return fmt.Errorf("notify relay: %w", err)
		}
	}
	return nil
}
