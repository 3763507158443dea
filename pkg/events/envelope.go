// Package events carries state-transfer events between services: a CloudEvents 1.0 JSON
// envelope, the transactional outbox that records an event with the change it
// describes, the relay that publishes the outbox to JetStream, and the consumer that
// applies events to a view exactly once in effect.
package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Envelope is a CloudEvents 1.0 structured-mode JSON event. Tenant and EntityVersion are
// extension attributes: consumers check the tenant against the NATS subject and apply an
// event only when its entity version is newer than what they hold.
type Envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Tenant          string          `json:"tenant"`
	EntityVersion   int64           `json:"entityversion"`
	Deleted         bool            `json:"deleted,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// Entity names the thing an event is about. Its NATS subject,
// iam.<tenant>.<area>.<kind>.<id>, holds only that entity's events, so a stream keeping
// the last message per subject is a complete, compact log of current state.
type Entity struct {
	Tenant string
	Area   string // the owning service's area: clients, subjects, policies, consent
	Kind   string // client, user, group, membership, ...
	ID     string
}

// Subject is the NATS subject of the entity.
func (e Entity) Subject() string {
	return strings.Join([]string{"iam", e.Tenant, e.Area, e.Kind, e.ID}, ".")
}

// New builds the envelope for an entity's new state (or its tombstone when deleted).
func New(source string, e Entity, version int64, deleted bool, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s event: %w", e.Kind, err)
	}
	verb := "upserted"
	if deleted {
		verb = "deleted"
	}
	return Envelope{
		SpecVersion:     "1.0",
		ID:              uuid.NewString(),
		Source:          source,
		Type:            TypeName(e.Kind, verb),
		Subject:         e.Subject(),
		Time:            time.Now().UTC(),
		DataContentType: "application/json",
		Tenant:          e.Tenant,
		EntityVersion:   version,
		Deleted:         deleted,
		Data:            raw,
	}, nil
}

// TypeName is the CloudEvents type of an entity event, e.g. dev.iamplane.client.upserted.v1.
func TypeName(kind, verb string) string { return "dev.iamplane." + kind + "." + verb + ".v1" }

// Parse decodes an envelope and checks what every consumer relies on: required
// attributes present, the tenant extension equal to the tenant in the NATS subject, so
// one tenant can never write into another's view by mislabelling an event, and the
// source equal to the service owning the subject's area (/iam/iam-subjects for
// iam.*.subjects.>, see Areas), so no service speaks for another. NATS permissions
// already keep anyone else from publishing there; this is the consumer's own check.
func Parse(natsSubject string, raw []byte) (Envelope, error) {
	var ev Envelope
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, fmt.Errorf("decode envelope: %w", err)
	}
	if ev.SpecVersion != "1.0" || ev.ID == "" || ev.Type == "" || ev.Tenant == "" {
		return ev, fmt.Errorf("envelope lacks specversion 1.0, id, type or tenant")
	}
	parts := strings.Split(natsSubject, ".")
	if len(parts) != 5 || parts[0] != "iam" {
		return ev, fmt.Errorf("subject %q is not iam.<tenant>.<area>.<kind>.<id>", natsSubject)
	}
	if parts[1] != ev.Tenant {
		return ev, fmt.Errorf("event tenant %q does not match subject tenant %q", ev.Tenant, parts[1])
	}
	if err := checkSource(parts[2], ev.Source); err != nil {
		return ev, err
	}
	if ev.Subject != natsSubject {
		return ev, fmt.Errorf("event subject %q does not match NATS subject %q", ev.Subject, natsSubject)
	}
	return ev, nil
}

// EntityID is the last token of the event's subject.
func (ev Envelope) EntityID() string {
	return ev.Subject[strings.LastIndexByte(ev.Subject, '.')+1:]
}
