// Package apperr defines the coded errors shared by the services, the
// service clients and the BFFs. A code is stable and machine readable; it is
// mapped to an HTTP status at the REST edge and to a GraphQL
// extensions.code at the GraphQL edge.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code.
type Code string

// The codes every edge understands.
const (
	Invalid         Code = "invalid_argument"
	Unauthenticated Code = "unauthenticated"
	// RefreshTokenReused: a refresh token presented after it was rotated,
	// taken for theft: its whole family is revoked.
	RefreshTokenReused    Code = "refresh_token_reused"
	Forbidden             Code = "forbidden"
	NotFound              Code = "not_found"
	MethodNotAllowed      Code = "method_not_allowed"
	Conflict              Code = "conflict"
	InsufficientStock     Code = "insufficient_stock"
	NotCancellable        Code = "not_cancellable"
	IdempotencyInProgress Code = "idempotency_in_progress"
	IdempotencyKeyReused  Code = "idempotency_key_reused"
	Unprocessable         Code = "unprocessable"
	PayloadTooLarge       Code = "payload_too_large"
	UnsupportedMediaType  Code = "unsupported_media_type"
	HeaderTooLarge        Code = "header_too_large"
	RateLimited           Code = "rate_limited"
	Unavailable           Code = "unavailable"
	Timeout               Code = "timeout"
	Internal              Code = "internal"
)

var statusByCode = map[Code]int{
	Invalid:               http.StatusBadRequest,
	Unauthenticated:       http.StatusUnauthorized,
	RefreshTokenReused:    http.StatusUnauthorized,
	Forbidden:             http.StatusForbidden,
	NotFound:              http.StatusNotFound,
	MethodNotAllowed:      http.StatusMethodNotAllowed,
	Conflict:              http.StatusConflict,
	InsufficientStock:     http.StatusConflict,
	NotCancellable:        http.StatusConflict,
	IdempotencyInProgress: http.StatusConflict,
	IdempotencyKeyReused:  http.StatusUnprocessableEntity,
	Unprocessable:         http.StatusUnprocessableEntity,
	PayloadTooLarge:       http.StatusRequestEntityTooLarge,
	UnsupportedMediaType:  http.StatusUnsupportedMediaType,
	HeaderTooLarge:        http.StatusRequestHeaderFieldsTooLarge,
	RateLimited:           http.StatusTooManyRequests,
	Unavailable:           http.StatusServiceUnavailable,
	Timeout:               http.StatusGatewayTimeout,
	Internal:              http.StatusInternalServerError,
}

// Error is an error with a code and a message that is safe to show to the
// caller. Param names the offending request parameter, when there is one;
// Details carries extra, code-specific members (for example the products
// short of stock).
type Error struct {
	Code    Code
	Message string
	Param   string
	Details map[string]any
	cause   error
}

// Error implements error. It never includes the wrapped cause, whose text may
// be internal.
func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// New returns an Error with the given code and message.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Errorf returns an Error whose message is formatted.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidParam returns an Invalid error naming the parameter at fault.
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Code: Invalid, Message: fmt.Sprintf(format, args...), Param: param}
}

// Wrap returns an Error with the given code and safe message that keeps
// cause for logs and errors.Is, without exposing its text.
func Wrap(code Code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}

// With returns a copy of e with an extra detail member.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// As returns the coded error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of err: its own code when it is (or wraps) an
// *Error, Timeout for a context deadline, and Internal otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

// HTTPStatus returns the HTTP status for a code; unknown codes are 500.
func HTTPStatus(code Code) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus returns the most specific code for an HTTP status, used when
// an upstream answers without a problem body.
func CodeForStatus(status int) Code {
	switch {
	case status == http.StatusBadRequest:
		return Invalid
	case status == http.StatusUnauthorized:
		return Unauthenticated
	case status == http.StatusForbidden:
		return Forbidden
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusConflict:
		return Conflict
	case status == http.StatusUnprocessableEntity:
		return Unprocessable
	case status == http.StatusRequestEntityTooLarge:
		return PayloadTooLarge
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusGatewayTimeout:
		return Timeout
	case status >= 500:
		return Unavailable
	case status >= 400:
		return Invalid
	}
	return Internal
}
