package devstack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lib/pq"
)

// EnsureDatabase creates database name on the server at serverURL unless it exists, and
// returns its URL. Each service gets its own database; none reads another's tables.
func EnsureDatabase(ctx context.Context, serverURL, name string) (string, error) {
	db, err := sql.Open("postgres", serverURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	var pe *pq.Error
	if err != nil && !(errors.As(err, &pe) && pe.Code == "42P04") { // duplicate_database
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DatabaseName is the conventional database of a service, e.g. iam_oauth_clients.
func DatabaseName(service string) string {
	return "iam_" + strings.ReplaceAll(strings.TrimPrefix(service, "iam-"), "-", "_")
}

// DropDatabase removes a database created by EnsureDatabase, ending its connections.
func DropDatabase(ctx context.Context, serverURL, name string) error {
	db, err := sql.Open("postgres", serverURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
	return err
}
