// Package dialect holds what the seed dialects (DESIGN.md, "Seed dialects") share across
// services: each seed's error answer, written from the problem every failure becomes. A
// dialect's handlers live in the service that owns its resources; only these shapes are
// common to the services one seed spans.
package dialect

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/problem"
)

// messages lists the problem's detail and each field it names, so no dialect loses what
// the native answer says.
func messages(p problem.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field+": "+f.Message)
	}
	return out
}

// summary is the problem's detail followed by the fields it names, in one line.
func summary(p problem.Problem) string {
	s := p.Detail
	if s == "" {
		s = p.Title
	}
	if fields := messages(p); len(fields) > 0 {
		s += " (" + strings.Join(fields, "; ") + ")"
	}
	return s
}

func write(c echo.Context, status int, body any) error {
	if c.Request().Method == http.MethodHead {
		return c.NoContent(status)
	}
	return c.JSON(status, body)
}

// EmporixErrors answers as Emporix's IAM service documents: a 401 as its gateway's fault
// object, every other failure as {code, status, message, details}.
func EmporixErrors(c echo.Context, p problem.Problem) error {
	if p.Status == http.StatusUnauthorized {
		return write(c, p.Status, map[string]any{"fault": map[string]any{
			"faultstring": summary(p),
			"detail":      map[string]string{"errorcode": "keymanagement.service.invalid_access_token"},
		}})
	}
	details := messages(p)
	if details == nil {
		details = []string{}
	}
	message := p.Detail
	if message == "" {
		message = p.Title
	}
	return write(c, p.Status, map[string]any{
		"code": p.Status, "status": http.StatusText(p.Status), "message": message, "details": details,
	})
}

// CloudentityErrors answers as Cloudentity's admin and developer APIs document:
// {status_code, error, details}.
func CloudentityErrors(c echo.Context, p problem.Problem) error {
	details := map[string]any{}
	if p.Type != "" {
		details["type"] = p.Type
	}
	if len(p.Errors) > 0 {
		details["errors"] = p.Errors
	}
	return write(c, p.Status, map[string]any{"status_code": p.Status, "error": summary(p), "details": details})
}

// IdentityServiceErrors answers as the Identity Service documents: {status, errorMessage,
// developerMessage}, a refused input 400 (the seed has no 422).
func IdentityServiceErrors(c echo.Context, p problem.Problem) error {
	if p.Status == http.StatusUnprocessableEntity {
		p.Status = http.StatusBadRequest // the seed answers every bad input 400
	}
	body := map[string]any{"status": p.Status, "errorMessage": summary(p)}
	switch p.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		body["developerMessage"] = "auth_violation"
	case http.StatusNotFound:
		body["developerMessage"] = "Not found." // as the seed answers every 404
	}
	return write(c, p.Status, body)
}

// EmporixPageSize is Emporix's page size when a list request asks for none.
const EmporixPageSize = 60

// EmporixPage is Emporix's paging: pageNumber from 1, pageSize as asked (each spec bounds
// it; it is never cut, so a short page always is the last one).
type EmporixPage struct{ Number, Size int }

// EmporixPageOf reads a request's pageNumber and pageSize.
func EmporixPageOf(number, size *int32) EmporixPage {
	p := EmporixPage{Number: 1, Size: EmporixPageSize}
	if number != nil {
		p.Number = int(*number)
	}
	if size != nil {
		p.Size = int(*size)
	}
	return p
}

// Offset is the number of items before the page.
func (p EmporixPage) Offset() int { return (p.Number - 1) * p.Size }

// EmporixTotal is the X-Total-Count answer: n when the request asked for it (its
// X-Total-Count header), else nil.
func EmporixTotal(asked *bool, n int) *int {
	if asked == nil || !*asked {
		return nil
	}
	return &n
}
