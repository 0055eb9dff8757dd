package platform

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Latency is an artificial delay range for realistic benchmarks.
type Latency struct {
	Min, Max time.Duration
}

// ParseLatency parses "", "2ms" or a range "1ms-5ms".
func ParseLatency(s string) (Latency, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Latency{}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	min, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return Latency{}, fmt.Errorf("parse latency %q: %w", s, err)
	}
	max := min
	if isRange {
		if max, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil {
			return Latency{}, fmt.Errorf("parse latency %q: %w", s, err)
		}
	}
	if min < 0 || max < min {
		return Latency{}, fmt.Errorf("parse latency %q: want 0 <= min <= max", s)
	}
	return Latency{Min: min, Max: max}, nil
}

// Sample returns one delay from the range.
func (l Latency) Sample() time.Duration {
	if l.Max <= l.Min {
		return l.Min
	}
	return l.Min + rand.N(l.Max-l.Min+1)
}

// Delay returns middleware that waits a sampled delay before each request,
// giving up early when the client goes away. Health probes are not delayed.
func Delay(l Latency) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l.Max == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
				t := time.NewTimer(l.Sample())
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
