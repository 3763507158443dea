// Package events says what oauth-clients publishes: a client's full state on every change
// and a tombstone on deletion, and the same for scope definitions.
package events

import (
	"time"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// Source is the CloudEvents source of this service's events.
const Source = "/iam/oauth-clients"

// ClientEntity names a client's event subject.
func ClientEntity(tenant, id string) events.Entity {
	return events.Entity{Tenant: tenant, Area: "clients", Kind: "client", ID: id}
}

// ClientChanged is the state-transfer event of a created or updated client.
func ClientChanged(c *clients.Client) (events.Envelope, error) {
	updated := c.UpdatedAt
	return events.New(Source, ClientEntity(c.Tenant, c.ID), c.Version, false, schema.ClientState{
		ClientId: c.ID, Tenant: c.Tenant, ClientName: c.Name, Description: &c.Description,
		Scopes: c.Scopes, GrantTypes: c.GrantTypes, Audience: &c.Audience,
		LogoUri: &c.LogoURI, ClientUri: &c.ClientURI, PolicyUri: &c.PolicyURI, TosUri: &c.TosURI,
		RedirectUris: &c.RedirectURIs, ConsentActionId: &c.ConsentActionID,
		Public: c.Public, System: c.System, Trusted: c.Trusted, CreatedBy: &c.CreatedBy, UpdatedAt: &updated,
	})
}

// ClientDeleted is the tombstone of a deleted client.
func ClientDeleted(c *clients.Client) (events.Envelope, error) { return ClientGone(c.Tenant, c.ID) }

// ClientGone is the tombstone of a client that no longer exists: only clientId and
// tenant are set. events.Record stamps its version.
func ClientGone(tenant, id string) (events.Envelope, error) {
	return events.New(Source, ClientEntity(tenant, id), 0, true, schema.ClientState{
		ClientId: id, Tenant: tenant, Deleted: true, Scopes: []string{}, GrantTypes: []string{},
	})
}

// ScopeEntity names a scope definition's event subject: the name with '.' as '~', since
// a NATS subject token cannot contain '.'.
func ScopeEntity(tenant, name string) events.Entity {
	return events.Entity{Tenant: tenant, Area: "clients", Kind: "scope", ID: scopes.SubjectToken(name)}
}

// ScopeChanged is the state-transfer event of a created or updated scope definition.
func ScopeChanged(d *scopes.Definition) (events.Envelope, error) {
	updated := d.UpdatedAt
	return events.New(Source, ScopeEntity(d.Tenant, d.Name), d.Version, false, schema.ScopeDefinitionState{
		Name: d.Name, Tenant: d.Tenant, DisplayName: d.DisplayName, Description: d.Description,
		UserPolicyId: d.UserPolicyID, DeveloperPolicyId: d.DeveloperPolicyID, BuiltIn: d.BuiltIn, UpdatedAt: &updated,
	})
}

// ScopeDeleted is the tombstone of a deleted scope definition.
func ScopeDeleted(d *scopes.Definition) (events.Envelope, error) { return ScopeGone(d.Tenant, d.Name) }

// ScopeGone is the tombstone of a scope definition that no longer exists: its name
// (which the views drop by) and tenant.
func ScopeGone(tenant, name string) (events.Envelope, error) {
	return events.New(Source, ScopeEntity(tenant, name), 0, true, schema.ScopeDefinitionState{
		Name: name, Tenant: tenant, Deleted: true,
	})
}

// RevocationEntity names a revoked token's event subject: one per jti, so the stream
// keeps every revocation until it is purged.
func RevocationEntity(tenant, jti string) events.Entity {
	return events.Entity{Tenant: tenant, Area: "clients", Kind: "revocation", ID: jti}
}

// TokenRevoked is the event of a revoked access token (RFC 7009): every service's token
// check refuses the token from when it has read the event until expiresAt.
func TokenRevoked(tenant, jti, clientID, subject string, expiresAt time.Time) (events.Envelope, error) {
	return events.New(Source, RevocationEntity(tenant, jti), 0, false, schema.TokenRevocationState{
		Jti: jti, Tenant: tenant, ClientId: clientID, Subject: subject, ExpiresAt: expiresAt.UTC(),
	})
}

// SecretEntity names a client secret's event subject.
func SecretEntity(tenant, secretID string) events.Entity {
	return events.Entity{Tenant: tenant, Area: "clients", Kind: "clientsecret", ID: secretID}
}

// SecretAdded is the event of a new secret: its metadata, never its value or hash.
func SecretAdded(tenant, clientID string, s *clients.Secret) (events.Envelope, error) {
	created := s.CreatedAt
	return events.New(Source, SecretEntity(tenant, s.ID), 1, false, schema.ClientSecretState{
		SecretId: s.ID, ClientId: clientID, Tenant: tenant, Description: &s.Description, CreatedAt: &created, ExpiresAt: s.ExpiresAt,
	})
}

// SecretDeleted is the tombstone of a revoked secret.
func SecretDeleted(tenant, clientID, secretID string) (events.Envelope, error) {
	return events.New(Source, SecretEntity(tenant, secretID), 2, true, schema.ClientSecretState{
		SecretId: secretID, ClientId: clientID, Tenant: tenant, Deleted: true,
	})
}

// SecretGone is the tombstone of a secret that no longer exists and whose client is no
// longer known (its row is gone): clientId is empty, so a replica's Invalidator drops
// all its cached credentials rather than one client's.
func SecretGone(tenant, secretID string) (events.Envelope, error) {
	return SecretDeleted(tenant, "", secretID)
}
