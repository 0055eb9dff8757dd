package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// The extensions.code values of the errors the edge writes or presents.
// Every error of a BFF answer has one: coded errors keep their safe
// message, and anything else is masked as an internal error with the
// request id, never showing upstream URLs, host names or stack traces.
const (
	CodeUnauthenticated    = "UNAUTHENTICATED"
	CodeForbidden          = "FORBIDDEN"
	CodeNotFound           = "NOT_FOUND"
	CodeBadUserInput       = "BAD_USER_INPUT"
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
	CodeUpstreamTimeout    = "UPSTREAM_TIMEOUT"
	CodeRateLimited        = "RATE_LIMITED"
	CodeConflict           = "CONFLICT"
	CodeInternal           = "INTERNAL_SERVER_ERROR"
	// CodeIntrospectionDisabled answers __schema and __type in production.
	CodeIntrospectionDisabled = "INTROSPECTION_DISABLED"
	// CodeValidationFailed and CodeParseFailed are gqlgen's own codes for
	// documents that do not validate or parse.
	CodeValidationFailed = "GRAPHQL_VALIDATION_FAILED"
	CodeParseFailed      = "GRAPHQL_PARSE_FAILED"
	// The refusals of requests that are not GraphQL requests the BFFs
	// serve: another method (405), a POST body that is not
	// application/json (415), or an Accept header that admits neither
	// application/graphql-response+json nor application/json (406).
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotAcceptable        = "NOT_ACCEPTABLE"
)

var codeOf = map[apperr.Code]string{
	apperr.Invalid:               CodeBadUserInput,
	apperr.Unauthenticated:       CodeUnauthenticated,
	apperr.Forbidden:             CodeForbidden,
	apperr.NotFound:              CodeNotFound,
	apperr.Unavailable:           CodeServiceUnavailable,
	apperr.Timeout:               CodeUpstreamTimeout,
	apperr.RateLimited:           CodeRateLimited,
	apperr.Conflict:              CodeConflict,
	apperr.InsufficientStock:     CodeConflict,
	apperr.NotCancellable:        CodeConflict,
	apperr.IdempotencyInProgress: CodeConflict,
	apperr.IdempotencyKeyReused:  CodeBadUserInput,
	apperr.Unprocessable:         CodeBadUserInput,
	apperr.PayloadTooLarge:       CodeBadUserInput,
}

// Code returns the GraphQL extensions.code for err, CodeInternal for an
// error without a known code.
func Code(err error) string {
	if c, ok := codeOf[apperr.CodeOf(err)]; ok {
		return c
	}
	return CodeInternal
}

// introspectionDisabled is the text of gqlgen's introspection refusal.
const introspectionDisabled = "introspection disabled"

// Presenter is the BFFs' gqlgen error presenter (handler.SetErrorPresenter).
// It records each error's code on the operation's request.State.
func Presenter(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := present(ctx, err)
	code, _ := gqlErr.Extensions["code"].(string)
	request.StateFrom(ctx).AddError(code)
	return gqlErr
}

func present(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if gqlErr.Extensions == nil {
		gqlErr.Extensions = map[string]any{}
	}
	if _, coded := gqlErr.Extensions["code"]; coded && gqlErr.Err == nil {
		// gqlgen's own parse and validation errors.
		return gqlErr
	}
	var appErr *apperr.Error
	switch {
	case errors.As(err, &appErr) && Code(appErr) != CodeInternal:
		// A code the BFFs answer with; any other (Internal, or a code
		// only the services' HTTP edge knows) is masked below.
		gqlErr.Message = appErr.Message
		gqlErr.Extensions["code"] = Code(appErr)
		if appErr.Param != "" {
			gqlErr.Extensions["field"] = appErr.Param
		}
	case gqlErr.Err != nil && gqlErr.Err.Error() == introspectionDisabled:
		// gqlgen's own refusal of __schema and __type (a plain error).
		gqlErr.Message = "introspection is disabled"
		gqlErr.Extensions["code"] = CodeIntrospectionDisabled
	case errors.Is(err, context.DeadlineExceeded):
		gqlErr.Message = "the request took too long"
		gqlErr.Extensions["code"] = CodeUpstreamTimeout
	case gqlErr.Err == nil:
		// An error gqlgen made itself (e.g. a variable that does not
		// coerce): its message is about the document, not internals.
		if _, ok := gqlErr.Extensions["code"]; !ok {
			gqlErr.Extensions["code"] = CodeBadUserInput
		}
	default:
		gqlErr = masked(ctx, gqlErr, err)
	}
	return gqlErr
}

// masked replaces an unexpected error with a generic one carrying the
// request id, and logs the original.
func masked(ctx context.Context, gqlErr *gqlerror.Error, err error) *gqlerror.Error {
	id := requestctx.RequestIDFromContext(ctx)
	requestctx.LoggerFromContext(ctx).ErrorContext(ctx, "internal error in a resolver",
		slog.String("path", gqlErr.Path.String()), slog.Any("err", err))
	return &gqlerror.Error{
		Message:    fmt.Sprintf("internal error (request id %s)", id),
		Path:       gqlErr.Path,
		Locations:  gqlErr.Locations,
		Extensions: map[string]any{"code": CodeInternal, "requestId": id},
	}
}

// Recover turns a panic in a resolver into a masked internal error
// (handler.SetRecoverFunc).
func Recover(ctx context.Context, p any) error {
	requestctx.LoggerFromContext(ctx).ErrorContext(ctx, "panic in a resolver", slog.Any("panic", p))
	return errors.New("panic in a resolver")
}
