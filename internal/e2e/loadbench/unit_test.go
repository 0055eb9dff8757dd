package loadbench_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The pure parts of the benchmark, tested without LOADBENCH_OUT.

// metricsBefore and metricsAfter are two scrapes around a run of
// Dashboard: 100 operations of 2 upstream requests in 1.5 waves on
// average; the client histogram counts 200 calls more.
const metricsBefore = `# HELP bff_operation_upstream_requests Calls.
# TYPE bff_operation_upstream_requests histogram
bff_operation_upstream_requests_bucket{client="web",graphql_operation_name="Dashboard",le="+Inf"} 10
bff_operation_upstream_requests_sum{client="web",graphql_operation_name="Dashboard"} 20
bff_operation_upstream_requests_count{client="web",graphql_operation_name="Dashboard"} 10
bff_operation_upstream_requests_bucket{client="web",graphql_operation_name="Login",le="+Inf"} 5
bff_operation_upstream_requests_sum{client="web",graphql_operation_name="Login"} 5
bff_operation_upstream_requests_count{client="web",graphql_operation_name="Login"} 5
# HELP bff_operation_upstream_waves Waves.
# TYPE bff_operation_upstream_waves histogram
bff_operation_upstream_waves_bucket{client="web",graphql_operation_name="Dashboard",le="+Inf"} 10
bff_operation_upstream_waves_sum{client="web",graphql_operation_name="Dashboard"} 15
bff_operation_upstream_waves_count{client="web",graphql_operation_name="Dashboard"} 10
# HELP http_client_request_duration_seconds Calls to services.
# TYPE http_client_request_duration_seconds histogram
http_client_request_duration_seconds_bucket{service="user",le="+Inf"} 30
http_client_request_duration_seconds_sum{service="user"} 0.3
http_client_request_duration_seconds_count{service="user"} 30
http_client_request_duration_seconds_bucket{service="order",le="+Inf"} 12
http_client_request_duration_seconds_sum{service="order"} 0.2
http_client_request_duration_seconds_count{service="order"} 12
`

const metricsAfter = `# HELP bff_operation_upstream_requests Calls.
# TYPE bff_operation_upstream_requests histogram
bff_operation_upstream_requests_bucket{client="web",graphql_operation_name="Dashboard",le="+Inf"} 110
bff_operation_upstream_requests_sum{client="web",graphql_operation_name="Dashboard"} 220
bff_operation_upstream_requests_count{client="web",graphql_operation_name="Dashboard"} 110
bff_operation_upstream_requests_bucket{client="web",graphql_operation_name="Login",le="+Inf"} 5
bff_operation_upstream_requests_sum{client="web",graphql_operation_name="Login"} 5
bff_operation_upstream_requests_count{client="web",graphql_operation_name="Login"} 5
# HELP bff_operation_upstream_waves Waves.
# TYPE bff_operation_upstream_waves histogram
bff_operation_upstream_waves_bucket{client="web",graphql_operation_name="Dashboard",le="+Inf"} 110
bff_operation_upstream_waves_sum{client="web",graphql_operation_name="Dashboard"} 165
bff_operation_upstream_waves_count{client="web",graphql_operation_name="Dashboard"} 110
# HELP http_client_request_duration_seconds Calls to services.
# TYPE http_client_request_duration_seconds histogram
http_client_request_duration_seconds_bucket{service="user",le="+Inf"} 130
http_client_request_duration_seconds_sum{service="user"} 1.3
http_client_request_duration_seconds_count{service="user"} 130
http_client_request_duration_seconds_bucket{service="order",le="+Inf"} 112
http_client_request_duration_seconds_sum{service="order"} 1.2
http_client_request_duration_seconds_count{service="order"} 112
`

func mustParse(t *testing.T, text string) families {
	t.Helper()
	f, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestUpstreamFiguresFromTheOperationHistograms(t *testing.T) {
	before, after := mustParse(t, metricsBefore), mustParse(t, metricsAfter)
	u := upstreamFigures(before, after, "Dashboard", 100)
	if u.method != upstreamRequestsFamily || u.perOp != 2 || u.waves == nil || *u.waves != 1.5 {
		t.Fatalf("Dashboard: %+v (waves %v); want 2 requests and 1.5 waves per operation from the histograms", u, waves(u.waves))
	}
}

func TestUpstreamFiguresFallBackToTheClientHistogram(t *testing.T) {
	before, after := mustParse(t, metricsBefore), mustParse(t, metricsAfter)
	// Login's histogram did not move, and Home has none: both fall back
	// to the 200 calls the client histogram counted, over 50 requests.
	for _, op := range []string{"Login", "Home"} {
		u := upstreamFigures(before, after, op, 50)
		if u.method != clientCallsFamily || u.perOp != 4 || u.waves != nil {
			t.Errorf("%s: %+v; want 4 per operation from %s and no waves", op, u, clientCallsFamily)
		}
	}
	// A BFF without the operation histograms at all.
	old := mustParse(t, metricsBefore[strings.Index(metricsBefore, "# HELP http_client"):])
	oldAfter := mustParse(t, metricsAfter[strings.Index(metricsAfter, "# HELP http_client"):])
	if u := upstreamFigures(old, oldAfter, "Dashboard", 100); u.perOp != 2 || u.waves != nil {
		t.Errorf("without the operation histograms: %+v; want 2 per operation and no waves", u)
	}
}

func TestJudge(t *testing.T) {
	ok := func(_ *vegeta.Result, data json.RawMessage) error { return nil }
	for _, c := range []struct {
		name string
		res  vegeta.Result
		want string // "" for a success
	}{
		{"data", vegeta.Result{Code: 200, Body: []byte(`{"data":{"viewer":{"id":"usr_1"}}}`)}, ""},
		{"errors", vegeta.Result{Code: 200, Body: []byte(`{"data":{"viewer":null},"errors":[{"message":"no","extensions":{"code":"UNAUTHENTICATED"}}]}`)}, "errors: UNAUTHENTICATED"},
		{"status", vegeta.Result{Code: 503, Body: []byte(`{"errors":[{"message":"busy"}]}`)}, "HTTP 503"},
		{"no answer", vegeta.Result{Error: "connection refused"}, "no answer: connection refused"},
		{"null data", vegeta.Result{Code: 200, Body: []byte(`{"data":null}`)}, "no data"},
		{"not JSON", vegeta.Result{Code: 200, Body: []byte(`<html>`)}, "body not JSON"},
	} {
		err := judge(&c.res, ok)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v; want a success", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
}

func TestPlaceAndCancelFeedThePools(t *testing.T) {
	fx := &fixtures{placed: &pool[placedOrder]{}, stock: &pool[string]{}}
	placed := json.RawMessage(`{"placeOrder":{"order":{"id":"ord_1","items":[{"product":{"id":"prd_9"}}]},"userErrors":[]}}`)
	if err := fx.acceptWebPlaceOrder(nil, placed); err != nil {
		t.Fatal(err)
	}
	next := fx.nextCancelOrder("mutation CancelOrder($id: ID!) { x }", nil)
	body, _, err := next()
	if err != nil || !strings.Contains(string(body), `"id":"ord_1"`) {
		t.Fatalf("cancel request %s, %v; want the placed order", body, err)
	}
	if _, _, err := next(); !errors.Is(err, vegeta.ErrNoTargets) {
		t.Fatalf("second cancel: %v; want ErrNoTargets (one order placed)", err)
	}
	cancelled := json.RawMessage(`{"cancelOrder":{"order":{"id":"ord_1","status":"CANCELLED"},"userErrors":[]}}`)
	if err := fx.acceptCancelOrder(nil, cancelled); err != nil {
		t.Fatal(err)
	}
	if unit, err := fx.stock.take(); err != nil || unit != "prd_9" {
		t.Fatalf("stock after the cancellation: %q, %v; want the unit of prd_9 back", unit, err)
	}
	outOfStock := json.RawMessage(`{"placeOrder":{"order":null,"userErrors":[{"field":["input"],"code":"OUT_OF_STOCK","message":"no"}]}}`)
	if err := fx.acceptWebPlaceOrder(nil, outOfStock); err == nil || !strings.Contains(err.Error(), "OUT_OF_STOCK") {
		t.Fatalf("an OUT_OF_STOCK answer: %v; want a failure naming it", err)
	}
}

func TestLoginFeedsLogout(t *testing.T) {
	fx := &fixtures{sessions: &pool[string]{}}
	res := &vegeta.Result{Headers: http.Header{"Set-Cookie": {"bff_session=abc; Path=/; HttpOnly; SameSite=Strict"}}}
	if err := fx.acceptWebLogin(res, json.RawMessage(`{"login":{"viewer":{"id":"usr_1"}}}`)); err != nil {
		t.Fatal(err)
	}
	_, header, err := fx.nextLogout("mutation Logout { logout }")()
	if err != nil || header.Get("Cookie") != "bff_session=abc" {
		t.Fatalf("logout header %v, %v; want the session's cookie", header, err)
	}
}

func TestInterleave(t *testing.T) {
	got := interleave([]string{"a", "b", "c"}, map[string]int{"a": 2, "b": 0, "c": 3})
	if want := []string{"a", "c", "a", "c", "c"}; !slices.Equal(got, want) {
		t.Fatalf("interleave = %v; want %v", got, want)
	}
}

func TestCoversContract(t *testing.T) {
	ops := operations(&fixtures{products: 3, users: 5, sessions: &pool[string]{}, placed: &pool[placedOrder]{}, stock: &pool[string]{}})
	if err := coversContract(ops); err != nil {
		t.Fatal(err)
	}
	if err := coversContract(ops[1:]); err == nil {
		t.Fatal("an operation missing went unnoticed")
	}
}

// sampleReport has one operation at two levels in one round.
func sampleReport() *report {
	w := 1.25
	return &report{
		Date: "2026-12-05 10:00 UTC", GoVersion: "go1.26.8", Platform: "linux/amd64", CPUs: 2,
		Command: command, RunSeconds: 2, WarmUpSeconds: 0.5, Levels: []int{1, 32}, Latencies: []string{"0"},
		Results: []result{
			{BFF: "web", Operation: "Dashboard", ReadOnly: true, Latency: "0", Concurrency: 32, Requests: 2000, Seconds: 2,
				PerSecond: 1000, P50Ms: 25, P90Ms: 40, P99Ms: 61.5, CPUMsPerRequest: 0.812, ServicesCPUMsPerRequest: 2.25, PeakRSSMiB: 52.3,
				PeakRSSMethod: "VmHWM", UpstreamPerOp: 2, WavesPerOp: &w, UpstreamMethod: upstreamRequestsFamily},
			{BFF: "web", Operation: "Dashboard", ReadOnly: true, Latency: "0", Concurrency: 1, Requests: 400, Seconds: 2,
				PerSecond: 200, P50Ms: 4.5, P90Ms: 5, P99Ms: 8.25, CPUMsPerRequest: 1.5, ServicesCPUMsPerRequest: 3.125, PeakRSSMiB: 40,
				PeakRSSMethod: "VmHWM", UpstreamPerOp: 2, UpstreamMethod: clientCallsFamily,
				Failures: 2, FailureReasons: map[string]int{"errors: UPSTREAM_TIMEOUT": 2}},
		},
	}
}

func TestMarkdown(t *testing.T) {
	rep := sampleReport()
	rep.sortResults()
	if rep.Results[0].Concurrency != 1 {
		t.Fatal("results not sorted by concurrency")
	}
	md := rep.markdown()
	for _, want := range []string{
		"Measured 2026-12-05 10:00 UTC, go1.26.8 linux/amd64, 2 CPUs, by `make bench` (`go test -count=1 -run '^TestLoadBench$' -timeout 15m -v ./internal/e2e/loadbench/`).",
		"| operation | BFF | service latency | concurrency | req/s | p50 ms | p90 ms | p99 ms | CPU ms/req | services CPU ms/req | peak RSS MiB | upstream req/op | waves/op | failures |",
		"| Dashboard | web | none | 1 | 200 | 4.50 | 5.00 | 8.25 | 1.500 | 3.125 | 40.0 | 2.00 | — | 2 |",
		"| Dashboard | web | none | 32 | 1000 | 25.0 | 40.0 | 61.5 | 0.812 | 2.250 | 52.3 | 2.00 | 1.25 | 0 |",
		"- web Dashboard latency=0 c=1: 2 of 400: errors: UPSTREAM_TIMEOUT ×2.",
		"Upstream req/op of 1 runs is the count of every call",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}

func TestComparison(t *testing.T) {
	before, after := sampleReport(), sampleReport()
	after.Results[0].CPUMsPerRequest = 0.406
	after.Results[0].P99Ms = 30.75
	after.Results = append(after.Results, result{BFF: "mobile", Operation: "Home", Latency: "0", Concurrency: 32, CPUMsPerRequest: 0.5, P99Ms: 10, PeakRSSMiB: 50})
	got := comparison(before, after)
	for _, want := range []string{
		"| Dashboard | web | 0.812 → 0.406 (-50%) | 61.50 → 30.75 (-50%) | 52.3 → 52.3 (+0%) |",
		"| Home | mobile | — → 0.500 | — → 10.00 | — → 50.0 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("comparison lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "| 1.500") {
		t.Errorf("the comparison shows a run at another level than %d:\n%s", comparedLevel, got)
	}
}

func TestOutputsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rep := sampleReport()
	if err := writeOutputs(dir, rep, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"results.md", "throughput.svg", "p99.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.HasSuffix(name, ".svg") && !strings.Contains(string(b), "<svg") {
			t.Errorf("%s is not an SVG", name)
		}
	}
	baseline, err := loadBaseline(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(baseline.Results) != 2 || baseline.Results[0].WavesPerOp == nil || *baseline.Results[0].WavesPerOp != 1.25 {
		t.Fatalf("results.json read back as %+v", baseline.Results)
	}
	if err := writeOutputs(dir, rep, baseline); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if !strings.Contains(string(md), "## Before → after") {
		t.Error("results.md with a baseline has no comparison")
	}
	if _, err := loadBaseline(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing baseline loaded")
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRoundCount(t *testing.T) {
	if n, err := roundCount(""); n != defaultRounds || err != nil {
		t.Errorf("empty: %d, %v", n, err)
	}
	if n, err := roundCount("5"); n != 5 || err != nil {
		t.Errorf("5: %d, %v", n, err)
	}
	for _, bad := range []string{"0", "-1", "10", "x", "2.5"} {
		if _, err := roundCount(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestServicesOfAfter(t *testing.T) {
	for raw, want := range map[string]bool{"": false, "after": true} {
		if got, err := servicesOfAfter(raw); got != want || err != nil {
			t.Errorf("%q: %v, %v; want %v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"before", "After", "1"} {
		if _, err := servicesOfAfter(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCompareTakesTheMediansOfEachTree checks the comparison of runs in
// turns: grouped by operation and latency, each tree's median, their
// ratio against the operation's target, the services' medians, the
// highest RSS after, and the table saying whether each target is met.
func TestCompareTakesTheMediansOfEachTree(t *testing.T) {
	w := func(v float64) *float64 { return &v }
	run := func(tree, bff, op, latency string, cpu, rss float64, waves *float64) comparedRun {
		return comparedRun{Tree: tree, Result: result{BFF: bff, Operation: op, Latency: latency, Concurrency: compareLevel,
			CPUMsPerRequest: cpu, ServicesCPUMsPerRequest: cpu + 1, PeakRSSMiB: rss, WavesPerOp: waves}}
	}
	c := compare([]comparedRun{
		run("before", "web", "AdminOverview", "0", 4.8, 72, nil), run("after", "web", "AdminOverview", "0", 1.5, 56, w(2)),
		run("after", "web", "AdminOverview", "0", 1.9, 58, w(2.2)), run("before", "web", "AdminOverview", "0", 4.2, 70, nil),
		run("before", "web", "AdminOverview", "0", 5.1, 71, nil), run("after", "web", "AdminOverview", "0", 1.6, 57, w(2.1)),
		run("before", "mobile", "Home", "2ms", 0.8, 57, nil), run("after", "mobile", "Home", "2ms", 0.6, 46, w(1)),
	})
	if len(c.Rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(c.Rows), c.Rows)
	}
	ao, home := c.Rows[0], c.Rows[1]
	if ao.Operation != "web/AdminOverview" || ao.MedianBefore != 4.8 || ao.MedianAfter != 1.6 || ao.Target != 1.0/3 ||
		ao.ServicesBefore != 5.8 || ao.ServicesAfter != 2.6 ||
		ao.PeakRSSAfterMiB != 58 || ao.WavesAfter == nil || *ao.WavesAfter != 2.1 {
		t.Errorf("AdminOverview: %+v", ao)
	}
	if !ao.met() || home.met() {
		t.Errorf("met: AdminOverview %v (1.6/4.8, target a third), Home %v (0.6/0.8, target 70 %%)", ao.met(), home.met())
	}
	md := c.markdown()
	if strings.Contains(md, "LOADBENCH_SERVICES") {
		t.Errorf("a comparison of each tree over its own services says otherwise:\n%s", md)
	}
	c.SameServices = true
	if !strings.Contains(c.markdown(), "Both trees' BFFs ran over this tree's services (`LOADBENCH_SERVICES=after`)") {
		t.Errorf("a comparison over the same services does not say so:\n%s", c.markdown())
	}
	for _, want := range []string{
		"| web/AdminOverview | none | 4.800, 4.200, 5.100 | 1.500, 1.900, 1.600 | 4.800 → 1.600 | 33.3 % | ≤ 33.3 % | yes | 5.800 → 2.600 | 58.0 | 2.10 |",
		"| mobile/Home | 2ms | 0.800 | 0.600 | 0.800 → 0.600 | 75.0 % | ≤ 70.0 % | no | 1.800 → 1.600 | 46.0 | 1.00 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks\n%s\nin\n%s", want, md)
		}
	}
}
