package version

import (
	"testing"

	"github.com/iamplane/iam/pkg/errs"
)

func TestPrecondition(t *testing.T) {
	two, three := int64(2), int64(3)
	for _, tc := range []struct {
		name string
		p    Precondition
		want errs.Kind // "" for no error
	}{
		{"body current", Precondition{Body: &three}, ""},
		{"body stale", Precondition{Body: &two}, errs.VersionConflict},
		{"if-match current", Precondition{IfMatch: &three}, ""},
		{"if-match stale", Precondition{IfMatch: &two}, errs.PreconditionFailed},
		{"if-match wins over a current body", Precondition{Body: &three, IfMatch: &two}, errs.PreconditionFailed},
		{"neither", Precondition{}, errs.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check(3)
			if (tc.want == "") != (err == nil) || (err != nil && errs.KindOf(err) != tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseIfMatch(t *testing.T) {
	for in, want := range map[string]int64{`"3"`: 3, `W/"12"`: 12, ` "7" `: 7} {
		got, err := ParseIfMatch(&in)
		if err != nil || *got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	bad := "yesterday"
	if _, err := ParseIfMatch(&bad); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad If-Match: %v", err)
	}
	if v, err := ParseIfMatch(nil); v != nil || err != nil {
		t.Error("absent If-Match")
	}
}
