package ratelimit

import (
	"context"
	"net/http"
	"sync"
)

// A Hook lets code running inside GraphQL execution (a login resolver
// refused by the LoginLimiter) turn the HTTP answer into a 429 with
// Retry-After, which gqlgen alone would send as a 200 with an error. Its
// methods are safe for concurrent use, and on a nil *Hook do nothing.
type Hook struct {
	mu      sync.Mutex
	limited bool
	d       Decision
}

// Limited records that the request was refused with d. Of several
// refusals, the one with the longest RetryAfter wins.
func (h *Hook) Limited(d Decision) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.limited || d.RetryAfter > h.d.RetryAfter {
		h.d = d
	}
	h.limited = true
}

// Decision returns the refusal recorded by Limited, and whether there is
// one.
func (h *Hook) Decision() (Decision, bool) {
	if h == nil {
		return Decision{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d, h.limited
}

type hookKey struct{}

// NewContextWithResponseHook returns ctx carrying h.
func NewContextWithResponseHook(ctx context.Context, h *Hook) context.Context {
	return context.WithValue(ctx, hookKey{}, h)
}

// ResponseHookFromContext returns the Hook in ctx, or nil.
func ResponseHookFromContext(ctx context.Context) *Hook {
	h, _ := ctx.Value(hookKey{}).(*Hook)
	return h
}

// Limited records on the Hook in ctx, if any, that the request was refused
// with d. LoginLimiter.Allow calls it on a refusal.
func Limited(ctx context.Context, d Decision) { ResponseHookFromContext(ctx).Limited(d) }

// StatusOverride puts a fresh Hook in each request's context and, if
// Hook.Limited was called by the time the status is written, writes 429
// with Retry-After and the RateLimit-* headers of the refusal instead of
// the status the handler chose; the body is the handler's (gqlgen's errors,
// with extensions.code RATE_LIMITED). It wraps the gqlgen handler. A
// refusal recorded after the status was written (an incremental or
// subscription response already under way) changes nothing.
func StatusOverride(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := &Hook{}
		ow := &overrideWriter{ResponseWriter: w, hook: h}
		next.ServeHTTP(ow, r.WithContext(NewContextWithResponseHook(r.Context(), h)))
	})
}

// overrideWriter writes 429 in place of the first final status when its
// hook has recorded a refusal.
type overrideWriter struct {
	http.ResponseWriter
	hook  *Hook
	wrote bool
}

func (w *overrideWriter) WriteHeader(code int) {
	if w.wrote || (code >= 100 && code < 200) {
		// Informational answers are not final; a second final status is
		// left for net/http to report.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wrote = true
	if d, ok := w.hook.Decision(); ok {
		setHeaders(w.Header(), d)
		setRetryAfter(w.Header(), d)
		code = http.StatusTooManyRequests
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *overrideWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher, which gqlgen's streaming transports look
// for directly.
func (w *overrideWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController (and websocket upgrades) reach the
// underlying writer.
func (w *overrideWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
