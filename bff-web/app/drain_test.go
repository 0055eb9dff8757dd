package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-web/app"
)

// runBFF runs the web BFF's main with env on loopback ports until ctx
// ends, and returns its URL and a channel that receives Run's result.
func runBFF(t *testing.T, ctx context.Context, env map[string]string) (string, <-chan error) {
	t.Helper()
	env["LISTEN_ADDR"], env["ADMIN_ADDR"] = "127.0.0.1:0", "127.0.0.1:0"
	logs, logw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, nil, func(k string) string { return env[k] }, logw)
		_ = logw.Close()
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var line struct {
				Msg string `json:"msg"`
				URL string `json:"url"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				urls <- line.URL
			}
		}
	}()
	select {
	case u := <-urls:
		return u, done
	case err := <-done:
		t.Fatalf("Run ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the BFF did not start listening")
	}
	return "", nil
}

func status(t *testing.T, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	// A connection of its own each time: draining, the server stops
	// keeping them alive.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestDrainOnStop: told to stop, the BFF answers /readyz 503 at once,
// goes on answering GraphQL for the drain delay, then stops; Run returns
// nil.
func TestDrainOnStop(t *testing.T) {
	t.Parallel()
	const delay = 800 * time.Millisecond
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	url, done := runBFF(t, ctx, map[string]string{"DRAIN_DELAY": delay.String()})
	const query = `{"query":"{ __typename }"}`
	if got := status(t, http.MethodGet, url+"/readyz", ""); got != http.StatusOK {
		t.Fatalf("/readyz before stopping: %d", got)
	}

	stop()
	stopped := time.Now()
	deadline := stopped.Add(delay / 2)
	ready := 0
	for ready = status(t, http.MethodGet, url+"/readyz", ""); ready == http.StatusOK && time.Now().Before(deadline); ready = status(t, http.MethodGet, url+"/readyz", "") {
		time.Sleep(5 * time.Millisecond)
	}
	if ready != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, want 503", ready)
	}
	if got := status(t, http.MethodPost, url+"/graphql", query); got != http.StatusOK {
		t.Errorf("GraphQL while draining: %d, want 200 (it still serves)", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		if elapsed := time.Since(stopped); elapsed < delay {
			t.Errorf("Run returned %s after the stop, before the drain delay of %s", elapsed, delay)
		}
	case <-time.After(delay + 10*time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if got := status(t, http.MethodPost, url+"/graphql", query); got != 0 {
		t.Errorf("after the drain the BFF still answers: %d", got)
	}
}

// TestNoDrainDelay: with DRAIN_DELAY=0 a stop is prompt.
func TestNoDrainDelay(t *testing.T) {
	t.Parallel()
	ctx, stop := context.WithCancel(t.Context())
	_, done := runBFF(t, ctx, map[string]string{"DRAIN_DELAY": "0s"})
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return promptly without a drain delay")
	}
}
