package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

var _ consents.ScreenStore = (*Store)(nil)

// ScreenState reads, as of one snapshot, what subject's consent screen for clientID
// depends on.
func (s *Store) ScreenState(ctx context.Context, tenant, subject, clientID, challenge string, scopes []string) (*consents.ScreenState, error) {
	tx, err := s.DB.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, postgres.Classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	st := &consents.ScreenState{Scopes: map[string]consents.ScopeText{}}
	var client struct {
		ID              string `db:"id"`
		Name            string `db:"name"`
		LogoURI         string `db:"logo_uri"`
		ClientURI       string `db:"client_uri"`
		PolicyURI       string `db:"policy_uri"`
		TosURI          string `db:"tos_uri"`
		ConsentActionID string `db:"consent_action_id"`
		Trusted         bool   `db:"trusted"`
	}
	err = tx.GetContext(ctx, &client, `SELECT id, name, logo_uri, client_uri, policy_uri, tos_uri, consent_action_id, trusted
		FROM client_view WHERE tenant = $1 AND id = $2`, tenant, clientID)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "client %q not found", clientID)
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	st.Client = consents.ScreenClient{ID: client.ID, Name: client.Name, LogoURI: client.LogoURI, ClientURI: client.ClientURI,
		PolicyURI: client.PolicyURI, TosURI: client.TosURI, ConsentActionID: client.ConsentActionID, Trusted: client.Trusted}
	if err := tx.GetContext(ctx, &st.ChallengeUsed, `SELECT EXISTS (SELECT 1 FROM used_consent_challenges WHERE tenant = $1 AND id = $2)`,
		tenant, challenge); err != nil {
		return nil, postgres.Classify(err)
	}
	var access []pq.StringArray
	if err := tx.SelectContext(ctx, &access, `SELECT scopes FROM client_access WHERE tenant = $1 AND subject = $2 AND client_id = $3`,
		tenant, subject, clientID); err != nil {
		return nil, postgres.Classify(err)
	}
	if len(access) == 1 {
		st.Access, st.HasAccess = []string(access[0]), true
	}
	// A tenant's definition of a scope comes before a built-in one (system tenant).
	var texts []struct {
		Name        string `db:"name"`
		DisplayName string `db:"display_name"`
		Description string `db:"description"`
	}
	if err := tx.SelectContext(ctx, &texts, `SELECT DISTINCT ON (name) name, display_name, description FROM scope_view
		WHERE tenant IN ($1, 'system') AND name = ANY($2) ORDER BY name, tenant = $1 DESC`, tenant, pq.StringArray(scopes)); err != nil {
		return nil, postgres.Classify(err)
	}
	for _, t := range texts {
		st.Scopes[t.Name] = consents.ScopeText{Name: t.Name, DisplayName: t.DisplayName, Description: t.Description}
	}
	if client.ConsentActionID != "" {
		if err := actionConsents(ctx, tx, tenant, subject, client.ConsentActionID, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// actionConsents reads the consents of the client's consent action (by id or name) that
// still exist, in the action's order, with subject's grants; an action that is gone asks
// for nothing.
func actionConsents(ctx context.Context, tx *sqlx.Tx, tenant, subject, action string, st *consents.ScreenState) error {
	var a struct {
		ID       string `db:"id"`
		Consents []byte `db:"consents"`
	}
	err := tx.GetContext(ctx, &a, `SELECT id::text AS id, consents FROM consent_actions WHERE `+actionByIDOrName, tenant, action)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil
	}
	if err != nil {
		return postgres.Classify(err)
	}
	st.ActionID = a.ID
	var asked []consents.ActionConsent
	_ = json.Unmarshal(a.Consents, &asked)
	ids := make(pq.StringArray, len(asked))
	for i, ac := range asked {
		ids[i] = ac.ConsentID
	}
	var rows []struct {
		ID             string     `db:"id"`
		Name           string     `db:"name"`
		Description    string     `db:"description"`
		Texts          []byte     `db:"texts"`
		CanBeWithdrawn bool       `db:"can_be_withdrawn"`
		ValidFrom      *time.Time `db:"valid_from"`
		Version        int64      `db:"version"`
		GrantedVersion *int64     `db:"granted_version"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT c.id::text AS id, c.name, c.description, c.texts, c.can_be_withdrawn, c.valid_from,
		c.version, g.granted_version FROM consents c
		LEFT JOIN grants g ON g.tenant = c.tenant AND g.consent_id = c.id AND g.subject = $3
		WHERE c.tenant = $1 AND c.id = ANY($2::text[])`, tenant, ids, subject); err != nil {
		return postgres.Classify(err)
	}
	byID := make(map[string]int, len(rows))
	for i, r := range rows {
		byID[r.ID] = i
	}
	for _, ac := range asked {
		i, ok := byID[ac.ConsentID]
		if !ok {
			continue // deleted since the action was made: nothing to ask
		}
		r := rows[i]
		c := consents.ScreenConsent{ID: r.ID, Name: r.Name, Description: r.Description, Required: ac.Required,
			CanBeWithdrawn: r.CanBeWithdrawn, ValidFrom: r.ValidFrom, CurrentVersion: r.Version, GrantedVersion: r.GrantedVersion}
		_ = json.Unmarshal(r.Texts, &c.Texts)
		st.Consents = append(st.Consents, c)
	}
	return nil
}

// RecordScreen records a consent screen's answer in one transaction, the challenge's use
// first: of two answers to one challenge racing, the second waits for the first and then
// finds it used. The client access (stamped before the transaction) is recorded before
// the grants (stamped inside it), so the ledger's times follow its order.
func (s *Store) RecordScreen(ctx context.Context, tenant string, r consents.ScreenRecord) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO used_consent_challenges (tenant, id, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (tenant, id) DO NOTHING`, tenant, r.Challenge, r.ChallengeExpiresAt)
		if err != nil {
			return postgres.Classify(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return consents.ErrChallengeUsed
		}
		if err := lockSubjectGrants(ctx, tx, tenant, r.Subject); err != nil {
			return err
		}
		if r.Access != nil {
			if err := grantClientAccess(ctx, tx, tenant, r.Subject, *r.Access); err != nil {
				return err
			}
		}
		if len(r.Grants) > 0 {
			if err := changeGrants(ctx, tx, tenant, r.Subject, r.Grants, r.RecordGrants); err != nil {
				return err
			}
		}
		return appendLedger(ctx, tx, tenant, r.Ledger)
	})
}

// PruneChallenges forgets the used challenges that expired before t.
func (s *Store) PruneChallenges(ctx context.Context, t time.Time) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM used_consent_challenges WHERE expires_at < $1`, t)
	return postgres.Classify(err)
}
