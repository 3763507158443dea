package consents

import (
	"slices"
	"testing"
)

func TestStrategyMigrates(t *testing.T) {
	for _, tc := range []struct {
		strategy Strategy
		want     []GrantType
	}{
		{ExplicitAll, nil},
		{ImplicitAll, []GrantType{Explicit, Implicit}},
		{KeepCurrent, []GrantType{Implicit}},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			if got := tc.strategy.Migrates(); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
