package policies

import (
	"context"
	"reflect"
	"slices"
	"testing"
)

// scopeSets is storage as ChangedScopeSets sees it: members by group (through nesting),
// entitled and published sets by subject. It counts the calls: a batch must cost one of
// each, however many subjects it names.
type scopeSets struct {
	members   map[string][]string
	entitled  map[string][]string
	published map[string][]string
	calls     map[string]int
	asked     []string // the subjects Entitled was asked for
}

func (s *scopeSets) Members(_ context.Context, groups []string) ([]string, error) {
	s.calls["Members"]++
	var out []string
	for _, g := range groups {
		out = append(out, s.members[g]...)
	}
	return out, nil
}

func (s *scopeSets) Entitled(_ context.Context, subjects []string) (map[string][]string, error) {
	s.calls["Entitled"]++
	s.asked = append(s.asked, subjects...)
	out := map[string][]string{}
	for _, subject := range subjects {
		if e, ok := s.entitled[subject]; ok {
			out[subject] = e
		}
	}
	return out, nil
}

func (s *scopeSets) Published(_ context.Context, subjects []string) (map[string][]string, error) {
	s.calls["Published"]++
	out := map[string][]string{}
	for _, subject := range subjects {
		if p, ok := s.published[subject]; ok {
			out[subject] = p
		}
	}
	return out, nil
}

func TestChangedScopeSets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		subjects []string
		want     []ScopeSet
		asked    []string       // the subjects whose sets are computed, once each
		calls    map[string]int // queries made
	}{
		{"an unchanged set is not republished", []string{"user-a"}, nil,
			[]string{"user-a"}, map[string]int{"Entitled": 1, "Published": 1}},
		{"a changed set is", []string{"user-b"}, []ScopeSet{{"user-b", []string{"read"}}},
			[]string{"user-b"}, map[string]int{"Entitled": 1, "Published": 1}},
		{"a set never published is, even empty", []string{"user-z"}, []ScopeSet{{"user-z", []string{}}},
			[]string{"user-z"}, map[string]int{"Entitled": 1, "Published": 1}},
		{"an empty set published before is not", []string{"user-n"}, nil,
			[]string{"user-n"}, map[string]int{"Entitled": 1, "Published": 1}},
		{"a group stands for its users and clients, once each, in order", []string{"group-g", "user-b"},
			[]ScopeSet{{"client-c", []string{"write"}}, {"user-b", []string{"read"}}},
			[]string{"client-c", "user-a", "user-b"}, map[string]int{"Members": 1, "Entitled": 1, "Published": 1}},
		{"a batch: groups sharing members, a member named too, a group twice: each subject once, one query of each kind",
			[]string{"user-b", "group-g", "group-h", "user-b", "group-g", "user-x"},
			[]ScopeSet{{"client-c", []string{"write"}}, {"user-b", []string{"read"}}, {"user-x", []string{"admin", "read"}}},
			[]string{"client-c", "user-a", "user-b", "user-x"}, map[string]int{"Members": 1, "Entitled": 1, "Published": 1}},
		{"a group without users or clients: nothing to compute", []string{"group-empty"}, nil,
			nil, map[string]int{"Members": 1}},
		{"nothing", nil, nil, nil, map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sets := &scopeSets{
				members: map[string][]string{
					"g":     {"user-b", "group-h", "client-c", "user-a"},
					"h":     {"user-a", "user-x"},
					"empty": {"group-h2"},
				},
				entitled:  map[string][]string{"user-a": {"read"}, "user-b": {"read"}, "client-c": {"write"}, "user-x": {"admin", "read"}},
				published: map[string][]string{"user-a": {"read"}, "user-b": {}, "user-n": {}, "user-x": {"read"}},
				calls:     map[string]int{},
			}
			got, err := ChangedScopeSets(context.Background(), sets, tc.subjects)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if !slices.Equal(sets.asked, tc.asked) {
				t.Errorf("sets computed for %v, want %v", sets.asked, tc.asked)
			}
			if !reflect.DeepEqual(sets.calls, tc.calls) {
				t.Errorf("queries %v, want %v", sets.calls, tc.calls)
			}
		})
	}
}
