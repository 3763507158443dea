// Package events says what oauth-clients publishes: a client's full state on every change
// and a tombstone on deletion.
package events

import (
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
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
		LogoUri: &c.LogoURI, ClientUri: &c.ClientURI,
		Public: c.Public, System: c.System, Trusted: c.Trusted, CreatedBy: &c.CreatedBy, UpdatedAt: &updated,
	})
}

// ClientDeleted is the tombstone of a deleted client; its version is one past the last
// state, so it wins over any late update.
func ClientDeleted(c *clients.Client) (events.Envelope, error) {
	return events.New(Source, ClientEntity(c.Tenant, c.ID), c.Version+1, true, schema.ClientState{
		ClientId: c.ID, Tenant: c.Tenant, Deleted: true, Scopes: []string{}, GrantTypes: []string{},
	})
}
