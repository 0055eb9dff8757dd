package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	mobile "github.com/acme/bff-gateway/bff-mobile/app"
	web "github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/testutil"
)

// promTestTimeout bounds the whole test: the promtool checks, two BFFs
// with their services, Prometheus, the traffic and every query. A run
// takes about 10 s.
const promTestTimeout = 60 * time.Second

// promJobs are the jobs of deploy/prometheus/prometheus.yml, one per
// process, with the admin address each scrapes (internal/addrs).
var promJobs = map[string]string{
	"bff-web":    addrs.BFFWebAdmin,
	"bff-mobile": addrs.BFFMobileAdmin,
	"user":       addrs.UserAdmin,
	"order":      addrs.OrderAdmin,
	"product":    addrs.ProductAdmin,
}

// TestPrometheusScrapesTheStack checks what the operators are shipped in
// deploy/: promtool accepts the Prometheus configuration and its rules
// (and the rules' unit tests pass); then a real Prometheus, loaded with
// those rules and scraping the two BFFs and the web stack's services under
// the shipped job names every second, sees the stack's traffic: every
// process is up, the key series are there with their labels, every rule
// evaluates, a healthy run trips no alert, and every query of every panel
// of deploy/grafana/dashboard.json answers something.
func TestPrometheusScrapesTheStack(t *testing.T) {
	root := auditRepoRoot(t)
	promBin, promtool := requirePrometheus(t)
	ctx, cancel := context.WithTimeout(t.Context(), promTestTimeout)
	defer cancel()
	begin := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(begin).Seconds(), what) }

	shippedConfig := filepath.Join(root, "deploy", "prometheus", "prometheus.yml")
	shippedRules := filepath.Join(root, "deploy", "prometheus", "rules.yml")
	dashboard := filepath.Join(root, "deploy", "grafana", "dashboard.json")
	runPromtool(ctx, t, promtool, root, "check", "config", "deploy/prometheus/prometheus.yml")
	runPromtool(ctx, t, promtool, root, "check", "rules", "deploy/prometheus/rules.yml")
	runPromtool(ctx, t, promtool, filepath.Join(root, "deploy", "prometheus"), "test", "rules", "rules_test.yml")
	rulesFile := checkShippedConfig(t, shippedConfig)
	if rulesFile != shippedRules {
		t.Fatalf("prometheus.yml loads %s, want %s", rulesFile, shippedRules)
	}
	queries := dashboardQueries(t, dashboard)
	step("promtool checks")

	webEnv, mobileEnv := startBothBFFs(t, root)
	targets := map[string]string{
		"bff-web":    promHost(t, webEnv.AdminURL),
		"bff-mobile": promHost(t, mobileEnv.AdminURL),
		"user":       promHost(t, webEnv.Stack.User.AdminURL),
		"order":      promHost(t, webEnv.Stack.Order.AdminURL),
		"product":    promHost(t, webEnv.Stack.Product.AdminURL),
	}
	step("stacks started")
	prom := startPrometheus(ctx, t, promBin, writePromConfig(t, targets, shippedRules))
	step("prometheus ready")

	// Wait for a first scrape of every target, so that the counters are
	// seen at zero before the traffic raises them.
	prom.waitScraped(ctx, t, time.Time{})
	step("first scrapes")
	traffic := newPromTraffic(t, webEnv, mobileEnv)
	const rounds = 3
	for round := range rounds {
		traffic.round(t, round)
		if round < rounds-1 {
			promSleep(ctx, t, 1100*time.Millisecond)
		}
	}
	if traffic.loginsRefused == 0 {
		t.Fatal("no web sign-in was refused by the login limit (2 a minute per account)")
	}
	step("traffic sent")
	// Two scrapes of every target after the traffic: every series it
	// made has at least two samples, so that rate() has something to say.
	prom.waitScraped(ctx, t, time.Now())
	step("scraped twice since")

	t.Run("up", func(t *testing.T) {
		up := map[string]string{}
		for _, s := range prom.query(ctx, t, "up") {
			up[s.Metric["job"]] = s.value()
		}
		for job := range promJobs {
			if up[job] != "1" {
				t.Errorf("up{job=%q} = %q, want 1 (all: %v)", job, up[job], up)
			}
		}
	})

	t.Run("key series", func(t *testing.T) {
		for _, q := range []string{
			`graphql_server_operation_duration_seconds_count{job="bff-web",graphql_operation_name="Dashboard",graphql_operation_type="query",client="web"} > 0`,
			`graphql_server_operation_duration_seconds_count{job="bff-web",graphql_operation_name="PlaceOrder",graphql_operation_type="mutation",client="web"} > 0`,
			`graphql_server_operation_duration_seconds_count{job="bff-mobile",graphql_operation_name="Home",graphql_operation_type="query",client="mobile"} > 0`,
			`graphql_server_operation_duration_seconds_count{job="bff-mobile",graphql_operation_name="Product",client="mobile"} > 0`,
			`graphql_server_errors_total{job="bff-web",graphql_operation_name="AdminOverview",client="web",code="FORBIDDEN"} > 0`,
			`graphql_server_errors_total{job="bff-web",graphql_operation_name="Login",client="web",code="RATE_LIMITED"} > 0`,
			`http_server_request_duration_seconds_count{job="bff-web",http_route="/graphql",http_request_method="POST",http_response_status_code="200"} > 0`,
			`http_server_request_duration_seconds_count{job="user",http_route="/v1/auth/token"} > 0`,
			`http_client_request_duration_seconds_count{job="bff-web",service="product",status_class="2xx"} > 0`,
			`http_client_request_duration_seconds_count{job="bff-mobile",service="order",status_class="2xx"} > 0`,
			`http_client_request_duration_seconds_count{job="order",service="product"} > 0`,
			`bff_breaker_state{job="bff-web",service="product"} == 0`,
			`bff_breaker_state{job="bff-mobile",service="user"} == 0`,
			`bff_product_cache_hits_total{job="bff-web",cache="products"} > 0`,
			`bff_product_cache_misses_total{job="bff-mobile",cache="lists"} > 0`,
			`bff_loader_batch_size_count{job="bff-web",loader="products"} > 0`,
			`bff_rate_limit_refusals_total{job="bff-web",kind="login"} > 0`,
			`bff_guard_refusals_total{job="bff-web",code="QUERY_TOO_DEEP"} > 0`,
			`bff_apq_requests_total{job="bff-web",outcome="miss"} > 0`,
			`bff_apq_requests_total{job="bff-web",outcome="registered"} > 0`,
			`bff_apq_requests_total{job="bff-web",outcome="hit"} > 0`,
			`bff_web_sessions{job="bff-web"} > 0`,
			`bff_jwks_refreshes_total{job="bff-mobile"} > 0`,
			`orders_placed_total{job="order"} > 0`,
			`db_client_operation_duration_seconds_count{job="order",db_system_name="sqlite"} > 0`,
			`db_client_operation_duration_seconds_count{job="order",db_query_summary="INSERT orders"} > 0`,
			`db_client_operation_duration_seconds_count{job="user",db_query_summary="SELECT users"} > 0`,
			`go_goroutines{job="product"} > 0`,
		} {
			if got := prom.query(ctx, t, q); len(got) == 0 {
				t.Errorf("no result for %s", q)
			}
		}
	})

	t.Run("rules", func(t *testing.T) {
		rules := prom.rules(ctx, t)
		if want := countRules(t, shippedRules); len(rules) != want {
			t.Errorf("Prometheus loaded %d rules, want the %d of rules.yml", len(rules), want)
		}
		for _, r := range rules {
			if r.Health != "ok" {
				t.Errorf("rule %s (%s) is %q: %s", r.Name, r.Type, r.Health, r.LastError)
			}
		}
		// FORBIDDEN is the user's doing: the customer's AdminOverview
		// counts in the error ratio as a 0.
		q := `graphql_operation:graphql_server_error_ratio:rate5m{job="bff-web",client="web",graphql_operation_name="AdminOverview"}`
		if got := prom.query(ctx, t, q); len(got) != 1 || got[0].value() != "0" {
			t.Errorf("%s = %v, want one 0", q, got)
		}
		q = `job_service:http_client_request_duration_seconds:p99_5m{job="bff-web",service="product"}`
		if got := prom.query(ctx, t, q); len(got) != 1 {
			t.Errorf("%s = %v, want one series", q, got)
		}
		// A healthy run trips no alert, not even a pending one. (The
		// latency alert is left out: a loaded machine may be slow.)
		q = `ALERTS{alertname!="UpstreamLatencyHigh"}`
		if got := prom.query(ctx, t, q); len(got) != 0 {
			t.Errorf("alerts of a healthy run: %v", got)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		for _, q := range queries {
			if got := prom.query(ctx, t, q.expr); len(got) == 0 {
				t.Errorf("panel %q, query %s: no data for\n%s", q.panel, q.refID, q.expr)
			}
		}
		t.Logf("%d queries of the dashboard checked", len(queries))
	})
}

// requirePrometheus returns the paths of prometheus and promtool,
// skipping the test when either is missing, or failing it when CI is set.
func requirePrometheus(t *testing.T) (prometheus, promtool string) {
	t.Helper()
	var missing []string
	find := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name)
		}
		return p
	}
	prometheus, promtool = find("prometheus"), find("promtool")
	if len(missing) > 0 {
		msg := strings.Join(missing, " and ") + " not on PATH: install Prometheus (apt-get install prometheus) to check deploy/prometheus and deploy/grafana against a real one"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so it may not be skipped)")
		}
		t.Skip(msg)
	}
	return prometheus, promtool
}

// runPromtool runs promtool with args in dir, failing the test with its
// output unless it succeeds.
func runPromtool(ctx context.Context, t *testing.T, promtool, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// promConfig is what the test reads and writes of a Prometheus
// configuration.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout,omitempty"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// checkShippedConfig checks that the shipped configuration scrapes every
// process at its default admin address, one job each, every 15 s, and
// returns the absolute path of the one rule file it loads.
func checkShippedConfig(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg promConfig
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Global.ScrapeInterval != "15s" {
		t.Errorf("scrape_interval %q, want 15s", cfg.Global.ScrapeInterval)
	}
	got := map[string]string{}
	for _, sc := range cfg.ScrapeConfigs {
		var all []string
		for _, s := range sc.StaticConfigs {
			all = append(all, s.Targets...)
		}
		got[sc.JobName] = strings.Join(all, ",")
	}
	if fmt.Sprint(got) != fmt.Sprint(promJobs) {
		t.Errorf("jobs and targets %v, want %v", got, promJobs)
	}
	if len(cfg.RuleFiles) != 1 {
		t.Fatalf("rule_files %v, want one file", cfg.RuleFiles)
	}
	return filepath.Join(filepath.Dir(path), cfg.RuleFiles[0])
}

// writePromConfig writes the configuration of the test's Prometheus in a
// temporary directory: the shipped jobs, scraping targets (job name to
// host:port) every second, and the rules of rulesFile, evaluated every
// second. It returns its path.
func writePromConfig(t *testing.T, targets map[string]string, rulesFile string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	fmt.Fprintf(&b, "rule_files:\n  - %q\n", rulesFile)
	b.WriteString("scrape_configs:\n")
	for _, job := range slices.Sorted(maps.Keys(promJobs)) {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [%q]\n", job, targets[job])
	}
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// countRules returns the number of rules in the rule file at path.
func countRules(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for _, g := range file.Groups {
		n += len(g.Rules)
	}
	return n
}

// promHost returns the host:port of rawURL.
func promHost(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("admin URL %q: %v", rawURL, err)
	}
	return u.Host
}

// promServer is a Prometheus the test started.
type promServer struct {
	url  string
	http *http.Client
}

// startPrometheus starts bin with the configuration at config, storing in
// a temporary directory and listening on a free loopback port, and waits
// until it is ready. It stops with the test: SIGTERM, then SIGKILL if it
// has not exited 5 s later.
func startPrometheus(ctx context.Context, t *testing.T, bin, config string) *promServer {
	t.Helper()
	// The free port is found by listening on it and closing it: another
	// process may take it in between, so a start that fails for its
	// address is tried again on another.
	for attempt := 1; ; attempt++ {
		srv, err := tryStartPrometheus(ctx, t, bin, config)
		if err == nil {
			return srv
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

func tryStartPrometheus(ctx context.Context, t *testing.T, bin, config string) (*promServer, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	pctx, stop := context.WithCancel(ctx)
	cmd := exec.CommandContext(pctx, bin,
		"--config.file="+config,
		"--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		stop()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	started := false
	t.Cleanup(func() {
		select {
		case err := <-exited:
			if started {
				t.Errorf("prometheus exited during the test (%v):\n%s", err, out.String())
			}
			stop()
			return
		default:
		}
		stopping := time.Now()
		stop()
		if err := <-exited; err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("prometheus stopped: %v", err)
		}
		t.Logf("prometheus stopped in %s", time.Since(stopping).Round(time.Millisecond))
		if t.Failed() {
			t.Logf("prometheus's output:\n%s", out.String())
		}
	})

	srv := &promServer{url: "http://" + addr, http: &http.Client{Timeout: 5 * time.Second}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			return nil, fmt.Errorf("prometheus exited before it was ready (%w):\n%s", err, out.String())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/-/ready", nil)
		if resp, err := srv.http.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				started = true
				return srv, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("prometheus at %s not ready within 20 s:\n%s", srv.url, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get GETs path (with query) from the API and decodes its data into v.
func (p *promServer) get(ctx context.Context, t *testing.T, path string, query url.Values, v any) {
	t.Helper()
	u := p.url + path
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	var answer struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Status != "success" {
		t.Fatalf("GET %s: %d %s (%v)", u, resp.StatusCode, body, err)
	}
	if err := json.Unmarshal(answer.Data, v); err != nil {
		t.Fatalf("GET %s: data %s: %v", u, answer.Data, err)
	}
}

// promSample is one element of an instant query's answer.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"` // [time, "value"]
}

func (s promSample) value() string {
	if len(s.Value) != 2 {
		return ""
	}
	v, _ := s.Value[1].(string)
	return v
}

func (s promSample) String() string { return fmt.Sprintf("%v %s", s.Metric, s.value()) }

// query runs an instant query now and returns its samples (a scalar or a
// string is one sample without labels).
func (p *promServer) query(ctx context.Context, t *testing.T, q string) []promSample {
	t.Helper()
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	p.get(ctx, t, "/api/v1/query", url.Values{"query": {q}}, &data)
	switch data.ResultType {
	case "vector":
		var out []promSample
		if err := json.Unmarshal(data.Result, &out); err != nil {
			t.Fatalf("query %s: %v", q, err)
		}
		return out
	case "scalar", "string":
		var v []any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			t.Fatalf("query %s: %v", q, err)
		}
		return []promSample{{Value: v}}
	}
	t.Fatalf("query %s: result type %q", q, data.ResultType)
	return nil
}

// promRule is one rule of /api/v1/rules.
type promRule struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

// rules returns every rule Prometheus loaded.
func (p *promServer) rules(ctx context.Context, t *testing.T) []promRule {
	t.Helper()
	var data struct {
		Groups []struct {
			Rules []promRule `json:"rules"`
		} `json:"groups"`
	}
	p.get(ctx, t, "/api/v1/rules", nil, &data)
	var out []promRule
	for _, g := range data.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// waitScraped waits until every target of every job is up and was last
// scraped after since, plus one scrape interval: the scrape before it, too,
// began after since.
func (p *promServer) waitScraped(ctx context.Context, t *testing.T, since time.Time) {
	t.Helper()
	want := since
	if !since.IsZero() {
		want = since.Add(time.Second)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var data struct {
			ActiveTargets []struct {
				Labels     map[string]string `json:"labels"`
				Health     string            `json:"health"`
				LastError  string            `json:"lastError"`
				LastScrape time.Time         `json:"lastScrape"`
			} `json:"activeTargets"`
		}
		p.get(ctx, t, "/api/v1/targets", url.Values{"state": {"active"}}, &data)
		var pending []string
		seen := map[string]bool{}
		for _, tg := range data.ActiveTargets {
			job := tg.Labels["job"]
			seen[job] = true
			if tg.Health != "up" || !tg.LastScrape.After(want) {
				pending = append(pending, fmt.Sprintf("%s (%s, last scrape %s, %s)", job, tg.Health, tg.LastScrape.Format(time.StampMilli), tg.LastError))
			}
		}
		for job := range promJobs {
			if !seen[job] {
				pending = append(pending, job+" (no target)")
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets not scraped in time: %s", strings.Join(pending, "; "))
		}
		promSleep(ctx, t, 200*time.Millisecond)
	}
}

// promSleep sleeps for d, failing the test if ctx ends first.
func promSleep(ctx context.Context, t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-ctx.Done():
		t.Fatalf("out of time: %v", ctx.Err())
	case <-time.After(d):
	}
}

// promTraffic is what the clients of the two BFFs do, round after round.
type promTraffic struct {
	webEnv, mobileEnv *bfftest.Env
	ada, admin, anon  *bfftest.Client
	app               *bfftest.Client
	product           string // the product with the most stock, for orders
	loginsRefused     int
}

// newPromTraffic signs in the web BFF's customer and admin.
func newPromTraffic(t *testing.T, webEnv, mobileEnv *bfftest.Env) *promTraffic {
	t.Helper()
	tr := &promTraffic{webEnv: webEnv, mobileEnv: mobileEnv, anon: webEnv.NewClient()}
	tr.ada = tr.webLogin(t, "ada@example.com", "ada123")
	tr.admin = tr.webLogin(t, "admin@example.com", "admin123")
	if tr.ada == nil || tr.admin == nil {
		t.Fatal("the demo accounts could not sign in to the web BFF")
	}
	tr.app = mobileEnv.NewClient()
	tr.app.Header.Set(authn.APIKeyHeader, apikey.DevKey)
	// The product with the most stock, so that every round's order of one
	// is placed.
	status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, webEnv.Stack.Product.URL+"/v1/products?limit=100", "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("the product service's catalogue: %d %s", status, body)
	}
	most := 0
	for _, p := range testutil.MustJSON[contract.ProductPage](t, body).Products {
		if p.Stock > most {
			tr.product, most = p.ID, p.Stock
		}
	}
	if most < 10 {
		t.Fatalf("no product with 10 in stock (at most %d)", most)
	}
	return tr
}

// webLogin signs in through the web BFF's Login, returning the client, or
// nil when the login limit refused it.
func (tr *promTraffic) webLogin(t *testing.T, email, password string) *bfftest.Client {
	t.Helper()
	c := tr.webEnv.NewClient()
	r := c.Op(t, "Login", map[string]any{"email": email, "password": password})
	if r.Status == http.StatusTooManyRequests {
		if len(r.Errors) == 0 || r.Errors[0].Code() != "RATE_LIMITED" {
			t.Fatalf("refused sign-in without RATE_LIMITED: %s", r.Raw)
		}
		tr.loginsRefused++
		return nil
	}
	promWantOK(t, "web Login "+email, r)
	return c
}

// promWantOK fails unless r is an HTTP 200 answer without errors.
func promWantOK(t *testing.T, what string, r bfftest.Response) {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("%s: status %d, errors %+v (answer %.400s)", what, r.Status, r.Errors, r.Raw)
	}
}

// round sends one round of both clients' operations, a document the guard
// refuses and an automatic persisted query (a miss, its registration and
// a hit).
func (tr *promTraffic) round(t *testing.T, n int) {
	t.Helper()
	// Grace signs in twice a round: the third attempt of the minute and
	// the ones after it are refused.
	for range 2 {
		tr.webLogin(t, "grace@example.com", "grace123")
	}
	promWantOK(t, "Dashboard", tr.ada.Op(t, "Dashboard", nil))
	// A customer's AdminOverview: FORBIDDEN on stats and recentOrders.
	r := tr.ada.Op(t, "AdminOverview", map[string]any{"recent": 5})
	if len(r.Errors) == 0 || r.Errors[0].Code() != "FORBIDDEN" {
		t.Fatalf("a customer's AdminOverview: want FORBIDDEN, got %s", r.Raw)
	}
	promWantOK(t, "admin's AdminOverview", tr.admin.Op(t, "AdminOverview", map[string]any{"recent": 5}))

	promWantOK(t, "ProductSearch", tr.anon.Op(t, "ProductSearch", map[string]any{"query": "a", "first": 10}))
	r = tr.ada.Op(t, "PlaceOrder", map[string]any{"input": map[string]any{
		"items":          []map[string]any{{"productId": tr.product, "quantity": 1}},
		"idempotencyKey": fmt.Sprintf("prometheus-test-%d", n),
	}})
	promWantOK(t, "PlaceOrder", r)
	if !bytes.Contains(r.Data, []byte(`"userErrors":[]`)) {
		t.Fatalf("PlaceOrder: %s", r.Raw)
	}

	// Too deep for the guard: refused before anything runs.
	tooDeep := "{" + strings.Repeat(" a {", 20) + " b" + strings.Repeat(" }", 21)
	if r := tr.anon.Query(t, tooDeep, nil); len(r.Errors) == 0 || r.Errors[0].Code() != "QUERY_TOO_DEEP" {
		t.Fatalf("a document 20 levels deep: want QUERY_TOO_DEEP, got %s", r.Raw)
	}
	// An automatic persisted query of its own each round.
	doc := fmt.Sprintf("query Featured { featuredProducts(first: %d) { id name } }", n+1)
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": guard.Hash(doc)}}
	for i, body := range []map[string]any{{"extensions": ext}, {"query": doc, "extensions": ext}, {"extensions": ext}} {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r := tr.anon.Post(t, b, "application/json")
		if miss := i == 0; miss != (len(r.Errors) > 0) {
			t.Fatalf("persisted query, step %d: %s", i, r.Raw)
		}
	}

	// The app: sign in, home screen, order list, a product.
	app := tr.app
	r = app.Op(t, "Login", map[string]any{"email": "ada@example.com", "password": "ada123"})
	login := bfftest.Decode[struct {
		Login *struct {
			Token string `json:"token"`
		} `json:"login"`
	}](t, r)
	if len(r.Errors) > 0 || login.Login == nil || login.Login.Token == "" {
		t.Fatalf("mobile Login: %s", r.Raw)
	}
	app.Header.Set("Authorization", "Bearer "+login.Login.Token)
	r = app.Op(t, "Home", nil)
	promWantOK(t, "mobile Home", r)
	home := bfftest.Decode[struct {
		Home struct {
			Featured []struct {
				ID string `json:"id"`
			} `json:"featured"`
		} `json:"home"`
	}](t, r)
	if len(home.Home.Featured) == 0 {
		t.Fatalf("mobile Home features no product: %s", r.Raw)
	}
	promWantOK(t, "mobile OrderList", app.Op(t, "OrderList", map[string]any{"first": 5}))
	promWantOK(t, "mobile Product", app.Op(t, "Product", map[string]any{"id": home.Home.Featured[0].ID}))
}

// promQuery is one query of a dashboard panel.
type promQuery struct {
	panel, refID, expr string
}

// grafanaPanel is what the test reads of a dashboard's panel.
type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // of a collapsed row
}

// grafanaVariable matches a Grafana variable in a query.
var grafanaVariable = regexp.MustCompile(`\$\{?\w+\}?`)

// dashboardQueries checks the dashboard's shape (time-series panels on the
// Prometheus data source, each with queries) and returns every panel's
// queries with $__rate_interval set to 1m.
func dashboardQueries(t *testing.T, path string) []promQuery {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title         string         `json:"title"`
		UID           string         `json:"uid"`
		SchemaVersion int            `json:"schemaVersion"`
		Panels        []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("dashboard title %q, uid %q, schemaVersion %d: want a title, a uid and schemaVersion 36 or later", d.Title, d.UID, d.SchemaVersion)
	}
	var out []promQuery
	ids := map[int]string{}
	var walk func([]grafanaPanel)
	walk = func(panels []grafanaPanel) {
		for _, p := range panels {
			if other, ok := ids[p.ID]; ok {
				t.Errorf("panels %q and %q have the same id %d", other, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Type != "timeseries" {
				t.Errorf("panel %q is a %q, want timeseries", p.Title, p.Type)
			}
			if p.Datasource == nil || p.Datasource.Type != "prometheus" {
				t.Errorf("panel %q: data source %+v, want a prometheus one", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				expr := strings.ReplaceAll(tg.Expr, "$__rate_interval", "1m")
				if v := grafanaVariable.FindString(expr); v != "" || strings.TrimSpace(expr) == "" {
					t.Errorf("panel %q, query %s: empty, or a variable the test does not know (%q): %s", p.Title, tg.RefID, v, tg.Expr)
					continue
				}
				out = append(out, promQuery{panel: p.Title, refID: tg.RefID, expr: expr})
			}
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		t.Fatalf("%s has no query", path)
	}
	return out
}

// startBothBFFs starts the two BFFs, each over services of its own, for
// promTraffic: the web BFF signs an account in at most twice a minute, so
// that sign-ins are refused.
func startBothBFFs(t *testing.T, root string) (webEnv, mobileEnv *bfftest.Env) {
	t.Helper()
	webEnv = bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: web.NewWithDeps,
		OperationsDir: filepath.Join(root, "bff-web", "operations"),
		Configure:     func(c *config.Config) { c.RateLimit.LoginPerAccountPerMinute = 2 },
	})
	mobileEnv = bfftest.Start(t, bfftest.Options{
		Kind: config.Mobile, Build: mobile.NewWithDeps,
		OperationsDir: filepath.Join(root, "bff-mobile", "operations"),
	})
	return webEnv, mobileEnv
}
