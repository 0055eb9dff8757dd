package rest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/acme/bff-gateway/internal/contract"

	"github.com/acme/bff-gateway/internal/apperr"
)

// IntParam parses the query parameter name as an integer in [min, max],
// returning def when it is absent. It returns Invalid naming the parameter.
func IntParam(r *http.Request, name string, def, min, max int) (int, error) {
	raw, present := queryValue(r, name)
	if !present {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < min || n > max {
		return 0, apperr.InvalidParam(name, "%s must be an integer from %d to %d", name, min, max)
	}
	return n, nil
}

// StringParam returns the query parameter name, at most maxLen bytes long.
func StringParam(r *http.Request, name string, maxLen int) (string, error) {
	raw, _ := queryValue(r, name)
	if len(raw) > maxLen {
		return "", apperr.InvalidParam(name, "%s must be at most %d characters", name, maxLen)
	}
	return raw, nil
}

// IDsParam parses a comma-separated list of 1 to contract.MaxBatchIDs ids, each
// checked by valid, keeping the order asked and dropping repeats.
func IDsParam(r *http.Request, name string, valid func(string) bool) ([]string, error) {
	raw, _ := queryValue(r, name)
	if raw == "" {
		return nil, apperr.InvalidParam(name, "%s must list 1 to %d ids", name, contract.MaxBatchIDs)
	}
	parts := strings.Split(raw, ",")
	if len(parts) > contract.MaxBatchIDs {
		return nil, apperr.InvalidParam(name, "%s must list 1 to %d ids", name, contract.MaxBatchIDs)
	}
	seen := make(map[string]bool, len(parts))
	ids := make([]string, 0, len(parts))
	for _, id := range parts {
		if !valid(id) {
			return nil, apperr.InvalidParam(name, "%s holds a malformed id", name)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// PathID returns the path value name when valid accepts it, else an
// Invalid error naming the parameter.
func PathID(r *http.Request, name string, valid func(string) bool) (string, error) {
	id := r.PathValue(name)
	if !valid(id) {
		return "", apperr.InvalidParam(name, "malformed %s", name)
	}
	return id, nil
}

// queryValue returns the single value of a query parameter. A repeated
// parameter is taken at its first value.
func queryValue(r *http.Request, name string) (string, bool) {
	vals, ok := r.URL.Query()[name]
	if !ok || len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}
