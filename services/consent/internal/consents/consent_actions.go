package consents

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/precondition"
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
	ConsentID uuid.UUID `json:"consentId"`
	Required  bool      `json:"required"`
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
	GrantedVersion *int64 // the subject's grant, if any
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
	// Status looks the action up by id or name and lists its consents that still exist,
	// with their current version and subject's granted version (Accepted and Complete are
	// the Actions' to tell).
	Status(ctx context.Context, tenant, action, subject string) (*ActionStatus, error)
}

// Actions is the consent service's use cases for consent actions.
type Actions struct {
	store ActionStore
	clock Clock
}

// NewActions makes the use cases over store; clock stamps every change.
func NewActions(store ActionStore, clock Clock) *Actions {
	return &Actions{store: store, clock: clock}
}

// List pages through the tenant's consent actions by name; search matches name or description.
func (as *Actions) List(ctx context.Context, tenant, search string, offset, limit int) ([]Action, int, error) {
	return as.store.List(ctx, tenant, Query{Search: strings.TrimSpace(search), Offset: offset, Limit: limit})
}

// Add creates a consent action with a fresh id, at version 1.
func (as *Actions) Add(ctx context.Context, tenant, name, description string, cs []ActionConsent) (*Action, error) {
	a := newAction(tenant, name, description, cs, as.clock.now())
	if err := as.store.Add(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Get returns one consent action, by id or name.
func (as *Actions) Get(ctx context.Context, tenant, action string) (*Action, error) {
	return as.store.Get(ctx, tenant, action)
}

// Update replaces a consent action (by id or name), based on the version pre names.
func (as *Actions) Update(ctx context.Context, tenant, action, name, description string, cs []ActionConsent, pre precondition.Version) (*Action, error) {
	return as.store.Update(ctx, tenant, action, func(a *Action) error {
		return a.revise(name, description, cs, pre, as.clock.now())
	})
}

// Delete removes a consent action (by id or name); its consents and their grants stay.
func (as *Actions) Delete(ctx context.Context, tenant, action string) error {
	return as.store.Delete(ctx, tenant, action)
}

// Status tells a consent screen what the subject still has to accept at an action: it is
// complete when every required consent is granted at its current version.
func (as *Actions) Status(ctx context.Context, tenant, action, subject string) (*ActionStatus, error) {
	st, err := as.store.Status(ctx, tenant, action, subject)
	if err != nil {
		return nil, err
	}
	st.Complete = true
	for i := range st.Consents {
		c := &st.Consents[i]
		c.Accepted = c.GrantedVersion != nil && *c.GrantedVersion == c.CurrentVersion
		if c.Required && !c.Accepted {
			st.Complete = false
		}
	}
	return st, nil
}

// newAction prepares a consent action with a fresh id, at version 1.
func newAction(tenant, name, description string, cs []ActionConsent, now time.Time) *Action {
	if cs == nil {
		cs = []ActionConsent{}
	}
	return &Action{Tenant: tenant, ID: uuid.New(), Name: name, Description: description, Consents: cs,
		Version: 1, CreatedAt: now, ModifiedAt: now}
}

// revise replaces the action's name, description and consents and bumps its version, if
// pre names the version it holds (stale: errs.VersionConflict; If-Match: errs.PreconditionFailed).
func (a *Action) revise(name, description string, cs []ActionConsent, pre precondition.Version, now time.Time) error {
	if err := pre.Check(a.Version); err != nil {
		return err
	}
	if cs == nil {
		cs = []ActionConsent{}
	}
	a.Name, a.Description, a.Consents = name, description, cs
	a.Version++
	a.ModifiedAt = now
	return nil
}
