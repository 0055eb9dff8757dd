package httpserver

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/acme/bff-gateway/internal/problem"
)

// Healthz answers the liveness probe (GET /healthz) of every process:
// 200 {"status":"ok"} for as long as it serves at all.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, "ok")
}

// Readyz returns the readiness probe (GET /readyz): 200 {"status":"ready"}
// when ready returns nil, otherwise ready's error as a problem answer
// (ready should return an apperr.Unavailable error: a 503).
func Readyz(ready func(ctx context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			problem.Write(w, r, err)
			return
		}
		writeStatus(w, "ready")
	}
}

func writeStatus(w http.ResponseWriter, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}
