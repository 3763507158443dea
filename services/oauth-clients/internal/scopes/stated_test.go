package scopes

import (
	"errors"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

func TestCheckStated(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	d := &Definition{ID: "1", Name: "billing.read", CreatedBy: "client-admin", UpdatedBy: "client-admin", CreatedAt: at, UpdatedAt: at}
	name, other, builtIn := "billing.read", "billing.write", true
	for _, tc := range []struct {
		name   string
		stated Stated
		want   string // the field refused, "" for none
	}{
		{"as it is", Stated{Name: &name, CreatedAt: &at, ModifiedAt: &at}, ""},
		{"renamed", Stated{Name: &other}, "name"},
		{"made built-in", Stated{BuiltIn: &builtIn}, "builtIn"},
		{"older", Stated{ModifiedAt: ptr(at.Add(-time.Hour))}, "metadata.modifiedAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.CheckStated(tc.stated)
			var de *errs.Error
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckStated = %v", err)
			case tc.want != "" && (!errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != tc.want):
				t.Fatalf("CheckStated = %v, want a refusal of %s", err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
