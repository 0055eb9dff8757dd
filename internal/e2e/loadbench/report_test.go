package loadbench_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/seed"
)

// result are the figures of one run: one operation of one BFF at one
// concurrency level in one latency round.
type result struct {
	BFF         string `json:"bff"`
	Operation   string `json:"operation"`
	ReadOnly    bool   `json:"read_only"`
	Latency     string `json:"service_latency"`
	Concurrency int    `json:"concurrency"`
	// Requests answered (successes and failures) over Seconds, from the
	// first request sent to the last answer.
	Requests  uint64  `json:"requests"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"requests_per_second"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	// CPUMsPerRequest is the BFF process's CPU time (user and system)
	// over the run divided by Requests.
	CPUMsPerRequest float64 `json:"cpu_ms_per_request"`
	// ServicesCPUMsPerRequest is the three services' CPU time over the
	// run, together, divided by Requests: what the BFF's calls cost them,
	// on the cores the BFF shares with them.
	ServicesCPUMsPerRequest float64 `json:"services_cpu_ms_per_request"`
	PeakRSSMiB              float64 `json:"peak_rss_mib"`
	PeakRSSMethod           string  `json:"peak_rss_method"`
	UpstreamPerOp           float64 `json:"upstream_requests_per_operation"`
	// WavesPerOp is null when the BFF does not export its waves.
	WavesPerOp     *float64       `json:"upstream_waves_per_operation"`
	UpstreamMethod string         `json:"upstream_method"`
	Failures       uint64         `json:"failures"`
	FailureReasons map[string]int `json:"failure_reasons,omitempty"`
	// Note says why a run ended early (its pool ran out).
	Note string `json:"note,omitempty"`
}

// key identifies a run across reports.
func (r result) key() string {
	return fmt.Sprintf("%s %s latency=%s c=%d", r.BFF, r.Operation, r.Latency, r.Concurrency)
}

// progressLine is the line the test logs after each run.
func (r result) progressLine() string {
	line := fmt.Sprintf("%-6s %-13s latency=%-3s c=%-2d %6.0f req/s  p50 %s  p99 %s  cpu %.3fms/req  services %.3fms/req  rss %.1f MiB  upstream %s/op  waves %s/op  failures %d",
		r.BFF, r.Operation, r.Latency, r.Concurrency, r.PerSecond, msText(r.P50Ms)+"ms", msText(r.P99Ms)+"ms",
		r.CPUMsPerRequest, r.ServicesCPUMsPerRequest, r.PeakRSSMiB, fixed2(r.UpstreamPerOp), waves(r.WavesPerOp), r.Failures)
	if r.Note != "" {
		line += " (" + r.Note + ")"
	}
	return line
}

// report is a whole make bench: results.json.
type report struct {
	Date          string   `json:"date"`
	GoVersion     string   `json:"go_version"`
	Platform      string   `json:"platform"`
	CPUs          int      `json:"cpus"`
	Command       string   `json:"command"`
	RunSeconds    float64  `json:"run_seconds"`
	WarmUpSeconds float64  `json:"warm_up_seconds"`
	Levels        []int    `json:"concurrency_levels"`
	Latencies     []string `json:"service_latencies"`
	Results       []result `json:"results"`
}

func newReport(runFor, warmUp time.Duration) *report {
	return &report{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		CPUs: runtime.NumCPU(), Command: command,
		RunSeconds: runFor.Seconds(), WarmUpSeconds: warmUp.Seconds(),
		Levels: levels, Latencies: latencies,
	}
}

// contractOrder is the order of the operations in the tables: the
// README's, web then mobile.
var contractOrder = []string{
	"web Login", "web Logout", "web Dashboard", "web ProductSearch", "web OrderDetail", "web AdminOverview", "web PlaceOrder", "web CancelOrder",
	"mobile Login", "mobile Home", "mobile OrderList", "mobile Product", "mobile PlaceOrder",
}

// rank is the place of a BFF's operation in contractOrder (unknown ones last).
func rank(bff, op string) int {
	if i := slices.Index(contractOrder, bff+" "+op); i >= 0 {
		return i
	}
	return len(contractOrder)
}

// sortResults orders the results by operation (contractOrder), latency
// round, then concurrency.
func (rep *report) sortResults() {
	slices.SortStableFunc(rep.Results, func(a, b result) int {
		return cmp.Or(
			cmp.Compare(rank(a.BFF, a.Operation), rank(b.BFF, b.Operation)),
			cmp.Compare(a.BFF+a.Operation, b.BFF+b.Operation),
			cmp.Compare(slices.Index(latencies, a.Latency), slices.Index(latencies, b.Latency)),
			cmp.Compare(a.Concurrency, b.Concurrency),
		)
	})
}

// markdown renders results.md: the header line, the table, what ran out
// and what failed.
func (rep *report) markdown() string {
	var b strings.Builder
	b.WriteString("# make bench: both BFFs under load over HTTP\n\n")
	fmt.Fprintf(&b, "Measured %s, %s %s, %d CPUs, by %s. ", rep.Date, rep.GoVersion, rep.Platform, rep.CPUs, commandText(rep.Command))
	fmt.Fprintf(&b, "Each run: a closed loop of N workers (vegeta) for %s after a %s warm-up; the services, the BFFs and the load generator share the machine. ",
		seconds(rep.RunSeconds), seconds(rep.WarmUpSeconds))
	b.WriteString("p50/p90/p99: vegeta's latency quantiles; CPU ms/req: the BFF process's user+system time over the run divided by its requests; ")
	b.WriteString("services CPU ms/req: the same of the three services together; ")
	b.WriteString("peak RSS: the BFF's high-water mark over the run; upstream req/op and waves/op: from the BFF's metrics (see docs/benchmarks.md).\n\n")
	b.WriteString(driven)
	b.WriteString("| operation | BFF | service latency | concurrency | req/s | p50 ms | p90 ms | p99 ms | CPU ms/req | services CPU ms/req | peak RSS MiB | upstream req/op | waves/op | failures |\n")
	b.WriteString("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %.0f | %s | %s | %s | %.3f | %.3f | %.1f | %s | %s | %d |\n",
			r.Operation, r.BFF, latencyText(r.Latency), r.Concurrency, r.PerSecond,
			msText(r.P50Ms), msText(r.P90Ms), msText(r.P99Ms), r.CPUMsPerRequest, r.ServicesCPUMsPerRequest, r.PeakRSSMiB,
			fixed2(r.UpstreamPerOp), waves(r.WavesPerOp), r.Failures)
	}
	writeMethods(&b, rep.Results)
	writeNotes(&b, rep.Results)
	return b.String()
}

// driven says how each operation is sent, for the readers of results.md.
var driven = fmt.Sprintf("The reads run first, on the data as seeded (%d users, %d products, %d orders): web Dashboard and OrderDetail (over her %d orders) as Ada, "+
	"AdminOverview as the admin, ProductSearch signed out (the first %d products); mobile Home and OrderList with Ada's bearer token, Product over every product with the app's key only. "+
	"Login signs the generated users in, in turn. Each Logout ends a web session of its own, opened beforehand by the Login runs and, outside the measurement, more sign-ins; "+
	"each PlaceOrder orders one unit of a product in stock with a fresh idempotency key; each CancelOrder cancels an order the web PlaceOrder placed: "+
	"Logout and CancelOrder runs stop at %d requests.\n\n",
	seedSizes.Users, seedSizes.Products, seedSizes.Orders, seed.OrdersPerFixedCustomer, productSearchFirst, poolQuota)

// writeMethods says where the upstream and RSS figures came from when
// some did not come from the first choice.
func writeMethods(b *strings.Builder, results []result) {
	var fallback, sampled []string
	for _, r := range results {
		if r.UpstreamMethod != upstreamRequestsFamily {
			fallback = append(fallback, r.key())
		}
		if r.PeakRSSMethod != "VmHWM" {
			sampled = append(sampled, r.key())
		}
	}
	if len(fallback) > 0 {
		fmt.Fprintf(b, "\nUpstream req/op of %d runs is the count of every call the BFF made to a service (`%s`) divided by requests: the BFF exported no `%s` for the operation; waves/op is then —.\n",
			len(fallback), clientCallsFamily, upstreamRequestsFamily)
	}
	if len(sampled) > 0 {
		fmt.Fprintf(b, "\nPeak RSS of %d runs is the most of VmRSS sampled every 100 ms: the kernel refused to reset the high-water mark.\n", len(sampled))
	}
}

// writeNotes lists the runs that ended early and the failures, by reason.
func writeNotes(b *strings.Builder, results []result) {
	var early, failed []string
	for _, r := range results {
		if r.Note != "" {
			early = append(early, fmt.Sprintf("- %s: %s (%d requests).", r.key(), r.Note, r.Requests))
		}
		if r.Failures > 0 {
			var why []string
			for _, reason := range slices.Sorted(maps.Keys(r.FailureReasons)) {
				why = append(why, fmt.Sprintf("%s ×%d", reason, r.FailureReasons[reason]))
			}
			failed = append(failed, fmt.Sprintf("- %s: %d of %d: %s.", r.key(), r.Failures, r.Requests, strings.Join(why, "; ")))
		}
	}
	if len(early) > 0 {
		b.WriteString("\nRuns that ended before their time:\n\n" + strings.Join(early, "\n") + "\n")
	}
	if len(failed) > 0 {
		b.WriteString("\nFailures (an answer other than HTTP 200, or with errors, or a mutation's userErrors):\n\n" + strings.Join(failed, "\n") + "\n")
	} else {
		b.WriteString("\nNo failures: every answer was HTTP 200 with data and no errors (and no userErrors).\n")
	}
}

// comparedLevel and comparedLatency are the runs a baseline is compared on.
const (
	comparedLevel   = 32
	comparedLatency = "0"
)

// comparison renders the before → after table of CPU per request, p99
// and peak RSS of each operation at comparedLevel workers and no service
// latency.
func comparison(before, after *report) string {
	old := map[string]result{}
	for _, r := range before.Results {
		old[r.key()] = r
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Before → after (concurrency %d, service latency %s)\n\n", comparedLevel, latencyText(comparedLatency))
	fmt.Fprintf(&b, "Before: %s, %s, %d CPUs. After: %s, %s, %d CPUs.\n\n", before.Date, before.GoVersion, before.CPUs, after.Date, after.GoVersion, after.CPUs)
	b.WriteString("| operation | BFF | CPU ms/req | p99 ms | peak RSS MiB |\n|---|---|---|---|---|\n")
	for _, r := range after.Results {
		if r.Concurrency != comparedLevel || r.Latency != comparedLatency {
			continue
		}
		o, ok := old[r.key()]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Operation, r.BFF,
			change(o.CPUMsPerRequest, r.CPUMsPerRequest, ok, "%.3f"),
			change(o.P99Ms, r.P99Ms, ok, "%.2f"),
			change(o.PeakRSSMiB, r.PeakRSSMiB, ok, "%.1f"))
	}
	return b.String()
}

// change is "before → after (±n%)", or "— → after" without a before.
func change(before, after float64, ok bool, format string) string {
	a := fmt.Sprintf(format, after)
	if !ok {
		return "— → " + a
	}
	s := fmt.Sprintf(format, before) + " → " + a
	if before > 0 {
		s += fmt.Sprintf(" (%+.0f%%)", (after-before)/before*100)
	}
	return s
}

// loadBaseline reads a previous results.json; nil when path is "".
func loadBaseline(path string) (*report, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("LOADBENCH_BASELINE: %w", err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("LOADBENCH_BASELINE %s: %w", path, err)
	}
	if len(rep.Results) == 0 {
		return nil, fmt.Errorf("LOADBENCH_BASELINE %s: no results", path)
	}
	return &rep, nil
}

// writeOutputs writes results.md (with the comparison when there is a
// baseline), results.json, throughput.svg and p99.svg to dir.
func writeOutputs(dir string, rep *report, baseline *report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	md := rep.markdown()
	if baseline != nil {
		md += "\n" + comparison(baseline, rep)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	throughput, err := chart(rep, "Answers a second against concurrency", "req/s", func(r result) float64 { return r.PerSecond })
	if err != nil {
		return fmt.Errorf("throughput.svg: %w", err)
	}
	p99, err := chart(rep, "p99 latency against concurrency", "p99 (ms)", func(r result) float64 { return r.P99Ms })
	if err != nil {
		return fmt.Errorf("p99.svg: %w", err)
	}
	var errs []error
	for name, content := range map[string][]byte{
		"results.md": []byte(md), "results.json": append(js, '\n'),
		"throughput.svg": throughput, "p99.svg": p99,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// msText shows a latency in ms with three significant digits or so.
func msText(v float64) string {
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// commandText is "make bench (go test …)" as Markdown: each command in
// backticks.
func commandText(c string) string {
	target, goCmd, ok := strings.Cut(c, " (")
	if !ok {
		return "`" + c + "`"
	}
	return "`" + target + "` (`" + strings.TrimSuffix(goCmd, ")") + "`)"
}

func fixed2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func waves(v *float64) string {
	if v == nil {
		return "—"
	}
	return fixed2(*v)
}

func latencyText(l string) string {
	if l == "0" {
		return "none"
	}
	return l
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'g', -1, 64) + " s" }
