package consents

import (
	"context"
	"fmt"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/version"
)

// Service is an internal or third-party service a consent lets use the data, and why.
type Service struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"` // internal or thirdParty
	Purposes []string `json:"purposes"`
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
	Version        int64
	CreatedAt      time.Time
	ModifiedAt     time.Time
}

// Strategy decides what an update does to existing grants (Cloudentity's
// updateExistingGrants).
type Strategy string

const (
	ExplicitAll Strategy = "explicitAll" // everyone must consent again
	ImplicitAll Strategy = "implicitAll" // existing grants move to the new version, as implicit
	KeepCurrent Strategy = "keepCurrent" // implicit grants move; explicit ones must consent again
)

// GrantType says whether the subject agreed actively or by a rule.
type GrantType string

const (
	Explicit GrantType = "explicit"
	Implicit GrantType = "implicit"
)

// GrantRequest grants (Granted) or withdraws one consent.
type GrantRequest struct {
	ConsentID string
	Granted   bool
	Type      GrantType
}

// GrantContext is recorded with every grant and withdrawal.
type GrantContext struct {
	IP, Device, Location, Language, ActionID string
}

// GrantStatus is one consent as it stands for a subject.
type GrantStatus struct {
	ConsentID      string
	Name           string
	Granted        bool
	GrantedVersion *int64
	CurrentVersion int64
	Type           GrantType
	NeedsReconsent bool
}

// Ledger event types.
const (
	Granted             = "consent_granted"
	Revoked             = "consent_revoked"
	ReconsentRequired   = "consent_reconsent_required"
	VersionMigrated     = "consent_version_migrated"
	SubjectDeleted      = "subject_deleted"
	ClientAccessGranted = "client_access_granted"
	ClientAccessRevoked = "client_access_revoked"
)

// ClientAccess is a client a subject let in.
type ClientAccess struct {
	ClientID   string
	ClientName string
	LogoURI    string
	Scopes     []ScopeName
	GrantedAt  time.Time
}

// ScopeName is a scope with its display name.
type ScopeName struct {
	Name, DisplayName string
}

// LedgerEvent is one entry of a tenant's privacy ledger.
type LedgerEvent struct {
	Seq            int64             `json:"seq"`
	Type           string            `json:"type"`
	Subject        string            `json:"subject"`
	ConsentID      string            `json:"consentId,omitempty"`
	ConsentVersion int64             `json:"consentVersion,omitempty"`
	GrantType      string            `json:"grantType,omitempty"`
	Context        map[string]string `json:"context,omitempty"`
	Language       string            `json:"language,omitempty"`
	ActionID       string            `json:"actionId,omitempty"`
	OccurredAt     time.Time         `json:"occurredAt"`
	Hash           string            `json:"-"`
}

// LedgerQuery filters the ledger.
type LedgerQuery struct {
	Subject       string
	From, To      *time.Time
	Offset, Limit int
}

// Verification is the result of recomputing a tenant's hash chain.
type Verification struct {
	Valid          bool
	Checked        int64
	FirstBrokenSeq *int64
}

// Store persists consents, grants and the ledger. Every change to grants appends its
// ledger events in the same transaction.
type Store interface {
	CreateConsent(ctx context.Context, c *Consent) error
	GetConsent(ctx context.Context, tenant, id string) (*Consent, error)
	ListConsents(ctx context.Context, tenant, search string, offset, limit int) ([]Consent, int, error)
	// UpdateConsent locks the consent, lets change modify it, saves it and applies the
	// strategy to its grants.
	UpdateConsent(ctx context.Context, tenant, id string, change func(*Consent) error, strategy Strategy) (*Consent, error)
	DeleteConsent(ctx context.Context, tenant, id string) error

	Grants(ctx context.Context, tenant, subject string) ([]GrantStatus, error)
	// ChangeGrants applies the requests for subject atomically, checking each with check.
	ChangeGrants(ctx context.Context, tenant, subject string, reqs []GrantRequest, gc GrantContext, check func(*Consent, GrantRequest) error) error
	// ForgetSubject drops a deleted subject's live grants (its ledger stays).
	ForgetSubject(ctx context.Context, tenant, subject string) error

	GrantClientAccess(ctx context.Context, tenant, subject, clientID string, scopes []string) error
	RevokeClientAccess(ctx context.Context, tenant, subject, clientID string) error
	ClientAccess(ctx context.Context, tenant, subject string) ([]ClientAccess, error)

	Ledger(ctx context.Context, tenant string, q LedgerQuery) ([]LedgerEvent, int, error)
	Verify(ctx context.Context, tenant string) (Verification, error)
}

// Book is the consent service's use cases.
type Book struct {
	Store Store
	Now   func() time.Time
}

func (b *Book) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Create adds a consent at version 1.
func (b *Book) Create(ctx context.Context, c *Consent) error {
	now := b.now()
	c.Version, c.CreatedAt, c.ModifiedAt = 1, now, now
	return b.Store.CreateConsent(ctx, c)
}

// Update replaces a consent, bumping its version, and applies strategy to its grants.
func (b *Book) Update(ctx context.Context, tenant, id string, in Consent, pre version.Precondition, strategy Strategy) (*Consent, error) {
	if strategy == "" {
		strategy = ExplicitAll
	}
	return b.Store.UpdateConsent(ctx, tenant, id, func(c *Consent) error {
		if err := pre.Check(c.Version); err != nil {
			return err
		}
		c.Name, c.Description, c.CanBeWithdrawn = in.Name, in.Description, in.CanBeWithdrawn
		c.PIICategories, c.ValidFrom, c.Services = in.PIICategories, in.ValidFrom, in.Services
		c.Version++
		c.ModifiedAt = b.now()
		return nil
	}, strategy)
}

// ChangeGrants grants or withdraws consents for a subject; a consent that cannot be
// withdrawn refuses withdrawal.
func (b *Book) ChangeGrants(ctx context.Context, tenant, subject string, reqs []GrantRequest, gc GrantContext) error {
	for i := range reqs {
		if reqs[i].Type == "" {
			reqs[i].Type = Explicit
		}
	}
	return b.Store.ChangeGrants(ctx, tenant, subject, reqs, gc, func(c *Consent, r GrantRequest) error {
		if !r.Granted && !c.CanBeWithdrawn {
			return errs.E(errs.Conflict, "consent %q cannot be withdrawn", c.Name)
		}
		if r.Granted && c.ValidFrom != nil && b.now().Before(*c.ValidFrom) {
			return errs.Fields("the consent is not valid yet", errs.FieldError{Field: "grants", Message: fmt.Sprintf("consent %q is valid from %s", c.Name, c.ValidFrom.Format(time.RFC3339))})
		}
		return nil
	})
}
