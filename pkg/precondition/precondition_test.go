package precondition

import (
	"testing"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/errs"
)

func TestPrecondition(t *testing.T) {
	two, three := int64(2), int64(3)
	for _, tc := range []struct {
		name string
		p    Version
		want errs.Kind // "" for no error
	}{
		{"body current", Version{Body: &three}, ""},
		{"body stale", Version{Body: &two}, errs.VersionConflict},
		{"if-match current", Version{IfMatch: &three}, ""},
		{"if-match stale", Version{IfMatch: &two}, errs.PreconditionFailed},
		{"if-match wins over a current body", Version{Body: &three, IfMatch: &two}, errs.PreconditionFailed},
		{"neither", Version{}, errs.Invalid},
		{"unconditional", Unconditional(nil), ""},
		{"unconditional, current", Unconditional(&three), ""},
		{"unconditional, stale", Unconditional(&two), errs.VersionConflict},
		{"neither, where locking is optional", Version{Optional: true}, ""},
		{"a stale body where locking is optional", Version{Body: &two, Optional: true}, errs.VersionConflict},
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

func TestFrom(t *testing.T) {
	three, bad := `"3"`, `soon`
	for _, tc := range []struct {
		name          string
		meta          *apicommon.Metadata
		ifMatch       *string
		body, header  int64 // 0: absent
		wantErrorKind errs.Kind
	}{
		{"neither", nil, nil, 0, 0, ""},
		{"body", &apicommon.Metadata{Version: 2}, nil, 2, 0, ""},
		{"header", nil, &three, 0, 3, ""},
		{"both", &apicommon.Metadata{Version: 2}, &three, 2, 3, ""},
		{"bad header", nil, &bad, 0, 0, errs.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := From(tc.meta, tc.ifMatch)
			if tc.wantErrorKind != "" {
				if !errs.Is(err, tc.wantErrorKind) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || val(p.Body) != tc.body || val(p.IfMatch) != tc.header {
				t.Fatalf("From = %+v, %v", p, err)
			}
		})
	}
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
