package dialect

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/problem"
)

// TestIdentityServiceInvalidIs400: the seed answers every bad input 400; it has no 422.
func TestIdentityServiceInvalidIs400(t *testing.T) {
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/clients", nil), rec)
	p := problem.Problem{Title: "Invalid", Status: 422, Detail: "the client metadata is invalid",
		Errors: []errs.FieldError{{Field: "data.attributes.label", Message: "must not be blank"}}}
	if err := IdentityServiceErrors(c, p); err != nil {
		t.Fatal(err)
	}
	want := `{"errorMessage":"the client metadata is invalid (data.attributes.label: must not be blank)","status":400}`
	if rec.Code != http.StatusBadRequest || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("%d %s, want 400 %s", rec.Code, rec.Body, want)
	}
}

func TestErrors(t *testing.T) {
	invalid := problem.Problem{Title: "Invalid", Status: 422, Detail: "the group is not valid",
		Errors: []errs.FieldError{{Field: "name", Message: "is required"}}}
	unauthorized := problem.Problem{Title: "Unauthorized", Status: 401, Detail: "the token has expired"}
	for _, tc := range []struct {
		name  string
		write func(echo.Context, problem.Problem) error
		p     problem.Problem
		want  string
	}{
		{"emporix", EmporixErrors, invalid,
			`{"code":422,"details":["name: is required"],"message":"the group is not valid","status":"Unprocessable Entity"}`},
		{"emporix 401", EmporixErrors, unauthorized,
			`{"fault":{"detail":{"errorcode":"keymanagement.service.invalid_access_token"},"faultstring":"the token has expired"}}`},
		{"cloudentity", CloudentityErrors, invalid,
			`{"details":{"errors":[{"field":"name","message":"is required"}]},"error":"the group is not valid (name: is required)","status_code":422}`},
		{"identity service", IdentityServiceErrors, unauthorized,
			`{"developerMessage":"auth_violation","errorMessage":"the token has expired","status":401}`},
		{"identity service 404", IdentityServiceErrors, problem.Problem{Title: "Not Found", Status: 404, Detail: `client "x" not found`},
			`{"developerMessage":"Not found.","errorMessage":"client \"x\" not found","status":404}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
			if err := tc.write(c, tc.p); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.p.Status {
				t.Errorf("status %d, want %d", rec.Code, tc.p.Status)
			}
			var got, want any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(tc.want), &want)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("body %s\nwant %s", g, w)
			}
		})
	}
}
