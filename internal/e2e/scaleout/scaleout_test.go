package scaleout_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
	"github.com/acme/bff-gateway/internal/seed"
)

// The demo accounts.
var ada, grace = seed.FixedAccounts[1], seed.FixedAccounts[2]

// TestScaleOut starts the scaled-out stack once and runs its checks in
// turn (each builds on a stack the previous ones left whole).
func TestScaleOut(t *testing.T) {
	s := startStack(t)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	web, mobile := s.lb.FrontendURL("web"), s.lb.FrontendURL("mobile")

	t.Run("a session made on one replica is everyone's, and ends everywhere", func(t *testing.T) {
		cookie := webLogin(t, client, web, ada.Email, ada.Password, "203.0.113.10")
		// Every replica, asked directly, knows the session.
		for _, p := range s.web {
			a := mustPost(t, client, p.URL(), request{Query: webDocs["Dashboard"], Header: headers("Cookie", cookie)})
			if !a.ok() || !strings.Contains(string(a.Data), ada.Email) {
				t.Errorf("Dashboard on %s with the session made through the balancer: %s", p.Name, a)
			}
		}
		// Signed out through the balancer (whichever replica it picks)...
		if a := mustPost(t, client, web, request{Query: webDocs["Logout"], Header: headers("Cookie", cookie)}); !a.ok() {
			t.Fatalf("Logout: %s", a)
		}
		// ...the session is over on every replica.
		for _, p := range s.web {
			a := mustPost(t, client, p.URL(), request{Query: webDocs["Dashboard"], Header: headers("Cookie", cookie)})
			if a.code() != "UNAUTHENTICATED" {
				t.Errorf("Dashboard on %s after Logout: %s; want UNAUTHENTICATED", p.Name, a)
			}
		}
	})

	t.Run("sign-in limits are exact across replicas and keyed on X-Forwarded-For", func(t *testing.T) {
		attempt := func(from string, i int) answer {
			return mustPost(t, client, web, request{
				Query:     webDocs["Login"],
				Variables: map[string]any{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong"},
				Header:    headers("X-Forwarded-For", from),
			})
		}
		const tries = 4 * webReplicas
		allowed := 0
		for i := range tries {
			switch a := attempt("198.51.100.20", i); a.code() {
			case "UNAUTHENTICATED":
				allowed++
			case "RATE_LIMITED":
				if a.Status != http.StatusTooManyRequests {
					t.Errorf("a refused sign-in answered %d", a.Status)
				}
			default:
				t.Fatalf("sign-in attempt %d: %s", i, a)
			}
		}
		if allowed != loginBudget {
			t.Errorf("%d of %d sign-ins from one address through %d replicas were allowed; the budget is %d in all",
				allowed, tries, webReplicas, loginBudget)
		}
		// Another client address behind the same balancer has its own budget.
		if a := attempt("198.51.100.21", tries); a.code() != "UNAUTHENTICATED" {
			t.Errorf("a first sign-in from another address: %s; want UNAUTHENTICATED", a)
		}
	})

	t.Run("the address limit is exact across replicas", func(t *testing.T) {
		before := webSessionsServed(t, s)
		const tries = 2 * addressBurst
		allowed := 0
		for i := range tries {
			a := mustPost(t, client, web, request{
				Query:  `{ featuredProducts(first: 1) { id } }`,
				Header: headers("X-Forwarded-For", "198.51.100.30"),
			})
			switch {
			case a.ok():
				allowed++
			case a.Status == http.StatusTooManyRequests && a.code() == "RATE_LIMITED":
			default:
				t.Fatalf("request %d: %s", i, a)
			}
		}
		if allowed != addressBurst {
			t.Errorf("%d of %d requests from one address were allowed; the budget is %d in all", allowed, tries, addressBurst)
		}
		after := webSessionsServed(t, s)
		for name, n := range after {
			if n-before[name] < tries/webReplicas-1 {
				t.Errorf("haproxy gave %s %d of the %d requests: not round robin", name, n-before[name], tries)
			}
		}
	})

	t.Run("a document registered by APQ on one replica is found on the others", func(t *testing.T) {
		const doc = "query FeaturedIDs { featuredProducts(first: 3) { id name } }"
		sum := sha256.Sum256([]byte(doc))
		hash := hex.EncodeToString(sum[:])
		if a := mustPost(t, client, s.web[0].URL(), request{Query: doc, Hash: hash}); !a.ok() {
			t.Fatalf("register on %s: %s", s.web[0].Name, a)
		}
		for _, base := range []string{s.web[1].URL(), s.web[2].URL(), web} {
			a := mustPost(t, client, base, request{Hash: hash})
			if !a.ok() || !strings.Contains(string(a.Data), `"featuredProducts"`) {
				t.Errorf("by hash alone on %s: %s", base, a)
			}
		}
		// A hash nobody registered is still unknown.
		other := sha256.Sum256([]byte(doc + " "))
		if a := mustPost(t, client, s.web[1].URL(), request{Hash: hex.EncodeToString(other[:])}); a.code() != "PERSISTED_QUERY_NOT_FOUND" {
			t.Errorf("an unregistered hash: %s", a)
		}
	})

	// Sessions and tokens for what follows.
	targets := loadTargets{web: web, mobile: mobile}
	for i, acct := range []seed.Account{ada, grace} {
		from := fmt.Sprintf("203.0.113.%d", 40+i)
		targets.cookies = append(targets.cookies, webLogin(t, client, web, acct.Email, acct.Password, from))
		targets.tokens = append(targets.tokens, mobileLogin(t, client, mobile, acct.Email, acct.Password, from))
	}

	t.Run("Redis round trips per operation", func(t *testing.T) {
		const n = 20
		addr := 0
		send := func(p *cluster.Process, r request) {
			t.Helper()
			// Each from an address of its own, so that none meets the
			// address limit.
			addr++
			r.Header = r.Header.Clone()
			r.Header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", addr))
			if a := mustPost(t, client, p.URL(), r); !a.ok() {
				t.Fatalf("%s: %s", p.Name, a)
			}
		}
		measure := func(p *cluster.Process, r request) float64 {
			t.Helper()
			send(p, r) // warm the caches
			before := redisRoundTrips(t, p)
			for range n {
				send(p, r)
			}
			return (redisRoundTrips(t, p) - before) / n
		}
		_, dashboard := targets.request(0)
		_, search := targets.request(2)
		_, home := targets.request(1)
		for _, m := range []struct {
			name string
			p    *cluster.Process
			r    request
			// most is the bound: the address limit, the operation
			// limit and, signed in on the web, the session.
			most float64
		}{
			{"web Dashboard (signed in)", s.web[0], dashboard, 3},
			{"web ProductSearch (anonymous)", s.web[0], search, 2},
			{"mobile Home (signed in)", s.mobile[0], home, 2},
		} {
			got := measure(m.p, m.r)
			t.Logf("%s: %.2f Redis round trips per operation (warm caches)", m.name, got)
			if got < 1 || got > m.most {
				t.Errorf("%s: %.2f Redis round trips per operation; want 1 to %g", m.name, got, m.most)
			}
		}
	})

	t.Run("rolling restart under load: no failed request", func(t *testing.T) {
		l := startLoad(targets)
		time.Sleep(time.Second) // a steady state first
		for _, p := range s.replicas() {
			restartUnderLoad(t, s, p)
		}
		time.Sleep(time.Second)
		l.stop()
		sent, failed := l.sent.Load(), l.failed.Load()
		t.Logf("rolling restart of %d replicas under load: %d requests sent, %d failed", len(s.replicas()), sent, failed)
		if sent < loadRate*5 {
			t.Errorf("only %d requests sent: the load did not run", sent)
		}
		if failed != 0 {
			t.Errorf("%d of %d requests failed during the rolling restart; first ones:\n%s", failed, sent, strings.Join(l.firstFailures(), "\n"))
		}
	})

	t.Run("a replica killed under load costs at most its requests in flight", func(t *testing.T) {
		l := startLoad(targets)
		time.Sleep(time.Second)
		victim := s.web[1]
		inFlight := l.inFlight.Load() // all replicas': a bound of the victim's
		sentBefore := l.sent.Load()
		victim.Kill()
		killed := time.Now()
		down := s.lb.WaitServerState(t, "web", victim.Addr, "DOWN", 10*time.Second)
		time.Sleep(2 * time.Second)
		l.stop()
		sent, failed := l.sent.Load(), l.failed.Load()
		t.Logf("SIGKILL of %s under load: DOWN in haproxy %s after; %d requests sent, %d failed (%d in flight at the kill)",
			victim.Name, down.Round(time.Millisecond), sent, failed, inFlight)
		if failed > inFlight {
			t.Errorf("%d requests failed after the kill, more than the %d in flight; first ones:\n%s", failed, inFlight, strings.Join(l.firstFailures(), "\n"))
		}
		if sent-sentBefore < loadRate {
			t.Errorf("only %d requests answered in the %s after the kill", sent-sentBefore, time.Since(killed).Round(time.Millisecond))
		}
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		s.lb.WaitServerState(t, "web", victim.Addr, "UP", 10*time.Second)
	})

	t.Run("the shared stores' metrics are exported", func(t *testing.T) {
		for _, p := range []*cluster.Process{s.web[0], s.mobile[0]} {
			metrics := scrape(t, p)
			for _, family := range []string{"bff_redis_command_duration_seconds_bucket{", `bff_shared_store_errors_total{store="ratelimit"}`} {
				if !strings.Contains(metrics, family) {
					t.Errorf("%s does not export %s", p.Name, family)
				}
			}
		}
		if !strings.Contains(scrape(t, s.web[0]), `bff_shared_store_errors_total{store="session"}`) {
			t.Errorf("%s does not count session store errors", s.web[0].Name)
		}
	})

}

// restartUnderLoad stops p with SIGTERM and starts it again, measuring
// how long HAProxy took to take it out of rotation, how long it took to
// exit (its drain), to be ready again and to be back in rotation.
func restartUnderLoad(t *testing.T, s *stack, p *cluster.Process) {
	t.Helper()
	fe := s.frontend(p)
	start := time.Now()
	stopped := make(chan time.Duration, 1)
	go func() { p.Stop(); stopped <- time.Since(start) }()
	down := s.lb.WaitServerState(t, fe, p.Addr, "DOWN", 10*time.Second)
	exited := <-stopped
	if err := p.Wait(0); err != nil {
		t.Errorf("%s exited with %v on SIGTERM", p.Name, err)
	}
	startedAt := time.Now()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(startedAt)
	up := s.lb.WaitServerState(t, fe, p.Addr, "UP", 10*time.Second)
	t.Logf("%s: out of rotation %s after SIGTERM, exited after %s (DRAIN_DELAY=%s); started again: ready in %s, back in rotation %s later",
		p.Name, down.Round(time.Millisecond), exited.Round(time.Millisecond), cluster.DefaultDrainDelay,
		ready.Round(time.Millisecond), up.Round(time.Millisecond))
	if down >= exited {
		t.Errorf("%s: haproxy took it out of rotation (%s) only after it exited (%s): the drain delay is too short", p.Name, down, exited)
	}
}

// webSessionsServed is how many requests HAProxy gave each web replica.
func webSessionsServed(t *testing.T, s *stack) map[string]int64 {
	t.Helper()
	states, err := s.lb.ServerStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, st := range states {
		if st.Backend == "web" {
			out[st.Server] = st.Sessions
		}
	}
	return out
}

// scrape returns the metrics p's admin listener exports.
func scrape(t *testing.T, p *cluster.Process) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.AdminURL()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", p.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s %v", p.Name, resp.Status, err)
	}
	return string(b)
}
