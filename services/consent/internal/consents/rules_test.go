package consents

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iamplane/iam/pkg/errs"
)

// fieldsOf lists the fields an error names; nil for no error.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	e, ok := err.(*errs.Error)
	if !ok || e.Kind != errs.Invalid {
		t.Fatalf("%v: not an invalid-input error", err)
	}
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Field
	}
	return out
}

func TestCheckID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"", true}, {"1", true}, {"EULA", true}, {"8d9c2f4e-0b1a-4c3d-9e8f-7a6b5c4d3e2f", true}, {"a.b_c-d", true},
		{"has space", false}, {"-leading", false}, {".hidden", false}, {"ü", false},
		{strings.Repeat("x", 64), true}, {strings.Repeat("x", 65), false},
	} {
		err := CheckID("id", tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && fieldsOf(t, err)[0] != "id" {
			t.Errorf("CheckID(%q) names %v", tc.id, fieldsOf(t, err))
		}
	}
}

func TestCheckServices(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services []Service
		want     []string
	}{
		{"none", nil, nil},
		{"internal and third-party, primary purposes", []Service{{Name: "a", Type: "internal", Purposes: []Purpose{{Name: "x", Primary: true}, {Name: "y"}}},
			{Name: "b", Type: "thirdParty"}}, nil},
		{"an unknown type", []Service{{Name: "a", Type: "partner"}}, []string{"services[0].type"}},
		{"a purpose twice", []Service{{Name: "a", Type: "internal"}, {Name: "b", Type: "internal", Purposes: []Purpose{{Name: "x"}, {Name: "x", Primary: true}}}},
			[]string{"services[1].purposes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldsOf(t, checkServices(tc.services))
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("fields %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPurposeJSON: purposes stored before they could be primary (bare names) still read.
func TestPurposeJSON(t *testing.T) {
	var s Service
	if err := json.Unmarshal([]byte(`{"name":"a","type":"internal","purposes":["old",{"name":"new","primary":true}]}`), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Purposes) != 2 || s.Purposes[0] != (Purpose{Name: "old"}) || s.Purposes[1] != (Purpose{Name: "new", Primary: true}) {
		t.Errorf("purposes %+v", s.Purposes)
	}
	raw, _ := json.Marshal(s.Purposes)
	if string(raw) != `[{"name":"old"},{"name":"new","primary":true}]` {
		t.Errorf("stored as %s", raw)
	}
}

func TestCheckClaims(t *testing.T) {
	found := []Consent{{ID: "1", Name: "EULA", Version: 2}}
	for _, tc := range []struct {
		name  string
		asked []ActionConsent
		want  []string
	}{
		{"no claims", []ActionConsent{{ConsentID: "1"}}, nil},
		{"true claims", []ActionConsent{{ConsentID: "1", Claimed: &ConsentClaim{Name: "EULA", Version: 2}}}, nil},
		{"the name alone", []ActionConsent{{ConsentID: "1", Claimed: &ConsentClaim{Name: "EULA"}}}, nil},
		{"another name", []ActionConsent{{ConsentID: "x"}, {ConsentID: "1", Claimed: &ConsentClaim{Name: "Terms"}}}, []string{"consents[1].name"}},
		{"another version", []ActionConsent{{ConsentID: "1", Claimed: &ConsentClaim{Name: "EULA", Version: 1}}}, []string{"consents[0].version"}},
		{"an unknown consent is the store's", []ActionConsent{{ConsentID: "nosuch", Claimed: &ConsentClaim{Name: "x"}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldsOf(t, checkClaims(tc.asked, found))
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("fields %v, want %v", got, tc.want)
			}
		})
	}
}
