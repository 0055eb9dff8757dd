package loadbench_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

// make bench-compare: the operations of issue 13's targets, on the tree
// before (another checkout, LOADBENCH_COMPARE) and on this one, in turns.
//
// The BFF's CPU per request moves by tens of percent between runs of one
// tree a few minutes apart on this machine (its two cores are a virtual
// machine's, shared with the services and the load generator): a single
// run before and a single run after compare the moments as much as the
// trees. So each round runs both trees back to back, for each service
// latency, the tree that goes first alternating from round to round, and
// the comparison is of the medians over the rounds.
const (
	// compareLevel is the concurrency the targets are set at.
	compareLevel = 32
	// defaultCompareRunFor is a run's length when LOADBENCH_DURATION is
	// not set: longer than make bench's, as there are fewer runs.
	defaultCompareRunFor = 5 * time.Second
	// defaultRounds is LOADBENCH_ROUNDS' default: three runs of each tree
	// for each operation and latency, so that one disturbed run does not
	// decide.
	defaultRounds = 3
	maxRounds     = 9
)

// cpuTargets are issue 13's: the most the BFF's CPU per request after may
// be, as a share of what it was before.
var cpuTargets = map[string]float64{
	"web/AdminOverview": 1.0 / 3,
	"web/Dashboard":     0.7,
	"mobile/Home":       0.7,
}

// rssTargetMiB is issue 13's bound on a BFF's peak RSS under the load.
const rssTargetMiB = 64

// tree is a checkout under comparison and its binaries.
type tree struct {
	name string
	bins cluster.Binaries
}

// TestLoadBenchCompare is make bench-compare. It runs only when
// LOADBENCH_COMPARE (the directory of a checkout of the tree before) and
// LOADBENCH_OUT are set, and writes compare.md and compare.json there;
// LOADBENCH_COMPARE_NAME names the tree before in them (its revision).
// LOADBENCH_ROUNDS (default 3) and LOADBENCH_DURATION (default 5s) shape
// it; LOADBENCH_ONLY picks other operations than the targets'.
// LOADBENCH_SERVICES=after runs both trees' BFFs over this tree's
// services (each tree runs over its own by default): the services' CPU
// weighs on the BFF's on shared cores, so that compares the BFFs alone.
func TestLoadBenchCompare(t *testing.T) {
	beforeDir, out := os.Getenv("LOADBENCH_COMPARE"), os.Getenv("LOADBENCH_OUT")
	if beforeDir == "" || out == "" {
		t.Skip("the comparison runs only with LOADBENCH_COMPARE (a checkout of the tree before) and LOADBENCH_OUT set: make bench-compare")
	}
	runFor := defaultCompareRunFor
	if os.Getenv("LOADBENCH_DURATION") != "" {
		var err error
		if runFor, err = runDuration(); err != nil {
			t.Fatal(err)
		}
	}
	rounds, err := roundCount(os.Getenv("LOADBENCH_ROUNDS"))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := selection()
	if err != nil {
		t.Fatal(err)
	}
	if sel.only == nil {
		sel.only = regexp.MustCompile(`^(` + strings.Join(slices.Sorted(maps.Keys(cpuTargets)), "|") + `)$`)
	}
	started := time.Now()
	sameServices, err := servicesOfAfter(os.Getenv("LOADBENCH_SERVICES"))
	if err != nil {
		t.Fatal(err)
	}
	trees := []tree{{"before", cluster.BuildFrom(t, beforeDir)}, {"after", cluster.Build(t)}}
	if sameServices {
		trees[0].bins.User, trees[0].bins.Order, trees[0].bins.Product = trees[1].bins.User, trees[1].bins.Order, trees[1].bins.Product
	}
	var runs []comparedRun
	for round := 1; round <= rounds; round++ {
		order := trees
		if round%2 == 0 {
			order = []tree{trees[1], trees[0]}
		}
		for _, latency := range latencies {
			for _, tr := range order {
				name := fmt.Sprintf("round=%d/latency=%s/%s", round, latency, tr.name)
				ok := t.Run(name, func(t *testing.T) {
					for _, r := range benchRound(t, tr.bins, latency, runFor, sel, []int{compareLevel}) {
						runs = append(runs, comparedRun{Tree: tr.name, Round: round, Result: r})
					}
				})
				if !ok {
					t.Fatalf("%s failed: no comparison written", name)
				}
			}
		}
	}
	cmp := compare(runs)
	before := os.Getenv("LOADBENCH_COMPARE_NAME")
	if before == "" {
		before = beforeDir
	}
	cmp.Date, cmp.Before, cmp.Rounds, cmp.RunSeconds = started.UTC().Format("2006-01-02 15:04 UTC"), before, rounds, runFor.Seconds()
	cmp.SameServices = sameServices
	if err := writeComparison(out, cmp); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + cmp.markdown())
	t.Logf("wrote %s/compare.md and compare.json in %s", out, time.Since(started).Round(time.Second))
	goleak.VerifyNone(t)
}

// servicesOfAfter reads LOADBENCH_SERVICES: "" (each tree over its own
// services) or "after" (both over this tree's).
func servicesOfAfter(raw string) (bool, error) {
	switch raw {
	case "":
		return false, nil
	case "after":
		return true, nil
	}
	return false, fmt.Errorf("LOADBENCH_SERVICES=%q: want empty or \"after\"", raw)
}

// roundCount reads LOADBENCH_ROUNDS: 1 to maxRounds, defaultRounds when
// empty.
func roundCount(raw string) (int, error) {
	if raw == "" {
		return defaultRounds, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxRounds {
		return 0, fmt.Errorf("LOADBENCH_ROUNDS=%q: want a whole number from 1 to %d", raw, maxRounds)
	}
	return n, nil
}

// comparedRun is one run of one tree.
type comparedRun struct {
	Tree   string `json:"tree"`
	Round  int    `json:"round"`
	Result result `json:"result"`
}

// turns is what compare.md and compare.json hold.
type turns struct {
	Date       string  `json:"date"`
	Before     string  `json:"before"` // the tree before: its revision, or its directory
	Rounds     int     `json:"rounds"`
	RunSeconds float64 `json:"run_seconds"`
	// SameServices: both trees' BFFs ran over the after tree's services.
	SameServices bool          `json:"same_services,omitempty"`
	Rows         []compareRow  `json:"rows"`
	Runs         []comparedRun `json:"runs"`
}

// compareRow is one operation at one service latency.
type compareRow struct {
	Operation string    `json:"operation"` // "bff/name"
	Latency   string    `json:"service_latency"`
	Before    []float64 `json:"cpu_ms_per_request_before"`
	After     []float64 `json:"cpu_ms_per_request_after"`
	// MedianBefore and MedianAfter are the medians of Before and After;
	// Ratio is MedianAfter / MedianBefore.
	MedianBefore float64 `json:"median_before"`
	MedianAfter  float64 `json:"median_after"`
	Ratio        float64 `json:"ratio"`
	// Target is the most Ratio may be (0: no target for the operation).
	Target float64 `json:"target,omitempty"`
	// ServicesBefore and ServicesAfter are the medians of the services'
	// CPU ms per request in the runs before and after (0 when a report
	// before them did not measure it).
	ServicesBefore float64 `json:"services_cpu_ms_per_request_before"`
	ServicesAfter  float64 `json:"services_cpu_ms_per_request_after"`
	// PeakRSSAfterMiB is the highest peak RSS of the runs after.
	PeakRSSAfterMiB float64 `json:"peak_rss_after_mib"`
	// WavesAfter is the median of the upstream waves per operation after
	// (nil when the BFF does not export them).
	WavesAfter *float64 `json:"upstream_waves_after,omitempty"`
}

// met reports whether the row has a target and meets it (a ratio equal
// to the target, to a rounding of the division, meets it).
func (r compareRow) met() bool { return r.Target > 0 && r.Ratio <= r.Target+1e-9 }

// compare groups runs by operation and latency, in the order they first
// ran.
func compare(runs []comparedRun) turns {
	var rows []compareRow
	index := map[string]int{}
	var waves = map[string][]float64{}
	services := map[string]map[string][]float64{"before": {}, "after": {}}
	for _, cr := range runs {
		r := cr.Result
		op := r.BFF + "/" + r.Operation
		k := op + " " + r.Latency
		i, ok := index[k]
		if !ok {
			i = len(rows)
			index[k] = i
			rows = append(rows, compareRow{Operation: op, Latency: r.Latency, Target: cpuTargets[op]})
		}
		services[cr.Tree][k] = append(services[cr.Tree][k], r.ServicesCPUMsPerRequest)
		if cr.Tree == "before" {
			rows[i].Before = append(rows[i].Before, r.CPUMsPerRequest)
			continue
		}
		rows[i].After = append(rows[i].After, r.CPUMsPerRequest)
		rows[i].PeakRSSAfterMiB = max(rows[i].PeakRSSAfterMiB, r.PeakRSSMiB)
		if r.WavesPerOp != nil {
			waves[k] = append(waves[k], *r.WavesPerOp)
		}
	}
	for k, i := range index {
		row := &rows[i]
		row.MedianBefore, row.MedianAfter = median(row.Before), median(row.After)
		row.ServicesBefore, row.ServicesAfter = median(services["before"][k]), median(services["after"][k])
		if row.MedianBefore > 0 {
			row.Ratio = row.MedianAfter / row.MedianBefore
		}
		if w := waves[k]; len(w) > 0 {
			m := median(w)
			row.WavesAfter = &m
		}
	}
	return turns{Rows: rows, Runs: runs}
}

// median is the middle value of vs (the mean of the two middle ones for
// an even count); 0 for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func (c turns) markdown() string {
	var b strings.Builder
	b.WriteString("# make bench-compare: the targets of issue 13, before and after, in turns\n\n")
	fmt.Fprintf(&b, "Measured %s by `make bench-compare` (`go test -count=1 -run '^TestLoadBenchCompare$' -timeout 30m -v ./internal/e2e/loadbench/`). "+
		"Before: the tree at %s; after: this tree. %d rounds; in each, for each service latency, one run of each tree "+
		"(the tree going first alternates from round to round), each run a closed loop of %d workers for %s after a warm-up of %s, "+
		"on a stack of its own (the services, both BFFs and the load generator share the machine's cores). "+
		"CPU ms/req is the BFF process's user+system time over a run divided by its requests; the comparison is of the medians. "+
		"Services CPU ms/req: the medians of the same for the three services together (the BFF shares the cores with them).\n\n",
		c.Date, "`"+c.Before+"`", c.Rounds, compareLevel, seconds(c.RunSeconds), seconds(c.RunSeconds/warmUpShare))
	if c.SameServices {
		b.WriteString("Both trees' BFFs ran over this tree's services (`LOADBENCH_SERVICES=after`): the comparison is of the BFFs alone.\n\n")
	}
	fmt.Fprintf(&b, "| operation | service latency | CPU ms/req before (runs) | after (runs) | median before → after | after / before | target | met | services CPU ms/req before → after | peak RSS after MiB (≤ %d) | waves/op after |\n", rssTargetMiB)
	b.WriteString("|---|---|---|---|---|--:|--:|---|--:|--:|--:|\n")
	for _, r := range c.Rows {
		target, met := "—", "—"
		if r.Target > 0 {
			target = "≤ " + strconv.FormatFloat(r.Target*100, 'f', 1, 64) + " %"
			met = "no"
			if r.met() {
				met = "yes"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.3f → %.3f | %.1f %% | %s | %s | %.3f → %.3f | %.1f | %s |\n",
			r.Operation, latencyText(r.Latency), joinFixed3(r.Before), joinFixed3(r.After), r.MedianBefore, r.MedianAfter,
			r.Ratio*100, target, met, r.ServicesBefore, r.ServicesAfter, r.PeakRSSAfterMiB, waves(r.WavesAfter))
	}
	return b.String()
}

func joinFixed3(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strings.Join(parts, ", ")
}

// writeComparison writes compare.md and compare.json into dir.
func writeComparison(dir string, c turns) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("compare.json: %w", err)
	}
	return errors.Join(
		os.WriteFile(filepath.Join(dir, "compare.md"), []byte(c.markdown()), 0o644),
		os.WriteFile(filepath.Join(dir, "compare.json"), append(js, '\n'), 0o644),
	)
}
