package policies_test

import (
	"testing"

	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

func TestIndexDecide(t *testing.T) {
	x := policies.NewIndex()
	x.SetMemberOf("user-u", []string{"b"})
	x.SetAncestors("b", []string{"a", "b"})
	x.SetGrants("/", "read", []policies.Grant{{ID: "00000000-0000-0000-0000-000000000001", Subject: "group-z"}})
	x.SetGrants("/p", "read", []policies.Grant{{ID: "00000000-0000-0000-0000-000000000002", Subject: "group-b"}, {ID: "00000000-0000-0000-0000-000000000003", Subject: "group-a"}})
	x.SetGrants("/p/q", "write", []policies.Grant{{ID: "00000000-0000-0000-0000-000000000004", Subject: "user-u"}, {ID: "00000000-0000-0000-0000-000000000005", Subject: "group-a"}})
	for _, tc := range []struct {
		subject, action, scope, want string
	}{
		{"user-u", "read", "/p/q", "3"},    // two groups on the same path: the lowest id, stably
		{"user-u", "write", "/p/q/r", "4"}, // the subject's own grant before a group's
		{"user-u", "read", "/", ""},        // a policy of a group it is not in
		{"user-u", "write", "/p", ""},      // a grant below the scope does not cover it
		{"group-b", "read", "/p", "2"},     // a group is its own principal
		{"user-v", "read", "/p", ""},       // in no group
	} {
		got := ""
		if p := x.Decide("acme", tc.subject, tc.action, policies.Covering(tc.scope)); p != nil {
			got = p.ID[len(p.ID)-1:]
		}
		if got != tc.want {
			t.Errorf("%s %s %s: policy %q, want %q", tc.subject, tc.action, tc.scope, got, tc.want)
		}
	}
	x.SetGrants("/p", "read", nil)
	if p := x.Decide("acme", "user-u", "read", policies.Covering("/p")); p != nil {
		t.Errorf("removed grants still decide: %+v", p)
	}
}
