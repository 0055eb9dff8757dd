package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/acme/bff-gateway/internal/problem"
)

// Answer is a response with its body read.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send sends one request with c, bound to ctx, and returns the answer.
// body may be nil, a []byte or string sent as is, or any other value sent
// as JSON (with Content-Type application/json unless header sets one). A
// non-empty token is sent as a bearer token. Unlike Call, it reports
// failures as errors, so that it may be used from goroutines other than
// the test's.
func Send(ctx context.Context, c *http.Client, method, url, token string, body any, header http.Header) (Answer, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return Answer{}, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Answer{}, fmt.Errorf("new request: %w", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, fmt.Errorf("read answer of %s %s: %w", method, url, err)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: out}, nil
}

// Call sends one request as Send does, bound to t's context, and returns
// the answer, failing t when the request cannot be made or its answer read.
func Call(t testing.TB, c *http.Client, method, url, token string, body any, header http.Header) Answer {
	t.Helper()
	a, err := Send(t.Context(), c, method, url, token, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Do sends one request as Call does and returns the status and body.
func Do(t testing.TB, c *http.Client, method, url, token string, body any, header http.Header) (int, []byte) {
	t.Helper()
	a := Call(t, c, method, url, token, body, header)
	return a.Status, a.Body
}

// WantProblem checks that a is a problem document (Content-Type
// application/problem+json) with the status, code and param, whose status
// matches and which carries a request id, and returns it.
func WantProblem(t testing.TB, a Answer, status int, code, param string) problem.Problem {
	t.Helper()
	if a.Status != status {
		t.Fatalf("status %d, want %d: %s", a.Status, status, a.Body)
	}
	if ct := a.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type %q, want %q", ct, problem.ContentType)
	}
	p := MustJSON[problem.Problem](t, a.Body)
	if string(p.Code) != code {
		t.Errorf("code %q, want %q (%s)", p.Code, code, a.Body)
	}
	if p.Param != param {
		t.Errorf("param %q, want %q (%s)", p.Param, param, a.Body)
	}
	if p.Status != status || p.RequestID == "" {
		t.Errorf("problem status %d, request_id %q: want %d and an id", p.Status, p.RequestID, status)
	}
	return p
}

// MustJSON decodes b into a value of type T or fails t.
func MustJSON[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T from %.300s: %v", v, b, err)
	}
	return v
}

// Metrics returns what the admin listener at adminURL answers on
// GET /metrics (the Prometheus text format), failing the test unless it
// answers 200.
func Metrics(t testing.TB, adminURL string) string {
	t.Helper()
	status, body := Do(t, http.DefaultClient, http.MethodGet, adminURL+"/metrics", "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %s", adminURL, status, body)
	}
	return string(body)
}
