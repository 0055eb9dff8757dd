// Package middleware holds the HTTP middleware shared by every server:
// request ids, structured access logs, panic recovery and artificial latency.
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-ID"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// NewRequestID returns a fresh random request id.
func NewRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestID takes the request id from X-Request-ID when it is well formed,
// or makes one, puts it in the context and echoes it in the answer.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID.MatchString(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := requestctx.NewContextWithRequestID(r.Context(), id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// StatusRecorder is a response writer that remembers the status and size
// of the answer written through it, for logs and metrics.
type StatusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

// NewStatusRecorder returns a recorder writing through w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w}
}

// Status returns the status written, 200 when the handler wrote a body
// without one, and 200 as well when it wrote nothing (net/http's answer).
func (s *StatusRecorder) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Bytes returns the bytes of body written.
func (s *StatusRecorder) Bytes() int { return s.bytes }

func (s *StatusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes on to the underlying writer, for handlers that check for
// http.Flusher directly (gqlgen's streaming transports do).
func (s *StatusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// AccessLog logs one JSON line per request with its request id, and puts a
// request-scoped logger in the context. It must run inside RequestID.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			reqLogger := logger.With("request_id", requestctx.RequestIDFromContext(r.Context()))
			ctx := requestctx.NewContextWithLogger(r.Context(), reqLogger)
			rec := NewStatusRecorder(w)
			next.ServeHTTP(rec, r.WithContext(ctx))
			reqLogger.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.Status()),
				slog.Int("bytes", rec.Bytes()),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}

// Recover turns a panic in a handler into a masked 500 problem answer and
// logs the panic with the request id.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				// Exactly the sentinel, which net/http itself compares by
				// identity: errors.Is would also re-panic (and so not answer)
				// an error that merely wraps it.
				if v == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, not a returned error: exact identity is net/http's protocol
					panic(v)
				}
				requestctx.LoggerFromContext(r.Context()).ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v))
				problem.Write(w, r, apperr.New(apperr.Internal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Chain applies middleware so that the first one listed is the outermost.
func Chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
