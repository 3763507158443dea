package scopes

import "slices"

// Builtin is a platform scope: one the IAM APIs themselves require.
type Builtin struct {
	Name        string
	DisplayName string
	Description string
}

// Platform lists every scope the four IAM specs declare (openapi/*.yaml,
// components.securitySchemes): each is a built-in, read-only definition in every
// tenant. It is checked in rather than read from the specs at run time because the other
// services' specs are not part of this module; TestPlatformMatchesSpecs fails when the
// two disagree.
var Platform = []Builtin{
	{"services.iam", "IAM administration", "Everything in the IAM management APIs."},
	// OpenID Connect (the authorization code flow of oauth-clients' spec)
	{"openid", "Sign you in", "Sign the person in (OpenID Connect); userinfo needs it."},
	{"profile", "Your profile", "The person's name, username and language."},
	{"email", "Your email address", "The person's email address."},
	{"phone", "Your phone number", "The person's phone number."},
	{"offline_access", "Stay signed in", "A refresh token, to keep access while the person is away."},
	// oauth-clients
	{"iam.client_read", "Read OAuth clients", "Read clients and their secret metadata."},
	{"iam.client_manage", "Manage OAuth clients", "Create, change and delete clients and secrets."},
	{"iam.scope_read", "Read scope definitions", "Read scope definitions."},
	{"iam.scope_manage", "Manage scope definitions", "Create, change and delete scope definitions."},
	{"iam.developer", "Developer self-service", "Register and manage one's own clients under /developer/clients."},
	{"iam.client_register", "Register clients", "An initial access token: register clients dynamically (RFC 7591)."},
	// iam-subjects
	{"iam.subject_read", "Read subjects", "Search and read subjects of every type."},
	{"iam.user_read", "Read users", "Read users."},
	{"iam.user_create", "Create users", "Create users."},
	{"iam.user_update", "Update users", "Change users and their group assignments."},
	{"iam.user_delete", "Delete users", "Delete users."},
	{"iam.group_read", "Read groups", "Read groups and their members."},
	{"iam.group_manage", "Manage groups", "Create, change and delete groups."},
	{"iam.assignment_manage", "Manage assignments", "Add and remove group members; force-delete groups with members; assign access controls and templates."},
	// iam-policies
	{"iam.action_read", "Read actions", "Read the actions catalog."},
	{"iam.action_manage", "Manage actions", "Change the actions catalog."},
	{"iam.policy_read", "Read policies", "Read policies, tenant roles and effective access."},
	{"iam.policy_manage", "Manage policies", "Grant and revoke policies; set tenant roles."},
	{"iam.check", "Check access", "Ask for access decisions."},
	{"iam.resource_read", "Read RBAC resources", "Read RBAC resources."},
	{"iam.resource_manage", "Manage RBAC resources", "Create, change and delete RBAC resources."},
	{"iam.permission_read", "Read permissions", "Read permissions, and a subject's effective permissions."},
	{"iam.permission_manage", "Manage permissions", "Create, change and delete permissions."},
	{"iam.role_read", "Read roles", "Read roles."},
	{"iam.role_manage", "Manage roles", "Create, change and delete roles."},
	{"iam.access_read", "Read access controls", "Read access controls, assignments and a subject's effective access controls."},
	{"iam.access_manage", "Manage access controls", "Create, change and delete access controls."},
	{"iam.template_read", "Read templates", "Read access-control templates."},
	{"iam.template_manage", "Manage templates", "Create, change and delete access-control templates."},
	// consent
	{"view_consents", "View consents", "Read consents and consent actions."},
	{"manage_consents", "Manage consents", "Change consents and consent actions."},
	{"list_clients_with_access", "List clients with access", "List the clients a subject let in."},
	{"revoke_client_access", "Revoke client access", "Revoke a client a subject let in."},
}

var platformNames = func() map[string]bool {
	m := make(map[string]bool, len(Platform))
	for _, p := range Platform {
		m[p.Name] = true
	}
	return m
}()

// IsPlatform reports whether name is a built-in platform scope.
func IsPlatform(name string) bool { return platformNames[name] }

// PlatformNames returns the built-in scope names, sorted.
func PlatformNames() []string {
	out := make([]string, 0, len(Platform))
	for _, p := range Platform {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

// OpenID are the OpenID Connect scopes: every person is entitled to them (they only
// describe the person to the client, with the person's consent), and developers may give
// them to their clients.
var OpenID = []string{"openid", "profile", "email", "phone", "offline_access"}

// IsOpenID reports whether name is one of the OpenID Connect scopes.
func IsOpenID(name string) bool { return slices.Contains(OpenID, name) }
