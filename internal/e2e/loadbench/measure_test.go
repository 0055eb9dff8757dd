package loadbench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// 100 on every Linux architecture (the kernel scales to it whatever its
// own tick rate, and getconf CLK_TCK says 100).
const clockTicks = 100

// rssSampleEvery is the sampling period of the peak RSS when the kernel
// will not reset the high-water mark.
const rssSampleEvery = 100 * time.Millisecond

// Metric families read from a BFF's /metrics.
const (
	upstreamRequestsFamily = "bff_operation_upstream_requests"
	upstreamWavesFamily    = "bff_operation_upstream_waves"
	// clientCallsFamily times every call the BFF makes to a service: its
	// count is the fallback for upstream requests when the BFF does not
	// export them by operation.
	clientCallsFamily = "http_client_request_duration_seconds"
)

// Bounds of the operations that consume a pool (Logout, CancelOrder).
const (
	// poolQuota bounds such a run's requests: about a second of Logout at
	// 32 workers, enough for its p99, and what keeps the sign-ins that
	// prepare it to a few seconds a round.
	poolQuota = 800
	// warmUpQuota bounds such a run's warm-up.
	warmUpQuota = 100
	// refillWorkers send the feeder's requests that top a pool up.
	refillWorkers = 16
	// refillTimeout bounds a top-up.
	refillTimeout = time.Minute
)

// errQuota ends a run that reached its quota; like an empty pool, it
// stops vegeta's attack (which stops at the targeter's first error).
var errQuota = fmt.Errorf("%w: quota reached", vegeta.ErrNoTargets)

// How an attack ended, when not at its time.
const (
	endedByQuota = "quota"
	endedByPool  = "pool"
)

// tally is what one attack's answers came to.
type tally struct {
	metrics  vegeta.Metrics
	failures map[string]int // by reason
	ended    string         // endedByQuota, endedByPool, or "" at its time
}

// attack runs op closed loop with level workers for d (or until its pool
// runs out, or ctx ends) and checks every answer.
func attack(ctx context.Context, client *http.Client, op operation, level int, d time.Duration) tally {
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(level)), vegeta.MaxWorkers(uint64(level)))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	url := op.proc.URL() + "/graphql"
	targeter := func(tgt *vegeta.Target) error {
		body, header, err := op.next()
		if err != nil {
			return err
		}
		*tgt = vegeta.Target{Method: http.MethodPost, URL: url, Body: body, Header: header}
		return nil
	}
	t := tally{failures: map[string]int{}}
	// Rate{Freq: 0} is no pacing at all: each worker sends its next
	// request as soon as it has its answer, a closed loop of level users.
	for res := range atk.Attack(targeter, vegeta.Rate{Freq: 0}, d, op.bff+" "+op.name) {
		if res.Code == 0 && strings.HasPrefix(res.Error, vegeta.ErrNoTargets.Error()) {
			// Not a request: nothing was sent.
			t.ended = endedByPool
			if res.Error == errQuota.Error() {
				t.ended = endedByQuota
			}
			continue
		}
		t.metrics.Add(res)
		if err := judge(res, op.accept); err != nil {
			t.failures[reason(err)]++
		}
	}
	t.metrics.Close()
	return t
}

// reason is a failure's reason, short enough for a table.
func reason(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// limited is next that answers errQuota after n requests (n 0: never).
func limited(next func() ([]byte, http.Header, error), n int) func() ([]byte, http.Header, error) {
	if n <= 0 {
		return next
	}
	var sent atomic.Int64
	return func() ([]byte, http.Header, error) {
		if sent.Add(1) > int64(n) {
			return nil, nil, errQuota
		}
		return next()
	}
}

// withQuota is op bounded to n requests.
func withQuota(op operation, n int) operation {
	op.next = limited(op.next, n)
	return op
}

// topUp fills the pool op consumes with what its warm-up and run may
// take, by sending its feeder (the sign-ins, the orders) at
// refillWorkers: before the warm-up, outside any measurement. A pool
// still short after it (the feeder failed) ends the run early, which
// the run's note says.
func topUp(ctx context.Context, client *http.Client, op operation) error {
	if op.feeder == nil {
		return nil
	}
	missing := op.quota + warmUpQuota - op.available()
	if missing <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, refillTimeout)
	defer cancel()
	attack(ctx, client, withQuota(*op.feeder, missing), refillWorkers, refillTimeout)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("top up the %s of %s %s: %w", op.pool, op.bff, op.name, err)
	}
	return nil
}

// measure runs op at level after a warm-up and returns its figures; with
// a profile path, it also saves the BFF's CPU profile over the run there.
func measure(ctx context.Context, client *http.Client, op operation, level int, latency string, runFor time.Duration, profile string) (result, error) {
	if err := topUp(ctx, client, op); err != nil {
		return result{}, err
	}
	warmUp := op
	if op.quota > 0 {
		warmUp = withQuota(op, warmUpQuota)
	}
	attack(ctx, client, warmUp, level, runFor/warmUpShare)
	pid := op.proc.Pid()
	before, err := scrape(ctx, client, op.proc.AdminURL())
	if err != nil {
		return result{}, err
	}
	rss := watchPeakRSS(ctx, pid)
	cpuBefore, err := cluster.CPUTicks(pid)
	if err != nil {
		return result{}, err
	}
	servicesBefore, err := cpuTicksOf(op.services)
	if err != nil {
		return result{}, err
	}
	var profiled chan error
	if profile != "" {
		profiled = make(chan error, 1)
		go func() { profiled <- saveProfile(ctx, client, op.proc.AdminURL(), runFor, profile) }()
	}
	t := attack(ctx, client, withQuota(op, op.quota), level, runFor)
	if profiled != nil {
		if err := <-profiled; err != nil {
			return result{}, err
		}
	}
	cpuAfter, err := cluster.CPUTicks(pid)
	if err != nil {
		return result{}, err
	}
	servicesAfter, err := cpuTicksOf(op.services)
	if err != nil {
		return result{}, err
	}
	peak, rssMethod, err := rss.stop()
	if err != nil {
		return result{}, err
	}
	after, err := scrape(ctx, client, op.proc.AdminURL())
	if err != nil {
		return result{}, err
	}
	if err := ctx.Err(); err != nil {
		return result{}, fmt.Errorf("stopped: %w", err)
	}
	r := figures(op, level, latency, t)
	r.PeakRSSMiB, r.PeakRSSMethod = peak, rssMethod
	if r.Requests > 0 {
		r.CPUMsPerRequest = float64(cpuAfter-cpuBefore) * 1000 / clockTicks / float64(r.Requests)
		r.ServicesCPUMsPerRequest = float64(servicesAfter-servicesBefore) * 1000 / clockTicks / float64(r.Requests)
	}
	up := upstreamFigures(before, after, op.name, r.Requests)
	r.UpstreamPerOp, r.WavesPerOp, r.UpstreamMethod = up.perOp, up.waves, up.method
	switch t.ended {
	case endedByQuota:
		r.Note = fmt.Sprintf("bounded at %d requests, each consuming one of the %s made beforehand", op.quota, op.pool)
	case endedByPool:
		r.Note = fmt.Sprintf("ran out of %s after %.1f s", op.pool, r.Seconds)
	}
	return r, nil
}

// cpuTicksOf is the CPU time (user and system, in clock ticks) the
// processes have taken so far, together.
func cpuTicksOf(procs []*cluster.Process) (uint64, error) {
	var sum uint64
	for _, p := range procs {
		n, err := cluster.CPUTicks(p.Pid())
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// saveProfile asks the BFF's admin listener (pprof: ENV=development) for
// a CPU profile over d and writes it to path.
func saveProfile(ctx context.Context, client *http.Client, adminURL string, d time.Duration, path string) error {
	secs := max(1, int(d/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", adminURL, secs), nil)
	if err != nil {
		return err
	}
	// The profile takes d: the load's client, whose timeout bounds one
	// request of the load, would give up on a long one (ctx bounds it).
	res, err := (&http.Client{Transport: client.Transport}).Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("CPU profile: %s", res.Status)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	return os.WriteFile(path, body, 0o644)
}

// figures are the figures of a tally vegeta measured.
func figures(op operation, level int, latency string, t tally) result {
	m := t.metrics
	r := result{
		BFF: op.bff, Operation: op.name, ReadOnly: op.readOnly,
		Latency: latency, Concurrency: level,
		Requests: m.Requests, Seconds: (m.Duration + m.Wait).Seconds(),
		P50Ms: ms(m.Latencies.P50), P90Ms: ms(m.Latencies.P90), P99Ms: ms(m.Latencies.P99),
	}
	if r.Seconds > 0 {
		r.PerSecond = float64(m.Requests) / r.Seconds
	}
	for why, n := range t.failures {
		r.Failures += uint64(n)
		if r.FailureReasons == nil {
			r.FailureReasons = map[string]int{}
		}
		r.FailureReasons[why] = n
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// peakRSS follows the peak resident memory of a process over a run: by
// the kernel's high-water mark (VmHWM) reset at the start when it may
// (writing 5 to clear_refs, as the process's owner), else by sampling
// VmRSS every rssSampleEvery.
type peakRSS struct {
	pid    int
	method string
	// Sampling only.
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	peak   float64
	err    error
}

func watchPeakRSS(ctx context.Context, pid int) *peakRSS {
	w := &peakRSS{pid: pid, method: "VmHWM"}
	if os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil {
		return w
	}
	w.method = "VmRSS every 100 ms"
	ctx, w.cancel = context.WithCancel(ctx)
	w.sample()
	w.wg.Go(func() {
		tick := time.NewTicker(rssSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				w.sample()
			}
		}
	})
	return w
}

func (w *peakRSS) sample() {
	v, err := cluster.StatusMiB(w.pid, "VmRSS")
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
		return
	}
	w.peak = max(w.peak, v)
}

// stop ends the watch and returns the peak in MiB and how it was measured.
func (w *peakRSS) stop() (float64, string, error) {
	if w.cancel == nil {
		v, err := cluster.StatusMiB(w.pid, "VmHWM")
		return v, w.method, err
	}
	w.cancel()
	w.wg.Wait()
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak, w.method, w.err
}

// families are a scrape of /metrics, by family name.
type families map[string]*dto.MetricFamily

// scrape reads the Prometheus text of an admin listener's /metrics.
func scrape(ctx context.Context, client *http.Client, adminURL string) (families, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, adminURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// The text format, whatever else the endpoint could negotiate.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", adminURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: HTTP %d", adminURL, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (families, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return fams, nil
}

// upstream are the upstream figures of a run.
type upstream struct {
	perOp  float64
	waves  *float64 // nil when the BFF does not export them
	method string
}

// upstreamFigures are the upstream requests and waves per operation over
// a run, from two scrapes around it: the deltas of the BFF's histograms
// by operation (sum over count), or, when it has none for op, the delta
// of every call it made to a service divided by requests (a run sends
// only op, so every call is op's).
func upstreamFigures(before, after families, op string, requests uint64) upstream {
	sum0, n0, _ := histogramTotals(before, upstreamRequestsFamily, op)
	sum1, n1, ok := histogramTotals(after, upstreamRequestsFamily, op)
	if ok && n1 > n0 {
		u := upstream{perOp: (sum1 - sum0) / (n1 - n0), method: upstreamRequestsFamily}
		w0, m0, _ := histogramTotals(before, upstreamWavesFamily, op)
		w1, m1, ok := histogramTotals(after, upstreamWavesFamily, op)
		if ok && m1 > m0 {
			waves := (w1 - w0) / (m1 - m0)
			u.waves = &waves
		}
		return u
	}
	u := upstream{method: clientCallsFamily}
	if requests > 0 {
		_, c0, _ := histogramTotals(before, clientCallsFamily, "")
		_, c1, _ := histogramTotals(after, clientCallsFamily, "")
		u.perOp = (c1 - c0) / float64(requests)
	}
	return u
}

// histogramTotals adds up the sums and counts of a histogram family's
// series whose operation label (graphql_operation_name, or operation) is
// op; every series when op is "". ok is false when there is no such
// series.
func histogramTotals(fams families, family, op string) (sum, count float64, ok bool) {
	f := fams[family]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		return 0, 0, false
	}
	for _, m := range f.GetMetric() {
		if op != "" && operationLabel(m) != op {
			continue
		}
		ok = true
		sum += m.GetHistogram().GetSampleSum()
		count += float64(m.GetHistogram().GetSampleCount())
	}
	return sum, count, ok
}

func operationLabel(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == "graphql_operation_name" || l.GetName() == "operation" {
			return l.GetValue()
		}
	}
	return ""
}
