package events

import (
	"fmt"
	"slices"
	"strings"
)

// Area is one part of the subject space, iam.<tenant>.<Name>.>, and the one service that
// publishes on it. Consumers trust an event only if it came from its area's owner.
type Area struct {
	Name    string // clients, subjects, policies, consent
	Service string // the owning service, e.g. oauth-clients
}

// areas is the ownership table: the NATS permissions of every identity and the source
// check in Parse are generated from it.
var areas = []Area{
	{Name: "clients", Service: "oauth-clients"},
	{Name: "subjects", Service: "iam-subjects"},
	{Name: "policies", Service: "iam-policies"},
	{Name: "consent", Service: "consent"},
}

// areaSources maps an area to the CloudEvents source of its owner. Tests of this package
// add an area of their own.
var areaSources = func() map[string]string {
	m := map[string]string{}
	for _, a := range areas {
		m[a.Name] = SourceOf(a.Service)
	}
	return m
}()

// Areas returns the ownership table.
func Areas() []Area { return slices.Clone(areas) }

// SourceOf is the CloudEvents source of a service's events, e.g. /iam/oauth-clients.
func SourceOf(service string) string { return "/iam/" + service }

// checkSource reports an error unless source is the owner of area.
func checkSource(area, source string) error {
	want, ok := areaSources[area]
	if !ok {
		return fmt.Errorf("subject area %q has no owning service", area)
	}
	if source != want {
		return fmt.Errorf("event source %q is not the owner of area %q (%s)", source, area, want)
	}
	return nil
}

// The NATS identities besides the four services.
const (
	// AdminUser has every right: operators, test harnesses and tools that manage streams.
	AdminUser = "admin"
	// ReaderUser is for other teams' consumers: durable pull consumers on IAM and acks,
	// but no publishing on iam.> or iamdlq.>.
	ReaderUser = "reader"
)

// NATSUser is one NATS identity and the subjects it may publish on. Subscribing is not
// restricted: events are not secret (they never carry secret material), and a consumer
// can only act on what it may publish, e.g. its acks.
type NATSUser struct {
	Name string
	// Publish is the allow-list; nil for the admin, who may publish anything.
	Publish []string
	// Respond lets it answer requests (one reply each, within a minute) on the inbox
	// they name: the services answer the views' iamsync requests (sync.go).
	Respond bool
}

// jsAPI is the JetStream API prefix.
const jsAPI = "$JS.API."

// consumerRights are what any durable pull consumer on the IAM stream needs: create (or
// update) it, read its info (pull iterators do on missed heartbeats), pull batches, and
// ack, nak, extend or terminate messages.
func consumerRights() []string {
	return []string{
		jsAPI + "STREAM.INFO." + StreamName,
		jsAPI + "CONSUMER.CREATE." + StreamName + ".>", // .<name> or .<name>.<filter>
		jsAPI + "CONSUMER.INFO." + StreamName + ".*",
		jsAPI + "CONSUMER.MSG.NEXT." + StreamName + ".*",
		"$JS.ACK." + StreamName + ".>",
	}
}

// ServicePublish is what service may publish: its own area's events and dead letters,
// the JetStream API calls to ensure the IAM and IAM_DLQ streams, and its consumers'
// (durable and ordered: an ordered consumer deletes its predecessor when it resets).
func ServicePublish(service string) []string {
	var out []string
	for _, a := range areas {
		if a.Service == service {
			out = append(out, "iam.*."+a.Name+".>")
		}
	}
	if out == nil {
		return nil // not a service
	}
	// iamsync: a service's reconciler asks the sources of its views, and an operator's
	// iam-sync asks a service for a pass (the answers go back as responses).
	out = append(out, deadLetterPrefix+".>", syncPrefix+".>",
		jsAPI+"STREAM.CREATE."+StreamName, jsAPI+"STREAM.UPDATE."+StreamName,
		jsAPI+"STREAM.INFO."+DeadLetterStream, jsAPI+"STREAM.CREATE."+DeadLetterStream, jsAPI+"STREAM.UPDATE."+DeadLetterStream)
	out = append(out, consumerRights()...)
	return append(out, jsAPI+"CONSUMER.DELETE."+StreamName+".*")
}

// NATSUsers are every identity the NATS server knows: the admin, one per service (with the
// same name) and the reader.
func NATSUsers() []NATSUser {
	users := []NATSUser{{Name: AdminUser}}
	for _, a := range areas {
		users = append(users, NATSUser{Name: a.Service, Publish: ServicePublish(a.Service), Respond: true})
	}
	return append(users, NATSUser{Name: ReaderUser, Publish: consumerRights()})
}

// NATSPasswordVar is the environment variable that holds user's password in the NATS
// server's configuration, e.g. NATS_PASSWORD_OAUTH_CLIENTS.
func NATSPasswordVar(user string) string {
	return "NATS_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
}

// NATSAuthorization is the authorization block of a nats-server configuration file for
// NATSUsers, each password read from the environment variable NATSPasswordVar(user). The
// deployment's nats.conf contains it verbatim (a test checks).
func NATSAuthorization() string {
	var b strings.Builder
	b.WriteString("authorization {\n  users: [\n")
	for _, u := range NATSUsers() {
		fmt.Fprintf(&b, "    {user: %q, password: $%s", u.Name, NATSPasswordVar(u.Name))
		if u.Publish != nil {
			b.WriteString(", permissions: {publish: {allow: [\n")
			for _, s := range u.Publish {
				fmt.Fprintf(&b, "      %q\n", s)
			}
			b.WriteString("    ]}")
			if u.Respond {
				b.WriteString(", allow_responses: {max: 1, expires: \"1m\"}")
			}
			b.WriteString("}")
		}
		b.WriteString("}\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}
