package policies_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/google/uuid"

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

// TestIndexBytes compares the index's own estimate of its memory with what the heap
// measures, on indexes shaped like check-bench's tenant (users in groups nested five
// deep; 50 policies on each path and action, or a path for every policy), so that the
// memory budget and iam_check_index_bytes mean what they say. It also reports the bytes
// per policy. (Measured at 50,000 to 1,000,000 policies: the estimate is 0.90 to 0.95 of
// the heap's figure.)
func TestIndexBytes(t *testing.T) {
	for _, perPath := range []int{50, 1} {
		t.Run(fmt.Sprintf("%d policies a path", perPath), func(t *testing.T) { indexBytes(t, perPath) })
	}
}

func indexBytes(t *testing.T, perPath int) {
	const nPolicies, nUsers, nGroups = 200_000, 20_000, 2_000
	measure := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := measure()
	x := policies.NewIndex()
	type key struct {
		scope  string
		action int
	}
	byKey := map[key][]policies.Grant{}
	for n := range nPolicies {
		subject := fmt.Sprintf("group-g%d", 1+(n*13)%nGroups)
		if n%5 == 0 {
			subject = fmt.Sprintf("user-u%d", 1+(n*7)%nUsers)
		}
		k := key{fmt.Sprintf("/res/%d", n%(nPolicies/perPath)), n % 20}
		byKey[k] = append(byKey[k], policies.Grant{ID: uuid.NewString(), Subject: subject})
	}
	for k, grants := range byKey {
		x.SetGrants(k.scope, fmt.Sprint("act", k.action), grants)
	}
	byKey = nil
	for u := 1; u <= nUsers; u++ {
		x.SetMemberOf(fmt.Sprintf("user-u%d", u), []string{fmt.Sprintf("g%d", 5*(1+u%(nGroups/5)))})
	}
	for g := 1; g <= nGroups; g++ {
		var ancestors []string
		for a := g - (g-1)%5; a <= g; a++ {
			ancestors = append(ancestors, fmt.Sprintf("g%d", a))
		}
		x.SetAncestors(fmt.Sprintf("g%d", g), ancestors)
	}
	measured := measure() - before
	estimate := x.Bytes()
	runtime.KeepAlive(x)
	t.Logf("%d policies, %d users, %d groups: estimate %d bytes, heap %d bytes (%.0f bytes a policy measured)",
		nPolicies, nUsers, nGroups, estimate, measured, float64(measured)/nPolicies)
	if ratio := float64(estimate) / float64(measured); ratio < 0.8 || ratio > 1.25 {
		t.Errorf("estimate %d bytes is %.2f × the %d the heap measures", estimate, ratio, measured)
	}

	// Removing everything takes the estimate back to the interned names alone.
	names := x.Bytes()
	for g := 1; g <= nGroups; g++ {
		x.SetAncestors(fmt.Sprintf("g%d", g), nil)
	}
	for u := 1; u <= nUsers; u++ {
		x.SetMemberOf(fmt.Sprintf("user-u%d", u), nil)
	}
	for n := range nPolicies {
		x.SetGrants(fmt.Sprintf("/res/%d", n%(nPolicies/perPath)), fmt.Sprint("act", n%20), nil)
	}
	if left := x.Bytes(); left <= 0 || left >= names/4 {
		t.Errorf("with nothing left the estimate is %d bytes (was %d)", left, names)
	}
}
