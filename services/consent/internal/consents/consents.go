// Package consents is the consent domain: consent actions (moments such as signup at
// which a subject is asked for consents), and later consents and grants.
package consents

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/version"
)

// Action is a consent action: a named moment listing the consents a subject must accept.
// ID is generated here; Name is the tenant-unique handle clients use.
type Action struct {
	Tenant      string
	ID          uuid.UUID
	Name        string
	Description string
	Consents    []ActionConsent
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// ActionConsent is one consent an action asks for.
type ActionConsent struct {
	ConsentID string `json:"consentId"`
	Required  bool   `json:"required"`
}

// ActionStatus is what a subject still has to accept at an action.
type ActionStatus struct {
	ActionID string
	Complete bool
	Consents []ActionConsentStatus
}

// ActionConsentStatus is one consent of an action for a subject.
type ActionConsentStatus struct {
	ConsentID      string
	Name           string
	Required       bool
	Accepted       bool // granted at the current version
	CurrentVersion int64
}

// Query filters and pages consent actions.
type Query struct {
	Search string
	Offset int
	Limit  int
}

// ActionStore persists consent actions. Add and Update refuse a name another action of the
// tenant has (errs.Conflict) and a consent id the tenant does not have (errs.Invalid naming
// it). Get, Update and Delete find the action by id or name; errs.NotFound otherwise.
type ActionStore interface {
	Add(ctx context.Context, a *Action) error
	Get(ctx context.Context, tenant, action string) (*Action, error)
	List(ctx context.Context, tenant string, q Query) ([]Action, int, error)
	// Update locks the action, lets change modify it and saves it, in one transaction.
	Update(ctx context.Context, tenant, action string, change func(*Action) error) (*Action, error)
	Delete(ctx context.Context, tenant, action string) error
	// Status looks the action up by id or name and reports subject's standing on it.
	Status(ctx context.Context, tenant, action, subject string) (*ActionStatus, error)
}

// New prepares a consent action with a fresh id, at version 1. now is cut to PostgreSQL's
// microseconds, so the created resource reads back exactly as it was returned.
func New(tenant, name, description string, cs []ActionConsent, now time.Time) *Action {
	now = now.Truncate(time.Microsecond)
	if cs == nil {
		cs = []ActionConsent{}
	}
	return &Action{Tenant: tenant, ID: uuid.New(), Name: name, Description: description, Consents: cs,
		Version: 1, CreatedAt: now, ModifiedAt: now}
}

// Revise replaces the action's name, description and consents and bumps its version, if
// pre names the version it holds (stale: errs.VersionConflict; If-Match: errs.PreconditionFailed).
func (a *Action) Revise(name, description string, cs []ActionConsent, pre version.Precondition, now time.Time) error {
	if err := pre.Check(a.Version); err != nil {
		return err
	}
	if cs == nil {
		cs = []ActionConsent{}
	}
	a.Name, a.Description, a.Consents = name, description, cs
	a.Version++
	a.ModifiedAt = now.Truncate(time.Microsecond)
	return nil
}
