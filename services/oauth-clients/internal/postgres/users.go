package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// Users is the view of iam-subjects' users.
type Users struct{ DB *sqlx.DB }

var _ users.View = (*Users)(nil)

type userRow struct {
	Tenant            string `db:"tenant"`
	Subject           string `db:"subject"`
	DisplayName       string `db:"display_name"`
	Username          string `db:"username"`
	Email             string `db:"email"`
	EmailVerified     bool   `db:"email_verified"`
	FirstName         string `db:"first_name"`
	LastName          string `db:"last_name"`
	PhoneNumber       string `db:"phone_number"`
	PreferredLanguage string `db:"preferred_language"`
	Locked            bool   `db:"locked"`
	Deleted           bool   `db:"deleted"`
}

// Put records a person's current state; a tombstone keeps the row, without personal data.
func (u *Users) Put(ctx context.Context, tx *sqlx.Tx, p *users.User) error {
	row := userRow(*p)
	if row.Deleted {
		row = userRow{Tenant: p.Tenant, Subject: p.Subject, Deleted: true}
	}
	_, err := tx.NamedExecContext(ctx, `INSERT INTO users (tenant, subject, display_name, username, email, email_verified,
		first_name, last_name, phone_number, preferred_language, locked, deleted)
		VALUES (:tenant, :subject, :display_name, :username, :email, :email_verified,
		        :first_name, :last_name, :phone_number, :preferred_language, :locked, :deleted)
		ON CONFLICT (tenant, subject) DO UPDATE SET display_name = EXCLUDED.display_name, username = EXCLUDED.username,
		email = EXCLUDED.email, email_verified = EXCLUDED.email_verified, first_name = EXCLUDED.first_name,
		last_name = EXCLUDED.last_name, phone_number = EXCLUDED.phone_number,
		preferred_language = EXCLUDED.preferred_language, locked = EXCLUDED.locked, deleted = EXCLUDED.deleted`, row)
	return postgres.Classify(err)
}

// User returns a person of the view.
func (u *Users) User(ctx context.Context, tenant, subject string) (*users.User, error) {
	var row userRow
	err := u.DB.GetContext(ctx, &row, `SELECT tenant, subject, display_name, username, email, email_verified, first_name,
		last_name, phone_number, preferred_language, locked, deleted FROM users WHERE tenant = $1 AND subject = $2`, tenant, subject)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, errs.E(errs.NotFound, "user %q not known here (yet)", subject)
		}
		return nil, postgres.Classify(err)
	}
	p := users.User(row)
	return &p, nil
}
