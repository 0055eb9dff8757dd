package ratelimit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStatusOverride(t *testing.T) {
	t.Parallel()
	refusal := Decision{Limit: 5, Remaining: 0, RetryAfter: 11500 * time.Millisecond, Reset: time.Minute}
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantStatus  int
		wantHeaders map[string]string
	}{
		{
			name: "limited: 200 becomes 429",
			handler: func(w http.ResponseWriter, r *http.Request) {
				Limited(r.Context(), refusal)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"errors":[{"message":"too many login attempts","extensions":{"code":"RATE_LIMITED"}}]}`)
			},
			wantStatus: http.StatusTooManyRequests,
			wantHeaders: map[string]string{
				"Retry-After": "12", "RateLimit-Limit": "5", "RateLimit-Remaining": "0",
				"RateLimit-Reset": "60", "Content-Type": "application/json",
			},
		},
		{
			name: "limited: implicit 200 from Write becomes 429",
			handler: func(w http.ResponseWriter, r *http.Request) {
				ResponseHookFromContext(r.Context()).Limited(refusal)
				_, _ = io.WriteString(w, `{}`)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "12"},
		},
		{
			name: "limited: other statuses overridden too",
			handler: func(w http.ResponseWriter, r *http.Request) {
				Limited(r.Context(), refusal)
				w.WriteHeader(http.StatusUnprocessableEntity)
			},
			wantStatus: http.StatusTooManyRequests,
		},
		{
			name: "longest wait wins",
			handler: func(w http.ResponseWriter, r *http.Request) {
				Limited(r.Context(), Decision{RetryAfter: 3 * time.Second})
				Limited(r.Context(), Decision{RetryAfter: 30 * time.Second})
				Limited(r.Context(), Decision{RetryAfter: time.Second})
				w.WriteHeader(http.StatusOK)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "30"},
		},
		{
			name: "not limited: status untouched",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnprocessableEntity)
			},
			wantStatus:  http.StatusUnprocessableEntity,
			wantHeaders: map[string]string{"Retry-After": "", "RateLimit-Limit": ""},
		},
		{
			name: "limited after the status was written: too late",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				Limited(r.Context(), refusal)
				_, _ = io.WriteString(w, "more")
			},
			wantStatus:  http.StatusOK,
			wantHeaders: map[string]string{"Retry-After": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			StatusOverride(tt.handler).ServeHTTP(w, httptest.NewRequest("POST", "/graphql", nil))
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			for k, v := range tt.wantHeaders {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestStatusOverrideKeepsBodyAndFlusher(t *testing.T) {
	t.Parallel()
	h := StatusOverride(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("wrapped writer is not an http.Flusher")
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController cannot reach the underlying writer: %v", err)
		}
		Limited(r.Context(), Decision{RetryAfter: time.Second})
		_, _ = io.WriteString(w, "body")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || string(body) != "body" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("got %d %q Retry-After %q; want 429 \"body\" 1", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}

func TestStatusOverrideWithLoginLimiter(t *testing.T) {
	t.Parallel()
	limiter := NewLoginLimiter(NewMemoryStore(0, newFakeClock().Now), DefaultConfig().Login)
	// Stands in for gqlgen running a login mutation: a refused login is a
	// GraphQL error in a 200.
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := limiter.Allow(r.Context(), ClientIPFromContext(r.Context()), "a@example.com")
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			_, _ = io.WriteString(w, `{"errors":[{"extensions":{"code":"RATE_LIMITED"}}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":{}}`)
	})
	h := Middleware(NewMemoryStore(0, nil), DefaultConfig(), nil, nil)(StatusOverride(login))
	for i := range 6 {
		w := httptest.NewRecorder()
		r := httptest.NewRequestWithContext(context.Background(), "POST", "/graphql", nil)
		r.RemoteAddr = "203.0.113.7:1"
		h.ServeHTTP(w, r)
		want := http.StatusOK
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if w.Code != want {
			t.Fatalf("login %d: status %d, want %d", i+1, w.Code, want)
		}
		if i == 5 && w.Header().Get("Retry-After") != "12" {
			t.Errorf("Retry-After %q, want 12", w.Header().Get("Retry-After"))
		}
	}
}

func TestNilHook(t *testing.T) {
	t.Parallel()
	Limited(context.Background(), Decision{}) // no hook: no panic
	var h *Hook
	h.Limited(Decision{})
	if _, ok := h.Decision(); ok {
		t.Error("nil hook reports a refusal")
	}
}
