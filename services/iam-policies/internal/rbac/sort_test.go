package rbac

import (
	"reflect"
	"testing"

	"github.com/iamplane/iam/pkg/errs"
)

func TestParseSort(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      []SortKey
		bad       bool
	}{
		{"empty", "", nil, false},
		{"one field", "name", []SortKey{{Field: "name"}}, false},
		{"directions", "name:asc,metadata.modifiedAt:DESC", []SortKey{{Field: "name"}, {Field: "metadata.modifiedAt", Desc: true}}, false},
		{"code", "code:desc", []SortKey{{Field: "code", Desc: true}}, false},
		{"unknown field", "colour", nil, true},
		{"unknown direction", "name:up", nil, true},
		{"empty direction", "name:", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSort(tc.raw)
			if tc.bad {
				if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.BadRequest) {
					t.Fatalf("want a refusal, got %v %v", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v %v, want %v", got, err, tc.want)
			}
		})
	}
	if err := (Query{Sort: []SortKey{{Field: SortCode}}}).checkSort(false); err == nil {
		t.Error("sorting roles by code was not refused")
	}
	if err := (Query{Sort: []SortKey{{Field: SortCode}}}).checkSort(true); err != nil {
		t.Errorf("sorting resources by code: %v", err)
	}
}
