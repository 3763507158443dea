package tokens

import (
	"testing"
	"time"
)

func TestParseRefreshToken(t *testing.T) {
	value, kept := newRefreshToken("fam1", 7, time.Now())
	for _, tc := range []struct {
		value  string
		ok     bool
		family string
		gen    int
	}{
		{value, true, "fam1", 7},
		{"rt_fam1.0.secret", true, "fam1", 0},
		{"rt_fam1.07.secret", false, "", 0}, // one spelling per generation
		{"rt_fam1.-1.secret", false, "", 0},
		{"rt_fam1.x.secret", false, "", 0},
		{"rt_fam1.3.", false, "", 0},
		{"rt_.3.secret", false, "", 0},
		{"rt_fam1", false, "", 0},
		{"fam1.3.secret", false, "", 0},
		{"rt_oldstyleopaquetokenwithoutdots", false, "", 0},
	} {
		got, ok := ParseRefreshToken(tc.value)
		if ok != tc.ok || ok && (got.FamilyID != tc.family || got.Generation != tc.gen) {
			t.Errorf("ParseRefreshToken(%q) = %+v, %v; want %s/%d, %v", tc.value, got, ok, tc.family, tc.gen, tc.ok)
		}
	}
	if got, _ := ParseRefreshToken(value); got.Hash != kept.Hash {
		t.Error("a parsed token's hash differs from the one kept at issue")
	}
}

func TestFamilyPresented(t *testing.T) {
	current, kept := newRefreshToken("fam1", 3, time.Now().Add(time.Hour))
	older, _ := newRefreshToken("fam1", 2, time.Now())
	later, _ := newRefreshToken("fam1", 4, time.Now())
	wrong, _ := newRefreshToken("fam1", 3, time.Now())
	f := &Family{ID: "fam1", Refresh: *kept}
	spent := &Family{ID: "fam1", Refresh: RefreshToken{FamilyID: "fam1", Generation: 4}} // the last refresh issued none
	for _, tc := range []struct {
		name            string
		family          *Family
		token           string
		current, reused bool
	}{
		{"the current token", f, current, true, false},
		{"an earlier generation: reuse", f, older, false, true},
		{"a later generation: not ours", f, later, false, false},
		{"the current generation with another value: not ours", f, wrong, false, false},
		{"a family without a current token: its last is reuse", spent, current, false, true},
		{"a family without a current token: nothing current", spent, later, false, false},
	} {
		p, _ := ParseRefreshToken(tc.token)
		if c, r := tc.family.Presented(p); c != tc.current || r != tc.reused {
			t.Errorf("%s: current %v reused %v, want %v %v", tc.name, c, r, tc.current, tc.reused)
		}
	}
}
