package service

import "testing"

func TestEchoPath(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"/v1/tenants/{tenant}/users", "/v1/tenants/:tenant/users"},
		{"/v1/tenants/{tenant}/users/{userId}/groups/{groupId}", "/v1/tenants/:tenant/users/:userId/groups/:groupId"},
		{"/clients", "/clients"},
		{"/api/admin/{tid}/consents/{id}", "/api/admin/:tid/consents/:id"},
	} {
		if got := echoPath(tc.spec); got != tc.want {
			t.Errorf("echoPath(%q) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}
