package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

type userRow struct {
	Tenant            string         `db:"tenant"`
	ID                string         `db:"id"`
	UserType          string         `db:"user_type"`
	Username          sql.NullString `db:"username"`
	Email             sql.NullString `db:"email"`
	EmailVerified     bool           `db:"email_verified"`
	PhoneNumber       string         `db:"phone_number"`
	FirstName         string         `db:"first_name"`
	LastName          string         `db:"last_name"`
	ContactEmail      string         `db:"contact_email"`
	PreferredSite     string         `db:"preferred_site"`
	PreferredCurrency string         `db:"preferred_currency"`
	PreferredLanguage string         `db:"preferred_language"`
	Department        string         `db:"department"`
	Status            string         `db:"status"`
	ValidFrom         *time.Time     `db:"valid_from"`
	Locked            bool           `db:"is_account_locked"`
	BackofficeNumber  string         `db:"backoffice_user_number"`
	Version           int64          `db:"version"`
	CreatedAt         time.Time      `db:"created_at"`
	ModifiedAt        time.Time      `db:"modified_at"`
}

const userColumns = `u.tenant, u.id, u.user_type, u.username, u.email, u.email_verified, u.phone_number, u.first_name, u.last_name,
	u.contact_email, u.preferred_site, u.preferred_currency, u.preferred_language, u.department, u.status,
	u.valid_from, u.is_account_locked, u.backoffice_user_number, u.version, u.created_at, u.modified_at`

func (r userRow) user() subjects.User {
	return subjects.User{Tenant: r.Tenant, ID: r.ID, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC(),
		UserFields: subjects.UserFields{
			Type: subjects.UserType(r.UserType), Username: r.Username.String, Email: r.Email.String, EmailVerified: r.EmailVerified, PhoneNumber: r.PhoneNumber,
			FirstName: r.FirstName, LastName: r.LastName, ContactEmail: r.ContactEmail, PreferredSite: r.PreferredSite,
			PreferredCurrency: r.PreferredCurrency, PreferredLanguage: r.PreferredLanguage, Department: r.Department,
			Status: r.Status, ValidFrom: r.ValidFrom, Locked: r.Locked, BackofficeUserNumber: r.BackofficeNumber, GroupIDs: []string{},
		}}
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// saveUser inserts or updates the user's row and its subject row.
func saveUser(ctx context.Context, tx *sqlx.Tx, u *subjects.User, insert bool) error {
	args := []any{u.Tenant, u.ID, string(u.Type), nullable(u.Username), nullable(u.Email), u.PhoneNumber, u.FirstName, u.LastName,
		u.ContactEmail, u.PreferredSite, u.PreferredCurrency, u.PreferredLanguage, u.Department, u.Status, u.ValidFrom,
		u.Locked, u.Version, u.CreatedAt, u.ModifiedAt, u.EmailVerified, u.BackofficeUserNumber}
	query := `INSERT INTO users (tenant, id, user_type, username, email, phone_number, first_name, last_name, contact_email,
		preferred_site, preferred_currency, preferred_language, department, status, valid_from, is_account_locked, version,
		created_at, modified_at, email_verified, backoffice_user_number)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`
	if !insert {
		query = `UPDATE users SET user_type = $3, username = $4, email = $5, phone_number = $6, first_name = $7, last_name = $8,
			contact_email = $9, preferred_site = $10, preferred_currency = $11, preferred_language = $12, department = $13,
			status = $14, valid_from = $15, is_account_locked = $16, version = $17, created_at = $18, modified_at = $19,
			email_verified = $20, backoffice_user_number = $21
			WHERE tenant = $1 AND id = $2`
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		switch {
		case postgres.IsUniqueViolation(err, "users_username"):
			return errs.E(errs.Conflict, "username %q is already taken in this tenant", u.Username)
		case postgres.IsUniqueViolation(err, "users_email"):
			return errs.E(errs.Conflict, "email %q is already taken in this tenant", u.Email)
		case postgres.IsUniqueViolation(err, "users_pkey"):
			return errs.E(errs.Conflict, "user %q already exists", u.ID)
		}
		return postgres.Classify(err)
	}
	return putSubject(ctx, tx, u.Subject())
}

func userEvent(ctx context.Context, tx *sqlx.Tx, u *subjects.User) error {
	ev, err := events.UserChanged(u)
	if err != nil {
		return err
	}
	return record(ctx, tx, ev)
}

// CreateUser inserts the user, its subject row and its direct groups.
func (s *Directory) CreateUser(ctx context.Context, u *subjects.User) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := saveUser(ctx, tx, u, true); err != nil {
			return err
		}
		if err := userEvent(ctx, tx, u); err != nil {
			return err
		}
		return setUserGroups(ctx, tx, u.Tenant, u.ID, u.GroupIDs)
	})
}

func getUser(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*subjects.User, error) {
	id = userKey(id)
	query := `SELECT ` + userColumns + ` FROM users u WHERE u.tenant = $1 AND u.id = $2`
	if lock {
		query += ` FOR UPDATE`
	}
	var row userRow
	if err := sqlx.GetContext(ctx, q, &row, query, tenant, id); err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, notFound("user", id)
		}
		return nil, postgres.Classify(err)
	}
	u := row.user()
	if err := sqlx.SelectContext(ctx, q, &u.GroupIDs, `SELECT group_id FROM memberships
		WHERE tenant = $1 AND member_type = 'User' AND member_id = $2 ORDER BY group_id`, tenant, id); err != nil {
		return nil, postgres.Classify(err)
	}
	return &u, nil
}

// GetUser loads a user with its direct group ids.
func (s *Directory) GetUser(ctx context.Context, tenant, id string) (*subjects.User, error) {
	return getUser(ctx, s.DB, tenant, id, false)
}

// ListUsers pages through users by display name, searching the subject index.
func (s *Directory) ListUsers(ctx context.Context, tenant string, q subjects.UserQuery) ([]subjects.User, int, error) {
	users, total, err := s.listUsers(ctx, tenant, q)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	var memberships []struct {
		UserID  string `db:"member_id"`
		GroupID string `db:"group_id"`
	}
	if err := s.DB.SelectContext(ctx, &memberships, `SELECT member_id, group_id FROM memberships
		WHERE tenant = $1 AND member_type = 'User' AND member_id = ANY($2) ORDER BY group_id`, tenant, pq.StringArray(ids)); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	index := make(map[string]int, len(users))
	for i := range users {
		index[users[i].ID] = i
	}
	for _, m := range memberships {
		u := &users[index[m.UserID]]
		u.GroupIDs = append(u.GroupIDs, m.GroupID)
	}
	return users, total, nil
}

// listUsers finds a page of users. Without a user type it is a subject search for users
// (the same page and total, found the same fast ways), then reads them by id.
func (s *Directory) listUsers(ctx context.Context, tenant string, q subjects.UserQuery) ([]subjects.User, int, error) {
	var rows []struct {
		userRow
		Total int `db:"total"`
	}
	if q.Type == "" {
		page, total, err := s.Search(ctx, tenant, subjects.Query{Type: subjects.TypeUser, Search: q.Search, Offset: q.Offset, Limit: q.Limit})
		if err != nil {
			return nil, 0, err
		}
		ids := make([]string, len(page))
		for i, p := range page {
			ids[i] = p.ID
		}
		if err := s.DB.SelectContext(ctx, &rows, `SELECT `+userColumns+`, 0 AS total
			FROM unnest($2::text[]) WITH ORDINALITY AS p(id, n) JOIN users u ON u.tenant = $1 AND u.id = p.id ORDER BY p.n`,
			tenant, stringArray(ids)); err != nil {
			return nil, 0, postgres.Classify(err)
		}
		users := make([]subjects.User, len(rows))
		for i, r := range rows {
			users[i] = r.user()
		}
		return users, total, nil
	}
	// With a user type: find the matches through the trigram index, then sort.
	args := []any{tenant, string(q.Type), q.Limit, q.Offset}
	from := `subjects s`
	if text := searchText(q.Search); text != "" {
		filter, filterArgs, _ := s.textMatch(ctx, "s.search", text, 5, 1<<30) // every match is counted
		from = `(SELECT * FROM subjects s WHERE s.tenant = $1 AND s.type = 'User' AND ` + filter + ` OFFSET 0) AS s`
		args = append(args, filterArgs...)
	}
	if err := s.DB.SelectContext(ctx, &rows, `
		SELECT `+userColumns+`, count(*) OVER () AS total
		FROM `+from+` JOIN users u ON u.tenant = s.tenant AND u.id = s.id
		WHERE s.tenant = $1 AND s.type = 'User' AND ($2 = '' OR u.user_type = $2)
		ORDER BY s.sort_name, s.id LIMIT $3 OFFSET $4`, args...); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	users, total := make([]subjects.User, len(rows)), 0
	for i, r := range rows {
		users[i], total = r.user(), r.Total
	}
	return users, total, nil
}

// UpdateUser locks the user, applies change and saves user and direct groups.
func (s *Directory) UpdateUser(ctx context.Context, tenant, id string, change func(*subjects.User) error) (*subjects.User, error) {
	var out *subjects.User
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		u, err := getUser(ctx, tx, tenant, id, true)
		if err != nil {
			return err
		}
		if err := change(u); err != nil {
			return err
		}
		if err := saveUser(ctx, tx, u, false); err != nil {
			return err
		}
		if u.Locked {
			// A locked user has no login session (signin also refuses one it finds).
			if err := endUserSessions(ctx, tx, tenant, id); err != nil {
				return err
			}
		}
		if err := userEvent(ctx, tx, u); err != nil {
			return err
		}
		out = u
		return setUserGroups(ctx, tx, tenant, id, u.GroupIDs)
	})
	return out, err
}

// DeleteUser removes the user, its memberships and its subject row.
func (s *Directory) DeleteUser(ctx context.Context, tenant, id string, check func(*subjects.User) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		ref := subjects.Ref{Type: subjects.TypeUser, ID: id}
		if _, err := lockSubject(ctx, tx, tenant, ref); err != nil {
			return err
		}
		u, err := getUser(ctx, tx, tenant, id, true)
		if err != nil {
			return err
		}
		if err := check(u); err != nil {
			return err
		}
		if err := leaveAll(ctx, tx, tenant, ref); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE tenant = $1 AND id = $2`, tenant, id); err != nil {
			return postgres.Classify(err)
		}
		if err := dropSubject(ctx, tx, tenant, ref); err != nil {
			return err
		}
		ev, err := events.UserDeleted(tenant, id)
		if err != nil {
			return err
		}
		return record(ctx, tx, ev)
	})
}

// userKey is the stored form of a user id (subjects.UserKey).
func userKey(id string) string { return subjects.UserKey(id) }
