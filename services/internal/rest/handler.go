package rest

import (
	"net/http"

	"github.com/acme/bff-gateway/internal/problem"
)

// HandlerFunc is an HTTP handler that returns its error; ServeHTTP writes it as a problem answer.
//
// A handler that returns a non-nil error must not have written an answer:
// ServeHTTP writes the error with problem.Write, which sets the status, the
// problem body and, for unauthenticated, the WWW-Authenticate header.
// Headers the handler set before failing are kept.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP calls f and writes a non-nil error it returns with problem.Write.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		problem.Write(w, r, err)
	}
}

// JSON writes v as a JSON answer with the given status, as WriteJSON does,
// and returns nil, so that a HandlerFunc can end with
// `return rest.JSON(w, http.StatusOK, v)`.
func JSON(w http.ResponseWriter, status int, v any) error {
	WriteJSON(w, status, v)
	return nil
}
