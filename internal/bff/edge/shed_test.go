package edge_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/edge"
)

func TestShedderRefusesBeyondItsBoundAtOnce(t *testing.T) {
	t.Parallel()
	s := edge.NewShedder(2)
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("an admitted request: %d", rec.Code)
			}
		})
	}
	<-entered
	<-entered
	if s.InFlight() != 2 {
		t.Fatalf("in flight %d, want 2", s.InFlight())
	}
	// A third, while two are served: refused without reaching the handler.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
	var body struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
		t.Fatalf("refusal body %q: %v", rec.Body, err)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || body.Errors[0].Extensions["code"] != edge.CodeOverloaded {
		t.Errorf("refusal: %d, Retry-After %q, %v; want 503 OVERLOADED, Retry-After 1", rec.Code, rec.Header().Get("Retry-After"), body.Errors[0].Extensions)
	}
	if s.Shed() != 1 {
		t.Errorf("shed %d, want 1", s.Shed())
	}
	close(release)
	wg.Wait()
	// Once they are done, requests are admitted again.
	done := make(chan struct{})
	go func() { <-entered; close(done) }()
	rec = httptest.NewRecorder()
	h2 := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { entered <- struct{}{} }))
	h2.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
	<-done
	if rec.Code != http.StatusOK || s.InFlight() != 0 {
		t.Errorf("after the others ended: %d, %d in flight", rec.Code, s.InFlight())
	}
}
