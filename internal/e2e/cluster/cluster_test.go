package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }

// leakCheck runs body as a subtest and then checks that every process it
// reported with track is gone and that no goroutine it started is left.
func leakCheck(t *testing.T, body func(t *testing.T, track func(*cluster.Process))) {
	t.Helper()
	before := runtime.NumGoroutine()
	var mu sync.Mutex
	var procs []*cluster.Process
	track := func(p *cluster.Process) { mu.Lock(); procs = append(procs, p); mu.Unlock() }
	if !t.Run("run", func(t *testing.T) { body(t, track) }) {
		return
	}
	if len(procs) == 0 {
		return // skipped
	}
	for _, p := range procs {
		if p.Running() {
			t.Errorf("%s (pid %d) still running after its test", p.Name, p.Pid())
		}
		// Reaped: not even a zombie is left.
		if err := syscall.Kill(p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s: pid %d still exists after its test (kill 0: %v)", p.Name, p.Pid(), err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left behind (%d before, %d after):\n%s", n-before, before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestRedisStopsAndStartsOnTheSamePort(t *testing.T) {
	leakCheck(t, func(t *testing.T, track func(*cluster.Process)) {
		ctx := t.Context()
		r := cluster.StartRedis(t)
		track(r.Process)
		if !strings.HasPrefix(r.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(r.URL(), "/0") {
			t.Errorf("URL %q", r.URL())
		}
		if _, err := r.Do(ctx, "SET", "k", "v"); err != nil {
			t.Fatal(err)
		}
		if v, err := r.Do(ctx, "GET", "k"); err != nil || v != "v" {
			t.Fatalf("GET k: %v, %v", v, err)
		}
		if _, err := r.Do(ctx, "NOSUCHCOMMAND"); !errors.Is(err, cluster.ErrRedis) {
			t.Errorf("an unknown command: %v, want a Redis error", err)
		}

		addr, pid := r.Addr, r.Pid()
		r.Stop()
		if r.Running() {
			t.Fatal("running after Stop")
		}
		if err := r.Wait(0); err != nil {
			t.Errorf("redis-server exited with %v on SIGTERM", err)
		}
		if _, err := r.Do(ctx, "PING"); err == nil {
			t.Fatal("PING answered after Stop")
		}
		start := time.Now()
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		t.Logf("redis-server ready again in %s", time.Since(start).Round(time.Millisecond))
		if r.Addr != addr || r.Pid() == pid {
			t.Errorf("after Start: %s pid %d, before %s pid %d", r.Addr, r.Pid(), addr, pid)
		}
		if v, err := r.Do(ctx, "GET", "k"); err != nil || v != nil {
			t.Errorf("GET k after a restart: %v, %v; want nil (nothing is saved)", v, err)
		}

		r.Kill()
		if err := r.Wait(0); err == nil || r.Running() {
			t.Errorf("after Kill: running %v, exit %v", r.Running(), err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		if v, err := r.Do(ctx, "PING"); err != nil || v != "PONG" {
			t.Errorf("PING: %v, %v", v, err)
		}
		if !strings.Contains(r.Log(), "=== cluster: redis started (run 3") {
			t.Errorf("the log does not mark the third run:\n%s", r.Log())
		}
	})
}

// gql posts a GraphQL query to url+"/graphql" and returns the status and
// the decoded answer.
func gql(t *testing.T, client *http.Client, url, query string, header ...string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/graphql", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s/graphql: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if err := json.Unmarshal(b, &answer); err != nil {
		t.Fatalf("POST %s/graphql: %s: %v\n%s", url, resp.Status, err, b)
	}
	return resp.StatusCode, answer
}

// field returns the value at path in a decoded JSON answer (the zero T
// when there is none).
func field[T any](v any, path ...string) T {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	t, _ := v.(T)
	return t
}

// errorCode is the extensions.code of the answer's first error ("" when none).
func errorCode(answer map[string]any) string {
	errs := field[[]any](answer, "errors")
	if len(errs) == 0 {
		return ""
	}
	return field[string](errs[0], "extensions", "code")
}

const mobileKey = "dev-mobile-app-key"

func TestBFFReplicasBehindHAProxy(t *testing.T) {
	leakCheck(t, func(t *testing.T, track func(*cluster.Process)) {
		cluster.Require(t, "haproxy")
		bins := cluster.Build(t)

		start := time.Now()
		svcs := cluster.StartServices(t, bins, cluster.ServiceOptions{})
		t.Logf("the three services ready in %s", time.Since(start).Round(time.Millisecond))
		// The BFFs believe HAProxy's X-Forwarded-For, and allow one
		// sign-in attempt a minute per address (to see which address
		// they take a request to come from).
		conf := cluster.BFFConfig(t, "http:\n  trusted_proxies: [127.0.0.1/32]\nrate_limit:\n  login_per_ip_per_minute: 1\n")
		start = time.Now()
		web1 := cluster.StartBFF(t, bins, svcs, "web", conf)
		t.Logf("a web BFF ready in %s", time.Since(start).Round(time.Millisecond))
		web2 := cluster.StartBFF(t, bins, svcs, "web", conf)
		mobile := cluster.StartBFF(t, bins, svcs, "mobile", conf)
		if web1.Name != "bff-web-1" || web2.Name != "bff-web-2" || mobile.Name != "bff-mobile-1" {
			t.Errorf("names %s, %s, %s", web1.Name, web2.Name, mobile.Name)
		}

		// A stand-in server shows what HAProxy sends a server.
		var forwarded sync.Map // X-Forwarded-For seen, by path
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			forwarded.Store(r.URL.Path, r.Header.Values("X-Forwarded-For"))
			_, _ = io.WriteString(w, `{"data":{}}`)
		}))
		t.Cleanup(echo.Close)

		start = time.Now()
		h := cluster.StartHAProxy(t, []cluster.Frontend{
			{Name: "web", Servers: []string{web1.Addr, web2.Addr}},
			{Name: "mobile", Servers: []string{mobile.Addr}},
			{Name: "echo", Servers: []string{strings.TrimPrefix(echo.URL, "http://")}},
		})
		t.Logf("haproxy answering in %s, its servers UP %s later", time.Since(start).Round(time.Millisecond),
			h.WaitServersUp(t, 10*time.Second).Round(time.Millisecond))
		for _, p := range []*cluster.Process{svcs.User, svcs.Product, svcs.Order, web1, web2, mobile, h.Process} {
			track(p)
		}

		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		t.Cleanup(client.CloseIdleConnections)

		t.Run("a query through each frontend", func(t *testing.T) {
			status, answer := gql(t, client, h.FrontendURL("web"), `{ featuredProducts(first: 2) { id } }`)
			featured := field[[]any](answer, "data", "featuredProducts")
			if status != http.StatusOK || len(featured) != 2 {
				t.Fatalf("web: %d %v", status, answer)
			}
			id := field[string](featured[0].(map[string]any), "id")
			query := fmt.Sprintf(`{ product(id: %q) { id name } }`, id)
			status, answer = gql(t, client, h.FrontendURL("mobile"), query, "X-API-Key", mobileKey)
			if status != http.StatusOK || field[string](answer, "data", "product", "id") != id {
				t.Errorf("mobile: %d %v", status, answer)
			}
			status, answer = gql(t, client, h.FrontendURL("mobile"), query)
			if status != http.StatusUnauthorized || errorCode(answer) != "INVALID_API_KEY" {
				t.Errorf("mobile without a key: %d %v", status, answer)
			}
			// Round robin: both web replicas served.
			for range 4 {
				gql(t, client, h.FrontendURL("web"), `{ featuredProducts(first: 1) { id } }`)
			}
			states, err := h.ServerStates(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range states {
				if s.Backend == "web" && s.Sessions < 2 {
					t.Errorf("web server %s (%s) served %d requests of 5", s.Server, s.Addr, s.Sessions)
				}
			}
		})

		t.Run("X-Forwarded-For reaches the servers", func(t *testing.T) {
			gql(t, client, h.FrontendURL("echo"), `{ a }`, "X-Forwarded-For", "203.0.113.9")
			v, _ := forwarded.Load("/graphql")
			if got := fmt.Sprint(v); got != "[203.0.113.9 127.0.0.1]" {
				t.Errorf("X-Forwarded-For at the server: %s, want the client's own then HAProxy's [203.0.113.9 127.0.0.1]", got)
			}
			// The web BFF limits sign-ins by the address HAProxy forwards
			// (the right-most one it does not trust), not by HAProxy's own.
			login := func(from, email string) (int, string) {
				status, answer := gql(t, client, h.FrontendURL("web"),
					fmt.Sprintf(`mutation { login(email: %q, password: "wrong") { viewer { id } } }`, email),
					"X-Forwarded-For", from)
				return status, errorCode(answer)
			}
			// Through both replicas: each has its own limits (in memory).
			for i := range 2 {
				if _, code := login("198.51.100.1", fmt.Sprintf("nobody%d@example.com", i)); code != "UNAUTHENTICATED" {
					t.Errorf("a first sign-in from 198.51.100.1 through %s: %s, want UNAUTHENTICATED", []string{"web1", "web2"}[i], code)
				}
			}
			if status, code := login("198.51.100.1", "nobody3@example.com"); status != http.StatusTooManyRequests || code != "RATE_LIMITED" {
				t.Errorf("a second sign-in from 198.51.100.1: %d %s, want 429 RATE_LIMITED", status, code)
			}
			if _, code := login("198.51.100.2", "nobody4@example.com"); code != "UNAUTHENTICATED" {
				t.Errorf("a first sign-in from 198.51.100.2: %s, want UNAUTHENTICATED", code)
			}
		})

		t.Run("a killed replica goes DOWN, and UP again once started", func(t *testing.T) {
			web1.Kill()
			killed := time.Now()
			// Meanwhile every request is answered: one sent to the dead
			// replica is retried on the other.
			for i := range 10 {
				if status, answer := gql(t, client, h.FrontendURL("web"), `{ featuredProducts(first: 1) { id } }`); status != http.StatusOK {
					t.Errorf("request %d after the kill: %d %v", i, status, answer)
				}
			}
			h.WaitServerState(t, "web", web1.Addr, "DOWN", 5*time.Second)
			t.Logf("HAProxy marked the killed replica DOWN %s after SIGKILL", time.Since(killed).Round(time.Millisecond))

			started := time.Now()
			if err := web1.Start(); err != nil {
				t.Fatal(err)
			}
			ready := time.Since(started)
			up := h.WaitServerState(t, "web", "web1", "UP", 5*time.Second)
			t.Logf("restarted: ready in %s, UP in HAProxy %s later", ready.Round(time.Millisecond), up.Round(time.Millisecond))
			st, err := h.ServerState(t.Context(), "web", "web1")
			if err != nil {
				t.Fatal(err)
			}
			if st.Downs != 1 || st.Addr != web1.Addr {
				t.Errorf("web1: %+v; want one transition to DOWN, at %s", st, web1.Addr)
			}
			if !strings.Contains(web1.Log(), "run 2, pid") {
				t.Errorf("web1's log does not mark its second run")
			}
		})

		t.Run("a stopped replica exits cleanly", func(t *testing.T) {
			start := time.Now()
			web2.Stop()
			if err := web2.Wait(0); err != nil {
				t.Errorf("bff-web exited with %v on SIGTERM; its log:\n%s", err, web2.Log())
			}
			t.Logf("bff-web stopped %s after SIGTERM (DRAIN_DELAY=%s)", time.Since(start).Round(time.Millisecond), cluster.DefaultDrainDelay)
			h.WaitServerState(t, "web", web2.Addr, "DOWN", 5*time.Second)
		})
	})
}

// fakeTB records what Require does with a test.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skip(args ...any)                  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestRequireSkipsOrFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	if p := cluster.Require(f, "haproxy-of-nowhere"); p != "" || f.fatal != "" ||
		!strings.Contains(f.skipped, "apt-get install haproxy-of-nowhere") {
		t.Errorf("without CI: %q, skipped %q, fatal %q", p, f.skipped, f.fatal)
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	if cluster.Require(f, "redis-server-of-nowhere"); f.skipped != "" || !strings.Contains(f.fatal, "CI is set") {
		t.Errorf("under CI: skipped %q, fatal %q", f.skipped, f.fatal)
	}
}

func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := cluster.FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
