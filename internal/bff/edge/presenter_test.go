package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/requestctx"
)

func TestCode(t *testing.T) {
	t.Parallel()
	tests := map[apperr.Code]string{
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
		apperr.Internal:              CodeInternal,
		apperr.MethodNotAllowed:      CodeInternal, // never reaches a resolver
	}
	for code, want := range tests {
		if got := Code(apperr.New(code, "m")); got != want {
			t.Errorf("Code(%s) = %s, want %s", code, got, want)
		}
	}
	if got := Code(fmt.Errorf("loading: %w", apperr.New(apperr.NotFound, "m"))); got != CodeNotFound {
		t.Errorf("Code of a wrapped NotFound = %s, want %s", got, CodeNotFound)
	}
	if got := Code(context.DeadlineExceeded); got != CodeUpstreamTimeout {
		t.Errorf("Code(DeadlineExceeded) = %s, want %s", got, CodeUpstreamTimeout)
	}
	if got := Code(errors.New("boom")); got != CodeInternal {
		t.Errorf("Code(plain error) = %s, want %s", got, CodeInternal)
	}
}

// resolverContext returns a context with a request id, a logger writing
// to logs, and the path products[0].name.
func resolverContext(logs *bytes.Buffer) context.Context {
	ctx := requestctx.NewContextWithRequestID(context.Background(), "req-42")
	ctx = requestctx.NewContextWithLogger(ctx, slog.New(slog.NewTextHandler(logs, nil)))
	ctx = graphql.WithPathContext(ctx, graphql.NewPathWithField("products"))
	ctx = graphql.WithPathContext(ctx, graphql.NewPathWithIndex(0))
	return graphql.WithPathContext(ctx, graphql.NewPathWithField("name"))
}

const wantPath = "products[0].name"

func TestPresenterKeepsCodedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		wantMessage string
		wantExt     map[string]any
	}{
		{name: "not found", err: apperr.New(apperr.NotFound, "product p1 not found"),
			wantMessage: "product p1 not found", wantExt: map[string]any{"code": CodeNotFound}},
		{name: "insufficient stock", err: apperr.New(apperr.InsufficientStock, "only 2 left"),
			wantMessage: "only 2 left", wantExt: map[string]any{"code": CodeConflict}},
		{name: "invalid parameter", err: apperr.InvalidParam("quantity", "must be at least 1"),
			wantMessage: "must be at least 1", wantExt: map[string]any{"code": CodeBadUserInput, "field": "quantity"}},
		{name: "wrapped by a resolver", err: fmt.Errorf("add to cart: %w", apperr.New(apperr.Forbidden, "not your cart")),
			wantMessage: "not your cart", wantExt: map[string]any{"code": CodeForbidden}},
		{name: "cause never shown", err: apperr.Wrap(apperr.Unavailable, "the product service is unavailable", errors.New("dial tcp 10.0.0.1:9001: refused")),
			wantMessage: "the product service is unavailable", wantExt: map[string]any{"code": CodeServiceUnavailable}},
		{name: "on a path already, as gqlgen hands it over", err: gqlerror.WrapPath(ast.Path{ast.PathName("products"), ast.PathIndex(0), ast.PathName("name")}, apperr.New(apperr.Timeout, "the product service is slow")),
			wantMessage: "the product service is slow", wantExt: map[string]any{"code": CodeUpstreamTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			got := Presenter(resolverContext(&logs), tt.err)
			if got.Message != tt.wantMessage {
				t.Errorf("message %q, want %q", got.Message, tt.wantMessage)
			}
			if !equalJSON(t, got.Extensions, tt.wantExt) {
				t.Errorf("extensions %v, want %v", got.Extensions, tt.wantExt)
			}
			if p := got.Path.String(); p != wantPath {
				t.Errorf("path %q, want %q", p, wantPath)
			}
			if logs.Len() != 0 {
				t.Errorf("a coded error was logged: %q", logs.String())
			}
		})
	}
}

func TestPresenterMasksUnexpectedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		secret []string // never in the answer
	}{
		{name: "plain error", err: errors.New("dial tcp 10.0.0.1:9001: refused"), secret: []string{"dial", "10.0.0.1", "9001", "refused"}},
		{name: "wrapped plain error", err: fmt.Errorf("GET http://catalog.internal/products: %w", errors.New("EOF")), secret: []string{"catalog.internal", "http", "EOF"}},
		{name: "apperr.Internal", err: apperr.New(apperr.Internal, "db password hunter2 rejected"), secret: []string{"hunter2", "db password"}},
		// Codes no GraphQL code stands for (the services' HTTP edge's own,
		// or one a service sent that this build does not know) are masked
		// too, not shown as INTERNAL_SERVER_ERROR with their text.
		{name: "apperr.HeaderTooLarge", err: apperr.New(apperr.HeaderTooLarge, "orders service: header X of 80 KiB"), secret: []string{"orders service", "80 KiB"}},
		{name: "an unknown code", err: &apperr.Error{Code: "quota_exhausted", Message: "tenant 42 at 10.0.0.9 is over quota"}, secret: []string{"tenant 42", "10.0.0.9"}},
		{name: "on a path already", err: gqlerror.WrapPath(ast.Path{ast.PathName("products"), ast.PathIndex(0), ast.PathName("name")}, errors.New("dial tcp 10.0.0.1:9001: refused")), secret: []string{"dial", "10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			got := Presenter(resolverContext(&logs), tt.err)
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.secret {
				if strings.Contains(string(b), s) {
					t.Errorf("answer %s shows %q", b, s)
				}
			}
			if got.Message != "internal error (request id req-42)" {
				t.Errorf("message %q, want the generic one with the request id", got.Message)
			}
			if !equalJSON(t, got.Extensions, map[string]any{"code": CodeInternal, "requestId": "req-42"}) {
				t.Errorf("extensions %v, want code INTERNAL_SERVER_ERROR and requestId req-42", got.Extensions)
			}
			if got.Err != nil {
				t.Errorf("the masked error still carries %v", got.Err)
			}
			if p := got.Path.String(); p != wantPath {
				t.Errorf("path %q, want %q", p, wantPath)
			}
			// The original is logged, for the request id to find it.
			if !strings.Contains(logs.String(), tt.secret[0]) || !strings.Contains(logs.String(), wantPath) {
				t.Errorf("log %q lacks the error or its path", logs.String())
			}
		})
	}
}

func TestPresenterSpecialCases(t *testing.T) {
	t.Parallel()
	introspection := errors.New("introspection disabled") // gqlgen's own, a plain error
	withField := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{
		Object: "Query",
		Field:  graphql.CollectedField{Field: &ast.Field{Name: "__schema", Alias: "__schema", Position: &ast.Position{Line: 1, Column: 3}}},
	})
	tests := []struct {
		name        string
		ctx         context.Context
		err         error
		wantMessage string
		wantCode    string
	}{
		{name: "deadline", err: context.DeadlineExceeded,
			wantMessage: "the request took too long", wantCode: CodeUpstreamTimeout},
		{name: "wrapped deadline", err: fmt.Errorf("GET http://10.0.0.1/products: %w", context.DeadlineExceeded),
			wantMessage: "the request took too long", wantCode: CodeUpstreamTimeout},
		{name: "introspection disabled", err: introspection,
			wantMessage: "introspection is disabled", wantCode: CodeIntrospectionDisabled},
		{name: "introspection disabled, as gqlgen hands it over", ctx: withField, err: graphql.AddFieldLocationToError(withField, introspection),
			wantMessage: "introspection is disabled", wantCode: CodeIntrospectionDisabled},
		{name: "gqlgen's validation error keeps its code", err: &gqlerror.Error{Message: `Cannot query field "nope" on type "Query".`, Extensions: map[string]any{"code": CodeValidationFailed}},
			wantMessage: `Cannot query field "nope" on type "Query".`, wantCode: CodeValidationFailed},
		{name: "gqlgen's parse error keeps its code", err: &gqlerror.Error{Message: "Expected Name, found <EOF>", Extensions: map[string]any{"code": CodeParseFailed}},
			wantMessage: "Expected Name, found <EOF>", wantCode: CodeParseFailed},
		{name: "gqlgen's uncoded error is bad input", err: gqlerror.Errorf(`variable "qty" got invalid value "x"`),
			wantMessage: `variable "qty" got invalid value "x"`, wantCode: CodeBadUserInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got := Presenter(ctx, tt.err)
			if got.Message != tt.wantMessage {
				t.Errorf("message %q, want %q", got.Message, tt.wantMessage)
			}
			if !equalJSON(t, got.Extensions, map[string]any{"code": tt.wantCode}) {
				t.Errorf("extensions %v, want only code %s", got.Extensions, tt.wantCode)
			}
		})
	}
}

func TestRecoverIsMasked(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	ctx := resolverContext(&logs)
	err := Recover(ctx, "runtime error: index out of range [3] with length 3 at /src/catalog.go:42")
	got := Presenter(ctx, err)
	if strings.Contains(got.Message, "index out of range") || strings.Contains(got.Message, "catalog.go") {
		t.Errorf("message %q shows the panic", got.Message)
	}
	if got.Extensions["code"] != CodeInternal || got.Extensions["requestId"] != "req-42" {
		t.Errorf("extensions %v, want code INTERNAL_SERVER_ERROR and requestId req-42", got.Extensions)
	}
	if !strings.Contains(logs.String(), "index out of range") {
		t.Errorf("the panic was not logged: %q", logs.String())
	}
}

// TestPresenterInGqlgen checks the presenter where gqlgen calls it: a
// resolver's plain error is masked in the answer, with the request id.
func TestPresenterInGqlgen(t *testing.T) {
	t.Parallel()
	srv := testserver.NewError() // its resolver fails with "resolver error"
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(Presenter)
	ctx := requestctx.NewContextWithRequestID(context.Background(), "req-7")
	ctx = requestctx.NewContextWithLogger(ctx, slog.New(slog.DiscardHandler))
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ name }"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	Answer(srv).ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "resolver error") {
		t.Fatalf("status %d, body %s; want 200 without the resolver's text", rec.Code, rec.Body)
	}
	var resp gqlgenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Errors) != 1 {
		t.Fatalf("body %s: want one error (%v)", rec.Body, err)
	}
	if ext := resp.Errors[0].Extensions; ext["code"] != CodeInternal || ext["requestId"] != "req-7" {
		t.Errorf("extensions %v, want code INTERNAL_SERVER_ERROR and requestId req-7", ext)
	}
}

// TestPresenterRecordsEveryCodeOnTheState checks that the operation's
// state learns the code of each error presented, masked ones included.
func TestPresenterRecordsEveryCodeOnTheState(t *testing.T) {
	t.Parallel()
	state := request.NewState()
	ctx := request.NewContextWithState(context.Background(), state)
	_ = Presenter(ctx, apperr.New(apperr.NotFound, "no such order"))
	_ = Presenter(ctx, apperr.New(apperr.Forbidden, "admins only"))
	_ = Presenter(ctx, errors.New("boom"))
	_ = Presenter(ctx, apperr.New(apperr.NotFound, "no such product"))
	want := map[string]int{CodeNotFound: 2, CodeForbidden: 1, CodeInternal: 1}
	if got := state.Errors(); !maps.Equal(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}
