package medrec

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Every error that crosses a package boundary carries one of
// these, so that each adapter (HTTP, CLI) can map it to its own vocabulary
// from a single table instead of guessing from error strings.
const (
	ECONFLICT     = "conflict"     // duplicate key, illegal state transition
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details go to the log only
	EINVALID      = "invalid"      // the caller's input is wrong; Fields says where
	ENOTFOUND     = "not_found"    // missing, or not visible to the caller
	EUNAUTHORIZED = "unauthorized" // not authenticated
	EFORBIDDEN    = "forbidden"    // authenticated, but the role may never do this
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is down or timed out
	ETOOLARGE     = "too_large"    // a body or file over its limit
	EUNSUPPORTED  = "unsupported"  // a media type the route does not accept
	EPRECONDITION = "precondition" // If-Match did not match the current version
	ETHROTTLED    = "throttled"    // too many requests; retry later
	// EUNPROCESSABLE: well-formed, but contradicts an earlier request
	// (an Idempotency-Key reused with a different request).
	EUNPROCESSABLE = "unprocessable"
)

// Error is medrec's one error type. Message is safe to show to the caller;
// the wrapped Err is for logs only and never reaches a response body.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

// FieldError names one offending input field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the underlying cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a caller-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error listing every offending field.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: "the request has invalid fields", Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err. Errors without a
// code never leak their text: they read "internal error".
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field errors carried by err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
