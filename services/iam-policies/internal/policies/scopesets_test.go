package policies

import (
	"context"
	"reflect"
	"testing"
)

// scopeSets is storage as ChangedScopeSets sees it: members by group, entitled and
// published sets by subject.
type scopeSets struct {
	members   map[string][]string
	entitled  map[string][]string
	published map[string][]string
}

func (s scopeSets) Members(_ context.Context, group string) ([]string, error) {
	return append([]string(nil), s.members[group]...), nil
}

func (s scopeSets) Entitled(_ context.Context, subject string) ([]string, error) {
	if e, ok := s.entitled[subject]; ok {
		return e, nil
	}
	return []string{}, nil
}

func (s scopeSets) Published(_ context.Context, subject string) ([]string, bool, error) {
	p, ok := s.published[subject]
	return p, ok, nil
}

func TestChangedScopeSets(t *testing.T) {
	sets := scopeSets{
		members:   map[string][]string{"g": {"user-b", "group-h", "client-c", "user-a"}},
		entitled:  map[string][]string{"user-a": {"read"}, "user-b": {"read"}, "client-c": {"write"}},
		published: map[string][]string{"user-a": {"read"}, "user-b": {}, "user-n": {}},
	}
	for _, tc := range []struct {
		name     string
		subjects []string
		want     []ScopeSet
	}{
		{"an unchanged set is not republished", []string{"user-a"}, nil},
		{"a changed set is", []string{"user-b"}, []ScopeSet{{"user-b", []string{"read"}}}},
		{"a set never published is, even empty", []string{"user-z"}, []ScopeSet{{"user-z", []string{}}}},
		{"an empty set published before is not", []string{"user-n"}, nil},
		{"a group stands for its users and clients, once each, in order", []string{"group-g", "user-b"},
			[]ScopeSet{{"client-c", []string{"write"}}, {"user-b", []string{"read"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChangedScopeSets(context.Background(), sets, tc.subjects)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
