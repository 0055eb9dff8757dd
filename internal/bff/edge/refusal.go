package edge

import (
	"encoding/json"
	"net/http"

	"github.com/acme/bff-gateway/internal/requestctx"
)

// A Refusal is an answer written instead of running a request: a
// GraphQL-shaped body {"errors":[{"message", "locations"?, "extensions":
// {"code", "requestId"?, …}}]} with an HTTP status, in the negotiated
// media type.
type Refusal struct {
	// Status is the HTTP status; for a Document refusal, the status of
	// application/graphql-response+json (see Media.DocumentErrorStatus).
	Status int
	// Code is extensions.code.
	Code string
	// Message is the error's message: never an echo of the request.
	Message string
	// Extensions are extensions besides code and requestId (a limit and
	// the measured value, say).
	Extensions map[string]any
	// Line and Column locate a parse error; zero when there is none.
	Line, Column int
	// Document marks a document that does not parse or passes one of the
	// server's validation limits: its status follows the media type, 200
	// when the client asked for application/json.
	Document bool
}

// Refuse writes a refusal with status, code and message.
func Refuse(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	(&Refusal{Status: status, Code: code, Message: message}).Write(w, r)
}

// Body returns the refusal's JSON body, with requestID in its extensions
// when it is not empty.
func (f *Refusal) Body(requestID string) []byte {
	ext := make(map[string]any, len(f.Extensions)+2)
	for k, v := range f.Extensions {
		ext[k] = v
	}
	ext["code"] = f.Code
	if requestID != "" {
		ext["requestId"] = requestID
	}
	type location struct {
		Line   int `json:"line"`
		Column int `json:"column"`
	}
	type gqlError struct {
		Message    string         `json:"message"`
		Locations  []location     `json:"locations,omitempty"`
		Extensions map[string]any `json:"extensions"`
	}
	e := gqlError{Message: f.Message, Extensions: ext}
	if f.Line > 0 {
		e.Locations = []location{{Line: f.Line, Column: f.Column}}
	}
	b, err := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{Errors: []gqlError{e}})
	if err != nil {
		// Only extensions a caller filled with something JSON cannot
		// encode get here.
		b, _ = json.Marshal(map[string]any{"errors": []map[string]any{{
			"message": f.Message, "extensions": map[string]any{"code": f.Code},
		}}})
	}
	return b
}

// StatusFor returns the status the refusal is answered with to r.
func (f *Refusal) StatusFor(r *http.Request) int {
	if f.Document {
		return MediaOf(r).DocumentErrorStatus()
	}
	return f.Status
}

// Write answers r with the refusal, in the media type its Accept header
// asks for (application/json when it admits none).
func (f *Refusal) Write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", MediaOf(r).ContentType())
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(f.StatusFor(r))
	_, _ = w.Write(f.Body(requestctx.RequestIDFromContext(r.Context())))
}
