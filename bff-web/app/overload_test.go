package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

// shot is one request of a load: its status, code and duration.
type shot struct {
	status int
	code   string
	took   time.Duration
}

// fire sends the Dashboard of c's session and returns what came back.
func fire(ctx context.Context, env *bfftest.Env, c *bfftest.Client, doc string) shot {
	body, _ := json.Marshal(map[string]string{"query": doc})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+"/graphql", strings.NewReader(string(body)))
	if err != nil {
		return shot{}
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return shot{took: time.Since(start)}
	}
	defer resp.Body.Close()
	var out struct {
		Errors []bfftest.Error `json:"errors"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	s := shot{status: resp.StatusCode, took: time.Since(start)}
	if len(out.Errors) > 0 {
		s.code = out.Errors[0].Code()
	}
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "1" {
		s.code += " (no Retry-After: 1)"
	}
	return s
}

// TestOverloadIsShed: with two operations allowed at once and slow
// services, a burst of 24 Dashboards gets answers for some and a 503
// OVERLOADED with Retry-After for the others, and the probes still
// answer while it is saturated.
func TestOverloadIsShed(t *testing.T) {
	t.Parallel()
	env := bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Seed: testSeed, Latency: "100ms"},
		Configure: func(c *config.Config) {
			c.Limits.MaxInFlight = 2
			c.RateLimit.Enabled = false
		},
	})
	c := login(t, env, adaEmail, adaPassword)
	doc, err := env.Ops.Document("Dashboard")
	if err != nil {
		t.Fatal(err)
	}
	shots := make([]shot, 24)
	var wg sync.WaitGroup
	for i := range shots {
		wg.Go(func() { shots[i] = fire(t.Context(), env, c, doc) })
	}
	// While the burst is served, the probes are not shed.
	time.Sleep(50 * time.Millisecond)
	for _, probe := range []string{"/healthz", "/readyz"} {
		if status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, env.URL+probe, "", nil, nil); status != http.StatusOK {
			t.Errorf("GET %s while saturated: %d %s", probe, status, body)
		}
	}
	wg.Wait()
	served, shed := 0, 0
	for i, s := range shots {
		switch {
		case s.status == http.StatusOK && s.code == "":
			served++
		case s.status == http.StatusServiceUnavailable && s.code == "OVERLOADED":
			shed++
		default:
			t.Errorf("request %d: %d %q", i, s.status, s.code)
		}
	}
	if served < 2 || shed == 0 {
		t.Errorf("%d served and %d shed of 24; want at least the 2 allowed served and the rest shed", served, shed)
	}
	if m := testutil.Metrics(t, env.AdminURL); !strings.Contains(m, fmt.Sprintf("bff_overload_refusals_total %d", shed)) {
		t.Errorf("the metrics do not count the %d refusals", shed)
	}
}

// BenchmarkOverload measures load shedding on the web BFF's Dashboard,
// in-process with its services: first the rate that saturates it
// (closed loops of 1 to 32 clients), then an open-loop load of three
// times that rate. Reported: the saturation rate and its p99, the p99 of
// the requests admitted under the overload, the p99 of the refusals, and
// the share refused. BENCH_OVERLOAD_PHASE sets each phase's length (1s by
// default; make bench-overload: 3s).
func BenchmarkOverload(b *testing.B) {
	phase := time.Second
	if v, err := time.ParseDuration(os.Getenv("BENCH_OVERLOAD_PHASE")); err == nil && v > 0 {
		phase = v
	}
	env := bfftest.Start(b, bfftest.Options{
		Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Seed: testSeed},
		Configure: func(c *config.Config) {
			c.RateLimit.Enabled = false
			if n, err := strconv.Atoi(os.Getenv("BENCH_OVERLOAD_MAX_IN_FLIGHT")); err == nil && n > 0 {
				c.Limits.MaxInFlight = n
			}
		},
	})
	c := login(b, env, adaEmail, adaPassword)
	c.HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 512}
	doc, err := env.Ops.Document("Dashboard")
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for b.Loop() {
		// Saturation: the closed loop with the best rate.
		var satRate float64
		var satP99 time.Duration
		satClients := 0
		for _, clients := range []int{1, 2, 4, 8, 16, 32} {
			var mu sync.Mutex
			var took []time.Duration
			deadline := time.Now().Add(phase)
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for time.Now().Before(deadline) {
						s := fire(ctx, env, c, doc)
						if s.status == http.StatusOK {
							mu.Lock()
							took = append(took, s.took)
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			rate := float64(len(took)) / phase.Seconds()
			if rate > satRate*1.05 {
				satRate, satP99, satClients = rate, p99(took), clients
			}
		}
		// Overload: three times that rate, open loop.
		rate := 3 * satRate
		n := int(rate * phase.Seconds())
		gap := time.Duration(float64(time.Second) / rate)
		shots := make([]shot, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
			wg.Go(func() { shots[i] = fire(ctx, env, c, doc) })
		}
		wg.Wait()
		var admitted, refused []time.Duration
		for _, s := range shots {
			switch s.status {
			case http.StatusOK:
				admitted = append(admitted, s.took)
			case http.StatusServiceUnavailable:
				refused = append(refused, s.took)
			}
		}
		b.ReportMetric(satRate, "sat_req/s")
		b.ReportMetric(float64(satClients), "sat_clients")
		b.ReportMetric(ms(satP99), "sat_p99_ms")
		b.ReportMetric(ms(p99(admitted)), "over_admitted_p99_ms")
		b.ReportMetric(ms(p99(refused)), "over_refused_p99_ms")
		b.ReportMetric(100*float64(len(refused))/float64(max(n, 1)), "over_shed_%")
	}
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
