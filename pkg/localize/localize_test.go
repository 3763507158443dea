package localize

import "testing"

func TestPick(t *testing.T) {
	m := map[string]string{"en": "Groups", "de": "Gruppen", "fr": "Groupes"}
	for _, tc := range []struct{ name, header, want string }{
		{"exact", "de", "Gruppen"},
		{"first listed wins", "fr, de;q=0.9", "Groupes"},
		{"base language", "de-CH", "Gruppen"},
		{"unknown falls back to English", "it", "Groups"},
		{"none", "", "Groups"},
	} {
		if got := Pick(m, tc.header); got != tc.want {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
	if got := Pick(map[string]string{"fr": "b", "de": "a"}, "it"); got != "a" {
		t.Errorf("no English: %q", got)
	}
	if Pick(nil, "de") != "" {
		t.Error("empty map")
	}
}
