package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestNegotiateAccept(t *testing.T) {
	t.Parallel()
	const (
		json = JSON
		grj  = GraphQLResponseJSON
	)
	tests := []struct {
		accept     string
		want       string
		requested  bool
		acceptable bool
		docStatus  int
	}{
		{"", json, false, true, 400},
		{"   ", json, false, true, 400},
		{"application/json", json, true, true, 200},
		{"application/json; charset=utf-8", json, true, true, 200},
		{"APPLICATION/JSON", json, true, true, 200},
		{"application/graphql-response+json", grj, true, true, 400},
		{"application/graphql-response+json; charset=utf-8, application/json; charset=utf-8", grj, true, true, 400},
		// Apollo Client's header.
		{"application/graphql-response+json,application/json;q=0.9", grj, true, true, 400},
		// q-values win over the order.
		{"application/json;q=0.5, application/graphql-response+json", grj, true, true, 400},
		{"application/graphql-response+json;q=0.5, application/json", json, true, true, 200},
		// At equal q, the first listed.
		{"application/json, application/graphql-response+json", json, true, true, 200},
		// Wildcards give application/json; an exact type beats a wildcard.
		{"*/*", json, true, true, 200},
		{"*", json, true, true, 200},
		{"application/*", json, true, true, 200},
		{"*/*, application/graphql-response+json", grj, true, true, 400},
		{"application/graphql-response+json;q=0, */*", json, true, true, 200},
		// A browser's navigation.
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", json, true, true, 200},
		// GraphiQL's.
		{"application/json, multipart/mixed", json, true, true, 200},
		// Nothing acceptable.
		{"text/html", json, true, false, 400},
		{"application/json;q=0, application/graphql-response+json;q=0", json, true, false, 400},
		{"application/xml, text/*", json, true, false, 400},
		// Elements that do not parse are ignored.
		{"application/json;q=abc, application/graphql-response+json", grj, true, true, 400},
		{"/, ;;", json, false, true, 400},
		{"*/json", json, false, true, 400},
	}
	for _, tt := range tests {
		got := NegotiateAccept(tt.accept)
		if got.MediaType != tt.want || got.Requested != tt.requested || got.Acceptable != tt.acceptable {
			t.Errorf("NegotiateAccept(%q) = %+v, want %s requested %v acceptable %v",
				tt.accept, got, tt.want, tt.requested, tt.acceptable)
		}
		if s := got.DocumentErrorStatus(); s != tt.docStatus {
			t.Errorf("NegotiateAccept(%q).DocumentErrorStatus() = %d, want %d", tt.accept, s, tt.docStatus)
		}
	}
}

func TestNegotiateJoinsHeaders(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	r.Header.Add("Accept", "text/html")
	r.Header.Add("Accept", "application/graphql-response+json")
	got := Negotiate(r)
	if got.MediaType != GraphQLResponseJSON || !got.Acceptable {
		t.Errorf("Negotiate = %+v, want graphql-response+json", got)
	}
	if ct := got.ContentType(); ct != "application/graphql-response+json; charset=utf-8" {
		t.Errorf("ContentType = %q", ct)
	}
}
