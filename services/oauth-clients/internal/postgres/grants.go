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

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// Grants keeps authorization codes and token families. A family is one row: what its
// code granted, its refresh token's current generation (and that token's hash), and the
// unexpired access tokens it issued, so a refresh is one update of one row. A code's
// exchange and a refresh each read what they need (with what the views say of the
// person), let the rules decide, and record the decision in one statement that holds only
// while nothing changed in between: the code still unused, the family still at the
// generation read and not revoked. Two round trips and one commit, no transaction held
// open across the decision; a request that loses a race reads again and is decided again
// (as the second use of a code or refresh token, which revokes).
type Grants struct {
	DB *sqlx.DB
	// hot holds the exchange's and the refresh's statements prepared.
	hot postgres.Prepared
}

// NewGrants keeps grants in db.
func NewGrants(db *sqlx.DB) *Grants { return &Grants{DB: db, hot: postgres.Prepared{DB: db}} }

var _ tokens.Grants = (*Grants)(nil)

// get runs a prepared query of the hot path for one row.
func (g *Grants) get(ctx context.Context, into any, query string, args ...any) error {
	stmt, err := g.hot.Stmt(ctx, query)
	if err != nil {
		return err
	}
	return stmt.GetContext(ctx, into, args...)
}

// exec runs a prepared statement of the hot path.
func (g *Grants) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := g.hot.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

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

// accessToken is one entry of a family's access_tokens: an unexpired access token it
// issued, by jti and expiry (Unix seconds).
type accessToken struct {
	JTI string `json:"jti"`
	Exp int64  `json:"exp"`
}

// Redeem reads the code, lets decide rule on it, and records the decision.
func (g *Grants) Redeem(ctx context.Context, tenant, codeHash string, decide func(*tokens.Code, users.Standing) tokens.Decision) error {
	for attempt := 0; ; attempt++ {
		var row codeRow
		err := g.get(ctx, &row, `SELECT c.tenant, c.code_hash, c.client_id, c.redirect_uri, c.code_challenge, c.nonce,
			c.scope, c.subject, c.auth_time, c.amr, c.sid, c.expires_at, c.used_at, coalesce(c.family_id, '') AS family_id,
			u.subject IS NOT NULL AS known, coalesce(u.locked, false) AS locked, coalesce(u.deleted, false) AS deleted
			FROM authorization_codes c LEFT JOIN users u ON u.tenant = c.tenant AND u.subject = c.subject
			WHERE c.tenant = $1 AND c.code_hash = $2`, tenant, codeHash)
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
		if d.Revoke && code.FamilyID != "" {
			if err := g.revoke(ctx, tenant, `id = $2`, code.FamilyID); err != nil {
				return err
			}
		}
		if d.Issue == nil {
			return d.Refusal
		}
		f, iss := d.Issue.Family, d.Issue
		access, err := json.Marshal([]accessToken{{JTI: iss.AccessJTI, Exp: iss.AccessExpiresAt.Unix()}})
		if err != nil {
			return err
		}
		// The code is claimed only if still unused, and the family written only if it was.
		res, err := g.exec(ctx, `WITH claimed AS (
				UPDATE authorization_codes SET used_at = $10, family_id = $3
				WHERE tenant = $1 AND code_hash = $2 AND used_at IS NULL RETURNING tenant
			)
			INSERT INTO token_families (tenant, id, client_id, subject, sid, scope, auth_time, amr, created_at, expires_at,
				refresh_generation, refresh_hash, refresh_expires_at, access_tokens)
			SELECT $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 FROM claimed`,
			tenant, codeHash, f.ID, f.ClientID, f.Subject, f.SID, f.Scope, f.AuthTime, pq.StringArray(nonNil(f.AMR)),
			f.CreatedAt, f.ExpiresAt, iss.Refresh.Generation, iss.Refresh.Hash, iss.Refresh.ExpiresAt, string(access))
		if done, err := wrote(res, err); done || err != nil {
			return err
		}
		if attempt > 0 {
			return errs.E(errs.Conflict, "the code changed while it was being exchanged")
		}
		// Another exchange of the same code won: read it again, now used.
	}
}

// wrote reports whether a conditional write changed a row.
func wrote(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, postgres.Classify(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

type familyRow struct {
	ID               string         `db:"id"`
	ClientID         string         `db:"client_id"`
	Subject          string         `db:"subject"`
	SID              string         `db:"sid"`
	Scope            string         `db:"scope"`
	AuthTime         int64          `db:"auth_time"`
	AMR              pq.StringArray `db:"amr"`
	CreatedAt        time.Time      `db:"created_at"`
	ExpiresAt        time.Time      `db:"expires_at"`
	RevokedAt        *time.Time     `db:"revoked_at"`
	Generation       int            `db:"refresh_generation"`
	RefreshHash      string         `db:"refresh_hash"`
	RefreshExpiresAt time.Time      `db:"refresh_expires_at"`
	LiveAccess       int            `db:"live_access"`
}

// familyColumns reads a family f; live_access counts its unexpired access tokens.
const familyColumns = `f.id, f.client_id, f.subject, f.sid, f.scope, f.auth_time, f.amr, f.created_at, f.expires_at,
	f.revoked_at, f.refresh_generation, f.refresh_hash, f.refresh_expires_at,
	(SELECT count(*) FROM jsonb_array_elements(f.access_tokens) a WHERE (a->>'exp')::bigint > extract(epoch FROM now())) AS live_access`

func (r familyRow) family(tenant string) *tokens.Family {
	return &tokens.Family{Tenant: tenant, ID: r.ID, ClientID: r.ClientID, Subject: r.Subject, SID: r.SID, Scope: r.Scope,
		AuthTime: r.AuthTime, AMR: r.AMR, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt,
		Refresh:          tokens.RefreshToken{FamilyID: r.ID, Generation: r.Generation, Hash: r.RefreshHash, ExpiresAt: r.RefreshExpiresAt},
		LiveAccessTokens: r.LiveAccess}
}

type refreshRow struct {
	familyRow
	AccessRevoked   *time.Time     `db:"access_revoked_at"`
	AccessRegranted *time.Time     `db:"access_regranted_at"`
	Entitled        pq.StringArray `db:"entitled"`
	standingRow
}

// Refresh reads the presented token's family with what the views say of the person
// (standing, client-access revocation, entitled scopes), lets decide rule on them, and
// records the decision: the family at its next generation, with the new access token.
func (g *Grants) Refresh(ctx context.Context, tenant string, t tokens.PresentedRefreshToken, decide func(*tokens.Family, tokens.Holder) tokens.Decision) error {
	for attempt := 0; ; attempt++ {
		var row refreshRow
		err := g.get(ctx, &row, `SELECT `+familyColumns+`,
			u.subject IS NOT NULL AS known, coalesce(u.locked, false) AS locked, coalesce(u.deleted, false) AS deleted,
			a.revoked_at AS access_revoked_at, a.regranted_at AS access_regranted_at, e.scopes AS entitled
			FROM token_families f
			LEFT JOIN users u ON u.tenant = f.tenant AND u.subject = f.subject
			LEFT JOIN client_access_revocations a ON a.tenant = f.tenant AND a.client_id = f.client_id AND a.subject = f.subject
			LEFT JOIN entitled_scopes e ON e.tenant = f.tenant AND e.subject = f.subject
			WHERE f.tenant = $1 AND f.id = $2`, tenant, t.FamilyID)
		if err != nil {
			if errs.Is(postgres.Classify(err), errs.NotFound) {
				return errs.E(errs.NotFound, "no such refresh token")
			}
			return postgres.Classify(err)
		}
		f := row.family(tenant)
		h := tokens.Holder{Standing: row.standing(), Entitled: row.Entitled}
		if row.AccessRevoked != nil {
			h.Access = &tokens.AccessRevocation{RevokedAt: *row.AccessRevoked, RegrantedAt: row.AccessRegranted}
		}
		d := decide(f, h)
		if d.Revoke {
			if err := g.revoke(ctx, tenant, `id = $2`, f.ID); err != nil {
				return err
			}
		}
		if d.Issue == nil {
			return d.Refusal
		}
		iss := d.Issue
		// The family moves on only from the generation read and while not revoked: a
		// refresh and a revocation of the family both update its row, so one waits for
		// the other and sees what it did. Its expiry (which only pruning reads) moves an
		// hour past the new tokens' when they would outlive it, so most refreshes leave
		// its indexed columns as they are: an update on the page (HOT), no index entries.
		res, err := g.exec(ctx, `UPDATE token_families SET
				refresh_generation = $4, refresh_hash = $5, refresh_expires_at = $6,
				access_tokens = (SELECT coalesce(jsonb_agg(a), '[]'::jsonb) FROM jsonb_array_elements(access_tokens) a
					WHERE (a->>'exp')::bigint > extract(epoch FROM now())) || jsonb_build_array(jsonb_build_object('jti', $7::text, 'exp', $8::bigint)),
				expires_at = CASE WHEN expires_at < $9 THEN $9 + interval '1 hour' ELSE expires_at END
			WHERE tenant = $1 AND id = $2 AND refresh_generation = $3 AND revoked_at IS NULL`,
			tenant, f.ID, f.Refresh.Generation, iss.Refresh.Generation, iss.Refresh.Hash, iss.Refresh.ExpiresAt,
			iss.AccessJTI, iss.AccessExpiresAt.Unix(), iss.FamilyExpiresAt)
		if done, err := wrote(res, err); done || err != nil {
			return err
		}
		if attempt > 0 {
			return errs.E(errs.Conflict, "the refresh token changed while it was being used")
		}
		// Another refresh of the same token, or a revocation of its family, came first:
		// read again, now at a later generation or revoked.
	}
}

// RevokeSession revokes the families issued under a login session.
func (g *Grants) RevokeSession(ctx context.Context, tenant, sid string) error {
	if sid == "" {
		return nil
	}
	return g.revoke(ctx, tenant, `sid = $2`, sid)
}

// RevokeRefreshToken revokes the family of a refresh token (RFC 7009) if decide says so.
func (g *Grants) RevokeRefreshToken(ctx context.Context, tenant string, t tokens.PresentedRefreshToken, decide func(*tokens.Family) (bool, error)) error {
	return postgres.InTx(ctx, g.DB, func(tx *sqlx.Tx) error {
		var row familyRow
		err := tx.GetContext(ctx, &row, `SELECT `+familyColumns+` FROM token_families f
			WHERE f.tenant = $1 AND f.id = $2 FOR UPDATE`, tenant, t.FamilyID)
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil
		}
		if err != nil {
			return postgres.Classify(err)
		}
		if revoke, err := decide(row.family(tenant)); !revoke || err != nil {
			return err
		}
		return revokeFamilies(ctx, tx, tenant, `id = $2`, row.ID)
	})
}

// revoke revokes the tenant's families matching where in a transaction of its own.
func (g *Grants) revoke(ctx context.Context, tenant, where string, arg any) error {
	return postgres.InTx(ctx, g.DB, func(tx *sqlx.Tx) error {
		return revokeFamilies(ctx, tx, tenant, where, arg)
	})
}

// revokeFamilies marks the tenant's families matching where ($2 is arg) revoked, and
// revokes their unexpired access tokens the way RFC 7009 revocation does (a revocation
// row and its event, which every service's token check follows). The access tokens are
// read from the very rows it revokes, so none a concurrent refresh adds is missed: that
// refresh either updated the row first (and its token is read here) or finds it revoked.
func revokeFamilies(ctx context.Context, tx *sqlx.Tx, tenant, where string, arg any) error {
	var families []struct {
		ClientID string `db:"client_id"`
		Subject  string `db:"subject"`
		Access   []byte `db:"access_tokens"`
	}
	err := tx.SelectContext(ctx, &families, `UPDATE token_families SET revoked_at = now()
		WHERE tenant = $1 AND `+where+` AND revoked_at IS NULL RETURNING client_id, subject, access_tokens`, tenant, arg)
	if err != nil {
		return postgres.Classify(err)
	}
	now := time.Now().Unix()
	for _, f := range families {
		var access []accessToken
		if err := json.Unmarshal(f.Access, &access); err != nil {
			return err
		}
		for _, a := range access {
			if a.Exp <= now {
				continue
			}
			if err := revoke(ctx, tx, tokens.Revocation{Tenant: tenant, JTI: a.JTI, ClientID: f.ClientID, Subject: f.Subject,
				ExpiresAt: time.Unix(a.Exp, 0)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Prune forgets what can no longer be used: authorizations and codes past their lifetime
// (a used code is kept for tokenTTL more, so that a late replay still revokes its access
// tokens), and families whose every token has expired.
func (g *Grants) Prune(ctx context.Context, tokenTTL time.Duration) error {
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`DELETE FROM authorizations WHERE expires_at < now() - interval '1 minute'`, nil},
		{`DELETE FROM authorization_codes WHERE expires_at < now() - make_interval(secs => $1) - interval '1 minute'`, []any{tokenTTL.Seconds()}},
		{`DELETE FROM token_families WHERE expires_at < now() - interval '1 minute'`, nil},
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
