package consents

import (
	"context"
	"strings"
	"time"
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

// AccessGrant is a subject letting a client in with scopes, at a time, and the ledger's
// record of it (AccessGranted).
type AccessGrant struct {
	ClientID string
	Scopes   []string
	At       time.Time
	Event    LedgerEvent
}

// AccessGranted is the ledger's record of subject letting clientID in with scopes: the
// client and scopes, and where and how it happened as far as gc tells (the API's grants
// tell nothing; the consent screen tells the address, browser, language and action, and
// whether the person chose it or a trusted client was let in by rule, grantType).
func AccessGranted(subject, clientID string, scopes []string, grantType GrantType, gc GrantContext, at time.Time) AccessGrant {
	circumstances := gc.circumstances()
	circumstances["clientId"], circumstances["scopes"] = clientID, strings.Join(scopes, " ")
	return AccessGrant{ClientID: clientID, Scopes: scopes, At: at, Event: LedgerEvent{Type: ClientAccessGranted, Subject: subject,
		GrantType: string(grantType), Context: circumstances, Language: gc.Language, ActionID: gc.ActionID, OccurredAt: at}}
}

// ClientAccessStore persists the access subjects give clients. Every change appends its
// ledger event and publishes the (subject, client) ClientAccessState in its transaction.
type ClientAccessStore interface {
	// GrantClientAccess records g for subject, replacing an earlier grant of the client,
	// with its ledger event; a client the tenant does not know is invalid.
	GrantClientAccess(ctx context.Context, tenant, subject string, g AccessGrant) error
	// RevokeClientAccess removes the access and publishes its tombstone.
	RevokeClientAccess(ctx context.Context, tenant, subject, clientID string, at time.Time) error
	// ClientAccess lists the clients subject let in, with names and scope display names.
	ClientAccess(ctx context.Context, tenant, subject string) ([]ClientAccess, error)
}

// ClientAccess lists the clients a subject let in.
func (b *Book) ClientAccess(ctx context.Context, tenant, subject string) ([]ClientAccess, error) {
	return b.store.ClientAccess(ctx, tenant, subject)
}

// GrantClientAccess records that a subject let a client in and lists the clients it let in.
func (b *Book) GrantClientAccess(ctx context.Context, tenant, subject, clientID string, scopes []string) ([]ClientAccess, error) {
	if err := b.store.GrantClientAccess(ctx, tenant, subject, AccessGranted(subject, clientID, scopes, "", GrantContext{}, b.clock.now())); err != nil {
		return nil, err
	}
	return b.store.ClientAccess(ctx, tenant, subject)
}

// RevokeClientAccess removes a client's access for a subject; the client's tokens for
// the subject stop being active once oauth-clients sees the tombstone.
func (b *Book) RevokeClientAccess(ctx context.Context, tenant, subject, clientID string) error {
	return b.store.RevokeClientAccess(ctx, tenant, subject, clientID, b.clock.now())
}
