package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

// genesis is the hash a tenant's chain starts from.
var genesis = hex.EncodeToString(make([]byte, sha256.Size))

// chainHash links an event to its predecessor: sha256(prev || canonical JSON of the event).
// The JSON is of the event's own fields in a fixed order, times in UTC to the microsecond,
// so a recomputation from the stored row gives the same bytes.
func chainHash(prev string, ev consents.LedgerEvent) string {
	ev.OccurredAt = ev.OccurredAt.UTC().Truncate(time.Microsecond)
	if ev.Context == nil {
		ev.Context = map[string]string{}
	}
	body, _ := json.Marshal(ev)
	sum := sha256.Sum256(append([]byte(prev), body...))
	return hex.EncodeToString(sum[:])
}

// appendLedger adds events to the tenant's chain inside tx, which already holds the change
// they record: no grant without its event, no event without its grant.
func appendLedger(ctx context.Context, tx *sqlx.Tx, tenant string, evs []consents.LedgerEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_heads (tenant, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING`, tenant, genesis); err != nil {
		return postgres.Classify(err)
	}
	var head struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	if err := tx.GetContext(ctx, &head, `SELECT seq, hash FROM ledger_heads WHERE tenant = $1 FOR UPDATE`, tenant); err != nil {
		return postgres.Classify(err)
	}
	for _, ev := range evs {
		ev.Seq, ev.OccurredAt = head.Seq+1, ev.OccurredAt.UTC().Truncate(time.Microsecond)
		hash := chainHash(head.Hash, ev)
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
			ev.OccurredAt, head.Hash, hash); err != nil {
			return postgres.Classify(err)
		}
		head.Seq, head.Hash = ev.Seq, hash
	}
	_, err := tx.ExecContext(ctx, `UPDATE ledger_heads SET seq = $2, hash = $3 WHERE tenant = $1`, tenant, head.Seq, head.Hash)
	return postgres.Classify(err)
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
		ActionID: r.ActionID, OccurredAt: r.OccurredAt.UTC(), Hash: r.Hash}
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
	var rows []ledgerRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+ledgerColumns+`, count(*) OVER () AS total FROM privacy_ledger
		WHERE tenant = $1 AND ($2 = '' OR subject = $2) AND ($3::timestamptz IS NULL OR occurred_at >= $3)
		  AND ($4::timestamptz IS NULL OR occurred_at < $4)
		ORDER BY occurred_at, seq LIMIT $5 OFFSET $6`, tenant, q.Subject, q.From, q.To, q.Limit, q.Offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.LedgerEvent, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.event(), r.Total
	}
	return out, total, nil
}

// Verify recomputes the tenant's chain from the start, streaming the rows.
func (s *Store) Verify(ctx context.Context, tenant string) (consents.Verification, error) {
	rows, err := s.DB.QueryxContext(ctx, `SELECT `+ledgerColumns+`, 0 AS total FROM privacy_ledger WHERE tenant = $1 ORDER BY seq`, tenant)
	if err != nil {
		return consents.Verification{}, postgres.Classify(err)
	}
	defer rows.Close()
	v := consents.Verification{Valid: true}
	prev, expected := genesis, int64(1)
	for rows.Next() {
		var r ledgerRow
		if err := rows.StructScan(&r); err != nil {
			return v, postgres.Classify(err)
		}
		v.Checked++
		ev := r.event()
		ev.Hash = ""
		if r.Seq != expected || r.PrevHash != prev || chainHash(prev, ev) != r.Hash {
			seq := r.Seq
			v.Valid, v.FirstBrokenSeq = false, &seq
			return v, nil
		}
		prev, expected = r.Hash, expected+1
	}
	if err := rows.Err(); err != nil {
		return v, postgres.Classify(err)
	}
	var head struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	err = s.DB.GetContext(ctx, &head, `SELECT seq, hash FROM ledger_heads WHERE tenant = $1`, tenant)
	if err != nil && !errs.Is(postgres.Classify(err), errs.NotFound) {
		return v, postgres.Classify(err)
	}
	if err == nil && (head.Seq != expected-1 || head.Hash != prev) {
		// Rows were deleted from the end of the chain.
		seq := expected
		v.Valid, v.FirstBrokenSeq = false, &seq
	}
	return v, nil
}
