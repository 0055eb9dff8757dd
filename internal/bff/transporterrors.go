package bff

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/acme/bff-gateway/internal/gqlerr"
	"github.com/acme/bff-gateway/internal/gqlmedia"
)

// codeTransportErrors gives an extensions.code (BAD_USER_INPUT) to the
// errors that gqlgen's server and transports write themselves, past the
// error presenter: a request no transport takes ("transport not
// supported": a WebSocket upgrade; other methods and content types are
// refused before, by graphqlRequestsOnly; a mutation sent over GET, by the
// guard), variables that do not decode. Each is refused with a 4xx before anything
// runs, so only such answers are held back and looked at; every other
// answer passes through untouched. A rewritten answer keeps the negotiated
// media type (gqlmedia).
func codeTransportErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &codingWriter{ResponseWriter: w, contentType: gqlmedia.Negotiate(r).ContentType()}
		next.ServeHTTP(cw, r)
		cw.finish()
	})
}

// codingWriter holds back an answer whose status is 4xx or 5xx until the
// handler is done, to add the missing codes to its errors.
type codingWriter struct {
	http.ResponseWriter
	held    int // the status held back, 0 while passing through
	started bool
	// contentType is the negotiated Content-Type of a rewritten answer.
	contentType string
	buf         bytes.Buffer
}

func (c *codingWriter) WriteHeader(status int) {
	if status >= 400 && !c.started && c.held == 0 {
		c.held = status
		return
	}
	if c.held != 0 {
		return
	}
	c.started = true
	c.ResponseWriter.WriteHeader(status)
}

func (c *codingWriter) Write(b []byte) (int, error) {
	if c.held != 0 {
		return c.buf.Write(b)
	}
	c.started = true
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *codingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *codingWriter) finish() {
	if c.held == 0 {
		return
	}
	body := c.buf.Bytes()
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err == nil {
		if errs, ok := resp["errors"].([]any); ok {
			changed := false
			for _, item := range errs {
				e, ok := item.(map[string]any)
				if !ok {
					continue
				}
				ext, _ := e["extensions"].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
				}
				if code, _ := ext["code"].(string); code == "" {
					ext["code"] = gqlerr.CodeBadUserInput
					e["extensions"] = ext
					changed = true
				}
			}
			if changed {
				if b, err := json.Marshal(resp); err == nil {
					body = b
					c.Header().Set("Content-Type", c.contentType)
					c.Header().Del("Content-Length")
				}
			}
		}
	}
	c.ResponseWriter.WriteHeader(c.held)
	_, _ = c.ResponseWriter.Write(body)
}
