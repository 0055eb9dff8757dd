package app_test

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

// startWebOnRedis starts the web BFF sharing its state in the Redis at
// url, under prefix, on the services of svcs (nil: services of its own).
func startWebOnRedis(t *testing.T, url, prefix string, svcs *servicetest.Stack) *bfftest.Env {
	t.Helper()
	return bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack:    servicetest.StackOptions{Seed: testSeed},
		Services: svcs,
		RedisURL: url, RedisPrefix: prefix,
		Configure: func(c *config.Config) {
			c.Redis.Timeout = 200 * time.Millisecond
		},
	})
}

// TestWhenRedisFails runs the web BFF on a real Redis and takes Redis
// away under it: frozen (SIGSTOP: every call times out), then stopped
// and started again empty. Throughout, public fields answer and the rate
// limits let requests through; what needs the session answers
// SERVICE_UNAVAILABLE without signing anyone out; the failures are
// counted. When Redis is back everything works again by itself: after the
// freeze the same session, after the empty restart a new sign-in.
func TestWhenRedisFails(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	env := startWebOnRedis(t, rds.URL(), "bff-web-fails", nil)
	ada := login(t, env, adaEmail, adaPassword)
	wantOK(t, ada.Op(t, "Dashboard", nil))

	degraded := func(what string) {
		t.Helper()
		r := ada.Op(t, "Dashboard", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: Dashboard status %d: %s", what, r.Status, r.Raw)
		}
		wantError(t, r, "viewer", "SERVICE_UNAVAILABLE")
		if !strings.Contains(string(r.Data), `"featuredProducts":[{`) {
			t.Errorf("%s: featuredProducts did not answer: %s", what, r.Data)
		}
		if cookies := r.Header.Values("Set-Cookie"); len(cookies) != 0 {
			t.Errorf("%s: the answer sets cookies %q: a failed store must not sign anyone out", what, cookies)
		}
		// Sign-out cannot end the session: it says so, and keeps the cookie.
		out := ada.Op(t, "Logout", nil)
		wantError(t, out, "logout", "SERVICE_UNAVAILABLE")
		if cookies := out.Header.Values("Set-Cookie"); len(cookies) != 0 {
			t.Errorf("%s: a sign-out that failed set cookies %q", what, cookies)
		}
	}

	// Frozen: every call times out.
	if err := rds.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	degraded("Redis frozen")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Dashboard and Logout with Redis frozen took %s: the Redis timeout does not bound them", elapsed)
	}
	if err := rds.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the same session works again after the freeze", func() bool {
		r := ada.Op(t, "Dashboard", nil)
		return r.Status == http.StatusOK && len(r.Errors) == 0
	})

	// Stopped.
	rds.Stop()
	degraded("Redis stopped")
	metrics := testutil.Metrics(t, env.AdminURL)
	for _, store := range []string{"session", "ratelimit"} {
		if !strings.Contains(metrics, `bff_shared_store_errors_total{store="`+store+`"} `) ||
			strings.Contains(metrics, `bff_shared_store_errors_total{store="`+store+`"} 0`+"\n") {
			t.Errorf("no failure of the %s store counted", store)
		}
	}

	// Started again, empty: the old session is gone (a real sign-out this
	// time: Redis lost it), a new sign-in works.
	if err := rds.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Redis answers the BFF again", func() bool {
		r := ada.Op(t, "Dashboard", nil)
		e, ok := r.ErrorAt("viewer")
		return ok && e.Code() == "UNAUTHENTICATED"
	})
	again := login(t, env, adaEmail, adaPassword)
	wantOK(t, again.Op(t, "Dashboard", nil))
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicasShareState runs two web BFFs on one Redis: a session made
// on one works on the other and ends on both; a document registered by
// APQ on one is found by hash on the other.
func TestReplicasShareState(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	a := startWebOnRedis(t, rds.URL(), "bff-web-share", nil)
	b := startWebOnRedis(t, rds.URL(), "bff-web-share", a.Stack)

	onA := login(t, a, adaEmail, adaPassword)
	onB := b.NewClient()
	onB.HTTP.Jar = onA.HTTP.Jar // the browser's cookies (kept by host, whatever the port)
	wantOK(t, onB.Op(t, "Dashboard", nil))
	wantOK(t, onB.Op(t, "Logout", nil))
	r := onA.Op(t, "Dashboard", nil)
	wantError(t, r, "viewer", "UNAUTHENTICATED")

	const doc = "query Featured { featuredProducts(first: 2) { id name } }"
	register := a.NewClient().Post(t, persisted(doc, sha(doc)), "application/json")
	wantOK(t, register)
	byHash := b.NewClient().Post(t, persisted("", sha(doc)), "application/json")
	wantOK(t, byHash)
	if !strings.Contains(string(byHash.Data), `"featuredProducts"`) {
		t.Errorf("the other replica's answer by hash: %s", byHash.Raw)
	}
}
