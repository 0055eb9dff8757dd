package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/problem"
)

func TestHandlerFuncWritesReturnedError(t *testing.T) {
	h := HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "no-store")
		return apperr.InvalidParam("limit", "limit must be an integer")
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))

	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, problem.ContentType)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control = %q, want the handler's header kept", cc)
	}
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if p.Code != apperr.Invalid || p.Param != "limit" || p.Detail != "limit must be an integer" {
		t.Fatalf("problem = %+v", p)
	}
}

func TestHandlerFuncMatchesProblemWrite(t *testing.T) {
	for _, err := range []error{
		apperr.New(apperr.Unauthenticated, "a bearer token is required"),
		apperr.New(apperr.NotFound, "order not found"),
		errors.New("database on fire"),
	} {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		want := httptest.NewRecorder()
		problem.Write(want, r, err)

		got := httptest.NewRecorder()
		HandlerFunc(func(http.ResponseWriter, *http.Request) error { return err }).ServeHTTP(got, r)

		if got.Code != want.Code || got.Body.String() != want.Body.String() {
			t.Errorf("%v: got %d %s, want %d %s", err, got.Code, got.Body, want.Code, want.Body)
		}
		for _, k := range []string{"Content-Type", "X-Content-Type-Options", "WWW-Authenticate"} {
			if got.Header().Get(k) != want.Header().Get(k) {
				t.Errorf("%v: %s = %q, want %q", err, k, got.Header().Get(k), want.Header().Get(k))
			}
		}
	}
}

func TestHandlerFuncNilErrorKeepsAnswer(t *testing.T) {
	h := HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Location", "/v1/things/1")
		return JSON(w, http.StatusCreated, map[string]string{"id": "1"})
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", nil))

	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/things/1" {
		t.Fatalf("Location = %q", loc)
	}
	if body := rec.Body.String(); body != "{\"id\":\"1\"}\n" {
		t.Fatalf("body = %q", body)
	}
}

func TestJSONMatchesWriteJSON(t *testing.T) {
	v := map[string]any{"html": "<b>&</b>", "n": 3}
	want := httptest.NewRecorder()
	WriteJSON(want, http.StatusOK, v)
	got := httptest.NewRecorder()
	if err := JSON(got, http.StatusOK, v); err != nil {
		t.Fatalf("JSON returned %v", err)
	}
	if got.Code != want.Code || got.Body.String() != want.Body.String() {
		t.Fatalf("got %d %q, want %d %q", got.Code, got.Body, want.Code, want.Body)
	}
	for k := range want.Header() {
		if got.Header().Get(k) != want.Header().Get(k) {
			t.Fatalf("%s = %q, want %q", k, got.Header().Get(k), want.Header().Get(k))
		}
	}
}
