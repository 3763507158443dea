package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

// appendLedger adds events to the tenant's chain inside tx, which already holds the change
// they record: no grant without its event, no event without its grant.
func appendLedger(ctx context.Context, tx *sqlx.Tx, tenant string, evs []consents.LedgerEvent) error {
	if len(evs) == 0 {
		return nil
	}
	head, err := lockLedger(ctx, tx, tenant)
	if err != nil {
		return err
	}
	linked, head := consents.Chain(head, evs)
	for _, ev := range linked {
		ctxJSON, _ := json.Marshal(ev.Context)
		if ev.Context == nil {
			ctxJSON = []byte("{}")
		}
		var consentID, version any
		if ev.ConsentID != "" {
			consentID, version = ev.ConsentID, ev.ConsentVersion
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_ledger (tenant, seq, type, subject, consent_id, consent_version,
			grant_type, context, language, action_id, occurred_at, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			tenant, ev.Seq, ev.Type, ev.Subject, consentID, version, ev.GrantType, ctxJSON, ev.Language, ev.ActionID,
			ev.OccurredAt, ev.PrevHash, ev.Hash); err != nil {
			return postgres.Classify(err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE ledger_heads SET seq = $2, hash = $3 WHERE tenant = $1`, tenant, head.Seq, head.Hash)
	return postgres.Classify(err)
}

// lockLedger locks the head of the tenant's chain (its genesis when the tenant has none
// yet) and returns it. Every change of a grant or a client access takes this lock before
// it records its events, and so does Republish: the tenant's changes take turns.
func lockLedger(ctx context.Context, tx *sqlx.Tx, tenant string) (consents.Link, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_heads (tenant, seq, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		tenant, consents.Genesis.Seq, consents.Genesis.Hash); err != nil {
		return consents.Link{}, postgres.Classify(err)
	}
	var head consents.Link
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM ledger_heads WHERE tenant = $1 FOR UPDATE`, tenant).Scan(&head.Seq, &head.Hash); err != nil {
		return consents.Link{}, postgres.Classify(err)
	}
	return head, nil
}

type ledgerRow struct {
	Seq            int64     `db:"seq"`
	Type           string    `db:"type"`
	Subject        string    `db:"subject"`
	ConsentID      *string   `db:"consent_id"`
	ConsentVersion *int64    `db:"consent_version"`
	GrantType      string    `db:"grant_type"`
	Context        []byte    `db:"context"`
	Language       string    `db:"language"`
	ActionID       string    `db:"action_id"`
	OccurredAt     time.Time `db:"occurred_at"`
	PrevHash       string    `db:"prev_hash"`
	Hash           string    `db:"hash"`
	Total          int       `db:"total"`
}

func (r ledgerRow) event() consents.LedgerEvent {
	ev := consents.LedgerEvent{Seq: r.Seq, Type: r.Type, Subject: r.Subject, GrantType: r.GrantType, Language: r.Language,
		ActionID: r.ActionID, OccurredAt: r.OccurredAt.UTC(), PrevHash: r.PrevHash, Hash: r.Hash}
	if r.ConsentID != nil {
		ev.ConsentID = *r.ConsentID
	}
	if r.ConsentVersion != nil {
		ev.ConsentVersion = *r.ConsentVersion
	}
	_ = json.Unmarshal(r.Context, &ev.Context)
	if len(ev.Context) == 0 {
		ev.Context = nil
	}
	return ev
}

const ledgerColumns = `seq, type, subject, consent_id, consent_version, grant_type, context, language, action_id, occurred_at, prev_hash, hash`

// Ledger lists events, oldest first.
func (s *Store) Ledger(ctx context.Context, tenant string, q consents.LedgerQuery) ([]consents.LedgerEvent, int, error) {
	const where = `WHERE tenant = $1 AND ($2 = '' OR subject = $2) AND ($3::timestamptz IS NULL OR occurred_at >= $3)
		  AND ($4::timestamptz IS NULL OR occurred_at < $4)`
	var rows []ledgerRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+ledgerColumns+`, count(*) OVER () AS total FROM privacy_ledger `+where+`
		ORDER BY occurred_at, seq LIMIT $5 OFFSET $6`, tenant, q.Subject, q.From, q.To, q.Limit, q.Offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.LedgerEvent, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.event(), r.Total
	}
	if len(rows) == 0 && q.Offset > 0 {
		// A page past the end has no row to carry the total.
		if err := s.DB.GetContext(ctx, &total, `SELECT count(*) FROM privacy_ledger `+where, tenant, q.Subject, q.From, q.To); err != nil {
			return nil, 0, postgres.Classify(err)
		}
	}
	return out, total, nil
}

// WalkLedger streams the tenant's chain in seq order to visit, until it returns false.
func (s *Store) WalkLedger(ctx context.Context, tenant string, visit func(consents.LedgerEvent) bool) error {
	rows, err := s.DB.QueryxContext(ctx, `SELECT `+ledgerColumns+`, 0 AS total FROM privacy_ledger WHERE tenant = $1 ORDER BY seq`, tenant)
	if err != nil {
		return postgres.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ledgerRow
		if err := rows.StructScan(&r); err != nil {
			return postgres.Classify(err)
		}
		if !visit(r.event()) {
			return nil
		}
	}
	return postgres.Classify(rows.Err())
}

// LedgerHead reads the end of the tenant's chain; nil when the tenant has no chain.
func (s *Store) LedgerHead(ctx context.Context, tenant string) (*consents.Link, error) {
	var head consents.Link
	err := s.DB.QueryRowContext(ctx, `SELECT seq, hash FROM ledger_heads WHERE tenant = $1`, tenant).Scan(&head.Seq, &head.Hash)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	return &head, nil
}
