// Package problem writes every error as an RFC 9457 application/problem+json answer. It is
// the one table from domain error kinds (package errs) to HTTP status codes; it also
// translates echo's own errors (404, 405, body binding) and the OpenAPI request
// validator's errors, listing each bad field.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
)

// TypeBase prefixes every problem type; the suffix is the error kind, stable across
// releases so that clients may switch on it.
const TypeBase = "https://iamplane.dev/problems/"

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// Problem is the RFC 9457 body, with the validation extension `errors`.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
}

var statusOf = map[errs.Kind]int{
	errs.Invalid:            http.StatusUnprocessableEntity,
	errs.BadRequest:         http.StatusBadRequest,
	errs.NotFound:           http.StatusNotFound,
	errs.Conflict:           http.StatusConflict,
	errs.VersionConflict:    http.StatusConflict,
	errs.PreconditionFailed: http.StatusPreconditionFailed,
	errs.Unauthorized:       http.StatusUnauthorized,
	errs.Forbidden:          http.StatusForbidden,
	errs.Unavailable:        http.StatusServiceUnavailable,
	errs.Internal:           http.StatusInternalServerError,
}

// kindOfStatus maps echo's bare status errors back onto a kind.
var kindOfStatus = map[int]errs.Kind{
	http.StatusBadRequest:          errs.BadRequest,
	http.StatusUnauthorized:        errs.Unauthorized,
	http.StatusForbidden:           errs.Forbidden,
	http.StatusNotFound:            errs.NotFound,
	http.StatusConflict:            errs.Conflict,
	http.StatusPreconditionFailed:  errs.PreconditionFailed,
	http.StatusUnprocessableEntity: errs.Invalid,
	http.StatusServiceUnavailable:  errs.Unavailable,
}

// From converts any error into the problem to send and reports whether it is a server
// fault worth logging.
func From(err error) (Problem, bool) {
	var de *errs.Error
	if errors.As(err, &de) {
		return fromDomain(de), de.Kind == errs.Internal || de.Kind == errs.Unavailable
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Internal != nil {
			if errors.As(he.Internal, &de) {
				return fromDomain(de), false
			}
			if p, ok := fromValidation(he.Internal); ok {
				return p, false
			}
		}
		kind, known := kindOfStatus[he.Code]
		p := Problem{Status: he.Code, Title: http.StatusText(he.Code), Detail: fmt.Sprint(he.Message)}
		switch {
		case he.Code == http.StatusNotFound:
			p.Detail = "no such resource"
		case he.Code == http.StatusMethodNotAllowed:
			kind, known = "method-not-allowed", true
			p.Detail = "this resource does not support the method"
		case he.Code == http.StatusRequestEntityTooLarge:
			kind, known = "too-large", true
		case he.Code == http.StatusUnsupportedMediaType:
			kind, known = "unsupported-media-type", true
		case he.Code >= 500:
			kind, known = errs.Internal, true
			p.Detail = "internal error"
		}
		if !known {
			kind = errs.Kind(strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "-"))
		}
		p.Type = TypeBase + string(kind)
		if p.Detail == "" || p.Detail == http.StatusText(he.Code) {
			p.Detail = ""
		}
		return p, he.Code >= 500
	}
	return fromDomain(&errs.Error{Kind: errs.Internal, Detail: "internal error"}), true
}

func fromDomain(e *errs.Error) Problem {
	status := statusOf[e.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	detail := e.Detail
	if e.Kind == errs.Internal {
		detail = "internal error" // never leak a cause
	}
	return Problem{
		Type:   TypeBase + string(e.Kind),
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Errors: e.Fields,
	}
}

// fromValidation turns kin-openapi's request errors into a 400 (malformed) or 422
// (schema) problem that names every offending field.
func fromValidation(err error) (Problem, bool) {
	var fields []errs.FieldError
	collect(err, &fields)
	if len(fields) == 0 {
		return Problem{}, false
	}
	p := fromDomain(errs.Fields("the request does not match the API specification", fields...))
	p.Type, p.Status, p.Title = TypeBase+string(errs.BadRequest), http.StatusBadRequest, http.StatusText(http.StatusBadRequest)
	return p, true
}

func collect(err error, out *[]errs.FieldError) {
	// A RequestError wraps a MultiError of its own, so look for it by type before
	// errors.As could unwrap it into its inner list.
	re, isRequest := err.(*openapi3filter.RequestError)
	if !isRequest {
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				collect(e, out)
			}
		}
		return
	}
	field := "body"
	if re.Parameter != nil {
		field = re.Parameter.In + "." + re.Parameter.Name
	}
	var nested openapi3.MultiError
	if errors.As(re.Err, &nested) {
		for _, e := range nested {
			*out = append(*out, fieldOf(field, e))
		}
		return
	}
	if re.Err == nil {
		*out = append(*out, errs.FieldError{Field: field, Message: re.Reason})
		return
	}
	*out = append(*out, fieldOf(field, re.Err))
}

func fieldOf(base string, err error) errs.FieldError {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		path := strings.Join(se.JSONPointer(), ".")
		if path != "" {
			base += "." + path
		}
		return errs.FieldError{Field: base, Message: se.Reason}
	}
	return errs.FieldError{Field: base, Message: firstLine(err.Error())}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// RetryAfterSeconds is what a 503 asks clients to wait: about the time a database
// failover or a pod restart takes to be over.
const RetryAfterSeconds = "5"

// Handler is echo's HTTPErrorHandler: every error, whatever raised it, leaves as a
// problem, sent by write (nil: Write; a seed dialect sends it in its own error shape).
// Server faults are logged with the request id; client errors are not.
func Handler(logger *slog.Logger, write func(echo.Context, Problem) error) echo.HTTPErrorHandler {
	if write == nil {
		write = Write
	}
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p, fault := From(err)
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if fault {
			logger.ErrorContext(c.Request().Context(), "request failed",
				"error", err.Error(), "path", p.Instance, "requestId", p.RequestID)
		}
		switch p.Status {
		case http.StatusUnauthorized:
			c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		case http.StatusServiceUnavailable:
			// A dependency is down (a database failover, a restart): the request may be
			// repeated as it is, and clients that honour Retry-After spread their retries.
			c.Response().Header().Set("Retry-After", RetryAfterSeconds)
		}
		_ = write(c, p)
	}
}

// Write sends p as application/problem+json.
func Write(c echo.Context, p Problem) error {
	c.Response().Header().Set(echo.HeaderContentType, ContentType)
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	return json.NewEncoder(c.Response()).Encode(p)
}
