// Package testutil starts the services in-process for integration tests
// and checks their answers against their OpenAPI descriptions.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// MustLoadSpec parses and validates an OpenAPI document.
func MustLoadSpec(t testing.TB, spec []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatalf("load openapi: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid openapi: %v", err)
	}
	return doc
}

// specTransport checks every answer to a request the spec describes
// against the spec: status, headers and body. Requests are not checked, so
// that tests can send bad input on purpose.
type specTransport struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper
}

// NewClient returns an HTTP client whose every answer is checked against
// the OpenAPI document spec; a mismatch fails t. Requests to paths the
// spec does not describe are not checked.
func NewClient(t testing.TB, spec []byte) *http.Client {
	t.Helper()
	doc := MustLoadSpec(t, spec)
	doc.Servers = nil // match on paths, whatever the test server's address
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	return &http.Client{Transport: &specTransport{t: t, router: router, next: http.DefaultTransport}}
}

// CloseIdleConnections closes the idle connections of the next transport.
func (s *specTransport) CloseIdleConnections() {
	if c, ok := s.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	route, params, findErr := s.router.FindRoute(req)
	var notInSpec *routers.RouteError
	if errors.As(findErr, &notInSpec) {
		// A path or method the spec does not describe (such as /healthz):
		// its answer is not checked, on purpose.
		return resp, nil
	}
	if findErr != nil {
		s.t.Errorf("%s %s: cannot find the operation in the OpenAPI description: %v", req.Method, req.URL.Path, findErr)
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		s.t.Errorf("%s %s answered %d, which does not match the OpenAPI description: %v\nbody: %.500s",
			req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}
