package faultproxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Kind is what a fault does to the requests it applies to.
type Kind uint8

// The kinds of fault.
const (
	// KindNone passes every request on untouched.
	KindNone Kind = iota
	// KindLatency waits Latency ± Jitter, then passes the request on.
	KindLatency
	// KindReset passes the request on, then sends the service's status,
	// headers (with the Content-Length of the whole body) and the first
	// half of its body, and resets the connection (RST: SO_LINGER 0).
	KindReset
	// KindUnavailable answers 503 with a problem document, without
	// passing the request on.
	KindUnavailable
	// KindTooManyRequests answers 429 with Retry-After (RetryAfter) and a
	// problem document, without passing the request on.
	KindTooManyRequests
	// KindHTML answers 200 with an HTML page (text/html), as a captive
	// portal or a misrouted load balancer does.
	KindHTML
	// KindGarbage answers 200 application/json with bytes that are not JSON.
	KindGarbage
	// KindTruncated passes the request on and sends the service's answer
	// cut in half, with the Content-Length of the whole, then closes the
	// connection.
	KindTruncated
	// KindEndless answers 200 application/json with a body that never
	// ends: a JSON array opened and an element every Interval (or, with a
	// negative Interval, elements as fast as the client reads them), until
	// the client goes or the proxy closes.
	KindEndless
	// KindHang reads the request and never answers, until the client goes
	// or the proxy closes.
	KindHang
	// KindDropAfterUpstream passes the request on, lets the service do it
	// and answer, then closes the client's connection without answering:
	// the client cannot know whether its request was done.
	KindDropAfterUpstream
)

var kindNames = map[Kind]string{
	KindNone:              "none",
	KindLatency:           "latency",
	KindReset:             "reset mid-body",
	KindUnavailable:       "503",
	KindTooManyRequests:   "429",
	KindHTML:              "html page",
	KindGarbage:           "garbage",
	KindTruncated:         "truncated json",
	KindEndless:           "endless body",
	KindHang:              "hang",
	KindDropAfterUpstream: "drop after upstream",
}

// String names the kind.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// A Fault is what a Proxy does to the requests it forwards. The zero
// Fault passes every request on. Build one with the functions below and
// narrow it with Times and Only; a Fault is a value, its methods return
// changed copies.
type Fault struct {
	Kind Kind
	// Count is how many requests (of those Filter selects) the fault
	// applies to after Set; the later ones pass. 0: every request.
	Count int
	// Filter, when its Match is set, selects the requests the fault
	// applies to; the others pass, and do not count.
	Filter Filter
	// Latency and Jitter: KindLatency waits a uniformly random time in
	// [Latency-Jitter, Latency+Jitter] before passing the request on.
	Latency, Jitter time.Duration
	// RetryAfter is the Retry-After header of KindTooManyRequests ("1"
	// when empty).
	RetryAfter string
	// Interval is how often KindEndless sends an element (10ms when 0);
	// negative: as fast as the client reads (Flood).
	Interval time.Duration
}

// A Filter selects requests by a predicate, with a name for messages.
type Filter struct {
	Name  string
	Match func(*http.Request) bool
}

// Method selects the requests of the given methods.
func Method(methods ...string) Filter {
	return Filter{
		Name:  strings.Join(methods, ","),
		Match: func(r *http.Request) bool { return slices.Contains(methods, r.Method) },
	}
}

// PathPrefix selects the requests whose path starts with prefix.
func PathPrefix(prefix string) Filter {
	return Filter{Name: prefix + "*", Match: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, prefix) }}
}

// None passes every request on.
func None() Fault { return Fault{} }

// Latency delays every request by d ± jitter.
func Latency(d, jitter time.Duration) Fault {
	return Fault{Kind: KindLatency, Latency: d, Jitter: jitter}
}

// ResetMidBody resets the connection halfway through each answer's body.
func ResetMidBody() Fault { return Fault{Kind: KindReset} }

// Unavailable answers 503.
func Unavailable() Fault { return Fault{Kind: KindUnavailable} }

// TooManyRequests answers 429 with Retry-After: retryAfter ("1" when
// empty).
func TooManyRequests(retryAfter string) Fault {
	return Fault{Kind: KindTooManyRequests, RetryAfter: retryAfter}
}

// HTMLPage answers 200 with an HTML page.
func HTMLPage() Fault { return Fault{Kind: KindHTML} }

// Garbage answers 200 application/json with bytes that are not JSON.
func Garbage() Fault { return Fault{Kind: KindGarbage} }

// Truncated answers the service's answer cut in half.
func Truncated() Fault { return Fault{Kind: KindTruncated} }

// Endless answers a JSON body that never ends.
func Endless() Fault { return Fault{Kind: KindEndless} }

// Flood answers a JSON body that never ends, as fast as the client reads
// it: a client that does not bound what it reads fills its memory.
func Flood() Fault { return Fault{Kind: KindEndless, Interval: -1} }

// Hang never answers.
func Hang() Fault { return Fault{Kind: KindHang} }

// DropAfterUpstream lets the service do each request, then closes the
// client's connection without an answer.
func DropAfterUpstream() Fault { return Fault{Kind: KindDropAfterUpstream} }

// Times returns f applying to the next n requests only (0: every one).
func (f Fault) Times(n int) Fault {
	f.Count = n
	return f
}

// Only returns f applying only to the requests filter selects.
func (f Fault) Only(filter Filter) Fault {
	f.Filter = filter
	return f
}

// String describes the fault, e.g. "503 ×2" or "latency 50ms±25ms".
func (f Fault) String() string {
	s := f.Kind.String()
	switch f.Kind {
	case KindLatency:
		s += " " + f.Latency.String()
		if f.Jitter > 0 {
			s += "±" + f.Jitter.String()
		}
	case KindTooManyRequests:
		s += " retry-after " + f.retryAfter()
	case KindEndless:
		if f.Interval < 0 {
			s += " flood"
		}
	}
	if f.Count > 0 {
		s += fmt.Sprintf(" ×%d", f.Count)
	}
	if f.Filter.Match != nil {
		s += " on " + f.Filter.Name
	}
	return s
}

func (f Fault) retryAfter() string {
	if f.RetryAfter == "" {
		return "1"
	}
	return f.RetryAfter
}

func (f Fault) interval() time.Duration {
	if f.Interval == 0 {
		return 10 * time.Millisecond
	}
	return f.Interval
}
