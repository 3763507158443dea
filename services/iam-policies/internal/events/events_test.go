package events

import (
	"reflect"
	"strings"
	"testing"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

func TestDecode(t *testing.T) {
	ev := func(tenant, area, kind, id string, deleted bool, state any) pkgevents.Envelope {
		t.Helper()
		e, err := pkgevents.New("/test", pkgevents.Entity{Tenant: tenant, Area: area, Kind: kind, ID: id}, 1, deleted, state)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	membership := func(tenant, group, member string, deleted bool) pkgevents.Envelope {
		return ev(tenant, "subjects", "membership", group+"~"+member, deleted,
			schema.MembershipState{Tenant: tenant, GroupId: group, Member: member, Deleted: deleted})
	}
	for _, tc := range []struct {
		name    string
		evs     []pkgevents.Envelope
		tenants []string
		changes map[string]*Changes
		err     string
	}{
		{"subjects, memberships and a client, sorted by tenant in name order",
			[]pkgevents.Envelope{
				ev("zeta", "subjects", "user", "u1", false, schema.UserState{DisplayName: "Una"}),
				ev("acme", "subjects", "group", "g1", false, schema.GroupState{DisplayName: "Ops"}),
				ev("acme", "clients", "client", "c1", false, schema.ClientState{ClientName: "Billing"}),
				membership("acme", "g1", "user-u2", false),
				membership("acme", "g1", "group-g2", true),
				ev("acme", "subjects", "user", "u3", true, schema.UserState{}),
				ev("zeta", "subjects", "group", "g9", true, schema.GroupState{}),
			},
			[]string{"acme", "zeta"},
			map[string]*Changes{
				"acme": {
					Put:    []Subject{{"group-g1", "Ops"}, {"client-c1", "Billing"}},
					Gone:   []string{"user-u3"},
					Joined: []Membership{{"g1", "user-u2"}},
					Left:   []Membership{{"g1", "group-g2"}},
					Groups: map[string]GroupRefs{"group-g1": {}},
				},
				"zeta": {Put: []Subject{{"user-u1", "Una"}}, Gone: []string{"group-g9"}, Groups: map[string]GroupRefs{"group-g9": {}}},
			}, ""},
		{"an Emporix group names access controls and templates",
			[]pkgevents.Envelope{ev("acme", "subjects", "group", "g1", false, schema.GroupState{DisplayName: "Ops",
				AccessControls: &[]string{"ac1", "ac2"}, Templates: &[]string{"t1"}})},
			[]string{"acme"}, map[string]*Changes{"acme": {Put: []Subject{{"group-g1", "Ops"}},
				Groups: map[string]GroupRefs{"group-g1": {AccessControls: []string{"ac1", "ac2"}, Templates: []string{"t1"}}}}}, ""},
		{"a kind the view does not keep changes nothing",
			[]pkgevents.Envelope{ev("acme", "clients", "clientsecret", "s1", false, map[string]string{})},
			[]string{"acme"}, map[string]*Changes{"acme": {}}, ""},
		{"a membership naming another tenant fails the batch",
			[]pkgevents.Envelope{
				membership("acme", "g1", "user-u1", false),
				ev("acme", "subjects", "membership", "g1~user-u2", false, schema.MembershipState{Tenant: "globex", GroupId: "g1", Member: "user-u2"}),
			}, nil, nil, `membership of tenant "globex" in an event of "acme"`},
		{"an undecodable subject fails the batch",
			[]pkgevents.Envelope{ev("acme", "subjects", "user", "u1", false, "not an object")}, nil, nil, "decode user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenants, changes, err := Decode(tc.evs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tenants, tc.tenants) {
				t.Errorf("tenants %v, want %v", tenants, tc.tenants)
			}
			if !reflect.DeepEqual(changes, tc.changes) {
				for tenant, c := range changes {
					t.Logf("%s: %+v", tenant, *c)
				}
				t.Errorf("changes differ from %v", tc.changes)
			}
			for tenant, c := range changes {
				if c.Empty() != (len(c.Put)+len(c.Gone)+len(c.Joined)+len(c.Left) == 0) {
					t.Errorf("%s: Empty() is %v for %+v", tenant, c.Empty(), *c)
				}
			}
		})
	}
}
