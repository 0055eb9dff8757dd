package scaleout_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A load is a steady mix of web and mobile operations sent through the
// balancer by a few workers at a fixed rate, until it is stopped or its
// time runs out. A request failed when it got no answer, an answer other
// than 200, or an answer with errors.
type load struct {
	sent, failed, inFlight atomic.Int64

	mu       sync.Mutex
	failures []string // the first few, for the test's log

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Bounds of a load.
const (
	loadWorkers = 8
	// loadRate is requests a second, all workers together.
	loadRate = 80
	// loadMaxDuration stops a load whoever forgets to.
	loadMaxDuration = 2 * time.Minute
	// loadAddresses is how many client addresses (X-Forwarded-For) the
	// requests are spread over, each with its own address limit of
	// addressBurst: the load may send loadAddresses*addressBurst requests.
	loadAddresses = 400
	keptFailures  = 20
)

// loadTargets are the sessions and tokens a load signs in with.
type loadTargets struct {
	web, mobile     string   // the frontends' URLs
	cookies, tokens []string // web sessions, mobile bearer tokens
}

// startLoad starts a load on targets.
func startLoad(targets loadTargets) *load {
	ctx, cancel := context.WithTimeout(context.Background(), loadMaxDuration)
	l := &load{cancel: cancel}
	client := &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers, MaxConnsPerHost: 2 * loadWorkers},
	}
	interval := time.Duration(float64(time.Second) * loadWorkers / loadRate)
	var n atomic.Int64
	for w := range loadWorkers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			// Workers start spread over one interval.
			next := time.Now().Add(interval * time.Duration(w) / loadWorkers)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(interval)
				i := n.Add(1)
				base, r := targets.request(i)
				l.inFlight.Add(1)
				a, err := post(ctx, client, base, r)
				l.inFlight.Add(-1)
				if ctx.Err() != nil && err != nil {
					return // stopped mid-request: not the server's fault
				}
				l.sent.Add(1)
				switch {
				case err != nil:
					l.fail(fmt.Sprintf("request %d: %v", i, err))
				case !a.ok():
					l.fail(fmt.Sprintf("request %d: %s", i, a))
				}
			}
		}()
	}
	go func() { l.done.Wait(); client.CloseIdleConnections() }()
	return l
}

// request is the i-th request of the mix: web Dashboard (signed in),
// mobile Home (signed in), web ProductSearch (anonymous), mobile Home;
// each from the next of loadAddresses client addresses.
func (t loadTargets) request(i int64) (string, request) {
	from := fmt.Sprintf("10.77.%d.%d", (i%loadAddresses)/200, (i%loadAddresses)%200+1)
	pick := func(xs []string) string { return xs[int(i/4)%len(xs)] }
	switch i % 4 {
	case 0:
		return t.web, request{Query: webDocs["Dashboard"], Header: headers("Cookie", pick(t.cookies), "X-Forwarded-For", from)}
	case 2:
		return t.web, request{Query: webDocs["ProductSearch"], Variables: map[string]any{"first": 5}, Header: headers("X-Forwarded-For", from)}
	default:
		return t.mobile, request{Query: mobileDocs["Home"], Header: headers(
			"Authorization", "Bearer "+pick(t.tokens), "X-API-Key", mobileKey, "X-Forwarded-For", from)}
	}
}

func (l *load) fail(what string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < keptFailures {
		l.failures = append(l.failures, what)
	}
	l.mu.Unlock()
}

// stop stops the load and waits for its workers.
func (l *load) stop() {
	l.cancel()
	l.done.Wait()
}

// failures returns the first failures.
func (l *load) firstFailures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.failures...)
}
