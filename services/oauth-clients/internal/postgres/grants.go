package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// Grants keeps authorization codes, token families and refresh tokens. A code's exchange
// and a refresh are one transaction each, of two statements: the code (or token and
// family) is read and locked together with what the views say of its person, and what
// the rules decided is written in one statement.
type Grants struct{ DB *sqlx.DB }

var _ tokens.Grants = (*Grants)(nil)

type codeRow struct {
	Tenant      string         `db:"tenant"`
	Hash        string         `db:"code_hash"`
	ClientID    string         `db:"client_id"`
	RedirectURI string         `db:"redirect_uri"`
	Challenge   string         `db:"code_challenge"`
	Nonce       string         `db:"nonce"`
	Scope       string         `db:"scope"`
	Subject     string         `db:"subject"`
	AuthTime    int64          `db:"auth_time"`
	AMR         pq.StringArray `db:"amr"`
	SID         string         `db:"sid"`
	ExpiresAt   time.Time      `db:"expires_at"`
	UsedAt      *time.Time     `db:"used_at"`
	FamilyID    string         `db:"family_id"`
	standingRow
}

// standingRow is the person's row in the view of users, if any.
type standingRow struct {
	Known   bool `db:"known"`
	Locked  bool `db:"locked"`
	Deleted bool `db:"deleted"`
}

func (s standingRow) standing() users.Standing {
	return users.Standing{Known: s.Known, Locked: s.Locked, Deleted: s.Deleted}
}

// insertCode keeps a code; the authorization's last step calls it in its transaction.
func insertCode(ctx context.Context, tx *sqlx.Tx, c *tokens.Code) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO authorization_codes (tenant, code_hash, client_id, redirect_uri, code_challenge,
		nonce, scope, subject, auth_time, amr, sid, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.Tenant, c.Hash, c.ClientID, c.RedirectURI, c.Challenge, c.Nonce, c.Scope, c.Subject, c.AuthTime,
		pq.StringArray(nonNil(c.AMR)), c.SID, c.ExpiresAt)
	return postgres.Classify(err)
}

// Redeem locks the code, lets decide rule on it, and records the decision.
func (g *Grants) Redeem(ctx context.Context, tenant, codeHash string, decide func(*tokens.Code, users.Standing) tokens.Decision) error {
	var refusal error
	err := postgres.InTx(ctx, g.DB, func(tx *sqlx.Tx) error {
		refusal = nil
		var row codeRow
		err := tx.GetContext(ctx, &row, `SELECT c.tenant, c.code_hash, c.client_id, c.redirect_uri, c.code_challenge, c.nonce,
			c.scope, c.subject, c.auth_time, c.amr, c.sid, c.expires_at, c.used_at, coalesce(c.family_id, '') AS family_id,
			u.subject IS NOT NULL AS known, coalesce(u.locked, false) AS locked, coalesce(u.deleted, false) AS deleted
			FROM authorization_codes c LEFT JOIN users u ON u.tenant = c.tenant AND u.subject = c.subject
			WHERE c.tenant = $1 AND c.code_hash = $2 FOR UPDATE OF c`, tenant, codeHash)
		if err != nil {
			if errs.Is(postgres.Classify(err), errs.NotFound) {
				return errs.E(errs.NotFound, "no such code")
			}
			return postgres.Classify(err)
		}
		code := &tokens.Code{Tenant: row.Tenant, Hash: row.Hash, ClientID: row.ClientID, RedirectURI: row.RedirectURI,
			Challenge: row.Challenge, Nonce: row.Nonce, Scope: row.Scope, Subject: row.Subject, AuthTime: row.AuthTime,
			AMR: row.AMR, SID: row.SID, ExpiresAt: row.ExpiresAt, UsedAt: row.UsedAt, FamilyID: row.FamilyID}
		d := decide(code, row.standing())
		refusal = d.Refusal
		if d.Revoke && code.FamilyID != "" {
			if err := revokeFamilies(ctx, tx, tenant, `id = $2`, code.FamilyID); err != nil {
				return err
			}
		}
		if d.Issue == nil {
			return nil
		}
		f, iss := d.Issue.Family, d.Issue
		var refreshHash string
		var refreshExpires time.Time
		if iss.Refresh != nil {
			refreshHash, refreshExpires = iss.Refresh.Hash, iss.Refresh.ExpiresAt
		}
		_, err = tx.ExecContext(ctx, `WITH family AS (
				INSERT INTO token_families (tenant, id, client_id, subject, sid, scope, auth_time, amr, created_at, expires_at)
				VALUES ($1, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			), access AS (
				INSERT INTO family_access_tokens (tenant, family_id, jti, expires_at) VALUES ($1, $3, $12, $13)
			), refresh AS (
				INSERT INTO refresh_tokens (tenant, token_hash, family_id, expires_at)
				SELECT $1::text, $14::text, $3::text, $15::timestamptz WHERE $14::text <> ''
			)
			UPDATE authorization_codes SET used_at = $10, family_id = $3 WHERE tenant = $1 AND code_hash = $2`,
			tenant, codeHash, f.ID, f.ClientID, f.Subject, f.SID, f.Scope, f.AuthTime, pq.StringArray(nonNil(f.AMR)),
			f.CreatedAt, f.ExpiresAt, iss.AccessJTI, iss.AccessExpiresAt, refreshHash, refreshExpires)
		return postgres.Classify(err)
	})
	if err != nil {
		return err
	}
	return refusal
}

type refreshRow struct {
	Hash            string         `db:"token_hash"`
	ExpiresAt       time.Time      `db:"expires_at"`
	UsedAt          *time.Time     `db:"used_at"`
	FamilyID        string         `db:"family_id"`
	ClientID        string         `db:"client_id"`
	Subject         string         `db:"subject"`
	SID             string         `db:"sid"`
	Scope           string         `db:"scope"`
	AuthTime        int64          `db:"auth_time"`
	AMR             pq.StringArray `db:"amr"`
	CreatedAt       time.Time      `db:"created_at"`
	FamilyExpiresAt time.Time      `db:"family_expires_at"`
	RevokedAt       *time.Time     `db:"revoked_at"`
	AccessRevoked   *time.Time     `db:"access_revoked_at"`
	AccessRegranted *time.Time     `db:"access_regranted_at"`
	Entitled        pq.StringArray `db:"entitled"`
	standingRow
}

// Refresh locks the refresh token and its family, lets decide rule on them with what the
// views say of the person (standing, client-access revocation, entitled scopes), and
// records the decision: the token rotated, a new one, the new access token's jti.
func (g *Grants) Refresh(ctx context.Context, tenant, tokenHash string, decide func(*tokens.RefreshToken, *tokens.Family, tokens.Holder) tokens.Decision) error {
	var refusal error
	err := postgres.InTx(ctx, g.DB, func(tx *sqlx.Tx) error {
		refusal = nil
		var row refreshRow
		err := tx.GetContext(ctx, &row, `SELECT r.token_hash, r.expires_at, r.used_at, r.family_id,
			f.client_id, f.subject, f.sid, f.scope, f.auth_time, f.amr, f.created_at, f.expires_at AS family_expires_at, f.revoked_at,
			u.subject IS NOT NULL AS known, coalesce(u.locked, false) AS locked, coalesce(u.deleted, false) AS deleted,
			a.revoked_at AS access_revoked_at, a.regranted_at AS access_regranted_at, e.scopes AS entitled
			FROM refresh_tokens r
			JOIN token_families f ON f.tenant = r.tenant AND f.id = r.family_id
			LEFT JOIN users u ON u.tenant = f.tenant AND u.subject = f.subject
			LEFT JOIN client_access_revocations a ON a.tenant = f.tenant AND a.client_id = f.client_id AND a.subject = f.subject
			LEFT JOIN entitled_scopes e ON e.tenant = f.tenant AND e.subject = f.subject
			WHERE r.tenant = $1 AND r.token_hash = $2 FOR UPDATE OF r, f`, tenant, tokenHash)
		if err != nil {
			if errs.Is(postgres.Classify(err), errs.NotFound) {
				return errs.E(errs.NotFound, "no such refresh token")
			}
			return postgres.Classify(err)
		}
		t := &tokens.RefreshToken{Hash: row.Hash, FamilyID: row.FamilyID, ExpiresAt: row.ExpiresAt, UsedAt: row.UsedAt}
		f := &tokens.Family{Tenant: tenant, ID: row.FamilyID, ClientID: row.ClientID, Subject: row.Subject, SID: row.SID,
			Scope: row.Scope, AuthTime: row.AuthTime, AMR: row.AMR, CreatedAt: row.CreatedAt, ExpiresAt: row.FamilyExpiresAt,
			RevokedAt: row.RevokedAt}
		h := tokens.Holder{Standing: row.standing(), Entitled: row.Entitled}
		if row.AccessRevoked != nil {
			h.Access = &tokens.AccessRevocation{RevokedAt: *row.AccessRevoked, RegrantedAt: row.AccessRegranted}
		}
		d := decide(t, f, h)
		refusal = d.Refusal
		if d.Revoke {
			if err := revokeFamilies(ctx, tx, tenant, `id = $2`, f.ID); err != nil {
				return err
			}
		}
		if d.Issue == nil {
			return nil
		}
		iss := d.Issue
		var refreshHash string
		var refreshExpires time.Time
		if iss.Refresh != nil {
			refreshHash, refreshExpires = iss.Refresh.Hash, iss.Refresh.ExpiresAt
		}
		_, err = tx.ExecContext(ctx, `WITH used AS (
				UPDATE refresh_tokens SET used_at = now() WHERE tenant = $1 AND token_hash = $2
			), family AS (
				UPDATE token_families SET expires_at = greatest(expires_at, $4) WHERE tenant = $1 AND id = $3
			), access AS (
				INSERT INTO family_access_tokens (tenant, family_id, jti, expires_at) VALUES ($1, $3, $5, $6)
			)
			INSERT INTO refresh_tokens (tenant, token_hash, family_id, expires_at)
			SELECT $1::text, $7::text, $3::text, $8::timestamptz WHERE $7::text <> ''`,
			tenant, tokenHash, f.ID, iss.FamilyExpiresAt, iss.AccessJTI, iss.AccessExpiresAt, refreshHash, refreshExpires)
		return postgres.Classify(err)
	})
	if err != nil {
		return err
	}
	return refusal
}

// RevokeSession revokes the families issued under a login session.
func (g *Grants) RevokeSession(ctx context.Context, tenant, sid string) error {
	if sid == "" {
		return nil
	}
	return postgres.InTx(ctx, g.DB, func(tx *sqlx.Tx) error {
		return revokeFamilies(ctx, tx, tenant, `sid = $2`, sid)
	})
}

// RevokeRefreshToken revokes the family of a refresh token (RFC 7009) if may allows.
func (g *Grants) RevokeRefreshToken(ctx context.Context, tenant, tokenHash string, may func(*tokens.Family) error) error {
	return postgres.InTx(ctx, g.DB, func(tx *sqlx.Tx) error {
		var f struct {
			ID       string `db:"id"`
			ClientID string `db:"client_id"`
		}
		err := tx.GetContext(ctx, &f, `SELECT f.id, f.client_id FROM refresh_tokens r
			JOIN token_families f ON f.tenant = r.tenant AND f.id = r.family_id
			WHERE r.tenant = $1 AND r.token_hash = $2 FOR UPDATE OF f`, tenant, tokenHash)
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil
		}
		if err != nil {
			return postgres.Classify(err)
		}
		if err := may(&tokens.Family{Tenant: tenant, ID: f.ID, ClientID: f.ClientID}); err != nil {
			return err
		}
		return revokeFamilies(ctx, tx, tenant, `id = $2`, f.ID)
	})
}

// revokeFamilies marks the tenant's families matching where ($2 is arg) revoked, and
// revokes their unexpired access tokens the way RFC 7009 revocation does (a revocation
// row and its event, which every service's token check follows).
func revokeFamilies(ctx context.Context, tx *sqlx.Tx, tenant, where string, arg any) error {
	var revoked []struct {
		JTI       string    `db:"jti"`
		ClientID  string    `db:"client_id"`
		Subject   string    `db:"subject"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	err := tx.SelectContext(ctx, &revoked, `WITH family AS (
			UPDATE token_families SET revoked_at = now() WHERE tenant = $1 AND `+where+` AND revoked_at IS NULL
			RETURNING id, client_id, subject
		)
		SELECT a.jti, family.client_id, family.subject, a.expires_at
		FROM family JOIN family_access_tokens a ON a.tenant = $1 AND a.family_id = family.id
		WHERE a.expires_at > now() ORDER BY a.jti`, tenant, arg)
	if err != nil {
		return postgres.Classify(err)
	}
	for _, r := range revoked {
		if err := revoke(ctx, tx, tokens.Revocation{Tenant: tenant, JTI: r.JTI, ClientID: r.ClientID, Subject: r.Subject,
			ExpiresAt: r.ExpiresAt}); err != nil {
			return err
		}
	}
	return nil
}

// Prune forgets what can no longer be used: authorizations and codes past their lifetime
// (a used code is kept for tokenTTL more, so that a late replay still revokes its access
// tokens), families whose every token has expired, with their refresh and access tokens.
func (g *Grants) Prune(ctx context.Context, tokenTTL time.Duration) error {
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`DELETE FROM authorizations WHERE expires_at < now() - interval '1 minute'`, nil},
		{`DELETE FROM authorization_codes WHERE expires_at < now() - make_interval(secs => $1) - interval '1 minute'`, []any{tokenTTL.Seconds()}},
		{`DELETE FROM token_families WHERE expires_at < now() - interval '1 minute'`, nil},
		{`DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 minute'`, nil},
		{`DELETE FROM family_access_tokens WHERE expires_at < now() - interval '1 minute'`, nil},
	} {
		if _, err := g.DB.ExecContext(ctx, st.q, st.args...); err != nil {
			return postgres.Classify(err)
		}
	}
	return nil
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
