// Package errs holds the handful of error kinds the domain speaks in. Repositories and
// use cases return *errs.Error; exactly one place (package problem) turns a kind into an
// HTTP status and an RFC 9457 body, so no handler ever picks a status code by hand.
package errs

import (
	"errors"
	"fmt"
)

// Kind is a stable error class. Its string is part of the problem `type` URI, so never
// rename one.
type Kind string

const (
	Invalid            Kind = "invalid"             // input breaks a rule (422)
	BadRequest         Kind = "bad-request"         // malformed request (400)
	NotFound           Kind = "not-found"           // no such entity in this tenant (404)
	Conflict           Kind = "conflict"            // clashes with existing state (409)
	VersionConflict    Kind = "version-conflict"    // stale metadata.version (409)
	PreconditionFailed Kind = "precondition-failed" // If-Match did not match (412)
	Unauthorized       Kind = "unauthorized"        // no or bad credentials (401)
	Forbidden          Kind = "forbidden"           // credentials lack a right (403)
	Unavailable        Kind = "unavailable"         // a dependency is down (503)
	Internal           Kind = "internal"            // a bug or an unexpected failure (500)
)

// FieldError names one bad field of a request; validation answers list every one.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the domain error. Detail is safe to show to the caller; Err (the cause) is
// only logged.
type Error struct {
	Kind   Kind
	Detail string
	Fields []FieldError
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Detail, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of the given kind with a formatted, caller-safe detail.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Wrap keeps cause for the logs while showing only detail to the caller.
func Wrap(kind Kind, cause error, detail string) *Error {
	return &Error{Kind: kind, Detail: detail, Err: cause}
}

// Fields builds an Invalid error listing every bad field.
func Fields(detail string, fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Detail: detail, Fields: fields}
}

// KindOf reports the kind of err, Internal for anything that is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is a domain error of the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
