package edge

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRefuseFollowsAccept checks that a refusal is written in the media
// type the Accept header asks for, with its charset, and keeps its status.
func TestRefuseFollowsAccept(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]string{
		"":                                  "application/json; charset=utf-8",
		"application/json":                  "application/json; charset=utf-8",
		"*/*":                               "application/json; charset=utf-8",
		"application/graphql-response+json": "application/graphql-response+json; charset=utf-8",
		"application/graphql-response+json,application/json;q=0.9": "application/graphql-response+json; charset=utf-8",
		"text/html": "application/json; charset=utf-8", // nothing acceptable: JSON
	} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		Refuse(rec, r, http.StatusUnauthorized, CodeUnauthenticated, "sign in")
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Accept %q: status %d, want 401", accept, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != want {
			t.Errorf("Accept %q: Content-Type %q, want %q", accept, ct, want)
		}
		var body struct {
			Data   any `json:"data"`
			Errors []struct {
				Message    string         `json:"message"`
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 ||
			body.Errors[0].Extensions["code"] != CodeUnauthenticated || body.Data != nil {
			t.Errorf("Accept %q: body %s (%v)", accept, rec.Body, err)
		}
	}
}
