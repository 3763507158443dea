package policies

import (
	"slices"
	"testing"
)

func TestDescribe(t *testing.T) {
	for scope, want := range map[string][2]string{
		"/":                  {"", ""},
		"/subscriptions/123": {"subscriptions", ""},
		"/subscriptions":     {"subscriptions", ""},
		"/providers/aritma.control/subscriptions/1": {"subscriptions", "aritma.control"},
		"/providers/aritma.control":                 {"", ""},
	} {
		typ, provider := Describe(scope)
		if typ != want[0] || provider != want[1] {
			t.Errorf("%s: %q %q, want %q %q", scope, typ, provider, want[0], want[1])
		}
	}
}

func TestCovering(t *testing.T) {
	for scope, want := range map[string][]string{
		"/":                        {"/"},
		"/subscriptions/123/inv/9": {"/", "/subscriptions", "/subscriptions/123", "/subscriptions/123/inv", "/subscriptions/123/inv/9"},
		"/subscriptions/123/":      {"/", "/subscriptions", "/subscriptions/123"},
	} {
		if got := Covering(normalize(scope)); !slices.Equal(got, want) {
			t.Errorf("%s: %v", scope, got)
		}
	}
}
