package consents

import (
	"context"
	"fmt"
	"time"

	"github.com/iamplane/iam/pkg/errs"
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

// circumstances are the ledger's context of a grant: only what the caller told.
func (gc GrantContext) circumstances() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"ip": gc.IP, "device": gc.Device, "location": gc.Location} {
		if v != "" {
			out[k] = v
		}
	}
	return out
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

// GrantStore persists grants. Every change appends its ledger events in its transaction.
type GrantStore interface {
	// Grants lists every consent of the tenant with the subject's grant of it (Granted and
	// NeedsReconsent are the Book's to tell).
	Grants(ctx context.Context, tenant, subject string) ([]GrantStatus, error)
	// ChangeGrants applies reqs for subject in one transaction, serialized per subject: it
	// loads the consent of every request (all must exist), asks record for their ledger
	// events (one per request, in order; an error changes nothing), grants each consent at
	// its current version or withdraws it, and appends the events.
	ChangeGrants(ctx context.Context, tenant, subject string, reqs []GrantRequest, record func(found []*Consent) ([]LedgerEvent, error)) error
}

// Grants tells where a subject stands on every consent of the tenant.
func (b *Book) Grants(ctx context.Context, tenant, subject string) ([]GrantStatus, error) {
	gs, err := b.store.Grants(ctx, tenant, subject)
	if err != nil {
		return nil, err
	}
	for i := range gs {
		g := &gs[i]
		g.Granted = g.GrantedVersion != nil
		g.NeedsReconsent = g.Granted && *g.GrantedVersion < g.CurrentVersion
	}
	return gs, nil
}

// ChangeGrants grants or withdraws consents for a subject (explicitly, unless a request
// says otherwise) and tells where the subject then stands. A consent that cannot be
// withdrawn refuses withdrawal; one not valid yet refuses grants.
func (b *Book) ChangeGrants(ctx context.Context, tenant, subject string, reqs []GrantRequest, gc GrantContext) ([]GrantStatus, error) {
	if err := b.store.ChangeGrants(ctx, tenant, subject, reqs, grantLedger(subject, reqs, gc, b.clock)); err != nil {
		return nil, err
	}
	return b.Grants(ctx, tenant, subject)
}

// grantLedger is the rule every change of a subject's grants passes, whoever asks for it
// (the API or the consent screen): given the consents the requests name, it refuses a
// withdrawal of a consent that cannot be withdrawn and a grant of one not valid yet, and
// otherwise returns the ledger event of each request, in order. Requests without a type
// are explicit.
func grantLedger(subject string, reqs []GrantRequest, gc GrantContext, clock Clock) func(found []*Consent) ([]LedgerEvent, error) {
	for i := range reqs {
		if reqs[i].Type == "" {
			reqs[i].Type = Explicit
		}
	}
	return func(found []*Consent) ([]LedgerEvent, error) {
		// Stamped once the subject's changes are serialized, so the ledger's times follow its order.
		now, circumstances := clock.now(), gc.circumstances()
		evs := make([]LedgerEvent, len(reqs))
		for i, r := range reqs {
			c := found[i]
			if !r.Granted && !c.CanBeWithdrawn {
				return nil, errs.E(errs.Conflict, "consent %q cannot be withdrawn", c.Name)
			}
			if r.Granted && c.ValidFrom != nil && now.Before(*c.ValidFrom) {
				return nil, errs.Fields("the consent is not valid yet", errs.FieldError{Field: "grants", Message: fmt.Sprintf("consent %q is valid from %s", c.Name, c.ValidFrom.Format(time.RFC3339))})
			}
			evs[i] = LedgerEvent{Type: Revoked, Subject: subject, ConsentID: c.ID, ConsentVersion: c.Version, GrantType: string(r.Type),
				Context: circumstances, Language: gc.Language, ActionID: gc.ActionID, OccurredAt: now}
			if r.Granted {
				evs[i].Type = Granted
			}
		}
		return evs, nil
	}
}
