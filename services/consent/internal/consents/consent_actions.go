package consents

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
	"github.com/iamplane/iam/pkg/readonly"
)

// Action is a consent action: a named moment listing the consents a subject must accept.
// ID is the caller's (kept on import, the id rule of CheckID) or generated here; Name is
// the tenant-unique handle clients use.
type Action struct {
	Tenant      string
	ID          string
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
	// Claimed is what the request says of the consent itself (Cloudentity sends each
	// action's consents whole), nil when nothing: read-only, checked, never stored.
	Claimed *ConsentClaim `json:"-"`
}

// ConsentClaim is what a request says a consent it names is: each field, when given,
// must be the consent's.
type ConsentClaim struct {
	Name    string
	Version int64
}

// checkClaims refuses an action's consents whose claimed name or version is not the
// named consent's, naming the entry (a consent not found is the store's to refuse).
func checkClaims(asked []ActionConsent, found []Consent) error {
	byID := make(map[string]*Consent, len(found))
	for i := range found {
		byID[found[i].ID] = &found[i]
	}
	var bad []errs.FieldError
	for i, a := range asked {
		c := byID[a.ConsentID]
		if a.Claimed == nil || c == nil {
			continue
		}
		if a.Claimed.Name != "" && a.Claimed.Name != c.Name {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("consents[%d].name", i), Message: fmt.Sprintf("consent %s is %q, not %q", c.ID, c.Name, a.Claimed.Name)})
		}
		if a.Claimed.Version != 0 && a.Claimed.Version != c.Version {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("consents[%d].version", i), Message: fmt.Sprintf("consent %s is at version %d, not %d", c.ID, c.Version, a.Claimed.Version)})
		}
	}
	if len(bad) > 0 {
		return errs.Fields("the action's consents are not what the request says they are", bad...)
	}
	return nil
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
	// Consents loads the consents an action asks for that still exist, in its order.
	Consents(ctx context.Context, tenant string, asked []ActionConsent) ([]Consent, error)
}

// ActionDetail is a consent action with the consents it asks for, as they stand
// (Cloudentity's ConsentActionWithConsents).
type ActionDetail struct {
	*Action
	// Consents are the action's consents that still exist, in its order.
	Consents []Consent
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

// Add creates a consent action at version 1, with the id the caller chose (kept on
// import; "" for a fresh one).
func (as *Actions) Add(ctx context.Context, tenant, id, name, description string, cs []ActionConsent) (*Action, error) {
	if err := CheckID("id", id); err != nil {
		return nil, err
	}
	if err := as.checkClaims(ctx, tenant, cs); err != nil {
		return nil, err
	}
	a := newAction(tenant, id, name, description, cs, as.clock.now())
	if err := as.store.Add(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// AddDetailed is Add answering with the consents the new action asks for.
func (as *Actions) AddDetailed(ctx context.Context, tenant, id, name, description string, cs []ActionConsent) (*ActionDetail, error) {
	a, err := as.Add(ctx, tenant, id, name, description, cs)
	if err != nil {
		return nil, err
	}
	return as.detail(ctx, a)
}

// GetDetailed returns one consent action, by id or name, with the consents it asks for.
func (as *Actions) GetDetailed(ctx context.Context, tenant, action string) (*ActionDetail, error) {
	a, err := as.store.Get(ctx, tenant, action)
	if err != nil {
		return nil, err
	}
	return as.detail(ctx, a)
}

// UpdateDetailed is Update answering with the consents the action then asks for.
func (as *Actions) UpdateDetailed(ctx context.Context, tenant, action string, change ActionChange, pre precondition.Version) (*ActionDetail, error) {
	a, err := as.Update(ctx, tenant, action, change, pre)
	if err != nil {
		return nil, err
	}
	return as.detail(ctx, a)
}

// checkClaims checks what the request claims of the consents it names, if anything.
func (as *Actions) checkClaims(ctx context.Context, tenant string, cs []ActionConsent) error {
	if !slices.ContainsFunc(cs, func(a ActionConsent) bool { return a.Claimed != nil }) {
		return nil
	}
	found, err := as.store.Consents(ctx, tenant, cs)
	if err != nil {
		return err
	}
	return checkClaims(cs, found)
}

func (as *Actions) detail(ctx context.Context, a *Action) (*ActionDetail, error) {
	cs, err := as.store.Consents(ctx, a.Tenant, a.Consents)
	if err != nil {
		return nil, err
	}
	return &ActionDetail{Action: a, Consents: cs}, nil
}

// Get returns one consent action, by id or name.
func (as *Actions) Get(ctx context.Context, tenant, action string) (*Action, error) {
	return as.store.Get(ctx, tenant, action)
}

// ActionChange is what an update of a consent action says: its new name, description
// and consents, and, read-only, the id and times it has (a representation read and
// written back; zero when not said).
type ActionChange struct {
	ID, Name, Description string
	Consents              []ActionConsent
	CreatedAt, ModifiedAt time.Time
}

// Update replaces a consent action (by id or name), based on the version pre names.
func (as *Actions) Update(ctx context.Context, tenant, action string, change ActionChange, pre precondition.Version) (*Action, error) {
	if err := as.checkClaims(ctx, tenant, change.Consents); err != nil {
		return nil, err
	}
	return as.store.Update(ctx, tenant, action, func(a *Action) error {
		return a.revise(change, pre, as.clock.now())
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

// newAction prepares a consent action with id (a fresh one for ""), at version 1.
func newAction(tenant, id, name, description string, cs []ActionConsent, now time.Time) *Action {
	if cs == nil {
		cs = []ActionConsent{}
	}
	if id == "" {
		id = uuid.NewString()
	}
	return &Action{Tenant: tenant, ID: id, Name: name, Description: description, Consents: cs,
		Version: 1, CreatedAt: now, ModifiedAt: now}
}

// revise replaces the action's name, description and consents and bumps its version, if
// pre names the version it holds (stale: errs.VersionConflict; If-Match:
// errs.PreconditionFailed) and the change claims no other id than the action's.
func (a *Action) revise(ch ActionChange, pre precondition.Version, now time.Time) error {
	if err := pre.Check(a.Version); err != nil {
		return err
	}
	var ro readonly.Check
	ro.String("id", sent(ch.ID), a.ID)
	ro.Time("metadata.createdAt", sent(ch.CreatedAt), a.CreatedAt)
	ro.Time("metadata.modifiedAt", sent(ch.ModifiedAt), a.ModifiedAt)
	if err := ro.Err(); err != nil {
		return err
	}
	cs := ch.Consents
	if cs == nil {
		cs = []ActionConsent{}
	}
	a.Name, a.Description, a.Consents = ch.Name, ch.Description, cs
	a.Version++
	a.ModifiedAt = now
	return nil
}
