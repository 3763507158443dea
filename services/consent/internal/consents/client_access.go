package consents

import (
	"context"
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

// ClientAccessStore persists the access subjects give clients. Every change appends its
// ledger event and publishes the (subject, client) ClientAccessState in its transaction.
type ClientAccessStore interface {
	// GrantClientAccess records that subject let clientID in with scopes at the given time,
	// replacing an earlier grant; a client the tenant does not know is invalid.
	GrantClientAccess(ctx context.Context, tenant, subject, clientID string, scopes []string, at time.Time) error
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
	if err := b.store.GrantClientAccess(ctx, tenant, subject, clientID, scopes, b.clock.now()); err != nil {
		return nil, err
	}
	return b.store.ClientAccess(ctx, tenant, subject)
}

// RevokeClientAccess removes a client's access for a subject; the client's tokens for
// the subject stop being active once oauth-clients sees the tombstone.
func (b *Book) RevokeClientAccess(ctx context.Context, tenant, subject, clientID string) error {
	return b.store.RevokeClientAccess(ctx, tenant, subject, clientID, b.clock.now())
}
