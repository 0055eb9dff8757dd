package edge

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"

	"github.com/acme/bff-gateway/internal/bff/request"
)

// Answer runs a GraphQL operation that passed every check: it gives it a
// fresh request.State and has gqlgen write its answer through the one
// response writer of the edge (see answerWriter). OPTIONS requests pass
// through untouched.
//
// gqlgen picks its media type and the status of a document that does not
// parse or validate from the Accept header itself, without q-values; it is
// shown an Accept header naming the negotiated type's status rules:
// application/graphql-response+json (such a document is a 400) or
// application/json (gqlgen answers 422, which the writer turns into 200:
// gqlgen uses 422 for nothing else).
func Answer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		media := MediaOf(r)
		inner := GraphQLResponseJSON
		if media.DocumentErrorStatus() == http.StatusOK {
			inner = JSON
		}
		state := request.NewState()
		r2 := r.WithContext(request.NewContextWithState(r.Context(), state))
		r2.Header = r.Header.Clone()
		r2.Header.Set("Accept", inner)
		next.ServeHTTP(&answerWriter{
			ResponseWriter:   w,
			state:            state,
			contentType:      media.ContentType(),
			documentErrorsOK: inner == JSON,
		}, r2)
	})
}

// answerWriter is the response writer gqlgen writes through. When the
// status is written it sets the negotiated Content-Type, maps gqlgen's
// statuses (see Answer; and a 406, gqlgen's refusal of a mutation over
// GET, which the guard refuses first, becomes GraphQL over HTTP's 405),
// and turns the answer into a 429 with Retry-After when the operation was
// throttled while it ran (request.State.Throttle). The body passes through
// untouched.
type answerWriter struct {
	http.ResponseWriter
	state            *request.State
	contentType      string
	documentErrorsOK bool
	wrote            bool
}

func (w *answerWriter) WriteHeader(status int) {
	if w.wrote || (status >= 100 && status < 200) {
		// Informational answers are not final; a second final status is
		// left for net/http to report.
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.wrote = true
	h := w.Header()
	h.Set("Content-Type", w.contentType)
	switch status {
	case http.StatusUnprocessableEntity:
		if w.documentErrorsOK {
			status = http.StatusOK
		} else {
			status = http.StatusBadRequest
		}
	case http.StatusNotAcceptable:
		h.Set("Allow", http.MethodPost)
		status = http.StatusMethodNotAllowed
	}
	if d, ok := w.state.Throttled(); ok {
		setThrottled(h, d)
		status = http.StatusTooManyRequests
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *answerWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher, which gqlgen's streaming transports look
// for directly.
func (w *answerWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReportStaleData is a gqlgen response interceptor (handler.AroundResponses)
// that says in the answer's extensions which products were served from
// stale copies because the product service failed (request.State).
func ReportStaleData(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return resp
	}
	if ids := request.StateFrom(ctx).StaleProducts(); len(ids) > 0 {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["staleData"] = map[string]any{
			"products": ids,
			"reason":   "the product service is unavailable; these products are recent copies",
		}
	}
	return resp
}
