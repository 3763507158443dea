// Package postgres opens a service's database, migrates it and converts driver errors into
// domain errors in one place, so repositories never return pq or sql errors.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/iamplane/iam/pkg/errs"
)

// platformMigrations are the tables every service has: the transactional outbox and the
// version guard of the views it keeps from other services' events.
//
//go:embed migrations/*.sql
var platformMigrations embed.FS

// Open connects and pings, so a wrong DATABASE_URL fails at start-up, not on the first
// request.
func Open(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	return db, nil
}

// Migrate applies the platform's tables and then the service's own migrations (a
// directory of goose SQL files). A PostgreSQL session lock makes it safe for several
// replicas starting at once: one migrates, the others wait and find nothing to do.
func Migrate(ctx context.Context, db *sqlx.DB, service fs.FS, logger *slog.Logger) error {
	platform, err := fs.Sub(platformMigrations, "migrations")
	if err != nil {
		return err
	}
	for _, m := range []struct {
		table string
		fsys  fs.FS
	}{{"goose_platform_version", platform}, {"goose_db_version", service}} {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		p, err := goose.NewProvider(goose.DialectPostgres, db.DB, m.fsys,
			goose.WithTableName(m.table), goose.WithSessionLocker(locker),
			goose.WithDisableGlobalRegistry(true), goose.WithSlog(logger))
		if err != nil {
			return fmt.Errorf("migrations %s: %w", m.table, err)
		}
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrate %s: %w", m.table, err)
		}
	}
	return nil
}

// InTx runs fn in one transaction and commits only if fn succeeds. A serialization
// failure or deadlock is retried a few times, because fn is written to be repeatable.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = inTx(ctx, db, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

// LockTenant makes the caller's transaction wait for its turn among those that take the
// same lock (what) for the same tenant, until it ends: a transaction-scoped advisory lock.
func LockTenant(ctx context.Context, tx *sqlx.Tx, what, tenant string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, what, tenant)
	return Classify(err)
}

func inTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Classify(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return Classify(tx.Commit())
}

func retryable(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Classify is the one function that maps driver errors onto domain errors. Domain
// errors pass through untouched; anything unknown stays an internal error (logged, never
// shown).
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var de *errs.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, "not found")
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return errs.Wrap(errs.Conflict, err, "already exists")
		case "23503": // foreign_key_violation
			return errs.Wrap(errs.Conflict, err, "refers to or is referred to by another entity")
		case "23514", "22001", "22P02": // check, string too long, invalid text representation
			return errs.Wrap(errs.Invalid, err, "a value is out of range")
		case "40001", "40P01":
			return err // retried by InTx, kept raw so retryable can see it
		case "57014": // query_canceled (the caller went away or a deadline hit)
			return errs.Wrap(errs.Unavailable, err, "the request was cancelled")
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(errs.Unavailable, err, "the request was cancelled")
	}
	if Unreachable(err) {
		return errs.Wrap(errs.Unavailable, err, "the database is unavailable; retry shortly")
	}
	return errs.Wrap(errs.Internal, err, "internal error")
}

// Unreachable reports whether err means the database could not be reached or went away
// mid-request (refused or reset connections, a server shutting down or starting, too many
// connections), rather than refusing what was asked. Such a failure says nothing about
// the request: it is answered 503 with Retry-After, and a consumer pauses instead of
// counting it against the event.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := string(pe.Code)
		return strings.HasPrefix(code, "08") || // connection exception
			strings.HasPrefix(code, "53") || // insufficient resources (too many connections)
			code == "57P01" || code == "57P02" || code == "57P03" // admin shutdown, crash shutdown, cannot connect now
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// IsUniqueViolation reports whether err is a unique-constraint clash on the named
// constraint, for repositories that turn it into a specific conflict message.
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.Constraint == constraint)
}

// EscapeLike makes user text match literally inside LIKE/ILIKE patterns.
func EscapeLike(s string) string {
	r := make([]rune, 0, len(s))
	for _, ch := range s {
		if ch == '%' || ch == '_' || ch == '\\' {
			r = append(r, '\\')
		}
		r = append(r, ch)
	}
	return string(r)
}
