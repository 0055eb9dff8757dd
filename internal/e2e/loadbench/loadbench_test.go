// Package loadbench_test is make bench: a load benchmark of both BFFs as
// real processes over HTTP. It starts the three services and both BFFs
// (rate limits off, load shedding out of the way) through the cluster
// harness, twice: with no service latency, then with 2 ms on every
// service request. In each round it drives every contract operation of
// both BFFs with vegeta, closed loop (a fixed number of workers sending
// back to back) at 1, 8 and 32 workers, each run bounded in time after a
// short warm-up, checks every answer, and measures per run: answers a
// second, p50/p90/p99 latency, the BFF's own CPU time per request, its
// peak RSS, and the upstream requests and waves per operation from its
// metrics. It writes results.md, results.json, throughput.svg and
// p99.svg to LOADBENCH_OUT, and compares with the results.json named by
// LOADBENCH_BASELINE when set.
//
// It runs only when LOADBENCH_OUT is set (make bench sets it): it is not
// part of make test. LOADBENCH_DURATION (default 2s) shortens the runs
// to try it out. LOADBENCH_ONLY (a regular expression on "bff/operation",
// as in "web/AdminOverview") runs only the operations it matches and then
// writes no results (a part of the table must not replace the whole);
// LOADBENCH_PROFILE (a directory) saves a CPU profile of the BFF over each
// run at the highest level, for go tool pprof. The pure parts (parsing /proc, the metrics deltas,
// the tables, the comparison, the chart) have unit tests that always run.
package loadbench_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }

// Shape of a benchmark. 13 operations × 3 levels × 2 rounds are 78 runs:
// at 2.5 s each (warm-up included) about 3.3 minutes, plus the build and
// two stacks' start, within the 5 minutes make bench may take on 2 cores.
const (
	defaultRunFor = 2 * time.Second
	// warmUpShare of a run is spent first at the same level, unmeasured:
	// it opens the connections (the client's and the BFF's to the
	// services), fills the BFF's caches and lets its heap settle.
	warmUpShare = 4 // warm-up = run / warmUpShare
	// requestTimeout bounds one request; the BFF's own deadline is 10 s.
	requestTimeout = 15 * time.Second
	// setupTimeout bounds a round's sign-ins and reading of the stock.
	setupTimeout = 30 * time.Second
)

// levels are the numbers of workers of the closed loop.
var levels = []int{1, 8, 32}

// latencies are the rounds: SERVICE_LATENCY of the three services.
var latencies = []string{"0", "2ms"}

// seedSizes are the data set of docs/benchmarks.md's micro-benchmarks
// (and make run): 200 users, 120 products, 5,000 orders.
var seedSizes = cluster.ServiceOptions{Users: 200, Products: 120, Orders: 5000}

// bffConfig lifts what would refuse a load generator: the rate limits (one
// client stands for many users) and load shedding (32 workers on 2 cores
// are over the default of 8 in flight, by design of the benchmark).
const bffConfig = "rate_limit:\n  enabled: false\nlimits:\n  max_in_flight: 4096\n"

// command is how make bench runs this test, for the reports: the make
// target, then the go command in parentheses.
const command = "make bench (go test -count=1 -run '^TestLoadBench$' -timeout 15m -v ./internal/e2e/loadbench/)"

func TestLoadBench(t *testing.T) {
	out := os.Getenv("LOADBENCH_OUT")
	if out == "" {
		t.Skip("the load benchmark runs only with LOADBENCH_OUT set (the directory of its results): make bench")
	}
	runFor, err := runDuration()
	if err != nil {
		t.Fatal(err)
	}
	// Read first: a wrong path fails now, not after the runs; and the
	// baseline may be the results.json this run replaces.
	baseline, err := loadBaseline(os.Getenv("LOADBENCH_BASELINE"))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := selection()
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	bins := cluster.Build(t)
	rep := newReport(runFor, runFor/warmUpShare)
	rounds := 0
	for _, latency := range latencies {
		t.Run("latency="+latency, func(t *testing.T) {
			rep.Results = append(rep.Results, benchRound(t, bins, latency, runFor, sel, levels)...)
			rounds++
		})
	}
	if rounds < len(latencies) {
		// Half a table must not replace the last whole one.
		t.Fatalf("%d of %d rounds ran to their end: results not written", rounds, len(latencies))
	}
	rep.sortResults()
	if sel.only != nil {
		t.Log("\n" + rep.markdown())
		t.Log("LOADBENCH_ONLY is set: results not written")
		return
	}
	if err := writeOutputs(out, rep, baseline); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s/results.md, results.json, throughput.svg and p99.svg in %s", out, time.Since(started).Round(time.Second))
	if baseline != nil {
		t.Log("\n" + comparison(baseline, rep))
	}
	// The rounds' processes are stopped and their clients closed: nothing
	// of the load (vegeta's workers, RSS samplers, connections) may be left.
	goleak.VerifyNone(t)
}

// selected is what LOADBENCH_ONLY and LOADBENCH_PROFILE ask for.
type selected struct {
	only       *regexp.Regexp // nil: every operation
	profileDir string         // "": no profiles
}

func (s selected) runs(op operation) bool {
	return s.only == nil || s.only.MatchString(op.bff+"/"+op.name)
}

// selection reads LOADBENCH_ONLY and LOADBENCH_PROFILE.
func selection() (selected, error) {
	var s selected
	if raw := os.Getenv("LOADBENCH_ONLY"); raw != "" {
		re, err := regexp.Compile(raw)
		if err != nil {
			return s, fmt.Errorf("LOADBENCH_ONLY=%q: %w", raw, err)
		}
		s.only = re
	}
	if dir := os.Getenv("LOADBENCH_PROFILE"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return s, fmt.Errorf("LOADBENCH_PROFILE: %w", err)
		}
		s.profileDir = dir
	}
	return s, nil
}

// runDuration is LOADBENCH_DURATION (a Go duration, at least 200ms), or
// defaultRunFor: a shorter run for trying the benchmark out.
func runDuration() (time.Duration, error) {
	raw := os.Getenv("LOADBENCH_DURATION")
	if raw == "" {
		return defaultRunFor, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 200*time.Millisecond {
		return 0, fmt.Errorf("LOADBENCH_DURATION=%q: want a duration of at least 200ms", raw)
	}
	return d, nil
}

// benchRound starts a stack whose services answer after latency, runs
// every operation sel selects at each of levels on it and returns the
// results; the stack stops when t ends (the harness stops each process by
// its pid).
func benchRound(t *testing.T, bins cluster.Binaries, latency string, runFor time.Duration, sel selected, levels []int) []result {
	opts := seedSizes
	opts.Latency = latency
	svcs := cluster.StartServices(t, bins, opts)
	conf := cluster.BFFConfig(t, bffConfig)
	web := cluster.StartBFF(t, bins, svcs, "web", conf)
	mobile := cluster.StartBFF(t, bins, svcs, "mobile", conf)

	client := loadClient()
	defer client.CloseIdleConnections()
	ctx := t.Context()
	setup, cancel := context.WithTimeout(ctx, setupTimeout)
	fx, err := prepare(setup, client, stack{web: web, mobile: mobile, product: svcs.Product,
		services: []*cluster.Process{svcs.User, svcs.Product, svcs.Order}}, seedSizes)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	ops := operations(fx)
	if err := coversContract(ops); err != nil {
		t.Fatal(err)
	}
	var results []result
	for _, op := range ops {
		if !sel.runs(op) {
			continue
		}
		for _, level := range levels {
			profile := ""
			if sel.profileDir != "" && level == levels[len(levels)-1] {
				profile = filepath.Join(sel.profileDir, fmt.Sprintf("%s-%s-latency%s.pprof", op.bff, op.name, latency))
			}
			r, err := measure(ctx, client, op, level, latency, runFor, profile)
			if err != nil {
				t.Fatalf("%s %s at %d workers: %v", op.bff, op.name, level, err)
			}
			t.Log(r.progressLine())
			if op.readOnly && r.Failures > 0 {
				t.Errorf("%s %s (latency %s, %d workers): %d of %d requests failed: %v",
					op.bff, op.name, latency, level, r.Failures, r.Requests, r.FailureReasons)
			}
			results = append(results, r)
		}
	}
	return results
}

// loadClient is the HTTP client of the load: enough idle connections for
// the largest level to keep its connections between runs, no proxy, and
// no compression (the BFFs' answers are measured as they are).
func loadClient() *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// stack is what a round drives and reads.
type stack struct {
	web, mobile, product *cluster.Process
	services             []*cluster.Process // all three
}
