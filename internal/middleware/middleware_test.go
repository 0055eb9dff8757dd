package middleware

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/requestctx"
)

func TestRequestIDIsKeptWhenWellFormedAndMadeOtherwise(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = requestctx.RequestIDFromContext(r.Context())
	}))
	for in, keep := range map[string]bool{"abc-123": true, "": false, "bad id\r\n": false, strings.Repeat("x", 65): false} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(RequestIDHeader, in)
		h.ServeHTTP(rec, req)
		if (seen == in) != keep || seen == "" || rec.Header().Get(RequestIDHeader) != seen {
			t.Errorf("X-Request-ID %q: context %q, answer %q", in, seen, rec.Header().Get(RequestIDHeader))
		}
	}
}

func TestAccessLogKeepsTheWriterAFlusherAndLogsTheStatus(t *testing.T) {
	var logs bytes.Buffer
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the access log hides http.Flusher")
		}
		w.WriteHeader(http.StatusTeapot)
	}), RequestID, AccessLog(slog.New(slog.NewJSONHandler(&logs, nil))))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	if !strings.Contains(logs.String(), `"status":418`) || !strings.Contains(logs.String(), `"request_id"`) {
		t.Errorf("log line %s", logs.String())
	}
}

func TestRecoverMasksPanics(t *testing.T) {
	rec := httptest.NewRecorder()
	Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") })).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("panic answered %d %s", rec.Code, rec.Body)
	}
}
