package testutil_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/middleware"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/testutil"
)

func TestCallSendsBodyHeadersAndToken(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	}))
	defer srv.Close()

	a := testutil.Call(t, srv.Client(), http.MethodPost, srv.URL+"/p", "tok", map[string]int{"n": 1},
		http.Header{"Idempotency-Key": {"k1"}})
	if a.Status != http.StatusTeapot || a.Header.Get("X-Answer") != "yes" || string(a.Body) != "short and stout" {
		t.Errorf("answer %d %v %q", a.Status, a.Header, a.Body)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/p" || string(gotBody) != `{"n":1}` {
		t.Errorf("request %s %s %q", got.Method, got.URL.Path, gotBody)
	}
	if got.Header.Get("Authorization") != "Bearer tok" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("Idempotency-Key") != "k1" {
		t.Errorf("request header %v", got.Header)
	}

	// A string is sent as is, under the Content-Type the caller sets;
	// without a body or token neither header is sent.
	testutil.Call(t, srv.Client(), http.MethodPut, srv.URL, "", "hello", http.Header{"Content-Type": {"text/plain"}})
	if string(gotBody) != "hello" || got.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("string body: %q as %q", gotBody, got.Header.Get("Content-Type"))
	}
	status, body := testutil.Do(t, srv.Client(), http.MethodGet, srv.URL, "", nil, nil)
	if status != http.StatusTeapot || string(body) != "short and stout" {
		t.Errorf("Do = %d %q", status, body)
	}
	if got.Header.Get("Content-Type") != "" || got.Header.Get("Authorization") != "" {
		t.Errorf("request without body or token: header %v", got.Header)
	}
}

func TestSendReportsFailures(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if _, err := testutil.Send(t.Context(), srv.Client(), http.MethodGet, srv.URL, "", nil, nil); err == nil {
		t.Error("Send to a closed server: no error")
	}
	if _, err := testutil.Send(t.Context(), http.DefaultClient, http.MethodGet, "http://x", "", func() {}, nil); err == nil {
		t.Error("Send of a body JSON cannot encode: no error")
	}
}

func TestWantProblem(t *testing.T) {
	h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, apperr.InvalidParam("limit", "too big"))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	a := testutil.Call(t, srv.Client(), http.MethodGet, srv.URL, "", nil, nil)
	p := testutil.WantProblem(t, a, http.StatusBadRequest, "invalid_argument", "limit")
	if p.Detail == "" && p.Title == "" {
		t.Errorf("problem %+v says nothing", p)
	}
}

// recorder is a testing.TB that notes failures; Fatalf ends the goroutine.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }

func TestWantProblemFailsOnOtherAnswers(t *testing.T) {
	answer := func(status int, ct, body string) testutil.Answer {
		return testutil.Answer{Status: status, Header: http.Header{"Content-Type": {ct}}, Body: []byte(body)}
	}
	const pt = problem.ContentType
	good := `{"status":400,"code":"invalid_argument","param":"limit","request_id":"r1"}`
	tests := map[string]testutil.Answer{
		"other status":       answer(404, pt, good),
		"plain JSON":         answer(400, "application/json", good),
		"not JSON":           answer(400, pt, "oops"),
		"other code":         answer(400, pt, `{"status":400,"code":"not_found","param":"limit","request_id":"r1"}`),
		"other param":        answer(400, pt, `{"status":400,"code":"invalid_argument","param":"cursor","request_id":"r1"}`),
		"other body status":  answer(400, pt, `{"status":500,"code":"invalid_argument","param":"limit","request_id":"r1"}`),
		"without request id": answer(400, pt, `{"status":400,"code":"invalid_argument","param":"limit"}`),
	}
	run := func(a testutil.Answer) bool {
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			testutil.WantProblem(r, a, 400, "invalid_argument", "limit")
		}()
		<-done
		return r.failed
	}
	if run(answer(400, pt, good)) {
		t.Errorf("a matching problem failed")
	}
	for name, a := range tests {
		if !run(a) {
			t.Errorf("%s: passed", name)
		}
	}
}
