package bff

import (
	"net/http"

	"github.com/99designs/gqlgen/graphql"

	"github.com/acme/bff-gateway/internal/gqlerr"
	"github.com/acme/bff-gateway/internal/gqlmedia"
)

// allowedMethods are the methods /graphql serves (OPTIONS for CORS).
const allowedMethods = "GET, POST, OPTIONS"

// graphqlRequestsOnly refuses, before the guard reads anything, what is not
// a GraphQL-over-HTTP request the BFF serves: a method other than GET, POST
// and OPTIONS (405 with Allow), a POST whose body is not application/json
// (415 with Accept: application/json; a missing Content-Type too), and an
// Accept header that admits neither application/graphql-response+json nor
// application/json (406). WebSocket upgrades and OPTIONS pass on to gqlgen,
// which answers them. Every answer varies with the Accept header, and says
// so (Vary: Accept) to caches.
func graphqlRequestsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			if !gqlmedia.IsJSON(r.Header.Get("Content-Type")) {
				w.Header().Set("Accept", gqlmedia.JSON)
				gqlerr.WriteHTTP(w, r, http.StatusUnsupportedMediaType, gqlerr.CodeUnsupportedMediaType,
					"a GraphQL POST body must be application/json; send the Content-Type header")
				return
			}
		case http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		default:
			w.Header().Set("Allow", allowedMethods)
			gqlerr.WriteHTTP(w, r, http.StatusMethodNotAllowed, gqlerr.CodeMethodNotAllowed,
				"GraphQL requests are sent with GET (queries) or POST")
			return
		}
		if r.Header.Get("Upgrade") == "" && !gqlmedia.Negotiate(r).Acceptable {
			gqlerr.WriteHTTP(w, r, http.StatusNotAcceptable, gqlerr.CodeNotAcceptable,
				"the Accept header must admit application/graphql-response+json or application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// negotiated wraps one of gqlgen's HTTP transports (GET, POST) so that its
// answers follow gqlmedia's rules: the Content-Type is the negotiated media
// type with its charset, and a document that does not parse or validate,
// whose operation cannot be found, or whose variables do not coerce is
// answered with 400, or 200 when the client asked for application/json.
//
// gqlgen picks its media type from the Accept header itself, without
// q-values; the wrapped transport is shown an Accept header that names the
// negotiated type's status rules: application/graphql-response+json (its
// protocol errors are 400) or application/json (422, which the wrapper
// turns into 200: gqlgen uses 422 for nothing else).
type negotiated struct {
	graphql.Transport
}

func (t negotiated) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := gqlmedia.Negotiate(r)
	inner := gqlmedia.GraphQLResponseJSON
	if media.DocumentErrorStatus() == http.StatusOK {
		inner = gqlmedia.JSON
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	r2.Header.Set("Accept", inner)
	mw := &mediaWriter{ResponseWriter: w, contentType: media.ContentType(), documentErrorsOK: inner == gqlmedia.JSON}
	t.Transport.Do(mw, r2, exec)
}

// mediaWriter sets the negotiated Content-Type when the status is written
// and maps gqlgen's statuses (see negotiated).
type mediaWriter struct {
	http.ResponseWriter
	contentType      string
	documentErrorsOK bool
	wrote            bool
}

func (m *mediaWriter) WriteHeader(status int) {
	if m.wrote || (status >= 100 && status < 200) {
		m.ResponseWriter.WriteHeader(status)
		return
	}
	m.wrote = true
	m.Header().Set("Content-Type", m.contentType)
	switch status {
	case http.StatusUnprocessableEntity:
		// gqlgen's application/json status for a request error.
		if m.documentErrorsOK {
			status = http.StatusOK
		} else {
			status = http.StatusBadRequest
		}
	case http.StatusNotAcceptable:
		// gqlgen's GET transport refusing a mutation, which GraphQL over
		// HTTP answers with 405 (the guard refuses those first).
		m.Header().Set("Allow", http.MethodPost)
		status = http.StatusMethodNotAllowed
	}
	m.ResponseWriter.WriteHeader(status)
}

func (m *mediaWriter) Write(b []byte) (int, error) {
	if !m.wrote {
		m.WriteHeader(http.StatusOK)
	}
	return m.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *mediaWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// Flush implements http.Flusher.
func (m *mediaWriter) Flush() {
	if !m.wrote {
		m.WriteHeader(http.StatusOK)
	}
	if f, ok := m.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
