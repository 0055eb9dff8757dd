// Package soak_test runs both BFFs as processes for a long while (make
// soak: 10 minutes) under a steady mix of web and mobile operations, with
// faults switched on and off on the services every half minute, and
// samples each BFF's memory (RSS), goroutines and open file descriptors
// every second, and the latency of the answers. It fails when any of them
// grows instead of staying flat, and writes a chart (SVG) and the figures
// (Markdown) to SOAK_OUT.
//
// It runs only when SOAK_DURATION is set (make soak sets it): it is not
// part of make test.
package soak_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mobileops "github.com/acme/bff-gateway/bff-mobile/operations"
	webops "github.com/acme/bff-gateway/bff-web/operations"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
	"github.com/acme/bff-gateway/internal/seed"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }

// Shape of a soak.
const (
	loadRate    = 40 // requests a second, both BFFs together
	loadWorkers = 8
	faultEvery  = 30 * time.Second // a fault starts every faultEvery…
	faultFor    = 10 * time.Second // …and lasts faultFor
	warmUp      = time.Minute      // excluded from the flatness checks
)

// sample is one second of a soak.
type sample struct {
	At         time.Duration
	RSSMiB     map[string]float64 // by BFF
	Goroutines map[string]float64
	FDs        map[string]float64
	P50, P99   float64 // ms, answers of that second
	Requests   int
	Failed     int // no answer, or an answer other than 200
	Fault      string
}

func TestSoak(t *testing.T) {
	raw := os.Getenv("SOAK_DURATION")
	if raw == "" {
		t.Skip("a soak runs only with SOAK_DURATION set: make soak")
	}
	duration, err := time.ParseDuration(raw)
	if err != nil || duration < 2*warmUp {
		t.Fatalf("SOAK_DURATION=%q: want a duration of at least %s", raw, 2*warmUp)
	}
	bins := cluster.Build(t)
	svcs := cluster.StartServices(t, bins, cluster.ServiceOptions{Latency: "1ms-3ms"})
	// Short call timeouts so that a hung service costs little; no rate
	// limits: one load generator stands for many users.
	conf := cluster.BFFConfig(t, "timeouts:\n  call: 500ms\n  request: 3s\nrate_limit:\n  enabled: false\n")
	bffs := map[string]*cluster.Process{
		"bff-web":    cluster.StartBFF(t, bins, svcs, "web", conf),
		"bff-mobile": cluster.StartBFF(t, bins, svcs, "mobile", conf),
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers}}
	defer client.CloseIdleConnections()
	web, mobile := cluster.Documents(webops.Documents()), cluster.Documents(mobileops.Documents())
	ada := seed.FixedAccounts[1]
	cookie, err := cluster.WebSignIn(t.Context(), client, bffs["bff-web"].URL()+"/graphql", web["Login"], ada.Email, ada.Password)
	if err != nil {
		t.Fatal(err)
	}
	token, err := cluster.MobileSignIn(t.Context(), client, bffs["bff-mobile"].URL()+"/graphql", mobile["Login"], ada.Email, ada.Password)
	if err != nil {
		t.Fatal(err)
	}
	adaApp := cluster.MobileAppHeader()
	adaApp.Set("Authorization", "Bearer "+token)
	requests := []struct {
		base, doc string
		header    http.Header
	}{
		{bffs["bff-web"].URL(), web["Dashboard"], http.Header{"Cookie": {cookie}}},
		{bffs["bff-mobile"].URL(), mobile["Home"], adaApp},
		{bffs["bff-web"].URL(), web["ProductSearch"], nil},
		{bffs["bff-mobile"].URL(), mobile["Product"], cluster.MobileAppHeader()},
	}

	// The load: fixed rate, latencies and failures per second.
	var mu sync.Mutex
	var latencies []float64
	var requestsThisSecond, failedThisSecond int
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * loadWorkers / loadRate)
	for w := range loadWorkers {
		wg.Go(func() {
			next := time.Now().Add(interval * time.Duration(w) / loadWorkers)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(interval)
				r := requests[int(n.Add(1))%len(requests)]
				start := time.Now()
				ok := post(ctx, client, r.base, r.doc, r.header)
				ms := float64(time.Since(start).Microseconds()) / 1000
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				latencies = append(latencies, ms)
				requestsThisSecond++
				if !ok {
					failedThisSecond++
				}
				mu.Unlock()
			}
		})
	}

	// Faults: every faultEvery, one service is frozen (SIGSTOP: every call
	// to it hangs until the call timeout) or stopped (connections
	// refused) for faultFor, in turn.
	faults := []struct {
		name    string
		on, off func() error
	}{
		{"product frozen", func() error { return svcs.Product.Signal(syscall.SIGSTOP) }, func() error { return svcs.Product.Signal(syscall.SIGCONT) }},
		{"order stopped", func() error { svcs.Order.Stop(); return nil }, svcs.Order.Start},
		{"user frozen", func() error { return svcs.User.Signal(syscall.SIGSTOP) }, func() error { return svcs.User.Signal(syscall.SIGCONT) }},
		{"product stopped", func() error { svcs.Product.Stop(); return nil }, svcs.Product.Start},
	}
	var fault atomic.Value
	fault.Store("")
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(faultEvery - faultFor):
			}
			f := faults[i%len(faults)]
			if err := f.on(); err != nil {
				t.Errorf("fault %s: %v", f.name, err)
				return
			}
			fault.Store(f.name)
			select {
			case <-ctx.Done():
			case <-time.After(faultFor):
			}
			fault.Store("")
			if err := f.off(); err != nil {
				t.Errorf("end of fault %s: %v", f.name, err)
				return
			}
		}
	})

	// Sampling, every second.
	var samples []sample
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-ctx.Done():
			break sampling
		case <-tick.C:
		}
		s := sample{At: time.Since(start), RSSMiB: map[string]float64{}, Goroutines: map[string]float64{}, FDs: map[string]float64{}}
		for name, p := range bffs {
			// A process that cannot be read (it has just exited) counts
			// as 0 for that second.
			s.RSSMiB[name], _ = cluster.StatusMiB(p.Pid(), "VmRSS")
			fds, _ := cluster.OpenFDs(p.Pid())
			s.FDs[name] = float64(fds)
			s.Goroutines[name] = goroutines(client, p.AdminURL())
		}
		mu.Lock()
		s.P50, s.P99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
		s.Requests, s.Failed = requestsThisSecond, failedThisSecond
		latencies, requestsThisSecond, failedThisSecond = latencies[:0], 0, 0
		mu.Unlock()
		s.Fault, _ = fault.Load().(string)
		samples = append(samples, s)
	}
	wg.Wait()
	// Whatever fault was on at the end is switched off, so that the
	// services stop cleanly.
	_ = svcs.Product.Signal(syscall.SIGCONT)
	_ = svcs.User.Signal(syscall.SIGCONT)

	report := summarize(t, samples)
	if out := os.Getenv("SOAK_OUT"); out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "soak.svg"), chart(samples), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "soak.md"), []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s/soak.svg and soak.md", out)
	}
	t.Log("\n" + report)
}

// summarize checks that memory, goroutines and file descriptors stayed
// flat after the warm-up and returns the figures in Markdown.
func summarize(t *testing.T, samples []sample) string {
	t.Helper()
	var b strings.Builder
	total, failed := 0, 0
	var faultFailed, quietFailed, quietTotal int
	for _, s := range samples {
		total += s.Requests
		failed += s.Failed
		if s.Fault == "" {
			quietTotal += s.Requests
			quietFailed += s.Failed
		} else {
			faultFailed += s.Failed
		}
	}
	fmt.Fprintf(&b, "Soak of %s: %d requests at %d a second (web Dashboard and ProductSearch, mobile Home and Product), ",
		samples[len(samples)-1].At.Round(time.Second), total, loadRate)
	fmt.Fprintf(&b, "a fault every %s for %s (product frozen, order stopped, user frozen, product stopped, in turn).\n\n", faultEvery, faultFor)
	fmt.Fprintf(&b, "Answers other than HTTP 200, or none: %d (%d while a fault was on; %d of %d with none on).\n\n", failed, faultFailed, quietFailed, quietTotal)
	b.WriteString("| BFF | series | after warm-up | last minute | most |\n|---|---|---|---|---|\n")
	var after, last []sample
	for _, s := range samples {
		if s.At >= warmUp && s.At < 2*warmUp {
			after = append(after, s)
		}
		if s.At >= samples[len(samples)-1].At-time.Minute {
			last = append(last, s)
		}
	}
	for _, name := range []string{"bff-web", "bff-mobile"} {
		for _, series := range []struct {
			label string
			get   func(sample) float64
			slack float64 // allowed growth, last minute over the minute after warm-up
		}{
			{"RSS (MiB)", func(s sample) float64 { return s.RSSMiB[name] }, 1.5},
			{"goroutines", func(s sample) float64 { return s.Goroutines[name] }, 1.5},
			{"open fds", func(s sample) float64 { return s.FDs[name] }, 1.5},
		} {
			a, l := median(after, series.get), median(last, series.get)
			most := 0.0
			for _, s := range samples {
				most = max(most, series.get(s))
			}
			fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f |\n", name, series.label, a, l, most)
			if l > a*series.slack+8 {
				t.Errorf("%s %s grew: %.1f in the minute after warm-up, %.1f in the last minute", name, series.label, a, l)
			}
		}
	}
	var quietP99 []float64
	for _, s := range samples {
		if s.Fault == "" && s.Requests > 0 {
			quietP99 = append(quietP99, s.P99)
		}
	}
	slices.Sort(quietP99)
	if len(quietP99) > 0 {
		fmt.Fprintf(&b, "\nLatency with no fault on: the median second's p99 is %.1f ms, the worst second's %.1f ms.\n",
			quietP99[len(quietP99)/2], quietP99[len(quietP99)-1])
	}
	if quietTotal > 0 && float64(quietFailed) > 0.01*float64(quietTotal) {
		t.Errorf("%d of %d requests failed with no fault on", quietFailed, quietTotal)
	}
	return b.String()
}

func median(samples []sample, get func(sample) float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = get(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// goroutines reads go_goroutines from an admin listener.
func goroutines(client *http.Client, admin string) float64 {
	resp, err := client.Get(admin + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	for line := range strings.Lines(buf.String()) {
		if rest, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// post sends a document and reports an HTTP 200 answer (partial answers
// included: a fault makes some fields errors, by design).
func post(ctx context.Context, client *http.Client, base, doc string, header http.Header) bool {
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": map[string]any{"id": seed.ProductID(1), "first": 5}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode == http.StatusOK
}
