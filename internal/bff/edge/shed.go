package edge

import (
	"net/http"
	"sync/atomic"
)

// CodeOverloaded is the code of a request refused because the BFF serves
// as many as it may at once (Shed).
const CodeOverloaded = "OVERLOADED"

// ShedRetryAfter is the Retry-After, in seconds, of an OVERLOADED answer.
const ShedRetryAfter = "1"

// Shedder bounds the requests served at once (load shedding): one more is
// refused at once, before its body is read, so that those admitted keep
// their latency instead of all of them slowing down together.
type Shedder struct {
	max      int64
	inFlight atomic.Int64
	shed     atomic.Int64
}

// NewShedder returns a shedder admitting at most max requests at once.
func NewShedder(max int) *Shedder { return &Shedder{max: int64(max)} }

// InFlight is the number of requests being served.
func (s *Shedder) InFlight() int { return int(s.inFlight.Load()) }

// Shed is the number of requests refused so far.
func (s *Shedder) Shed() int { return int(s.shed.Load()) }

// Middleware admits a request while fewer than max are in flight and
// answers any other at once: HTTP 503, OVERLOADED, Retry-After: 1.
func (s *Shedder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.inFlight.Add(1) > s.max {
			s.inFlight.Add(-1)
			s.shed.Add(1)
			w.Header().Set("Retry-After", ShedRetryAfter)
			Refuse(w, r, http.StatusServiceUnavailable, CodeOverloaded,
				"the server is serving as many requests as it can; retry after "+ShedRetryAfter+" second")
			return
		}
		defer s.inFlight.Add(-1)
		next.ServeHTTP(w, r)
	})
}
