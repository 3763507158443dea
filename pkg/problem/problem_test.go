package problem_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/problem"
)

func TestFrom(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		typ    string
		detail string
		fault  bool
	}{
		{"not found", errs.E(errs.NotFound, "client %q not found", "x"), 404, "not-found", `client "x" not found`, false},
		{"version conflict", errs.E(errs.VersionConflict, "stale"), 409, "version-conflict", "stale", false},
		{"invalid with fields", errs.Fields("bad", errs.FieldError{Field: "a", Message: "b"}), 422, "invalid", "bad", false},
		{"internal hides its cause", errs.Wrap(errs.Internal, errors.New("pq: password=secret"), "boom"), 500, "internal", "internal error", true},
		{"unknown error is internal", errors.New("driver exploded"), 500, "internal", "internal error", true},
		{"echo 404", echo.ErrNotFound, 404, "not-found", "no such resource", false},
		{"echo 405", echo.ErrMethodNotAllowed, 405, "method-not-allowed", "this resource does not support the method", false},
		{"echo 401 wrapping a domain error", echo.NewHTTPError(401).SetInternal(errs.E(errs.Unauthorized, "expired")), 401, "unauthorized", "expired", false},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, 413, "too-large", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, fault := problem.From(tc.err)
			if p.Status != tc.status || p.Type != problem.TypeBase+tc.typ || p.Title != http.StatusText(tc.status) || fault != tc.fault {
				t.Errorf("got %+v fault=%v", p, fault)
			}
			if tc.detail != "" && p.Detail != tc.detail {
				t.Errorf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}
}
