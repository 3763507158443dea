package clients

import (
	"errors"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

func TestApplyGrantTypes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		grants    []string
		wantField string // "" when accepted
	}{
		{"client credentials", []string{"client_credentials"}, ""},
		{"jwt bearer", []string{"urn:ietf:params:oauth:grant-type:jwt-bearer"}, ""},
		{"password", []string{"client_credentials", "password"}, "grantTypes.1"},
		{"implicit", []string{"implicit"}, "grantTypes.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Client{}).Apply(Metadata{Name: "c", GrantTypes: tc.grants})
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Apply = %v", err)
				}
				return
			}
			var de *errs.Error
			if !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != tc.wantField {
				t.Fatalf("Apply = %v, want a refusal of %s", err, tc.wantField)
			}
		})
	}
}

func TestSecretNumber(t *testing.T) {
	a, b := &Secret{ID: "9c1b2d3e4f5a6b7c8d9e0f1a"}, &Secret{ID: "9c1b2d3e4f5a6b7c8d9e0f1b"}
	again := &Secret{ID: a.ID, Description: "another copy"}
	if a.Number() != again.Number() || a.Number() == b.Number() || a.Number() < 0 {
		t.Fatalf("numbers %d %d", a.Number(), b.Number())
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"1": true, "bff-web_app": true, "": false, "a.b": false, "a*": false, "a/b": false,
		"0123456789012345678901234567890123456789012345678901234567890123":  true,
		"01234567890123456789012345678901234567890123456789012345678901234": false} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}

func TestCheckStated(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC)
	c := &Client{ID: "c1", CreatedBy: "client-admin", UpdatedBy: "client-admin", CreatedAt: at, UpdatedAt: at}
	same, other, later := "c1", "c2", at.Add(time.Second)
	yes := true
	for _, tc := range []struct {
		name   string
		stated Stated
		want   []string // the fields refused
	}{
		{"nothing stated", Stated{}, nil},
		{"all as they are", Stated{ID: &same, CreatedAt: &at, UpdatedAt: &at, MetadataCreatedAt: &at, MetadataModifiedAt: &at}, nil},
		{"the same instant elsewhere", Stated{CreatedAt: ptr(at.In(time.FixedZone("CET", 3600)))}, nil},
		{"id changed", Stated{ID: &other}, []string{"clientId"}},
		{"times and system changed", Stated{UpdatedAt: &later, MetadataModifiedAt: &later, System: &yes}, []string{"system", "updatedAt", "metadata.modifiedAt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.CheckStated(tc.stated)
			var de *errs.Error
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckStated = %v", err)
				}
				return
			}
			if !errors.As(err, &de) || de.Kind != errs.Invalid || len(de.Fields) != len(tc.want) {
				t.Fatalf("CheckStated = %v, want refusals of %v", err, tc.want)
			}
			for _, f := range tc.want {
				found := false
				for _, got := range de.Fields {
					found = found || got.Field == f
				}
				if !found {
					t.Errorf("%s not refused: %v", f, de.Fields)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
