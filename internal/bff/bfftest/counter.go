// Package bfftest runs a BFF in-process against the real services for
// tests and benchmarks: it counts the upstream requests per service and
// sends the clients' documents (with the fragments they use) as the
// frontends do. With Options.Proxies a fault-injecting proxy
// (internal/testutil/faultproxy) stands before each service, and
// FaultSuite runs a client's operations under every fault of Faults.
package bfftest

import (
	"net/http"
	"sync"
)

// Counter is an http.RoundTripper that counts requests per service, named
// by their host.
type Counter struct {
	next   http.RoundTripper
	names  map[string]string
	mu     sync.Mutex
	counts map[string]int
	paths  []string
}

// NewCounter counts requests to the hosts in names (host:port → service
// name) and sends them on with next.
func NewCounter(next http.RoundTripper, names map[string]string) *Counter {
	return &Counter{next: next, names: names, counts: map[string]int{}}
}

// RoundTrip counts the request and sends it on.
func (c *Counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	name := c.names[r.URL.Host]
	if name == "" {
		name = r.URL.Host
	}
	c.counts[name]++
	c.paths = append(c.paths, r.Method+" "+name+" "+r.URL.RequestURI())
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// CloseIdleConnections passes on to the next transport.
func (c *Counter) CloseIdleConnections() {
	if ci, ok := c.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Reset sets every count back to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int{}
	c.paths = nil
}

// Total returns the number of requests since the last Reset.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// Of returns the number of requests to one service since the last Reset.
func (c *Counter) Of(service string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[service]
}

// Requests returns "METHOD service path?query" for each request since the last
// Reset, in order, for failure messages.
func (c *Counter) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.paths...)
}
