// Package consents is the consent domain and its use cases: versioned consents, the grants
// subjects give them, the clients subjects let in, the hash-chained privacy ledger that
// records all of it, and consent actions (moments such as signup at which a subject is
// asked for consents). Storage implements the interfaces declared here and executes the
// rules defined here.
package consents

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
	"github.com/iamplane/iam/pkg/readonly"
)

// Service is an internal or third-party service a consent lets use the data, and why.
type Service struct {
	Name     string    `json:"name"`
	Type     string    `json:"type"` // internal or thirdParty
	Purposes []Purpose `json:"purposes"`
}

// Purpose is why a service uses the data; Primary marks the service's main purposes
// (Cloudentity's purposes[].primary).
type Purpose struct {
	Name    string `json:"name"`
	Primary bool   `json:"primary,omitempty"`
}

// UnmarshalJSON reads a purpose as stored: an object, or the bare name rows written
// before purposes could be primary hold.
func (p *Purpose) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*p = Purpose{Name: name}
		return nil
	}
	type plain Purpose
	return json.Unmarshal(b, (*plain)(p))
}

// idPattern is the rule for consent and consent action ids a caller chooses (ids kept
// on import, such as Cloudentity's "1"): 1 to 64 letters, digits, '.', '_' or '-',
// starting with a letter or digit. Ids the service makes are UUIDs, which pass it too.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckID refuses a caller-chosen id that breaks the id rule, naming field; "" (let the
// service choose) passes.
func CheckID(field, id string) error {
	if id == "" || idPattern.MatchString(id) {
		return nil
	}
	return errs.Fields("the id breaks the id rule", errs.FieldError{Field: field,
		Message: "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"})
}

// sent is a field a change carries for readonly.Check: nil when the change leaves it at
// its zero value, which is how a change says it carries none.
func sent[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// checkServices refuses a service type other than internal or thirdParty and a purpose
// a service names twice (it could not say whether that purpose is primary).
func checkServices(services []Service) error {
	var bad []errs.FieldError
	for i, s := range services {
		if s.Type != "internal" && s.Type != "thirdParty" {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("services[%d].type", i), Message: "internal or thirdParty"})
		}
		seen := map[string]bool{}
		for _, p := range s.Purposes {
			if seen[p.Name] {
				bad = append(bad, errs.FieldError{Field: fmt.Sprintf("services[%d].purposes", i), Message: fmt.Sprintf("%q is named twice", p.Name)})
			}
			seen[p.Name] = true
		}
	}
	if len(bad) > 0 {
		return errs.Fields("invalid services", bad...)
	}
	return nil
}

// Consent is what a subject may agree to. Version grows with every change; a grant names
// the version it agreed to.
type Consent struct {
	Tenant         string
	ID             string
	Name           string
	Description    string
	CanBeWithdrawn bool
	PIICategories  []string
	ValidFrom      *time.Time
	Services       []Service
	// Texts are what the consent screen shows, by language tag; without them it shows
	// Name and Description.
	Texts map[string]ConsentText
	// UpdateExistingGrants is what the consent's last change did to existing grants
	// (on create: what the caller chose, default ExplicitAll).
	UpdateExistingGrants Strategy
	Version              int64
	CreatedAt            time.Time
	ModifiedAt           time.Time
}

// ConsentText is a consent's title and description in one language.
type ConsentText struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// checkTexts refuses texts under a key that is not a language tag (en, de-CH, nb, ...),
// which no screen could ever pick.
func checkTexts(texts map[string]ConsentText) error {
	var bad []errs.FieldError
	for lang := range texts {
		if !isLanguageTag(lang) {
			bad = append(bad, errs.FieldError{Field: "texts", Message: fmt.Sprintf("%q is not a language tag such as en or de-CH", lang)})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b errs.FieldError) int { return strings.Compare(a.Message, b.Message) })
		return errs.Fields("texts are keyed by language", bad...)
	}
	return nil
}

// isLanguageTag accepts the shape of a BCP 47 tag: a primary language of two or three
// lower-case letters, then subtags of one to eight letters or digits.
func isLanguageTag(s string) bool {
	parts := strings.Split(s, "-")
	if n := len(parts[0]); n < 2 || n > 3 || strings.Trim(parts[0], "abcdefghijklmnopqrstuvwxyz") != "" {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 8 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return false
		}
	}
	return true
}

// Strategy decides what an update does to existing grants (Cloudentity's
// updateExistingGrants).
type Strategy string

const (
	ExplicitAll Strategy = "explicitAll" // everyone must consent again
	ImplicitAll Strategy = "implicitAll" // existing grants move to the new version, as implicit
	KeepCurrent Strategy = "keepCurrent" // implicit grants move; explicit ones must consent again
)

// Migrates lists the types of grant an update moves to the new version (they become
// implicit); every other grant of the consent is left behind and needs re-consent.
func (s Strategy) Migrates() []GrantType {
	switch s {
	case ImplicitAll:
		return []GrantType{Explicit, Implicit}
	case KeepCurrent:
		return []GrantType{Implicit}
	}
	return nil
}

// VersionEvents are the ledger's record of an update to c: the subjects whose grants moved
// to the new version, and those who must consent again.
func VersionEvents(c *Consent, migrated, stale []string) []LedgerEvent {
	var evs []LedgerEvent
	for _, subject := range migrated {
		evs = append(evs, LedgerEvent{Type: VersionMigrated, Subject: subject, ConsentID: c.ID, ConsentVersion: c.Version,
			GrantType: string(Implicit), OccurredAt: c.ModifiedAt})
	}
	for _, subject := range stale {
		evs = append(evs, LedgerEvent{Type: ReconsentRequired, Subject: subject, ConsentID: c.ID, ConsentVersion: c.Version, OccurredAt: c.ModifiedAt})
	}
	return evs
}

// ConsentStore persists consents.
type ConsentStore interface {
	CreateConsent(ctx context.Context, c *Consent) error
	GetConsent(ctx context.Context, tenant, id string) (*Consent, error)
	ListConsents(ctx context.Context, tenant, search string, offset, limit int) ([]Consent, int, error)
	// UpdateConsent locks the consent, lets change modify it and saves it; in the same
	// transaction it moves the grants strategy.Migrates names to the new version and
	// appends VersionEvents for the moved and the stale grants.
	UpdateConsent(ctx context.Context, tenant, id string, change func(*Consent) error, strategy Strategy) (*Consent, error)
	// DeleteConsent removes the consent and its grants; the ledger keeps their history.
	DeleteConsent(ctx context.Context, tenant, id string) error
}

// Store is everything the Book keeps.
type Store interface {
	ConsentStore
	GrantStore
	ClientAccessStore
	LedgerStore
}

// Clock stamps changes; nil is the wall clock.
type Clock func() time.Time

// now is cut to PostgreSQL's microseconds, so a change reads back exactly as it was returned.
func (c Clock) now() time.Time {
	t := time.Now()
	if c != nil {
		t = c()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Book is the consent service's use cases for consents, grants, client access and the
// ledger (consent actions are Actions').
type Book struct {
	store Store
	clock Clock
}

// NewBook makes the use cases over store; clock stamps every change.
func NewBook(store Store, clock Clock) *Book {
	return &Book{store: store, clock: clock}
}

// ListConsents pages through the tenant's consents by name; search matches name or description.
func (b *Book) ListConsents(ctx context.Context, tenant, search string, offset, limit int) ([]Consent, int, error) {
	return b.store.ListConsents(ctx, tenant, search, offset, limit)
}

// CreateConsent adds c at version 1, with the id the caller chose (kept on import; it
// must pass the id rule) or else a fresh one. A version the caller names must be 1.
func (b *Book) CreateConsent(ctx context.Context, c *Consent) error {
	if err := checkConsent(c); err != nil {
		return err
	}
	if c.Version != 0 && c.Version != 1 {
		return errs.Fields("a new consent starts at version 1", errs.FieldError{Field: "version", Message: fmt.Sprintf("must be 1, not %d", c.Version)})
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	if c.UpdateExistingGrants == "" {
		c.UpdateExistingGrants = ExplicitAll
	}
	now := b.clock.now()
	c.Version, c.CreatedAt, c.ModifiedAt = 1, now, now
	return b.store.CreateConsent(ctx, c)
}

// checkConsent is every rule a consent's fields follow on create and update.
func checkConsent(c *Consent) error {
	if err := CheckID("id", c.ID); err != nil {
		return err
	}
	if err := checkServices(c.Services); err != nil {
		return err
	}
	return checkTexts(c.Texts)
}

// GetConsent returns one consent.
func (b *Book) GetConsent(ctx context.Context, tenant, id string) (*Consent, error) {
	return b.store.GetConsent(ctx, tenant, id)
}

// UpdateConsent replaces a consent, bumping its version, if pre names the version it
// holds, and applies strategy (default ExplicitAll) to its grants. The consent as read
// can be written back: in.ID, in.Version, in.CreatedAt and in.ModifiedAt, when set, are
// read-only and must be the stored ones (a stale version is pre's to refuse first).
func (b *Book) UpdateConsent(ctx context.Context, tenant, id string, in Consent, pre precondition.Version, strategy Strategy) (*Consent, error) {
	if strategy == "" {
		strategy = ExplicitAll
	}
	if err := checkServices(in.Services); err != nil {
		return nil, err
	}
	if err := checkTexts(in.Texts); err != nil {
		return nil, err
	}
	return b.store.UpdateConsent(ctx, tenant, id, func(c *Consent) error {
		if err := pre.Check(c.Version); err != nil {
			return err
		}
		var ro readonly.Check
		ro.String("id", sent(in.ID), c.ID)
		ro.Int("version", sent(int64(in.Version)), int64(c.Version))
		ro.Time("metadata.createdAt", sent(in.CreatedAt), c.CreatedAt)
		ro.Time("metadata.modifiedAt", sent(in.ModifiedAt), c.ModifiedAt)
		if err := ro.Err(); err != nil {
			return err
		}
		c.Name, c.Description, c.CanBeWithdrawn = in.Name, in.Description, in.CanBeWithdrawn
		c.PIICategories, c.ValidFrom, c.Services, c.Texts = in.PIICategories, in.ValidFrom, in.Services, in.Texts
		c.UpdateExistingGrants = strategy
		c.Version++
		c.ModifiedAt = b.clock.now()
		return nil
	}, strategy)
}

// DeleteConsent removes a consent and its grants; the ledger keeps their history.
func (b *Book) DeleteConsent(ctx context.Context, tenant, id string) error {
	return b.store.DeleteConsent(ctx, tenant, id)
}
