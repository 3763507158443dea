package rbac

import (
	"testing"
	"time"
)

func TestParseModifiedSince(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-11-01T10:00:00.5Z", time.Date(2026, 11, 1, 10, 0, 0, 5e8, time.UTC), true},
		{"01.11.2026", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, ok := ParseModifiedSince(tc.in)
		if ok != tc.ok || ok && !got.Equal(tc.want) {
			t.Errorf("ParseModifiedSince(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestExpansionOf(t *testing.T) {
	if got := ExpansionOf([]string{"role", "accessControls"}); got != (Expansion{Role: true, AccessControls: true}) {
		t.Errorf("ExpansionOf(role, accessControls) = %+v", got)
	}
	if got := ExpansionOf(nil); got != (Expansion{}) {
		t.Errorf("ExpansionOf(nil) = %+v", got)
	}
}
