package clients

import (
	"errors"
	"testing"

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
