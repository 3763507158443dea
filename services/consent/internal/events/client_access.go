package events

import (
	"strings"
	"time"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// Source is the CloudEvents source of consent's events.
const Source = "/iam/consent"

// ClientAccessID is the entity id of subject's access for clientID: the last token of
// its NATS subject, iam.<tenant>.consent.clientaccess.<subject>~<clientId>.
func ClientAccessID(subject, clientID string) string { return subject + "~" + clientID }

// ParseClientAccessID splits an entity id made by ClientAccessID.
func ParseClientAccessID(id string) (subject, clientID string, ok bool) {
	subject, clientID, ok = strings.Cut(id, "~")
	return subject, clientID, ok && subject != "" && clientID != ""
}

// ClientAccess is the event of subject's access for clientID with scopes, granted at at
// (the event's time: oauth-clients lifts an earlier revocation from then on). Record
// stamps its version.
func ClientAccess(tenant, subject, clientID string, scopes []string, at time.Time) (pkgevents.Envelope, error) {
	if scopes == nil {
		scopes = []string{}
	}
	return clientAccess(tenant, subject, clientID, scopes, false, at)
}

// ClientAccessRevoked is the tombstone of subject's access for clientID, revoked at at:
// the same ClientAccessState consumers decode, with no scopes and deleted set.
func ClientAccessRevoked(tenant, subject, clientID string, at time.Time) (pkgevents.Envelope, error) {
	return clientAccess(tenant, subject, clientID, []string{}, true, at)
}

func clientAccess(tenant, subject, clientID string, scopes []string, revoked bool, at time.Time) (pkgevents.Envelope, error) {
	ev, err := pkgevents.New(Source, pkgevents.Entity{Tenant: tenant, Area: "consent", Kind: "clientaccess", ID: ClientAccessID(subject, clientID)},
		0, revoked, schema.ClientAccessState{Tenant: tenant, Subject: subject, ClientId: clientID, Scopes: scopes, Deleted: revoked})
	if err == nil && !at.IsZero() {
		ev.Time = at.UTC()
	}
	return ev, err
}
