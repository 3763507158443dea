package clients

import (
	"errors"
	"testing"

	"github.com/iamplane/iam/pkg/errs"
)

func TestRegistrable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        Metadata
		wantField string // "" when registrable
	}{
		{"defaults", Metadata{TokenEndpointAuthMethod: "none"}, ""},
		{"unknown grant", Metadata{GrantTypes: []string{"password"}}, "grantTypes"},
		{"unknown response", Metadata{ResponseTypes: []string{"code id_token"}}, "responseTypes"},
		{"unknown method", Metadata{TokenEndpointAuthMethod: "tls_client_auth"}, "tokenEndpointAuthMethod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.in
			err := registrable(&m)
			if tc.wantField == "" {
				if err != nil || m.Name != "Dynamically registered client" || !m.Public {
					t.Fatalf("registrable = %v, %+v", err, m)
				}
				return
			}
			var de *errs.Error
			if !errs.Is(err, errs.Invalid) || !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != tc.wantField {
				t.Fatalf("registrable = %v, want a refusal of %s", err, tc.wantField)
			}
		})
	}
}
