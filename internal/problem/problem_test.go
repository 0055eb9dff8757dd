package problem

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// TestWriteThenReadGivesTheCodedErrorBack writes coded errors as problems
// and reads them back as a client does: the code, message, parameter and
// details survive; the status is the code's.
func TestWriteThenReadGivesTheCodedErrorBack(t *testing.T) {
	for _, err := range []*apperr.Error{
		apperr.InvalidParam("limit", "limit must be an integer from 1 to 100"),
		apperr.New(apperr.NotFound, "order not found"),
		apperr.New(apperr.InsufficientStock, "not enough stock").With("shortages", []any{map[string]any{"product_id": "prd_1", "available": float64(2)}}),
	} {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r = r.WithContext(requestctx.NewContextWithRequestID(r.Context(), "req-9"))
		rec := httptest.NewRecorder()
		Write(rec, r, err)
		if rec.Code != apperr.HTTPStatus(err.Code) || rec.Header().Get("Content-Type") != ContentType {
			t.Errorf("%v: status %d, Content-Type %q", err, rec.Code, rec.Header().Get("Content-Type"))
		}
		var p Problem
		if e := json.Unmarshal(rec.Body.Bytes(), &p); e != nil {
			t.Fatal(e)
		}
		if p.Type != TypePrefix+string(err.Code) || p.RequestID != "req-9" || p.Status != rec.Code {
			t.Errorf("%v: problem %+v", err, p)
		}
		back := p.AsError()
		if back.Code != err.Code || back.Message != err.Message || back.Param != err.Param {
			t.Errorf("read back %+v, want %+v", back, err)
		}
		if len(err.Details) > 0 && back.Details["shortages"] == nil {
			t.Errorf("details lost: %+v", back.Details)
		}
	}
}

// TestUncodedErrorsAreMasked checks that an error without a code is a 500
// that says nothing of it.
func TestUncodedErrorsAreMasked(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), errors.New("open /var/lib/users.db: permission denied"))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "users.db") {
		t.Errorf("status %d, body %s", rec.Code, rec.Body)
	}
}

func TestUnauthenticatedNamesTheScheme(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), apperr.New(apperr.Unauthenticated, "sign in"))
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("a 401 without WWW-Authenticate")
	}
}
