package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/signin"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Authorizations keeps authorization requests while the person is at the login and
// consent pages.
type Authorizations struct{ DB *sqlx.DB }

var _ signin.Authorizations = (*Authorizations)(nil)

type authorizationRow struct {
	Tenant      string         `db:"tenant"`
	ID          string         `db:"id"`
	ClientID    string         `db:"client_id"`
	RedirectURI string         `db:"redirect_uri"`
	Scope       string         `db:"scope"`
	State       string         `db:"state"`
	Nonce       string         `db:"nonce"`
	Challenge   string         `db:"code_challenge"`
	Prompt      string         `db:"prompt"`
	MaxAge      sql.NullInt64  `db:"max_age"`
	LoginHint   string         `db:"login_hint"`
	UILocales   string         `db:"ui_locales"`
	Browser     string         `db:"browser"`
	Stage       string         `db:"stage"`
	Subject     string         `db:"subject"`
	AuthTime    int64          `db:"auth_time"`
	AMR         pq.StringArray `db:"amr"`
	SID         string         `db:"sid"`
	Offered     string         `db:"offered_scope"`
	CreatedAt   time.Time      `db:"created_at"`
	ExpiresAt   time.Time      `db:"expires_at"`
}

const authorizationColumns = `tenant, id, client_id, redirect_uri, scope, state, nonce, code_challenge, prompt, max_age,
	login_hint, ui_locales, browser, stage, subject, auth_time, amr, sid, offered_scope, created_at, expires_at`

// Create keeps a new authorization.
func (s *Authorizations) Create(ctx context.Context, a *signin.Authorization) error {
	row := authorizationRow{Tenant: a.Tenant, ID: a.ID, ClientID: a.ClientID, RedirectURI: a.RedirectURI, Scope: a.Scope,
		State: a.State, Nonce: a.Nonce, Challenge: a.Challenge, Prompt: a.Prompt, LoginHint: a.LoginHint, UILocales: a.UILocales,
		Browser: a.Browser, Stage: string(a.Stage), Subject: a.Subject, AuthTime: a.AuthTime, AMR: pq.StringArray(nonNil(a.AMR)),
		SID: a.SID, Offered: a.Offered, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt}
	if a.MaxAge != nil {
		row.MaxAge = sql.NullInt64{Int64: *a.MaxAge, Valid: true}
	}
	_, err := s.DB.NamedExecContext(ctx, `INSERT INTO authorizations (`+authorizationColumns+`) VALUES (:tenant, :id, :client_id,
		:redirect_uri, :scope, :state, :nonce, :code_challenge, :prompt, :max_age, :login_hint, :ui_locales, :browser, :stage,
		:subject, :auth_time, :amr, :sid, :offered_scope, :created_at, :expires_at)`, row)
	return postgres.Classify(err)
}

// Get returns an authorization.
func (s *Authorizations) Get(ctx context.Context, tenant, id string) (*signin.Authorization, error) {
	var r authorizationRow
	err := s.DB.GetContext(ctx, &r, `SELECT `+authorizationColumns+` FROM authorizations WHERE tenant = $1 AND id = $2`, tenant, id)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, errs.E(errs.NotFound, "no such authorization")
		}
		return nil, postgres.Classify(err)
	}
	a := &signin.Authorization{Tenant: r.Tenant, ID: r.ID, ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scope: r.Scope,
		State: r.State, Nonce: r.Nonce, Challenge: r.Challenge, Prompt: r.Prompt, LoginHint: r.LoginHint, UILocales: r.UILocales,
		Browser: r.Browser, Stage: signin.Stage(r.Stage), Subject: r.Subject, AuthTime: r.AuthTime, AMR: r.AMR, SID: r.SID,
		Offered: r.Offered, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
	if r.MaxAge.Valid {
		a.MaxAge = &r.MaxAge.Int64
	}
	return a, nil
}

// advance moves a from one stage to the next with set (more SET assignments, from $5 on),
// only if it is still at from, for its browser and unexpired.
func advance(ctx context.Context, q sqlx.ExecerContext, a *signin.Authorization, from, to signin.Stage, set string, args ...any) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE authorizations SET stage = $3`+set+`
		WHERE tenant = $1 AND id = $2 AND stage = $4 AND expires_at > now()`,
		append([]any{a.Tenant, a.ID, string(to), string(from)}, args...)...)
	if err != nil {
		return false, postgres.Classify(err)
	}
	n, err := res.RowsAffected()
	return n == 1, postgres.Classify(err)
}

// LoggedIn records who signed in and what the consent page is asked for.
func (s *Authorizations) LoggedIn(ctx context.Context, a *signin.Authorization) (bool, error) {
	return advance(ctx, s.DB, a, signin.AtLogin, signin.AtConsent,
		`, subject = $5, auth_time = $6, amr = $7, sid = $8, offered_scope = $9`,
		a.Subject, a.AuthTime, pq.StringArray(nonNil(a.AMR)), a.SID, a.Offered)
}

// Consented finishes the authorization and keeps its code, together.
func (s *Authorizations) Consented(ctx context.Context, a *signin.Authorization, code *tokens.Code) (bool, error) {
	var ok bool
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var err error
		if ok, err = advance(ctx, tx, a, signin.AtConsent, signin.Done, ""); err != nil || !ok {
			return err
		}
		return insertCode(ctx, tx, code)
	})
	return ok, err
}

// End ends the authorization from the stage it was read at.
func (s *Authorizations) End(ctx context.Context, a *signin.Authorization) (bool, error) {
	return advance(ctx, s.DB, a, a.Stage, signin.Ended, "")
}
