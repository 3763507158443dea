package devstack

import "testing"

func TestOwner(t *testing.T) {
	dialects := map[string]string{
		"/iam/*/users":                   "iam-subjects",
		"/iam/*/users/*/access-controls": "iam-policies",
		"/api/admin/*/consents":          "consent",
	}
	for _, tc := range []struct{ path, want string }{
		{"/v1/tenants/acme/users/1", "iam-subjects"},
		{"/v1/tenants/acme/check", "iam-policies"},
		{"/v1/tenants/acme/nothing", ""},
		{"/iam/acme/users", "iam-subjects"},
		{"/iam/acme/users/u1/groups", "iam-subjects"},
		{"/iam/acme/users/u1/access-controls", "iam-policies"},
		{"/iam/acme/users/u1/access-controls/r1", "iam-policies"},
		{"/iam/acme", ""},
		{"/api/admin/t1/consents/EULA", "consent"},
		{"/api/admin/t1/servers", ""},
		{"/", ""},
	} {
		if got := owner(tc.path, dialects); got != tc.want {
			t.Errorf("owner(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	// The dialect routes this repository serves.
	for _, tc := range []struct{ path, want string }{
		{"/iam/acme/access-controls/ac1", "iam-policies"},
		{"/iam/acme/roles", "iam-policies"},
		{"/iam/acme/templates/t1", "iam-policies"},
		{"/iam/acme/groups/g1/access-controls", "iam-policies"},
		{"/iam/acme/users/me/scopes", "iam-policies"},
		{"/iam/acme/users/u1/permissions/r1", "iam-policies"},
	} {
		if got := Owner(tc.path); got != tc.want {
			t.Errorf("Owner(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	for _, tc := range []struct{ path, want string }{{"/", ""}} {
		if got := owner(tc.path, dialects); got != tc.want {
			t.Errorf("owner(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestDialectRoutes: the seed dialects' paths reach the services that serve them.
func TestDialectRoutes(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/iam/acme/users", "iam-subjects"},
		{"/iam/acme/users/00u4ukqvzlEP31sCk417/groups/g1", "iam-subjects"},
		{"/iam/acme/groups/g1/users/EMPLOYEE/u1", "iam-subjects"},
		{"/clients", "oauth-clients"},
		{"/clients/fbd71de5-5674-42f6-a66a-4e05e7c861ed", "oauth-clients"},
		{"/core/iam/clients/c1/secrets/7", "oauth-clients"},
		{"/core/iam/users", ""},
		{"/api/admin/t1/clients/1", "oauth-clients"},
		{"/api/admin/t1/scopes/1", "oauth-clients"},
		{"/api/admin/t1/consents/EULA", "consent"},
		{"/api/developer/t1/clients", "oauth-clients"},
		{"/api/admin/t1/servers", ""},
	} {
		if got := Owner(tc.path); got != tc.want {
			t.Errorf("Owner(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
