package e2e_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/internal/testutil"
)

// family is one metric family a process exports: its type and the label
// names of its series.
type family struct {
	typ    string
	labels []string
}

var (
	typeLine  = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$`)
	labelName = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)
)

// scrapeFamilies reads the Prometheus text exposition at url and returns
// its families by name, the label names of a histogram read from its
// _count series (le is a bucket's, not the family's).
func scrapeFamilies(t *testing.T, url string) map[string]family {
	t.Helper()
	text := testutil.Metrics(t, url)
	out := map[string]family{}
	labels := map[string]map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if m := typeLine.FindStringSubmatch(line); m != nil {
			out[m[1]] = family{typ: m[2]}
			labels[m[1]] = map[string]bool{}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		base := name
		if _, ok := out[base]; !ok {
			base = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		}
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") {
			continue
		}
		if _, ok := labels[base]; !ok {
			t.Fatalf("series %s has no family", name)
		}
		if strings.Contains(line, "{") {
			for _, m := range labelName.FindAllStringSubmatch(rest, -1) {
				labels[base][m[1]] = true
			}
		}
	}
	for name, f := range out {
		f.labels = slices.Sorted(maps.Keys(labels[name]))
		out[name] = f
	}
	return out
}

// runtimeFamily reports whether a family is one of the Go or process
// collectors', which the README describes as a group.
func runtimeFamily(name string) bool {
	return strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_")
}

// TestREADMEMetricsTableIsWhatTheProcessesExport starts both BFFs and
// their services, sends the traffic of the Prometheus test (every
// operation, refusals of each kind, persisted queries, orders), scrapes
// every process's admin listener, and holds the README's metrics table to
// it: a row for every family a process exports (the Go and process
// collectors' aside), no row for one none does, and each row's type,
// labels and processes as scraped.
func TestREADMEMetricsTableIsWhatTheProcessesExport(t *testing.T) {
	t.Parallel()
	root := auditRepoRoot(t)
	webEnv, mobileEnv := startBothBFFs(t, root)
	traffic := newPromTraffic(t, webEnv, mobileEnv)
	traffic.round(t, 0)
	// The mobile BFF's errors and guard refusals, which that traffic sends
	// the web BFF only: Home without a token, and a document too deep.
	app := mobileEnv.NewClient()
	app.Header.Set(authn.APIKeyHeader, apikey.DevKey)
	if r := app.Op(t, "Home", nil); len(r.Errors) == 0 || r.Errors[0].Code() != "UNAUTHENTICATED" {
		t.Fatalf("Home without a token: want UNAUTHENTICATED, got %s", r.Raw)
	}
	tooDeep := "{" + strings.Repeat(" a {", 20) + " b" + strings.Repeat(" }", 21)
	if r := app.Query(t, tooDeep, nil); len(r.Errors) == 0 || r.Errors[0].Code() != "QUERY_TOO_DEEP" {
		t.Fatalf("a document 20 levels deep: want QUERY_TOO_DEEP, got %s", r.Raw)
	}

	// Per family: its type and labels, and the processes exporting it.
	type exported struct {
		family
		processes []string
	}
	scraped := map[string]*exported{}
	for _, p := range []struct{ name, url string }{
		{"bff-web", webEnv.AdminURL},
		{"bff-mobile", mobileEnv.AdminURL},
		{"user", webEnv.Stack.User.AdminURL},
		{"order", webEnv.Stack.Order.AdminURL},
		{"product", webEnv.Stack.Product.AdminURL},
	} {
		for name, f := range scrapeFamilies(t, p.url) {
			if runtimeFamily(name) {
				continue
			}
			e, ok := scraped[name]
			if !ok {
				e = &exported{family: f}
				scraped[name] = e
			} else if e.typ != f.typ || !slices.Equal(e.labels, f.labels) {
				t.Errorf("%s is %s %v in one process and %s %v in %s", name, e.typ, e.labels, f.typ, f.labels, p.name)
			}
			e.processes = append(e.processes, p.name)
		}
	}
	if testing.Verbose() {
		for _, name := range slices.Sorted(maps.Keys(scraped)) {
			e := scraped[name]
			t.Logf("| `%s` | %s | %s | %s |", name, e.typ, strings.Join(e.labels, ", "), strings.Join(e.processes, ", "))
		}
	}

	rows := tableRows(section(t, readme(t), "### Metrics"))
	if len(rows) == 0 {
		t.Fatal("the README's Metrics section has no table")
	}
	inREADME := map[string]bool{}
	for _, row := range rows {
		if len(row) != 5 {
			t.Errorf("metrics row %q: want 5 cells (metric, type, labels, processes, meaning)", row)
			continue
		}
		name := strings.Trim(row[0], "`")
		inREADME[name] = true
		e, ok := scraped[name]
		if !ok && strings.HasSuffix(row[3], ", with Redis") {
			continue // exported only by BFFs sharing Redis: the cluster tests check them
		}
		if !ok {
			t.Errorf("the README lists %s, which no process exports", name)
			continue
		}
		if row[1] != e.typ {
			t.Errorf("%s: the README says %s, it is a %s", name, row[1], e.typ)
		}
		// A label written "`error_type` on failures" is on some series
		// only: the traffic need not have made one.
		var labels []string
		for _, m := range backticked.FindAllStringSubmatch(row[2], -1) {
			if !strings.Contains(row[2], m[0]+" on failures") || slices.Contains(e.labels, m[1]) {
				labels = append(labels, m[1])
			}
		}
		slices.Sort(labels)
		if !slices.Equal(labels, e.labels) {
			t.Errorf("%s: the README gives labels %v, it has %v", name, labels, e.labels)
		}
		if want := processesCell(e.processes); strings.TrimSuffix(row[3], ", with Redis") != want {
			t.Errorf("%s: the README says it comes from %q, it comes from %q", name, row[3], want)
		}
	}
	for name := range scraped {
		if !inREADME[name] {
			t.Errorf("%s is exported but not in the README's metrics table", name)
		}
	}
}

// processesCell is how the README's metrics table names processes: "all",
// "both BFFs", "services", or their names.
func processesCell(processes []string) string {
	set := strings.Join(processes, ", ")
	switch set {
	case "bff-web, bff-mobile, user, order, product":
		return "all"
	case "bff-web, bff-mobile":
		return "both BFFs"
	case "user, order, product":
		return "services"
	}
	return set
}

// TestREADMETracingVariablesAreTheOnesRead keeps the README's table of
// tracing variables equal to those telemetry reads.
func TestREADMETracingVariablesAreTheOnesRead(t *testing.T) {
	t.Parallel()
	var read []string
	telemetry.EnvFrom(func(key string) string { read = append(read, key); return "" })
	slices.Sort(read)
	var listed []string
	for _, row := range tableRows(section(t, readme(t), "### Traces")) {
		listed = append(listed, strings.Trim(row[0], "`"))
	}
	slices.Sort(listed)
	if !slices.Equal(listed, read) {
		t.Errorf("the README's tracing variables %v, telemetry reads %v", listed, read)
	}
}
